// Vendor responses -> typed results and an upload_category. The bodies are
// untrusted: parsing is bounded by the transport's response cap, never
// throws, and tolerates missing or mistyped fields.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "kycprep/upload.hpp"

namespace kycprep::detail {

struct parsed_response {
  upload_category category = upload_category::unknown_outcome;
  std::string vendor_code;
  std::string vendor_message;
  std::string request_id;
  std::string message;
  std::optional<ekyc_verify_result> ekyc;
  std::optional<biz_token_result> biz_token;
  std::optional<web_verification_result> web_result;
};

/// Alibaba gateway/API error code (+ HTTP status) -> category.
upload_category classify_alibaba(int http_status, std::string_view code);
/// Tencent Response.Error.Code -> category.
upload_category classify_tencent(std::string_view code);
/// Category from the HTTP status alone (for bodies that are not JSON).
upload_category classify_http_status(int http_status);

parsed_response parse_ekyc_verify(int http_status, std::string_view body);
/// `action` selects which success fields are read.
parsed_response parse_tencent(std::string_view action, int http_status, std::string_view body);

}  // namespace kycprep::detail
