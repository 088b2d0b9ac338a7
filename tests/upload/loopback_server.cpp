// The loopback server. Its verifier is written from the vendors' specs
// independently of src/upload/sign.cpp (different OpenSSL APIs, its own
// percent-codec, canonical strings rebuilt from the bytes received), so a
// bug shared by both would have to be made twice.
#include "loopback_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <sstream>

namespace kycprep::test {
namespace {

using json = nlohmann::json;

// ---- crypto via the EVP_MD / EVP_MAC interfaces -----------------------------

std::string hex(const unsigned char* p, std::size_t n) {
  std::string s;
  char b[3];
  for (std::size_t i = 0; i < n; ++i) {
    std::snprintf(b, sizeof b, "%02x", p[i]);
    s += b;
  }
  return s;
}

std::string sha256_raw(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  EVP_DigestUpdate(ctx, data.data(), data.size());
  EVP_DigestFinal_ex(ctx, md, &len);
  EVP_MD_CTX_free(ctx);
  return {reinterpret_cast<char*>(md), len};
}

std::string sha256_hex_s(const std::string& data) {
  auto r = sha256_raw(data);
  return hex(reinterpret_cast<const unsigned char*>(r.data()), r.size());
}

std::string hmac_raw(const std::string& key, const std::string& msg) {
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  EVP_MAC_init(ctx, reinterpret_cast<const unsigned char*>(key.data()), key.size(), params);
  EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(msg.data()), msg.size());
  unsigned char out[64];
  std::size_t len = 0;
  EVP_MAC_final(ctx, out, &len, sizeof out);
  EVP_MAC_CTX_free(ctx);
  EVP_MAC_free(mac);
  return {reinterpret_cast<char*>(out), len};
}

std::string hmac_hex(const std::string& key, const std::string& msg) {
  auto r = hmac_raw(key, msg);
  return hex(reinterpret_cast<const unsigned char*>(r.data()), r.size());
}

// ---- a strict percent codec -------------------------------------------------

bool unreserved(unsigned char c) {
  return std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

std::string encode(const std::string& s) {
  std::ostringstream o;
  for (unsigned char c : s) {
    if (unreserved(c)) {
      o << c;
    } else {
      char b[4];
      std::snprintf(b, sizeof b, "%%%02X", c);
      o << b;
    }
  }
  return o.str();
}

// Decodes; reports anything a strict RFC 3986 encoder would not produce
// (a raw '+', a literal reserved character, lower-case hex, a bad escape).
bool decode_strict(const std::string& s, std::string& out, std::string& why) {
  out.clear();
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '%') {
      if (i + 2 >= s.size()) {
        why = "truncated escape";
        return false;
      }
      const char h = s[i + 1], l = s[i + 2];
      auto val = [](char x) -> int {
        if (x >= '0' && x <= '9') return x - '0';
        if (x >= 'A' && x <= 'F') return x - 'A' + 10;
        return -1;  // lower-case hex is not what the spec's encoder emits
      };
      if (val(h) < 0 || val(l) < 0) {
        why = "bad or lower-case escape";
        return false;
      }
      const auto decoded = static_cast<unsigned char>(val(h) * 16 + val(l));
      if (unreserved(decoded)) {
        why = "unreserved character was escaped";
        return false;
      }
      out.push_back(static_cast<char>(decoded));
      i += 2;
    } else if (unreserved(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      why = std::string("raw '") + static_cast<char>(c) + "' not percent-encoded";
      return false;
    }
  }
  return true;
}

using pairs = std::vector<std::pair<std::string, std::string>>;

bool parse_pairs(const std::string& s, pairs& out, std::string& why) {
  out.clear();
  if (s.empty()) return true;
  std::size_t start = 0;
  while (start <= s.size()) {
    auto amp = s.find('&', start);
    if (amp == std::string::npos) amp = s.size();
    const std::string item = s.substr(start, amp - start);
    const auto eq = item.find('=');
    if (eq == std::string::npos) {
      why = "pair without '='";
      return false;
    }
    std::string k, v;
    if (!decode_strict(item.substr(0, eq), k, why) || !decode_strict(item.substr(eq + 1), v, why)) {
      why = "in '" + item.substr(0, std::min<std::size_t>(eq, 40)) + "': " + why;
      return false;
    }
    out.emplace_back(k, v);
    start = amp + 1;
  }
  return true;
}

bool b64_decode(const std::string& in, std::string& out) {
  if (in.size() % 4 != 0) return false;
  out.assign(in.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()),
                                static_cast<int>(in.size()));
  if (n < 0) return false;
  std::size_t pad = 0;
  if (!in.empty() && in.back() == '=') ++pad;
  if (in.size() > 1 && in[in.size() - 2] == '=') ++pad;
  out.resize(static_cast<std::size_t>(n) - pad);
  return true;
}

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::stringstream ss(s);
  std::string p;
  while (std::getline(ss, p, sep)) parts.push_back(p);
  return parts;
}

