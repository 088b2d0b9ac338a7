#include "kycprep/error.hpp"

namespace kycprep {

std::string_view to_string(error_code c) noexcept {
  switch (c) {
    case error_code::io_error: return "io_error";
    case error_code::empty_input: return "empty_input";
    case error_code::unsupported_format: return "unsupported_format";
    case error_code::input_too_large: return "input_too_large";
    case error_code::too_many_pixels: return "too_many_pixels";
    case error_code::side_too_large: return "side_too_large";
    case error_code::implausible_size: return "implausible_size";
    case error_code::too_many_scans: return "too_many_scans";
    case error_code::truncated: return "truncated";
    case error_code::corrupt: return "corrupt";
    case error_code::invalid_options: return "invalid_options";
    case error_code::no_face: return "no_face";
    case error_code::over_budget: return "over_budget";
    case error_code::encode_failed: return "encode_failed";
    case error_code::detector_unavailable: return "detector_unavailable";
    case error_code::internal: return "internal";
  }
  return "internal";
}

std::string_view to_string(stage s) noexcept {
  switch (s) {
    case stage::read: return "read";
    case stage::sniff: return "sniff";
    case stage::decode: return "decode";
    case stage::orient: return "orient";
    case stage::detect: return "detect";
    case stage::crop: return "crop";
    case stage::resize: return "resize";
    case stage::encode: return "encode";
    case stage::base64: return "base64";
    case stage::upload: return "upload";
  }
  return "read";
}

}  // namespace kycprep
