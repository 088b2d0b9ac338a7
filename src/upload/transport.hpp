// HTTP over libcurl: a pool of easy handles (each keeps its connection
// alive), TLS verification always on, explicit body length, and an exact
// account of whether the whole body left the process, which decides between
// "safe to retry" and "unknown outcome".
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "kycprep/error.hpp"
#include "requests.hpp"

namespace kycprep::detail {

struct transport_options {
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds total_timeout{30000};
  std::string ca_file;
  int socket_send_buffer = 0;
  std::size_t max_response_bytes = 64u * 1024 * 1024;
};

enum class transport_failure : std::uint8_t {
  none,          ///< a response was received
  before_send,   ///< DNS/connect/TLS handshake failed, or the body was not completely sent
  tls_verify,    ///< the server certificate was refused (configuration)
  after_send,    ///< the whole body was sent, then the exchange failed (timeout, reset)
  local,         ///< out of memory, response too large, curl misuse
};

struct transport_result {
  transport_failure failure = transport_failure::none;
  int http_status = 0;
  std::string body;
  bool body_sent = false;   ///< the complete body left this process
  std::string error_text;   ///< curl's description (no secrets: curl never sees them in text)
};

class curl_transport {
 public:
  static result<std::unique_ptr<curl_transport>> create(transport_options opts);
  ~curl_transport();
  curl_transport(const curl_transport&) = delete;
  curl_transport& operator=(const curl_transport&) = delete;

  /// Thread-safe: takes an idle handle from the pool (or makes one).
  transport_result perform(const http_request& req);

 private:
  explicit curl_transport(transport_options opts) : opts_(std::move(opts)) {}
  void* take();
  void give_back(void* handle);

  transport_options opts_;
  std::mutex mutex_;
  std::vector<void*> idle_;
};

}  // namespace kycprep::detail