std::string utc_day(long long ts) {
  std::time_t t = static_cast<std::time_t>(ts);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char b[16];
  std::strftime(b, sizeof b, "%Y-%m-%d", &tm);
  return b;
}

// Replaces the connection's socket with /dev/null after arming an abortive
// close: the peer gets a RST at once, and cpp-httplib keeps a valid fd to
// finish with (no double close, no fd-reuse race).
void reset_connection(int local_port, int remote_port) {
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    int fd = -1;
    try {
      fd = std::stoi(e.path().filename().string());
    } catch (...) {
      continue;
    }
    sockaddr_in a{};
    socklen_t len = sizeof a;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0 || a.sin_family != AF_INET ||
        ntohs(a.sin_port) != local_port) {
      continue;
    }
    sockaddr_in b{};
    len = sizeof b;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&b), &len) != 0 || ntohs(b.sin_port) != remote_port) {
      continue;
    }
    linger lg{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    const int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    ::dup2(devnull, fd);
    ::close(devnull);
    return;
  }
}

}  // namespace

struct loopback_server::handler {
  loopback_server& s;

  bool wait(std::chrono::milliseconds d) {
    std::unique_lock lock(s.mutex_);
    return s.stopping_cv_.wait_for(lock, d, [&] { return s.stopping_; });
  }

