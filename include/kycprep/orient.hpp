// kycprep/orient.hpp: stage 2, EXIF orientation.
//
// The EXIF parser reads untrusted bytes: every offset is bounds-checked, IFD
// loops are cut, and anything malformed yields orientation 1 and a warning.
// Orientation values follow EXIF/TIFF: 1 = upright, 6 = rotate 90 CW to view,
// 8 = rotate 90 CCW to view, 3 = 180, 2/4/5/7 the mirrored variants.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
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
/// payload after "Exif\0\0", or a PNG eXIf chunk). Only IFD0 is read (no IFD
/// link is followed). The tag must be SHORT (LONG is tolerated), count 1,
/// value 1..8. Empty input, a bad header, IFD0 out of range, an entry count
/// running past the end, a wrong type or count, or a value outside 1..8 give
/// value 1 and a warning. Never reads out of bounds; allocates nothing but the
/// warning text. Thread-safe.
KYCPREP_API exif_orientation parse_exif_orientation(std::span<const std::uint8_t> tiff) noexcept;

/// The JPEG thumbnail an EXIF block may carry (IFD1 JPEGInterchangeFormat
/// and JPEGInterchangeFormatLength), as a byte range of the TIFF block.
struct exif_thumbnail {
  std::size_t offset = 0;  ///< from the start of the TIFF block (the "II"/"MM")
  std::size_t size = 0;
};

/// Finds the EXIF thumbnail: follows the one link from IFD0 to IFD1 and reads
/// its two tags (LONG or SHORT, count 1). nullopt when there is none, or when
/// anything is malformed or the range leaves the block or does not start with
/// a JPEG SOI marker. Never reads out of bounds; allocates nothing; thread-safe.
KYCPREP_API std::optional<exif_thumbnail> parse_exif_thumbnail(std::span<const std::uint8_t> tiff) noexcept;

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
/// (stored_w x stored_h) and back. Pure; exact inverses of each other. With
/// o = 6, stored pixel (x, y) appears at upright (stored_h-1-y, x); the other
/// orientations are listed in src/orient/orient.cpp. A rect is mapped as a
/// set of pixels (w and h swap when the orientation transposes); nothing is
/// clamped, so a rect inside the image maps inside the other image.
/// Orientations outside 1..8 map as 1 (identity).
KYCPREP_API rect upright_to_stored(rect r, int stored_w, int stored_h, int orientation) noexcept;
KYCPREP_API rect stored_to_upright(rect r, int stored_w, int stored_h, int orientation) noexcept;

/// Returns the upright image, with the same channel count (any count works;
/// 1 and 3 have fast paths). Orientation 1, or one outside 1..8, returns a
/// copy. Precondition: pixels.size() == width * height * channels; an image
/// violating it yields an empty image. Thread-safe; allocates only the result.
KYCPREP_API image apply_orientation(const image& stored, int orientation);

}  // namespace kycprep
