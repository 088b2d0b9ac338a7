// Stage 1 entry points: sniff, check the input size, dispatch by format.
#include <algorithm>
#include <optional>

#include "decode/decode_pvt.hpp"

namespace kycprep {

namespace {
std::optional<error> precheck(std::span<const std::uint8_t> bytes, const decode_options& opt, image_format& fmt) {
  if (bytes.empty()) return error{error_code::empty_input, stage::sniff, "input is empty (0 bytes)"};
  if (bytes.size() > opt.limits.max_input_bytes)
    return error{error_code::input_too_large, stage::read,
                 "input is " + std::to_string(bytes.size()) + " bytes, above max_input_bytes " +
                     std::to_string(opt.limits.max_input_bytes)};
  fmt = sniff_format(bytes);
  if (fmt != image_format::jpeg && fmt != image_format::png)
    return error{error_code::unsupported_format, stage::sniff,
                 "unsupported format: " + std::string(to_string(fmt)) + " (only JPEG and PNG are accepted)"};
  return std::nullopt;
}
}  // namespace

result<source_info> read_header(std::span<const std::uint8_t> bytes, const decode_options& opt) {
  image_format fmt{};
  if (auto e = precheck(bytes, opt, fmt)) return std::move(*e);
  return fmt == image_format::jpeg ? detail::read_jpeg_header(bytes, opt) : detail::read_png_header(bytes, opt);
}

result<decoded> decode(std::span<const std::uint8_t> bytes, const decode_options& opt, const decode_request& req) {
  if (req.scale_denom != 1 && req.scale_denom != 2 && req.scale_denom != 4 && req.scale_denom != 8)
    return error{error_code::invalid_options, stage::decode, "scale_denom must be 1, 2, 4 or 8"};
  image_format fmt{};
  if (auto e = precheck(bytes, opt, fmt)) return std::move(*e);
  return fmt == image_format::jpeg ? detail::decode_jpeg(bytes, opt, req) : detail::decode_png(bytes, opt, req);
}

}  // namespace kycprep
