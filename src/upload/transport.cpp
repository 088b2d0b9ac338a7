#include "transport.hpp"

#include <curl/curl.h>
#include <sys/socket.h>

#include <cstring>
#include <strings.h>
#include <mutex>

namespace kycprep::detail {
namespace {

// libcurl's global init is not guaranteed thread-safe on every build; do it
// exactly once per process. Deliberately never cleaned up (other users of
// libcurl in the process may still need it).
bool global_init() {
  static std::once_flag once;
  static bool ok = false;
  std::call_once(once, [] { ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; });
  return ok;
}

struct body_source {
  const std::string* body = nullptr;
  std::size_t offset = 0;
  bool handed_over_completely = false;
  bool refused_rewind = false;
  bool refused_after_complete = false;
  int requests = 0;
};

std::size_t read_body(char* buffer, std::size_t size, std::size_t nitems, void* userdata) {
  auto* src = static_cast<body_source*>(userdata);
  const std::size_t room = size * nitems;
  const std::size_t left = src->body->size() - src->offset;
  const std::size_t n = left < room ? left : room;
  std::memcpy(buffer, src->body->data() + src->offset, n);
  src->offset += n;
  if (src->offset == src->body->size()) src->handed_over_completely = true;
  return n;
}

// libcurl rewinds the body to resend it on a fresh connection when a reused
// one turns out dead. That resend would skip the rate limiter, reuse the
// nonce and, if the whole body had gone out, risk a second billed call. So
// every rewind is refused: the attempt fails here and the uploader's own
// loop decides, re-signed and rate limited, whether to send again.
int seek_body(void* userdata, curl_off_t offset, int /*origin*/) {
  auto* src = static_cast<body_source*>(userdata);
  if (offset == 0 && src->offset == 0) return CURL_SEEKFUNC_OK;  // nothing read yet: a no-op
  src->refused_rewind = true;
  if (src->handed_over_completely) src->refused_after_complete = true;
  return CURL_SEEKFUNC_CANTSEEK;
}

// Called before every request libcurl sends within one perform, including
// its silent resend on a dead reused connection, which never asks to rewind
// when no body byte had gone out yet. One perform, one request: a second one
// is aborted and the uploader's loop decides.
int before_request(void* clientp, char* /*conn_primary_ip*/, char* /*conn_local_ip*/,
                   int /*conn_primary_port*/, int /*conn_local_port*/) {
  auto* src = static_cast<body_source*>(clientp);
  if (++src->requests > 1) {
    src->refused_rewind = true;
    if (src->handed_over_completely) src->refused_after_complete = true;
    return CURL_PREREQFUNC_ABORT;
  }
  return CURL_PREREQFUNC_OK;
}

struct sink {
  std::string* out = nullptr;
  std::size_t cap = 0;
  bool overflow = false;
};

std::size_t write_body(char* ptr, std::size_t size, std::size_t nmemb, void* userdata) {
  auto* s = static_cast<sink*>(userdata);
  const std::size_t n = size * nmemb;
  if (s->out->size() + n > s->cap) {
    s->overflow = true;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  s->out->append(ptr, n);
  return n;
}

int set_sndbuf(void* clientp, curl_socket_t fd, curlsocktype purpose) {
  const int bytes = *static_cast<int*>(clientp);
  if (purpose == CURLSOCKTYPE_IPCXN && bytes > 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
  }
  return CURL_SOCKOPT_OK;
}

struct slist_deleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

}  // namespace

result<std::unique_ptr<curl_transport>> curl_transport::create(transport_options opts) {
  if (!global_init()) {
    return result<std::unique_ptr<curl_transport>>(error_code::internal, stage::upload,
                                                   "libcurl initialisation failed");
  }
  return std::unique_ptr<curl_transport>(new curl_transport(std::move(opts)));
}

curl_transport::~curl_transport() {
  for (void* h : idle_) curl_easy_cleanup(static_cast<CURL*>(h));
}

void* curl_transport::take() {
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      void* h = idle_.back();
      idle_.pop_back();
      return h;
    }
  }
  return curl_easy_init();
}

void curl_transport::give_back(void* handle) {
  std::lock_guard lock(mutex_);
  idle_.push_back(handle);
}