  void verify_acs3(const httplib::Request& req, const std::string& raw_query, const std::string& body,
                   received_request& r) {
    auto& p = r.problems;
    const auto& c = s.opts_.alibaba;
    const std::string auth = req.get_header_value("Authorization");
    const std::string prefix = "ACS3-HMAC-SHA256 ";
    if (auth.rfind(prefix, 0) != 0) {
      p.push_back("Authorization is not ACS3-HMAC-SHA256");
      return;
    }
    std::map<std::string, std::string> parts;
    for (const auto& item : split(auth.substr(prefix.size()), ',')) {
      if (item.find(' ') != std::string::npos) p.push_back("space inside the Authorization list");
      const auto eq = item.find('=');
      if (eq != std::string::npos) parts[item.substr(0, eq)] = item.substr(eq + 1);
    }
    if (parts["Credential"] != c.key_id) p.push_back("wrong Credential");
    const auto signed_names = split(parts["SignedHeaders"], ';');
    if (!std::is_sorted(signed_names.begin(), signed_names.end())) p.push_back("SignedHeaders not sorted");
    std::set<std::string> signed_set(signed_names.begin(), signed_names.end());
    for (const char* must : {"host", "x-acs-action", "x-acs-content-sha256", "x-acs-date",
                             "x-acs-signature-nonce", "x-acs-version"}) {
      if (!signed_set.count(must)) p.push_back(std::string("not signed: ") + must);
    }
    for (const auto& [name, value] : req.headers) {
      const std::string n = lower(name);
      if ((n.rfind("x-acs-", 0) == 0 || n == "content-type" || n == "host") && !signed_set.count(n)) {
        p.push_back("header sent but not signed: " + n);
      }
    }
    if (!body.empty() && !signed_set.count("content-type")) p.push_back("content-type not signed");
    if (c.token.empty() != !req.has_header("x-acs-security-token") ||
        req.get_header_value("x-acs-security-token") != c.token) {
      p.push_back("x-acs-security-token mismatch");
    }

    // Canonical query from the raw target, re-encoded by this side's codec.
    pairs q;
    std::string why;
    if (!parse_pairs(raw_query, q, why)) p.push_back("query encoding: " + why);
    std::vector<std::string> items;
    for (const auto& [k, v] : q) items.push_back(encode(k) + "=" + encode(v));
    std::sort(items.begin(), items.end());
    std::string cq;
    for (const auto& it : items) cq += (cq.empty() ? "" : "&") + it;

    std::string ch;
    for (const auto& n : signed_names) ch += n + ":" + trim(req.get_header_value(n.c_str())) + "\n";
    const std::string payload_hash = sha256_hex_s(body);
    if (req.get_header_value("x-acs-content-sha256") != payload_hash) p.push_back("x-acs-content-sha256 is not the body's hash");
    const std::string cr = "POST\n/\n" + cq + "\n" + ch + "\n" + parts["SignedHeaders"] + "\n" + payload_hash;
    const std::string sts = "ACS3-HMAC-SHA256\n" + sha256_hex_s(cr);
    if (hmac_hex(c.secret, sts) != parts["Signature"]) p.push_back("signature does not match");

    // The gateway's other checks: date within 15 minutes, nonce never reused.
    std::tm tm{};
    const std::string date = req.get_header_value("x-acs-date");
    if (strptime(date.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm) == nullptr || date.size() != 20) {
      p.push_back("bad x-acs-date");
    } else if (std::llabs(static_cast<long long>(timegm(&tm)) - std::time(nullptr)) > 900) {
      p.push_back("x-acs-date more than 15 minutes off");
    }
    r.nonce = req.get_header_value("x-acs-signature-nonce");
    {
      std::lock_guard lock(s.mutex_);
      if (r.nonce.empty() || !s.nonces_.insert(r.nonce).second) p.push_back("nonce reused or missing");
    }
    if (req.get_header_value("x-acs-version") != "2022-08-09") p.push_back("wrong x-acs-version");
    if (req.get_header_value("Host") != "127.0.0.1:" + std::to_string(s.port_)) p.push_back("wrong Host");

    // Placement: scalars in the query, images only in the form body.
    std::map<std::string, std::string> qm(q.begin(), q.end());
    for (const char* must : {"ProductCode", "MerchantBizId", "MerchantUserId", "DocType"}) {
      if (!qm.count(must)) p.push_back(std::string("missing in query: ") + must);
    }
    r.merchant_user_id = qm["MerchantUserId"];
    if (qm.count("FacePictureBase64") || qm.count("IdOcrPictureBase64")) p.push_back("base64 in the URL");
    if (r.target_length > 8192) p.push_back("URL longer than 8 KiB");
    if (!body.empty()) {
      if (req.get_header_value("Content-Type") != "application/x-www-form-urlencoded") {
        p.push_back("body content-type is not a form");
      }
      pairs form;
      if (!parse_pairs(body, form, why)) p.push_back("form body encoding: " + why);
      for (const auto& [k, v] : form) {
        std::string raw;
        if (k != "FacePictureBase64" && k != "IdOcrPictureBase64") p.push_back("unexpected form field " + k);
        if (!b64_decode(v, raw)) {
          p.push_back(k + " is not base64");
          continue;
        }
        (k == "FacePictureBase64" ? r.face_sha256 : r.id_sha256) = sha256_hex_s(raw);
      }
    }
  }

