// Internals shared by the JPEG and PNG decoders.
#pragma once

#include <span>
#include <string>

#include "kycprep/decode.hpp"

namespace kycprep::detail {

/// Checks declared dimensions against the limits (side, pixels, pixels per
/// input byte). Called from the header, before any pixel buffer exists.
inline std::optional<error> check_dimensions(std::uint64_t w, std::uint64_t h, std::size_t input_bytes,
                                             const decode_limits& lim) {
  auto fail = [&](error_code c, const std::string& what) {
    return error{c, stage::decode,
                 what + " (declared " + std::to_string(w) + "x" + std::to_string(h) + ")"};
  };
  if (w == 0 || h == 0) return fail(error_code::corrupt, "image has a zero dimension");
  if (w > lim.max_side || h > lim.max_side)
    return fail(error_code::side_too_large, "side exceeds max_side " + std::to_string(lim.max_side));
  if (w * h > lim.max_pixels)
    return fail(error_code::too_many_pixels, "pixel count exceeds max_pixels " + std::to_string(lim.max_pixels));
  const double per_byte = static_cast<double>(w * h) / static_cast<double>(input_bytes ? input_bytes : 1);
  if (per_byte > lim.max_pixels_per_byte)
    return fail(error_code::implausible_size,
                std::to_string(static_cast<long long>(per_byte)) + " declared pixels per input byte exceeds " +
                    std::to_string(static_cast<long long>(lim.max_pixels_per_byte)) + " in a " +
                    std::to_string(input_bytes) + "-byte file");
  return std::nullopt;
}

/// Clamps a stored-coordinate region to the image; empty optional = whole image.
inline rect clamp_region(const std::optional<rect>& r, int w, int h) {
  if (!r) return {0, 0, w, h};
  int x0 = std::max(0, r->x), y0 = std::max(0, r->y);
  int x1 = std::min(w, r->x + r->w), y1 = std::min(h, r->y + r->h);
  if (x1 <= x0 || y1 <= y0) return {0, 0, 0, 0};
  return {x0, y0, x1 - x0, y1 - y0};
}

result<decoded> decode_jpeg(std::span<const std::uint8_t> bytes, const decode_options& opt, const decode_request& req);
result<source_info> read_jpeg_header(std::span<const std::uint8_t> bytes, const decode_options& opt);
result<decoded> decode_png(std::span<const std::uint8_t> bytes, const decode_options& opt, const decode_request& req);
result<source_info> read_png_header(std::span<const std::uint8_t> bytes, const decode_options& opt);

}  // namespace kycprep::detail
