// A real HTTP(S) server on 127.0.0.1 for the uploader tests (cpp-httplib).
//
// It checks every request the way the vendors' gateways would, with its own
// implementation of both signature schemes (it shares no code with the
// client's signer): the signature, the signed header set, the payload hash,
// the nonce (never reused), parameter placement (scalars in the query, base64
// only in a percent-encoded form body), and it decodes the images to report
// their SHA-256. Then it plays a scripted scenario per request.
//
// It listens on an ephemeral port, never makes outgoing connections, serves
// at most `max_requests` requests and stops itself after `lifetime`.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace httplib {
class Server;
}

namespace kycprep::test {

enum class scenario : std::uint8_t {
  ok,                 ///< answer success (billed)
  slow_ok,            ///< wait `slow_delay`, then answer success (billed)
  throttle,           ///< 403 Throttling.Api (Alibaba) / RequestLimitExceeded (Tencent)
  server_error,       ///< 500 InternalError
  unavailable,        ///< 503 ServiceUnavailable
  reset_mid_body,     ///< read the headers, then reset the connection (nothing processed)
  stall_after_billing,///< process (billed), then hold the answer for `stall` (client times out)
  malformed_json,     ///< process (billed), answer 200 with a broken body
  auth_error,         ///< 403 Forbidden.RAMUserAccessDenied / AuthFailure.UnauthorizedOperation
  no_face,            ///< 401 NoFaceDetected / FailedOperation.ImageDecodeFailed (billed)
};

/// What the server saw in one request.
struct received_request {
  std::string action;
  std::string key;            ///< MerchantBizId (Alibaba), Extra or BizToken (Tencent)
  int nth = 0;                ///< how many requests with this key so far, this one included
  scenario played = scenario::ok;
  bool billed = false;
  std::vector<std::string> problems;  ///< signature/placement/encoding findings; empty = clean
  std::string nonce;          ///< x-acs-signature-nonce
  std::string face_sha256;    ///< of the decoded image bytes
  std::string id_sha256;
  std::string merchant_user_id;
  std::size_t target_length = 0;
  std::chrono::steady_clock::time_point arrival;
};

struct server_credentials {
  std::string key_id;
  std::string secret;
  std::string token;
};

struct server_options {
  std::filesystem::path cert_pem;  ///< both set: HTTPS
  std::filesystem::path key_pem;
  server_credentials alibaba;
  server_credentials tencent;
  /// (action, key, nth) -> what to do. Default: always ok.
  std::function<scenario(const std::string&, const std::string&, int)> script;
  std::chrono::milliseconds slow_delay{100};
  std::chrono::milliseconds stall{1500};
  int receive_buffer = 0;  ///< SO_RCVBUF for accepted sockets (0: default)
  int max_requests = 5000;
  std::chrono::seconds lifetime{90};
};

class loopback_server {
 public:
  explicit loopback_server(server_options opts);
  ~loopback_server();
  loopback_server(const loopback_server&) = delete;
  loopback_server& operator=(const loopback_server&) = delete;

  [[nodiscard]] bool running() const { return port_ > 0; }
  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] std::string url() const;
  [[nodiscard]] std::vector<received_request> requests() const;
  void stop();

 private:
  struct handler;
  server_options opts_;
  std::unique_ptr<httplib::Server> server_;
  std::thread listener_;
  std::thread watchdog_;
  int port_ = 0;
  mutable std::mutex mutex_;
  std::condition_variable stopping_cv_;
  bool stopping_ = false;
  std::vector<received_request> log_;
  std::map<std::string, int> seen_;
  std::set<std::string> nonces_;
  std::atomic<int> served_{0};
  std::unique_ptr<handler> handler_;
};

/// Writes a fresh self-signed certificate for IP 127.0.0.1 (and
/// DNS localhost) and its EC P-256 key into `dir`; returns {cert, key}.
std::pair<std::filesystem::path, std::filesystem::path> make_self_signed_cert(
    const std::filesystem::path& dir);

}  // namespace kycprep::test