  void verify_tc3(const httplib::Request& req, const std::string& body, received_request& r) {
    auto& p = r.problems;
    const auto& c = s.opts_.tencent;
    const std::string auth = req.get_header_value("Authorization");
    const std::string prefix = "TC3-HMAC-SHA256 ";
    if (auth.rfind(prefix, 0) != 0) {
      p.push_back("Authorization is not TC3-HMAC-SHA256");
      return;
    }
    std::map<std::string, std::string> parts;
    for (const auto& item : split(auth.substr(prefix.size()), ',')) {
      const std::string t = trim(item);
      const auto eq = t.find('=');
      if (eq != std::string::npos) parts[t.substr(0, eq)] = t.substr(eq + 1);
    }
    if (auth.find(", SignedHeaders=") == std::string::npos || auth.find(", Signature=") == std::string::npos) {
      p.push_back("Authorization separators are not ', '");
    }
    const auto cred = split(parts["Credential"], '/');
    if (cred.size() != 4 || cred[0] != c.key_id || cred[2] != "faceid" || cred[3] != "tc3_request") {
      p.push_back("bad Credential");
      return;
    }
    const std::string ts_text = req.get_header_value("X-TC-Timestamp");
    long long ts = 0;
    try {
      ts = std::stoll(ts_text);
    } catch (...) {
      p.push_back("bad X-TC-Timestamp");
      return;
    }
    if (cred[1] != utc_day(ts)) p.push_back("credential date is not the UTC date of the timestamp");
    if (std::llabs(ts - static_cast<long long>(std::time(nullptr))) > 300) p.push_back("timestamp more than 5 minutes off");
    const auto signed_names = split(parts["SignedHeaders"], ';');
    std::set<std::string> signed_set(signed_names.begin(), signed_names.end());
    if (!signed_set.count("content-type") || !signed_set.count("host")) p.push_back("content-type/host not signed");
    std::string ch;
    for (const auto& n : signed_names) ch += n + ":" + lower(trim(req.get_header_value(n.c_str()))) + "\n";
    const std::string cr = "POST\n/\n\n" + ch + "\n" + parts["SignedHeaders"] + "\n" + sha256_hex_s(body);
    const std::string scope = cred[1] + "/faceid/tc3_request";
    const std::string sts = "TC3-HMAC-SHA256\n" + ts_text + "\n" + scope + "\n" + sha256_hex_s(cr);
    const std::string k = hmac_raw(hmac_raw(hmac_raw("TC3" + c.secret, cred[1]), "faceid"), "tc3_request");
    if (hmac_hex(k, sts) != parts["Signature"]) p.push_back("signature does not match");
    if (req.get_header_value("X-TC-Version") != "2018-03-01") p.push_back("wrong X-TC-Version");
    if (req.get_header_value("X-TC-Region").empty()) p.push_back("no X-TC-Region");
    if (req.get_header_value("X-TC-Token") != c.token) p.push_back("X-TC-Token mismatch");
    if (req.target != "/") p.push_back("Tencent request with a query string");
    if (req.get_header_value("Content-Type") != "application/json") p.push_back("Content-Type is not application/json");
    const json j = json::parse(body, nullptr, false);
    if (!j.is_object()) {
      p.push_back("body is not a JSON object");
      return;
    }
    if (auto it = j.find("CompareImageBase64"); it != j.end() && it->is_string()) {
      std::string raw;
      if (!b64_decode(it->get<std::string>(), raw)) {
        p.push_back("CompareImageBase64 is not base64");
      } else {
        r.face_sha256 = sha256_hex_s(raw);
      }
    }
  }

