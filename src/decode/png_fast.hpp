// PNG fast path: the IDAT run of an 8-bit, non-interlaced PNG inflated in one
// call with libdeflate, unfiltered (Paeth with SSE2) and mapped to RGB, for the
// files that are most of the PNG traffic (photos and screenshots saved as PNG).
//
// libpng still reads everything up to the first IDAT (signature, IHDR, PLTE,
// tRNS, iCCP, eXIf, limits, warnings), so header handling is unchanged; the
// fast path starts at the first IDAT's data. It is all or nothing: on anything
// it does not fully understand or that is not clean (CRC, zlib, sizes, filter
// bytes, palette indices, a zlib window under 32 KiB, data after the stream),
// it gives up and decode_png reads the rows with libpng from that same point,
// so every error, warning and tolerate_corruption result stays libpng's.
// Only clean files take the fast path, and for them the output is byte-
// identical to libpng's (tests/test_decode.cpp, PngFastPath.*).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "kycprep/decode.hpp"

namespace kycprep::detail {

/// Which reader decode_png uses for the rows. Internal: tests compare them.
enum class png_reader : std::uint8_t {
  automatic,  ///< the fast path when the file qualifies and is clean, else libpng
  libpng,     ///< libpng's row reader only (the reference)
  fast_only,  ///< the fast path, or error_code::internal saying why it was not taken (tests)
};

/// decode() for PNG with the reader chosen; decode_png(bytes, opt, req) is
/// decode_png(bytes, opt, req, png_reader::automatic).
result<decoded> decode_png(std::span<const std::uint8_t> bytes, const decode_options& opt, const decode_request& req,
                           png_reader reader);

/// The largest chunk libpng may allocate for (png_set_chunk_malloc_max); it
/// also bounds the IDAT chunk length libpng accepts, which the fast path mirrors.
inline constexpr std::size_t png_chunk_malloc_max = 8u << 20;

/// Alpha `a` composited over white, the rounding both readers use.
constexpr std::uint8_t png_over_white(unsigned c, unsigned a) {
  return static_cast<std::uint8_t>((c * a + 255u * (255u - a) + 127u) / 255u);
}

/// How a stored 8-bit pixel becomes output RGB: the same result as libpng's
/// png_set_expand + png_set_gray_to_rgb followed by compositing over white.
struct png_pixel_map {
  enum class kind : std::uint8_t {
    rgb,         ///< 3 bytes copied
    rgba,        ///< 4 bytes, alpha over white
    gray_alpha,  ///< 2 bytes, alpha over white, gray replicated
    rgb_keyed,   ///< 3 bytes; the tRNS colour `key` becomes white
    indexed,     ///< 1 byte looked up in `lut` (gray, gray + tRNS, palette, palette + tRNS)
  };
  kind how = kind::rgb;
  std::array<std::uint8_t, 3> key{};
  /// indexed: lut[3 * v .. 3 * v + 2] is the output for sample v < lut_entries;
  /// a larger sample (a palette index beyond PLTE) makes the fast path give up.
  std::array<std::uint8_t, 768> lut{};
  int lut_entries = 0;

  /// Bytes per stored pixel.
  [[nodiscard]] int stored_bytes() const {
    switch (how) {
      case kind::rgba: return 4;
      case kind::gray_alpha: return 2;
      case kind::indexed: return 1;
      default: return 3;
    }
  }
};

/// Decodes the consecutive IDAT chunks of `file` whose first chunk's data
/// starts at `idat_data` (its 8-byte header just before it) into the rows
/// region.y .. region.y + region.h - 1, columns region.x .. region.x +
/// region.w - 1: `out` comes with width, height (region.w x region.h) and
/// channels (3) set, and this sizes out.pixels. Rows below the region are
/// neither unfiltered nor checked, like libpng's row reader, which stops
/// there; the zlib stream is checked whole. Every chunk is bounded by `file`
/// and CRC-checked. Memory: the inflated image (height * (1 + width * stored
/// bytes); for RGB it is the output buffer itself) and, when there are
/// several IDATs, a copy of their payloads; nothing is allocated for a
/// stream too short to fill the image. Returns "" on success, else why it
/// gave up; then out.pixels holds garbage of some size. Thread-safe (a
/// libdeflate decompressor per call, no shared state).
std::string png_fast_decode(std::span<const std::uint8_t> file, std::size_t idat_data, std::uint32_t width,
                            std::uint32_t height, const png_pixel_map& map, rect region, image& out);

/// Reverses PNG filter `filter` (0 None .. 4 Paeth) on one row of `row_bytes`
/// bytes in place, `bpp` bytes per pixel (1..4 for 8-bit samples); `prev` is
/// the previous row, already unfiltered, or zeros for the first row. Returns
/// false, leaving the row alone, for a filter type above 4.
bool png_unfilter_row(std::uint8_t filter, std::uint8_t* row, const std::uint8_t* prev, std::size_t row_bytes,
                      int bpp);

}  // namespace kycprep::detail
