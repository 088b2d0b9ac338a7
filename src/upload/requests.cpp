#include "requests.hpp"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "crypto.hpp"

namespace kycprep::detail {
namespace {

result<bool> invalid(std::string msg) {
  return result<bool>(error_code::invalid_options, stage::upload, std::move(msg));
}

bool all_of(std::string_view s, bool (*pred)(unsigned char)) {
  return std::all_of(s.begin(), s.end(), [&](char c) { return pred(static_cast<unsigned char>(c)); });
}
bool is_alnum(unsigned char c) { return std::isalnum(c) != 0; }
bool is_digit(unsigned char c) { return std::isdigit(c) != 0; }
bool is_word(unsigned char c) { return std::isalnum(c) != 0 || c == '_'; }

// A cheap structural check: alphabet, padding, length. Decoding a megabyte
// just to validate it would cost more than the upload's signing.
result<bool> check_base64(std::string_view field, std::string_view b64, std::size_t max_len) {
  const std::string f(field);
  if (b64.rfind("data:", 0) == 0) return invalid(f + ": remove the \"data:...;base64,\" prefix");
  if (b64.size() > max_len) {
    return invalid(f + ": " + std::to_string(b64.size()) + " base64 characters, more than the " +
                   std::to_string(max_len) + " allowed");
  }
  if (b64.size() % 4 != 0) return invalid(f + ": base64 length is not a multiple of 4");
  std::size_t pad = 0;
  for (std::size_t i = 0; i < b64.size(); ++i) {
    const auto c = static_cast<unsigned char>(b64[i]);
    if (c == '=') {
      ++pad;
      continue;
    }
    if (pad != 0 || !(std::isalnum(c) || c == '+' || c == '/')) {
      return invalid(f + ": not standard base64 (character " + std::to_string(i) + ")");
    }
  }
  if (pad > 2) return invalid(f + ": bad base64 padding");
  return true;
}

result<bool> check_url(std::string_view field, std::string_view url) {
  if (url.size() > 2048) return invalid(std::string(field) + ": longer than 2048 characters");
  if (url.rfind("https://", 0) != 0 && url.rfind("http://", 0) != 0) {
    return invalid(std::string(field) + ": must be an http(s) URL");
  }
  return true;
}

result<bool> exactly_one(std::string_view what, const std::string& b64, const std::string& url,
                         std::string_view b64_field, std::string_view url_field) {
  if (b64.empty() == url.empty()) {
    return invalid("give exactly one " + std::string(what) + " source: " + std::string(b64_field) +
                   " or " + std::string(url_field) + (b64.empty() ? " (got neither)" : " (got both)"));
  }
  if (!b64.empty()) return check_base64(b64_field, b64, ekyc_max_image_base64);
  return check_url(url_field, url);
}

std::size_t utf8_length(std::string_view s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

std::string image_placeholder(std::string_view b64) {
  return "<image: " + std::to_string(b64.size()) + " base64 chars, sha256 " +
         sha256_hex(b64).substr(0, 16) + "...>";
}

}  // namespace

result<endpoint_parts> parse_endpoint(std::string_view url) {
  auto bad = [&](const std::string& why) {
    return result<endpoint_parts>(error_code::invalid_options, stage::upload,
                                  "endpoint " + std::string(url) + ": " + why);
  };
  endpoint_parts p;
  std::string_view rest;
  if (url.rfind("https://", 0) == 0) {
    p.scheme = "https";
    rest = url.substr(8);
  } else if (url.rfind("http://", 0) == 0) {
    p.scheme = "http";
    rest = url.substr(7);
  } else {
    return bad("must start with https://");
  }
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.empty()) return bad("no host");
  for (char c : rest) {
    const auto u = static_cast<unsigned char>(c);
    if (!(std::isalnum(u) || c == '.' || c == '-' || c == ':' || c == '[' || c == ']')) {
      return bad("only scheme://host[:port] is accepted (no path, query or user info)");
    }
  }
  std::string host(rest);
  if (host.front() == '[') {
    host = host.substr(0, host.find(']') + 1);
  } else if (auto colon = host.find(':'); colon != std::string::npos) {
    host = host.substr(0, colon);
  }
  const bool loopback = host == "127.0.0.1" || host == "localhost" || host == "[::1]";
  if (p.scheme == "http" && !loopback) {
    return bad("plain http is only allowed for loopback test servers; use https://");
  }
  p.authority = std::string(rest);
  std::transform(p.authority.begin(), p.authority.end(), p.authority.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  p.base_url = p.scheme + "://" + p.authority;
  return p;
}

result<prepared_call> prepare(const ekyc_verify_request& r, bool hash_user_id,
                              const std::function<std::uint64_t()>& random) {
  if (auto v = validate(r); !v) return v.error();
  prepared_call c;
  c.vendor = upload_vendor::alibaba;
  c.action = "EkycVerify";
  c.version = std::string(ekyc_version);
  c.merchant_biz_id = r.merchant_biz_id.empty() ? generate_merchant_biz_id(random) : r.merchant_biz_id;

  // Scalars go in the query (as the official SDKs send them); only the two
  // base64 images go in the form body, so they never reach the URL.
  param_list q;
  auto add = [&](const char* name, const std::string& value) {
    if (!value.empty()) q.emplace_back(name, value);
  };
  add("ProductCode", r.product_code);
  add("MerchantBizId", c.merchant_biz_id);
  add("MerchantUserId", hash_user_id ? sha256_hex(r.merchant_user_id) : r.merchant_user_id);
  add("DocType", r.doc_type);
  add("FacePictureUrl", r.face_picture_url);
  add("IdOcrPictureUrl", r.id_ocr_picture_url);
  add("Authorize", r.authorize);
  add("Crop", r.crop);
  add("DocName", r.doc_name);
  add("DocNo", r.doc_no);
  add("IdThreshold", r.id_threshold);
  add("SceneCode", r.scene_code);
  c.canonical_query = canonical_query_string(q);

  // Percent-encode the base64 ('+' -> %2B, '/' -> %2F, '=' -> %3D): a raw
  // '+' is decoded as a space and corrupts the image although the signature
  // still verifies.
  auto add_body = [&](const char* name, const std::string& b64) {
    if (b64.empty()) return;
    if (!c.body.empty()) {
      c.body.push_back('&');
      c.body_display.push_back('&');
    }
    c.body += name;
    c.body.push_back('=');
    percent_encode_append(b64, c.body);
    c.body_display += std::string(name) + "=" + image_placeholder(b64);
  };
  c.body.reserve(r.face_picture_base64.size() + r.id_ocr_picture_base64.size() + 4096);
  add_body("FacePictureBase64", r.face_picture_base64);
  add_body("IdOcrPictureBase64", r.id_ocr_picture_base64);
  if (!c.body.empty()) c.content_type = "application/x-www-form-urlencoded";
  c.body_sha256 = sha256_hex(c.body);
  return c;
}

result<prepared_call> prepare(const biz_token_request& r) {
  if (auto v = validate(r); !v) return v.error();
  prepared_call c;
  c.vendor = upload_vendor::tencent;
  c.action = "ApplyWebVerificationBizTokenIntl";
  c.version = std::string(faceid_version);
  nlohmann::json j = nlohmann::json::object();
  j["RedirectURL"] = r.redirect_url;
  if (!r.extra.empty()) j["Extra"] = r.extra;
  if (!r.rule_id.empty()) j["RuleId"] = r.rule_id;
  nlohmann::json config = nlohmann::json::object();
  if (r.check_mode) config["CheckMode"] = *r.check_mode;
  if (!r.id_card_type.empty()) config["IDCardType"] = r.id_card_type;
  if (!r.language.empty()) config["Language"] = r.language;
  if (r.security_level) config["SecurityLevel"] = *r.security_level;
  if (!config.empty()) j["Config"] = config;
  nlohmann::json shown = j;
  if (!r.compare_image_base64.empty()) {
    j["CompareImageBase64"] = r.compare_image_base64;
    shown["CompareImageBase64"] = image_placeholder(r.compare_image_base64);
  }
  // The payload is hashed exactly as sent; dump() is deterministic.
  c.body = j.dump();
  c.body_display = shown.dump();
  c.content_type = "application/json";
  c.body_sha256 = sha256_hex(c.body);
  return c;
}

result<prepared_call> prepare(const web_verification_result_request& r) {
  if (auto v = validate(r); !v) return v.error();
  prepared_call c;
  c.vendor = upload_vendor::tencent;
  c.action = "GetWebVerificationResultIntl";
  c.version = std::string(faceid_version);
  c.body = nlohmann::json{{"BizToken", r.biz_token}}.dump();
  c.body_display = c.body;
  c.content_type = "application/json";
  c.body_sha256 = sha256_hex(c.body);
  return c;
}

http_request sign_call(const prepared_call& call, const signing_context& ctx,
                       std::chrono::system_clock::time_point now, const std::string& nonce) {
  http_request req;
  req.body = &call.body;
  req.url = ctx.endpoint.base_url + "/";
  if (!call.canonical_query.empty()) req.url += "?" + call.canonical_query;
  const auto& creds = ctx.credentials;

  if (call.vendor == upload_vendor::alibaba) {
    header_list h{{"host", ctx.endpoint.authority},
                  {"x-acs-action", call.action},
                  {"x-acs-version", call.version},
                  {"x-acs-date", acs3_date(now)},
                  {"x-acs-signature-nonce", nonce},
                  {"x-acs-content-sha256", call.body_sha256}};
    if (!call.content_type.empty()) h.emplace_back("content-type", call.content_type);
    if (!creds.token.empty()) h.emplace_back("x-acs-security-token", creds.token);
    acs3_input in;
    in.canonical_query = call.canonical_query;
    in.headers = h;
    in.hashed_payload = call.body_sha256;
    in.access_key_id = creds.key_id;
    in.access_key_secret = creds.secret;
    req.signature = acs3_sign(in);
    h.emplace_back("Authorization", req.signature.authorization);
    h.emplace_back("Accept", "application/json");
    req.headers = std::move(h);
    return req;
  }

  const std::int64_t ts =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  tc3_input in;
  in.signed_headers = {{"content-type", call.content_type}, {"host", ctx.endpoint.authority}};
  in.hashed_payload = call.body_sha256;
  in.timestamp = ts;
  in.service = std::string(faceid_service);
  in.secret_id = creds.key_id;
  in.secret_key = creds.secret;
  req.signature = tc3_sign(in);
  header_list h{{"Host", ctx.endpoint.authority},
                {"Content-Type", call.content_type},
                {"X-TC-Action", call.action},
                {"X-TC-Version", call.version},
                {"X-TC-Timestamp", std::to_string(ts)},
                {"X-TC-Region", ctx.region}};
  if (!creds.token.empty()) h.emplace_back("X-TC-Token", creds.token);
  h.emplace_back("Authorization", req.signature.authorization);
  req.headers = std::move(h);
  return req;
}

void scrub_secrets(std::string& s, const upload_credentials& creds) {
  auto replace_all = [&](const std::string& needle, const std::string& with) {
    if (needle.empty()) return;
    for (auto pos = s.find(needle); pos != std::string::npos; pos = s.find(needle, pos + with.size())) {
      s.replace(pos, needle.size(), with);
    }
  };
  replace_all(creds.secret, "<secret>");
  replace_all(creds.token, "<token>");
  replace_all(creds.key_id, redact_key_id(creds.key_id));
}

std::string render_for_display(const http_request& req, const prepared_call& call,
                               const upload_credentials& creds) {
  std::string out = "POST " + req.url + " HTTP/1.1\n";
  for (const auto& [name, value] : req.headers) {
    const bool token = name == "x-acs-security-token" || name == "X-TC-Token";
    out += name + ": " + (token ? std::string("<redacted>") : value) + "\n";
  }
  out += "Content-Length: " + std::to_string(call.body.size()) + "\n\n";
  out += call.body_display;
  out += "\n";
  scrub_secrets(out, creds);
  return out;
}

}  // namespace kycprep::detail

namespace kycprep {

using detail::invalid;

result<bool> validate(const ekyc_verify_request& r) {
  if (!r.merchant_biz_id.empty() &&
      (r.merchant_biz_id.size() > 32 || !detail::all_of(r.merchant_biz_id, detail::is_alnum))) {
    return invalid("MerchantBizId must be at most 32 letters and digits");
  }
  if (r.merchant_user_id.empty()) return invalid("MerchantUserId is required");
  if (r.merchant_user_id.size() > 256) return invalid("MerchantUserId is longer than 256 bytes");
  if (r.doc_type.size() != 8 || !detail::all_of(r.doc_type, detail::is_digit)) {
    return invalid("DocType must be an 8-digit document type code, e.g. 01000000");
  }
  if (r.product_code.empty() || r.product_code.size() > 32 ||
      !detail::all_of(r.product_code, detail::is_word)) {
    return invalid("ProductCode must be letters, digits or '_' (eKYC_MIN)");
  }
  if (auto v = detail::exactly_one("face image", r.face_picture_base64, r.face_picture_url,
                                   "FacePictureBase64", "FacePictureUrl");
      !v) {
    return v;
  }
  if (auto v = detail::exactly_one("ID document image", r.id_ocr_picture_base64,
                                   r.id_ocr_picture_url, "IdOcrPictureBase64", "IdOcrPictureUrl");
      !v) {
    return v;
  }
  for (const auto* tf : {&r.authorize, &r.crop}) {
    if (!tf->empty() && *tf != "T" && *tf != "F") return invalid("Authorize and Crop take T or F");
  }
  if (!r.id_threshold.empty() && (r.id_threshold.size() != 1 || r.id_threshold[0] < '0' ||
                                  r.id_threshold[0] > '3')) {
    return invalid("IdThreshold takes 0, 1, 2 or 3");
  }
  if (!r.doc_no.empty() && (r.doc_no.size() > 18 || !detail::all_of(r.doc_no, detail::is_alnum))) {
    return invalid("DocNo must be at most 18 letters and digits");
  }
  if (r.doc_name.size() > 128) return invalid("DocName is longer than 128 bytes");
  if (!r.scene_code.empty() &&
      (r.scene_code.size() > 10 || !detail::all_of(r.scene_code, detail::is_word))) {
    return invalid("SceneCode must be at most 10 letters, digits or '_'");
  }
  return true;
}

result<bool> validate(const biz_token_request& r) {
  if (r.redirect_url.empty()) return invalid("RedirectURL is required");
  if (auto v = detail::check_url("RedirectURL", r.redirect_url); !v) return v;
  if (!r.compare_image_base64.empty()) {
    if (auto v = detail::check_base64("CompareImageBase64", r.compare_image_base64,
                                      detail::tencent_max_image_base64);
        !v) {
      return v;
    }
  }
  if (detail::utf8_length(r.extra) > 1000) return invalid("Extra is longer than 1000 characters");
  if (r.check_mode && (*r.check_mode < 1 || *r.check_mode > 4)) {
    return invalid("Config.CheckMode takes 1, 2, 3 or 4");
  }
  if (r.security_level && *r.security_level < 0) return invalid("Config.SecurityLevel is negative");
  return true;
}

result<bool> validate(const web_verification_result_request& r) {
  if (r.biz_token.empty()) return invalid("BizToken is required");
  if (r.biz_token.size() > 256) return invalid("BizToken is longer than 256 characters");
  return true;
}

std::string generate_merchant_biz_id(const std::function<std::uint64_t()>& random) {
  return detail::random_hex128(random);
}

std::string sha256_hex(std::string_view value) { return detail::sha256_hex(value); }

}  // namespace kycprep