  void serve(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
    received_request r;
    r.arrival = std::chrono::steady_clock::now();
    r.target_length = req.target.size();
    if (++s.served_ > s.opts_.max_requests) {
      res.status = 503;
      return;
    }
    const bool alibaba = req.has_header("x-acs-action");
    r.action = alibaba ? req.get_header_value("x-acs-action") : req.get_header_value("X-TC-Action");
    const auto qpos = req.target.find('?');
    const std::string raw_query = qpos == std::string::npos ? "" : req.target.substr(qpos + 1);

    std::string body;
    auto read_body = [&] {
      reader([&](const char* data, std::size_t n) {
        body.append(data, n);
        return true;
      });
    };
    auto decide = [&](const std::string& key) {
      std::lock_guard lock(s.mutex_);
      r.key = key;
      r.nth = ++s.seen_[key];
      r.played = s.opts_.script ? s.opts_.script(r.action, key, r.nth) : scenario::ok;
    };

    if (alibaba) {
      // Decided from the query, before the body is read, so that a reset
      // really happens mid-body.
      pairs q;
      std::string why;
      std::string key;
      if (parse_pairs(raw_query, q, why)) {
        for (const auto& [k, v] : q) {
          if (k == "MerchantBizId") key = v;
        }
      }
      decide(key);
      if (r.played == scenario::reset_mid_body) {
        reset_connection(req.local_port, req.remote_port);
        record(std::move(r));
        return;
      }
      read_body();
      verify_acs3(req, raw_query, body, r);
    } else {
      read_body();
      const json j = json::parse(body, nullptr, false);
      std::string key;
      if (j.is_object()) {
        if (j.contains("Extra") && j["Extra"].is_string()) key = j["Extra"].get<std::string>();
        if (j.contains("BizToken") && j["BizToken"].is_string()) key = j["BizToken"].get<std::string>();
      }
      decide(key);
      if (r.played == scenario::reset_mid_body) {
        reset_connection(req.local_port, req.remote_port);
        record(std::move(r));
        return;
      }
      verify_tc3(req, body, r);
    }

    const std::string request_id = "req-" + std::to_string(s.served_.load()) + "-" + r.key;
    if (!r.problems.empty()) {
      // What the gateway does with a bad signature: refuse, bill nothing.
      if (alibaba) {
        res.status = 400;
        res.set_content(json{{"Code", "SignatureDoesNotMatch"}, {"Message", r.problems.front()},
                             {"RequestId", request_id}}.dump(), "application/json");
      } else {
        res.set_content(json{{"Response", {{"Error", {{"Code", "AuthFailure.SignatureFailure"},
                                                      {"Message", r.problems.front()}}},
                                           {"RequestId", request_id}}}}.dump(), "application/json");
      }
      record(std::move(r));
      return;
    }

    auto alibaba_error = [&](int status, const char* code) {
      res.status = status;
      res.set_content(json{{"Code", code}, {"Message", std::string("scripted ") + code},
                           {"RequestId", request_id}}.dump(), "application/json");
    };
    auto tencent_error = [&](const char* code) {
      res.set_content(json{{"Response", {{"Error", {{"Code", code}, {"Message", std::string("scripted ") + code}}},
                                         {"RequestId", request_id}}}}.dump(), "application/json");
    };
    auto success = [&] {
      if (alibaba) {
        json result = {{"TransactionId", "tx-" + r.key},
                       {"Passed", "Y"},
                       {"SubCode", "200"},
                       {"ExtFaceInfo", json{{"faceAttack", "N"}, {"faceComparisonScore", 91.25}, {"facePassed", "Y"}}.dump()},
                       {"ExtIdInfo", json{{"ocrIdPassed", "Y"}, {"spoofInfo", {{"spoofResult", "N"}}}}.dump()}};
        res.set_content(json{{"RequestId", request_id}, {"Code", "Success"}, {"Message", "success"},
                             {"Result", result}}.dump(), "application/json");
      } else if (r.action == "ApplyWebVerificationBizTokenIntl") {
        res.set_content(json{{"Response", {{"BizToken", "token-" + r.key},
                                           {"VerificationURL", "https://verify.example.invalid/?token=token-" + r.key},
                                           {"RequestId", request_id}}}}.dump(), "application/json");
      } else {
        res.set_content(json{{"Response", {{"ErrorCode", 0}, {"ErrorMsg", "success"}, {"Extra", r.key},
                                           {"VerificationDetailList", json::array({{{"ErrorCode", 0}, {"Similarity", "93.5"}}})},
                                           {"RequestId", request_id}}}}.dump(), "application/json");
      }
    };

    switch (r.played) {
      case scenario::ok:
        r.billed = true;
        success();
        break;
      case scenario::slow_ok:
        r.billed = true;
        wait(s.opts_.slow_delay);
        success();
        break;
      case scenario::throttle:
        if (alibaba) alibaba_error(403, "Throttling.Api"); else tencent_error("RequestLimitExceeded");
        break;
      case scenario::server_error:
        if (alibaba) alibaba_error(500, "InternalError"); else tencent_error("InternalError");
        break;
      case scenario::unavailable:
        if (alibaba) alibaba_error(503, "ServiceUnavailable"); else tencent_error("ServiceUnavailable");
        break;
      case scenario::stall_after_billing:
        // Logged when processed, not when answered: the client gives up first.
        r.billed = true;
        record(r);
        wait(s.opts_.stall);
        success();
        return;
      case scenario::malformed_json:
        r.billed = true;
        res.set_content("{\"RequestId\":\"" + request_id + "\",\"Code\":\"Succ", "application/json");
        break;
      case scenario::auth_error:
        // A misbehaving gateway that echoes the STS token: the client must scrub it.
        if (alibaba) {
          res.status = 403;
          res.set_content(json{{"Code", "Forbidden.RAMUserAccessDenied"},
                               {"Message", "denied for token " + s.opts_.alibaba.token},
                               {"RequestId", request_id}}.dump(), "application/json");
        } else {
          tencent_error("AuthFailure.UnauthorizedOperation");
        }
        break;
      case scenario::no_face:
        r.billed = true;
        if (alibaba) alibaba_error(401, "NoFaceDetected"); else tencent_error("FailedOperation.ImageDecodeFailed");
        break;
      case scenario::reset_mid_body:
        break;
    }
    record(std::move(r));
  }

