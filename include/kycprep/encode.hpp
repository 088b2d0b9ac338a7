// kycprep/encode.hpp: stage 6, pixels -> baseline JPEG within a byte budget.
//
// 4:2:0, integer (ISLOW) DCT, no metadata segments (no EXIF, XMP, ICC, JFIF
// comment): same pixels + options -> same bytes. Huffman tables are the
// standard ones unless the budget needs the few percent that optimised tables
// save: optimising costs a second pass over the image (2.5 -> 5.7 ms for
// 720x960 on the reference machine, docs/PERFORMANCE.md).
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
  /// false: standard tables first; optimised tables only when the standard
  /// ones miss max_bytes at a quality (tried before stepping quality down).
  /// true: always optimised (smallest file, slowest encode).
  bool optimize_huffman = false;
};

struct encoded {
  std::vector<std::uint8_t> jpeg;
  int quality = 0;  ///< quality actually used
  bool optimized_huffman = false;  ///< whether optimised Huffman tables were used
};

/// Encodes, lowering quality one step at a time (never below min_quality)
/// until the JPEG fits max_bytes; at each quality, optimised Huffman tables
/// are tried before giving the quality up. Errors: over_budget, invalid_options, encode_failed.
KYCPREP_API result<encoded> encode_jpeg(image_view pixels, const encode_options& opt = {});

}  // namespace kycprep
