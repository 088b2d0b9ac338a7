// Typed requests -> validated, encoded calls -> signed HTTP requests.
//
// A call is prepared once (validation, parameter placement, body encoding
// and hashing) and signed once per attempt, so every retry gets a fresh
// nonce and date without re-encoding megabytes of base64.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "kycprep/upload.hpp"
#include "sign.hpp"

namespace kycprep::detail {

inline constexpr std::string_view ekyc_version = "2022-08-09";
inline constexpr std::string_view faceid_version = "2018-03-01";
inline constexpr std::string_view faceid_service = "faceid";
inline constexpr std::size_t ekyc_max_image_base64 = 1'000'000;
inline constexpr std::size_t tencent_max_image_base64 = 8u * 1024 * 1024;

/// A parsed endpoint: scheme://authority with no path.
struct endpoint_parts {
  std::string scheme;     ///< "https" or "http" (loopback only)
  std::string authority;  ///< host[:port] exactly as in the URL: the Host header
  std::string base_url;   ///< scheme://authority
};
result<endpoint_parts> parse_endpoint(std::string_view url);

/// A validated call, ready to be signed.
struct prepared_call {
  upload_vendor vendor = upload_vendor::alibaba;
  std::string action;
  std::string version;
  std::string canonical_query;  ///< also the URL's query string
  std::string content_type;     ///< empty when there is no body
  std::string body;
  std::string body_sha256;      ///< lowercase hex
  std::string body_display;     ///< the body with every image replaced by a placeholder
  std::string merchant_biz_id;
};

result<prepared_call> prepare(const ekyc_verify_request& r, bool hash_user_id,
                              const std::function<std::uint64_t()>& random);
result<prepared_call> prepare(const biz_token_request& r);
result<prepared_call> prepare(const web_verification_result_request& r);

/// One attempt's request: URL, headers in send order, body (not owned).
struct http_request {
  std::string url;
  header_list headers;
  const std::string* body = nullptr;
  signature_parts signature;
};

struct signing_context {
  endpoint_parts endpoint;
  upload_credentials credentials;
  std::string region;  ///< Tencent X-TC-Region
};

/// Signs `call` for one attempt at time `now` with `nonce` (Alibaba only).
http_request sign_call(const prepared_call& call, const signing_context& ctx,
                       std::chrono::system_clock::time_point now, const std::string& nonce);

/// The dry-run text: request line, headers, body_display; the key id masked,
/// the token and secret replaced.
std::string render_for_display(const http_request& req, const prepared_call& call,
                               const upload_credentials& creds);

/// Replaces every occurrence of the secret, the token and the key id in `s`.
void scrub_secrets(std::string& s, const upload_credentials& creds);

}  // namespace kycprep::detail
