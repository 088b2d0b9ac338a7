// kycprep/encode.hpp: stage 6, pixels -> baseline JPEG within a byte budget.
//
// 4:2:0, integer (ISLOW) DCT, optimised Huffman tables, no metadata segments
// (no EXIF, XMP, ICC, JFIF comment): same pixels + options -> same bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kycprep/error.hpp"
#include "kycprep/export.hpp"
#include "kycprep/image.hpp"

namespace kycprep {

struct encode_options {
  int quality = 92;              ///< first quality tried; 91..100
  int min_quality = 91;          ///< never below this; 91..quality
  std::size_t max_bytes = 0;     ///< 0 = no budget
};

struct encoded {
  std::vector<std::uint8_t> jpeg;
  int quality = 0;  ///< quality actually used
};

/// Encodes, lowering quality one step at a time (never below min_quality)
/// until the JPEG fits max_bytes. Errors: over_budget, invalid_options, encode_failed.
KYCPREP_API result<encoded> encode_jpeg(image_view pixels, const encode_options& opt = {});

}  // namespace kycprep
