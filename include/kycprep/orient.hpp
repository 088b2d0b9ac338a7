// kycprep/orient.hpp: stage 2, EXIF orientation.
//
// The EXIF parser reads untrusted bytes: every offset is bounds-checked, IFD
// loops are cut, and anything malformed yields orientation 1 and a warning.
// Orientation values follow EXIF/TIFF: 1 = upright, 6 = rotate 90 CW to view,
// 8 = rotate 90 CCW to view, 3 = 180, 2/4/5/7 the mirrored variants.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "kycprep/export.hpp"
#include "kycprep/image.hpp"

namespace kycprep {

struct exif_orientation {
  int value = 1;        ///< 1..8; 1 when absent or malformed
  std::string warning;  ///< empty when the EXIF was absent or well formed
};

/// Parses the orientation tag from a TIFF-structured EXIF block (the APP1
/// payload after "Exif\0\0", or a PNG eXIf chunk). Never reads out of bounds.
KYCPREP_API exif_orientation parse_exif_orientation(std::span<const std::uint8_t> tiff) noexcept;

/// True when the orientation swaps width and height (5, 6, 7, 8).
constexpr bool orientation_transposes(int o) noexcept { return o >= 5 && o <= 8; }

/// Size of the upright image for a stored size.
struct size2 {
  int w = 0;
  int h = 0;
  friend bool operator==(const size2&, const size2&) = default;
};
constexpr size2 upright_size(int stored_w, int stored_h, int o) noexcept {
  return orientation_transposes(o) ? size2{stored_h, stored_w} : size2{stored_w, stored_h};
}

/// Maps a rectangle in upright coordinates to the stored image's coordinates
/// (stored_w x stored_h) and back. Pure; exact inverses of each other.
KYCPREP_API rect upright_to_stored(rect r, int stored_w, int stored_h, int orientation) noexcept;
KYCPREP_API rect stored_to_upright(rect r, int stored_w, int stored_h, int orientation) noexcept;

/// Returns the upright image. Orientation 1 returns a copy.
KYCPREP_API image apply_orientation(const image& stored, int orientation);

}  // namespace kycprep
