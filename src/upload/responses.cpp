#include "responses.hpp"

#include <nlohmann/json.hpp>

namespace kycprep::detail {
namespace {

using json = nlohmann::json;

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

std::string str(const json& j, const char* key) {
  if (!j.is_object()) return {};
  auto it = j.find(key);
  if (it == j.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number() || it->is_boolean()) return it->dump();
  return {};
}

std::optional<double> num(const json& j, const char* key) {
  if (!j.is_object()) return std::nullopt;
  auto it = j.find(key);
  if (it == j.end()) return std::nullopt;
  if (it->is_number()) return it->get<double>();
  if (it->is_string()) {
    try {
      std::size_t used = 0;
      const std::string s = it->get<std::string>();
      double v = std::stod(s, &used);
      if (used == s.size()) return v;
    } catch (...) {
    }
  }
  return std::nullopt;
}

json parse(std::string_view body) { return json::parse(body.begin(), body.end(), nullptr, false); }

}  // namespace

upload_category classify_http_status(int s) {
  if (s >= 200 && s < 300) return upload_category::unknown_outcome;  // 2xx we cannot read
  if (s == 429) return upload_category::throttled;
  if (s >= 500) return upload_category::server_error;
  if (s == 401 || s == 403 || s == 404 || s == 407) return upload_category::auth_config;
  if (s >= 400) return upload_category::rejected_input;
  return upload_category::unknown_outcome;
}

upload_category classify_alibaba(int http_status, std::string_view code) {
  if (code == "Success" || code == "200") {
    return http_status >= 200 && http_status < 300 ? upload_category::success
                                                   : classify_http_status(http_status);
  }
  if (starts_with(code, "Throttling")) return upload_category::throttled;  // Throttling.Api is HTTP 403
  if (code == "InternalError" || code == "ServiceUnavailable" || starts_with(code, "InternalError.") ||
      starts_with(code, "ServiceUnavailable.")) {
    return upload_category::server_error;
  }
  if (code == "SignatureDoesNotMatch" || code == "IncompleteSignature" ||
      starts_with(code, "InvalidAccessKeyId") || starts_with(code, "InvalidTimeStamp") ||
      code == "SignatureNonceUsed" || starts_with(code, "Forbidden") ||
      starts_with(code, "InvalidSecurityToken") || code == "MissingSecurityToken" ||
      starts_with(code, "InvalidVersion") || starts_with(code, "InvalidAction") ||
      starts_with(code, "InvalidApi") || starts_with(code, "InvalidProduct")) {
    return upload_category::auth_config;
  }
  if (code == "MissingParameter" || starts_with(code, "MissingParameter.") ||
      starts_with(code, "InvalidParameter") || code == "TransactionIdInvalid" ||
      code == "UnqualifiedPhoto" || code == "DataDuplication" || code == "ToolargeImage" ||
      code == "DownloadTimeout" || code == "NoFaceDetected") {
    return upload_category::rejected_input;
  }
  if (http_status >= 500) return upload_category::server_error;
  if (http_status == 429) return upload_category::throttled;
  if (http_status == 401 || http_status == 403) return upload_category::auth_config;
  // An unknown code on 200 or 4xx is an answer about this request: not retried.
  return upload_category::rejected_input;
}

upload_category classify_tencent(std::string_view code) {
  if (starts_with(code, "RequestLimitExceeded")) return upload_category::throttled;
  if (code == "ResourceUnavailable.InArrears" || code == "ResourceUnavailable.ResourcePackageRunOut" ||
      starts_with(code, "AuthFailure") || starts_with(code, "UnauthorizedOperation") ||
      code == "UnsupportedRegion" || code == "InvalidAction" || code == "NoSuchVersion" ||
      code == "UnsupportedOperation") {
    return upload_category::auth_config;
  }
  if (starts_with(code, "InternalError") || starts_with(code, "ServiceUnavailable") ||
      code == "ResourceUnavailable") {
    return upload_category::server_error;
  }
  return upload_category::rejected_input;
}

parsed_response parse_ekyc_verify(int http_status, std::string_view body) {
  parsed_response r;
  const json j = parse(body);
  if (!j.is_object()) {
    r.category = classify_http_status(http_status);
    r.message = "HTTP " + std::to_string(http_status) + " with a body that is not a JSON object";
    return r;
  }
  r.vendor_code = str(j, "Code");
  r.vendor_message = str(j, "Message");
  r.request_id = str(j, "RequestId");
  if (r.vendor_code.empty()) {
    r.category = classify_http_status(http_status);
    r.message = "HTTP " + std::to_string(http_status) + " without a Code";
    return r;
  }
  r.category = classify_alibaba(http_status, r.vendor_code);
  if (r.category != upload_category::success) {
    r.message = r.vendor_code + ": " + r.vendor_message;
    return r;
  }
  auto res = j.find("Result");
  if (res == j.end() || !res->is_object()) {
    // Code=Success without a Result: answered, but we cannot tell the verdict.
    r.category = upload_category::unknown_outcome;
    r.message = "Code=Success without a Result object";
    return r;
  }
  ekyc_verify_result e;
  e.transaction_id = str(*res, "TransactionId");
  e.passed = str(*res, "Passed");
  e.verified = e.passed == "Y";
  e.sub_code = str(*res, "SubCode");
  e.ext_face_info = str(*res, "ExtFaceInfo");
  e.ext_id_info = str(*res, "ExtIdInfo");
  // ExtFaceInfo / ExtIdInfo are JSON documents inside JSON strings.
  if (const json f = parse(e.ext_face_info); f.is_object()) {
    e.face_comparison_score = num(f, "faceComparisonScore");
    e.authority_comparison_score = num(f, "authorityComparisonScore");
    e.face_passed = str(f, "facePassed");
    e.face_attack = str(f, "faceAttack");
  }
  if (const json id = parse(e.ext_id_info); id.is_object()) {
    e.ocr_id_passed = str(id, "ocrIdPassed");
    if (auto sp = id.find("spoofInfo"); sp != id.end()) e.spoof_result = str(*sp, "spoofResult");
  }
  r.ekyc = std::move(e);
  r.message = "answered: Passed=" + r.ekyc->passed + " SubCode=" + r.ekyc->sub_code;
  return r;
}

parsed_response parse_tencent(std::string_view action, int http_status, std::string_view body) {
  parsed_response r;
  const json j = parse(body);
  const json* resp = nullptr;
  if (j.is_object()) {
    if (auto it = j.find("Response"); it != j.end() && it->is_object()) resp = &*it;
  }
  if (resp == nullptr) {
    r.category = classify_http_status(http_status);
    r.message = "HTTP " + std::to_string(http_status) + " without a Response object";
    return r;
  }
  r.request_id = str(*resp, "RequestId");
  if (auto e = resp->find("Error"); e != resp->end() && e->is_object()) {
    r.vendor_code = str(*e, "Code");
    r.vendor_message = str(*e, "Message");
    r.category = classify_tencent(r.vendor_code);
    r.message = r.vendor_code + ": " + r.vendor_message;
    return r;
  }
  if (http_status < 200 || http_status >= 300) {
    r.category = classify_http_status(http_status);
    r.message = "HTTP " + std::to_string(http_status);
    return r;
  }
  if (action == "ApplyWebVerificationBizTokenIntl") {
    biz_token_result b;
    b.biz_token = str(*resp, "BizToken");
    b.verification_url = str(*resp, "VerificationURL");
    if (b.verification_url.empty()) b.verification_url = str(*resp, "VerificationUrl");
    if (b.biz_token.empty()) {
      r.category = upload_category::unknown_outcome;
      r.message = "answer without a BizToken";
      return r;
    }
    r.biz_token = std::move(b);
  } else {
    web_verification_result w;
    if (auto v = num(*resp, "ErrorCode")) w.error_code = static_cast<int>(*v);
    w.error_msg = str(*resp, "ErrorMsg");
    w.extra = str(*resp, "Extra");
    if (auto list = resp->find("VerificationDetailList"); list != resp->end() && list->is_array()) {
      w.attempt_count = static_cast<int>(list->size());
      if (!list->empty()) w.similarity = num(list->back(), "Similarity");
    }
    r.web_result = std::move(w);
  }
  r.category = upload_category::success;
  r.message = "answered";
  return r;
}

}  // namespace kycprep::detail
