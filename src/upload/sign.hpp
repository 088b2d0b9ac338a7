// ACS3-HMAC-SHA256 (Alibaba Cloud signature V3) and TC3-HMAC-SHA256 (Tencent
// Cloud signature v3) as pure functions of their inputs: no clock, no
// randomness, no I/O. Every intermediate string is returned so that tests can
// compare it with the vendors' published worked examples byte for byte.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kycprep::detail {

using header_list = std::vector<std::pair<std::string, std::string>>;
using param_list = std::vector<std::pair<std::string, std::string>>;

/// Each name and value percent-encoded (RFC 3986), sorted by encoded name
/// (then value), joined as `n=v&n=v`. Empty list: "".
std::string canonical_query_string(const param_list& params);

/// Everything a signer produces.
struct signature_parts {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signed_headers;  ///< "a;b;c"
  std::string signature;       ///< lowercase hex
  std::string authorization;   ///< the Authorization header value
};

// ---- ACS3-HMAC-SHA256 -------------------------------------------------------

struct acs3_input {
  std::string method = "POST";
  std::string canonical_uri = "/";
  std::string canonical_query;  ///< from canonical_query_string()
  /// Request headers as sent. Only host, content-type and x-acs-* are signed
  /// (names lower-cased, values trimmed); others are ignored.
  header_list headers;
  std::string hashed_payload;   ///< lowercase hex SHA-256 of the body bytes
  std::string access_key_id;
  std::string access_key_secret;
};
signature_parts acs3_sign(const acs3_input& in);

/// UTC "yyyy-MM-ddTHH:mm:ssZ" for x-acs-date.
std::string acs3_date(std::chrono::system_clock::time_point t);

// ---- TC3-HMAC-SHA256 --------------------------------------------------------

struct tc3_input {
  std::string method = "POST";
  std::string canonical_query;  ///< "" for POST
  /// The headers to sign (at least content-type and host); names and values
  /// are lower-cased and trimmed.
  header_list signed_headers;
  std::string hashed_payload;
  std::int64_t timestamp = 0;   ///< X-TC-Timestamp, unix seconds
  std::string service;          ///< e.g. "faceid", "cvm"
  std::string secret_id;
  std::string secret_key;
};

/// The derived keys, hex-encoded (for tests against the published chain).
struct tc3_keys {
  std::string secret_date;
  std::string secret_service;
  std::string secret_signing;
};
tc3_keys tc3_derive_keys(std::string_view secret_key, std::string_view date,
                         std::string_view service);
signature_parts tc3_sign(const tc3_input& in);

/// The UTC calendar date (YYYY-MM-DD) of a unix timestamp, independent of
/// the process time zone.
std::string utc_date(std::int64_t unix_seconds);

}  // namespace kycprep::detail