  void record(received_request r) {
    std::lock_guard lock(s.mutex_);
    s.log_.push_back(std::move(r));
  }
};

loopback_server::loopback_server(server_options opts) : opts_(std::move(opts)) {
  if (!opts_.cert_pem.empty()) {
    server_ = std::make_unique<httplib::SSLServer>(opts_.cert_pem.c_str(), opts_.key_pem.c_str());
  } else {
    server_ = std::make_unique<httplib::Server>();
  }
  if (!server_->is_valid()) return;
  handler_ = std::make_unique<handler>(handler{*this});
  const int rcvbuf = opts_.receive_buffer;
  server_->set_socket_options([rcvbuf](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    // Headers and body go out in two writes: without this, Nagle and the
    // client's delayed ACK add 40 ms to every answer on a reused connection.
    setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
    // Accepted sockets inherit the listening socket's receive buffer.
    if (rcvbuf > 0) setsockopt(sock, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  });
  // Stalled handlers hold a worker each; keep enough for the stalls of a
  // whole batch test plus the live connections.
  server_->new_task_queue = [] { return new httplib::ThreadPool(32); };
  server_->set_tcp_nodelay(true);
  server_->set_keep_alive_max_count(100000);
  server_->set_keep_alive_timeout(30);
  server_->set_read_timeout(5, 0);
  server_->set_payload_max_length(32u * 1024 * 1024);
  server_->Post("/", [this](const httplib::Request& req, httplib::Response& res,
                            const httplib::ContentReader& reader) { handler_->serve(req, res, reader); });
  port_ = server_->bind_to_any_port("127.0.0.1");
  if (port_ <= 0) {
    port_ = 0;
    return;
  }
  listener_ = std::thread([this] { server_->listen_after_bind(); });
  // stop() before the loop is running would be a no-op and join() would
  // hang: return only once the server is really listening.
  for (int i = 0; i < 5000 && !server_->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  watchdog_ = std::thread([this] {
    std::unique_lock lock(mutex_);
    stopping_cv_.wait_for(lock, opts_.lifetime, [&] { return stopping_; });
    stopping_ = true;
    stopping_cv_.notify_all();
    lock.unlock();
    server_->stop();
  });
}

loopback_server::~loopback_server() { stop(); }

void loopback_server::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  stopping_cv_.notify_all();
  if (server_) server_->stop();
  if (watchdog_.joinable()) watchdog_.join();
  if (listener_.joinable()) listener_.join();
}

std::string loopback_server::url() const {
  return std::string(opts_.cert_pem.empty() ? "http" : "https") + "://127.0.0.1:" + std::to_string(port_);
}

std::vector<received_request> loopback_server::requests() const {
  std::lock_guard lock(mutex_);
  return log_;
}

std::pair<std::filesystem::path, std::filesystem::path> make_self_signed_cert(
    const std::filesystem::path& dir) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), static_cast<long>(std::time(nullptr) & 0x7fffffff));
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600L * 24);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("kycprep loopback test"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair{NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost"},
                            std::pair{NID_basic_constraints, "critical,CA:TRUE"},
                            std::pair{NID_key_usage, "critical,digitalSignature,keyCertSign"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(cert, key, EVP_sha256());
  const auto cert_path = dir / "loopback-cert.pem";
  const auto key_path = dir / "loopback-key.pem";
  FILE* f = std::fopen(cert_path.c_str(), "wb");
  PEM_write_X509(f, cert);
  std::fclose(f);
  f = std::fopen(key_path.c_str(), "wb");
  PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  X509_free(cert);
  EVP_PKEY_free(key);
  return {cert_path, key_path};
}

}  // namespace kycprep::test
