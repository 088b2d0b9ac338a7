// kycprep/decode.hpp: stage 1, bytes -> 8-bit sRGB pixels.
//
// The format is sniffed from the magic bytes, never from a file name. JPEG is
// decoded with libjpeg-turbo (baseline, progressive, gray, CMYK/YCCK incl.
// Adobe-inverted CMYK), PNG with libpng (1-16 bit, gray, palette, alpha
// composited over white; clean 8-bit non-interlaced files are inflated with
// libdeflate and unfiltered by kycprep, with libpng's exact output). Every
// limit is checked from the header, before any pixel buffer is allocated.
// All functions are thread-safe and keep no state.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kycprep/error.hpp"
#include "kycprep/export.hpp"
#include "kycprep/image.hpp"

namespace kycprep {

/// Formats recognised by sniff_format. Only jpeg and png decode; the others
/// are named so that the unsupported_format error can say what was found.
enum class image_format : std::uint8_t { unknown, jpeg, png, gif, webp, heic, avif, bmp, tiff, jpeg2000, jpegxl, pdf };

KYCPREP_API std::string_view to_string(image_format f) noexcept;

/// Identifies the format from the first bytes. Never reads past `bytes`.
KYCPREP_API image_format sniff_format(std::span<const std::uint8_t> bytes) noexcept;

/// Resource limits, checked from the header before allocation. Passed per call.
struct decode_limits {
  std::uint64_t max_input_bytes = 64ull << 20;   ///< 64 MiB of encoded input
  std::uint64_t max_pixels = 64'000'000;         ///< declared width * height (64 MP)
  std::uint32_t max_side = 20'000;               ///< declared width or height
  /// Declared pixels per byte of input. Real JPEGs stay under ~200, PNGs of
  /// photos under ~50; header-only "size bombs" are in the millions.
  double max_pixels_per_byte = 5'000.0;
  std::uint32_t max_scans = 100;                 ///< progressive JPEG scans (mozjpeg writes ~10)
};

/// What the decoder found in the header. Reported with every result.
struct source_info {
  image_format format = image_format::unknown;
  int width = 0;             ///< stored width, before orientation
  int height = 0;            ///< stored height, before orientation
  int orientation = 1;       ///< EXIF orientation 1..8 (1 when absent or malformed)
  bool progressive = false;  ///< JPEG: progressive; PNG: Adam7 interlaced
  std::string subsampling;   ///< JPEG: "4:2:0", "4:2:2", "4:4:4", "4:4:0", "4:1:1", "gray", "other"; PNG: ""
  std::string color;         ///< "rgb", "gray", "cmyk", "ycck", "palette", "gray+alpha", "rgb+alpha"
  bool cmyk = false;         ///< JPEG in CMYK or YCCK
  bool adobe_inverted = false; ///< Adobe APP14 present on a CMYK/YCCK JPEG (samples stored inverted)
  bool icc = false;          ///< an ICC profile is embedded (never copied to the output)
  /// The pixels were converted from the embedded ICC profile to sRGB (RGB
  /// profiles other than sRGB; not for draft or gray decodes). Output pixels
  /// are always meant as sRGB.
  bool icc_converted = false;
  int bit_depth = 8;
  bool alpha = false;
  /// JPEG: the EXIF thumbnail (IFD1), as a byte range of the input; size 0
  /// when there is none (see parse_exif_thumbnail). Not checked beyond its
  /// SOI marker: it is untrusted bytes like the rest.
  std::size_t exif_thumbnail_offset = 0;
  std::size_t exif_thumbnail_size = 0;
};

/// Region of interest in *stored* coordinates plus a DCT scale, for the fast path.
struct decode_request {
  /// 1, 2, 4 or 8: JPEG decodes at 1/scale_denom with DCT scaling. PNG
  /// ignores it (the returned decoded::scale_denom says what was applied).
  int scale_denom = 1;
  /// Decode only this region (stored, full-resolution pixels). JPEG uses
  /// jpeg_crop_scanline/jpeg_skip_scanlines; PNG decodes rows and keeps the region.
  std::optional<rect> region;
  bool gray = false;  ///< decode luma only (detection proxies)
  /// A detection proxy: favour speed over fidelity. JPEG uses the fast
  /// integer IDCT and plain (not fancy) upsampling; a progressive JPEG whose
  /// first scan holds the DC coefficients of every component is decoded from
  /// that scan alone, which at scale 1/8 is exact and skips most of the file.
  /// Corruption after the first scan then goes unnoticed (the full decode
  /// that follows still checks it).
  bool draft = false;
};

struct decode_options {
  decode_limits limits;
  /// Truncated or corrupt data: by default an error (truncated / corrupt).
  /// When true the decoder keeps what it got and reports a warning.
  bool tolerate_corruption = false;
};

struct decoded {
  image pixels;            ///< stored orientation (not yet rotated)
  source_info source;
  int scale_denom = 1;     ///< scale actually applied
  rect region;             ///< region actually decoded, in stored full-resolution pixels
  std::vector<std::string> warnings;
};

/// Reads the header only: format, size, orientation, facts; checks limits.
KYCPREP_API result<source_info> read_header(std::span<const std::uint8_t> bytes, const decode_options& opt = {});

/// Full or partial decode to 8-bit sRGB (or gray when req.gray).
KYCPREP_API result<decoded> decode(std::span<const std::uint8_t> bytes, const decode_options& opt = {},
                                   const decode_request& req = {});

}  // namespace kycprep