transport_result curl_transport::perform(const http_request& req) {
  transport_result out;
  CURL* h = static_cast<CURL*>(take());
  if (h == nullptr) {
    out.failure = transport_failure::local;
    out.error_text = "curl_easy_init failed";
    return out;
  }
  // Reset options but keep the handle's live connections (keep-alive).
  curl_easy_reset(h);

  body_source src;
  src.body = req.body;
  sink response{&out.body, opts_.max_response_bytes};
  char errbuf[CURL_ERROR_SIZE] = {0};

  std::unique_ptr<curl_slist, slist_deleter> headers;
  auto append = [&](const std::string& line) {
    curl_slist* n = curl_slist_append(headers.get(), line.c_str());
    if (n != nullptr) {
      (void)headers.release();
      headers.reset(n);
    }
  };
  for (const auto& [name, value] : req.headers) append(name + ": " + value);
  append("Expect:");  // no 100-continue round trip
  bool has_content_type = false;
  for (const auto& [name, value] : req.headers) {
    if (strcasecmp(name.c_str(), "content-type") == 0) has_content_type = true;
  }
  if (!has_content_type) append("Content-Type:");  // curl would add a form type itself

  curl_easy_setopt(h, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https,http");
  curl_easy_setopt(h, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body->size()));
  curl_easy_setopt(h, CURLOPT_READFUNCTION, read_body);
  curl_easy_setopt(h, CURLOPT_READDATA, &src);
  curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, seek_body);
  curl_easy_setopt(h, CURLOPT_SEEKDATA, &src);
  curl_easy_setopt(h, CURLOPT_PREREQFUNCTION, before_request);
  curl_easy_setopt(h, CURLOPT_PREREQDATA, &src);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(h, CURLOPT_USERAGENT, "kycprep-upload/0.1");
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &response);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(opts_.connect_timeout.count()));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(opts_.total_timeout.count()));
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  // Idle connections older than this are not reused: servers drop idle
  // keep-alive connections, and a request racing that close is ambiguous.
  curl_easy_setopt(h, CURLOPT_MAXAGE_CONN, 20L);
  // With no body there is nothing to rewind, so libcurl would resend a
  // request that died on a reused connection without asking; a fresh
  // connection has no such silent retry.
  if (req.body->empty()) curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!opts_.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, opts_.ca_file.c_str());
  int sndbuf = opts_.socket_send_buffer;
  if (sndbuf > 0) {
    curl_easy_setopt(h, CURLOPT_SOCKOPTFUNCTION, set_sndbuf);
    curl_easy_setopt(h, CURLOPT_SOCKOPTDATA, &sndbuf);
  }

  const CURLcode rc = curl_easy_perform(h);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  curl_off_t uploaded = 0;
  curl_easy_getinfo(h, CURLINFO_SIZE_UPLOAD_T, &uploaded);
  long request_bytes = 0;
  curl_easy_getinfo(h, CURLINFO_REQUEST_SIZE, &request_bytes);
  // Unhook pointers to this stack frame before the handle goes back.
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);
  give_back(h);

  out.http_status = static_cast<int>(status);
  // "Sent" needs both: libcurl took every byte, and wrote every byte. When
  // a rewind was refused the upload counter may already be reset, so a body
  // that had been handed over completely counts as sent (the safe side).
  out.body_sent = (src.handed_over_completely &&
                   static_cast<std::size_t>(uploaded) >= req.body->size()) ||
                  src.refused_after_complete;
  if (req.body->empty()) {
    // No body to count: the request is complete once its headers went out.
    out.body_sent = request_bytes > 0 || src.refused_rewind;
  }

  if (rc == CURLE_OK) {
    out.body_sent = true;
    out.failure = transport_failure::none;
    return out;
  }
  out.error_text = errbuf[0] != 0 ? std::string(errbuf) : std::string(curl_easy_strerror(rc));
  out.body.clear();
  switch (rc) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
      out.failure = transport_failure::tls_verify;
      out.body_sent = false;
      return out;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
      out.failure = transport_failure::before_send;
      out.body_sent = false;
      return out;
    case CURLE_WRITE_ERROR:
      if (response.overflow) {
        out.failure = transport_failure::local;
        out.error_text = "response larger than the cap";
        return out;
      }
      break;
    case CURLE_OUT_OF_MEMORY:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
      out.failure = transport_failure::local;
      return out;
    default:
      break;
  }
  out.failure = out.body_sent ? transport_failure::after_send : transport_failure::before_send;
  return out;
}

}  // namespace kycprep::detail
