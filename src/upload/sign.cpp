#include "sign.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "crypto.hpp"

namespace kycprep::detail {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  auto e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

// Civil date from days since 1970-01-01 (Howard Hinnant's algorithm): pure
// arithmetic, so neither TZ nor the C library's gmtime can shift the date.
void civil_from_days(std::int64_t z, int& y, unsigned& m, unsigned& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t yy = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<int>(yy + (m <= 2 ? 1 : 0));
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0);
}

}  // namespace

std::string canonical_query_string(const param_list& params) {
  std::vector<std::pair<std::string, std::string>> enc;
  enc.reserve(params.size());
  for (const auto& [k, v] : params) enc.emplace_back(percent_encode(k), percent_encode(v));
  std::sort(enc.begin(), enc.end());
  std::string out;
  for (const auto& [k, v] : enc) {
    if (!out.empty()) out.push_back('&');
    out += k;
    out.push_back('=');
    out += v;
  }
  return out;
}

std::string acs3_date(std::chrono::system_clock::time_point t) {
  const std::int64_t secs =
      std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
  const std::int64_t days = floor_div(secs, 86400);
  const std::int64_t sod = secs - days * 86400;
  int y = 0;
  unsigned m = 0, d = 0;
  civil_from_days(days, y, m, d);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", y, m, d,
                static_cast<int>(sod / 3600), static_cast<int>(sod / 60 % 60),
                static_cast<int>(sod % 60));
  return buf;
}

std::string utc_date(std::int64_t unix_seconds) {
  int y = 0;
  unsigned m = 0, d = 0;
  civil_from_days(floor_div(unix_seconds, 86400), y, m, d);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", y, m, d);
  return buf;
}

signature_parts acs3_sign(const acs3_input& in) {
  std::vector<std::pair<std::string, std::string>> hs;
  for (const auto& [name, value] : in.headers) {
    std::string n = lower(name);
    if (n == "host" || n == "content-type" || n.rfind("x-acs-", 0) == 0) {
      hs.emplace_back(std::move(n), trim(value));
    }
  }
  std::sort(hs.begin(), hs.end());

  signature_parts p;
  std::string canonical_headers;
  for (const auto& [n, v] : hs) {
    canonical_headers += n + ":" + v + "\n";
    if (!p.signed_headers.empty()) p.signed_headers.push_back(';');
    p.signed_headers += n;
  }
  p.canonical_request = in.method + "\n" + in.canonical_uri + "\n" + in.canonical_query + "\n" +
                        canonical_headers + "\n" + p.signed_headers + "\n" + in.hashed_payload;
  p.string_to_sign = "ACS3-HMAC-SHA256\n" + sha256_hex(p.canonical_request);
  // V3 keys the HMAC with the raw secret (V1 appended '&').
  p.signature = to_hex(hmac_sha256(in.access_key_secret, p.string_to_sign));
  p.authorization = "ACS3-HMAC-SHA256 Credential=" + in.access_key_id +
                    ",SignedHeaders=" + p.signed_headers + ",Signature=" + p.signature;
  return p;
}

tc3_keys tc3_derive_keys(std::string_view secret_key, std::string_view date,
                         std::string_view service) {
  const auto k_date = hmac_sha256("TC3" + std::string(secret_key), date);
  const auto k_service = hmac_sha256(as_key(k_date), service);
  const auto k_signing = hmac_sha256(as_key(k_service), "tc3_request");
  return {to_hex(k_date), to_hex(k_service), to_hex(k_signing)};
}

signature_parts tc3_sign(const tc3_input& in) {
  std::vector<std::pair<std::string, std::string>> hs;
  for (const auto& [name, value] : in.signed_headers) hs.emplace_back(lower(trim(name)), lower(trim(value)));
  std::sort(hs.begin(), hs.end());

  signature_parts p;
  std::string canonical_headers;
  for (const auto& [n, v] : hs) {
    canonical_headers += n + ":" + v + "\n";
    if (!p.signed_headers.empty()) p.signed_headers.push_back(';');
    p.signed_headers += n;
  }
  p.canonical_request = in.method + "\n/\n" + in.canonical_query + "\n" + canonical_headers +
                        "\n" + p.signed_headers + "\n" + in.hashed_payload;

  // The scope date is the UTC date of the timestamp: a local date breaks
  // every call between 00:00 and 08:00 in UTC+8.
  const std::string date = utc_date(in.timestamp);
  const std::string scope = date + "/" + in.service + "/tc3_request";
  p.string_to_sign = "TC3-HMAC-SHA256\n" + std::to_string(in.timestamp) + "\n" + scope + "\n" +
                     sha256_hex(p.canonical_request);

  const auto k_date = hmac_sha256("TC3" + in.secret_key, date);
  const auto k_service = hmac_sha256(as_key(k_date), in.service);
  const auto k_signing = hmac_sha256(as_key(k_service), "tc3_request");
  p.signature = to_hex(hmac_sha256(as_key(k_signing), p.string_to_sign));
  p.authorization = "TC3-HMAC-SHA256 Credential=" + in.secret_id + "/" + scope +
                    ", SignedHeaders=" + p.signed_headers + ", Signature=" + p.signature;
  return p;
}

}  // namespace kycprep::detail
