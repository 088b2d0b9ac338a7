// The retry loop: rate limit -> sign (fresh nonce and date) -> send ->
// classify -> maybe back off and retry. The billing rule lives here.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <thread>

#include "crypto.hpp"
#include "kycprep/upload.hpp"
#include "requests.hpp"
#include "responses.hpp"
#include "transport.hpp"

namespace kycprep {

std::string_view to_string(upload_vendor v) noexcept {
  return v == upload_vendor::alibaba ? "alibaba" : "tencent";
}

std::optional<upload_vendor> parse_upload_vendor(std::string_view s) noexcept {
  if (s == "alibaba") return upload_vendor::alibaba;
  if (s == "tencent") return upload_vendor::tencent;
  return std::nullopt;
}

std::string_view to_string(upload_category c) noexcept {
  switch (c) {
    case upload_category::success: return "success";
    case upload_category::rejected_input: return "rejected_input";
    case upload_category::auth_config: return "auth_config";
    case upload_category::throttled: return "throttled";
    case upload_category::server_error: return "server_error";
    case upload_category::network: return "network";
    case upload_category::unknown_outcome: return "unknown_outcome";
  }
  return "unknown_outcome";
}

double default_qps(upload_vendor v) noexcept { return v == upload_vendor::alibaba ? 10.0 : 20.0; }

std::string_view default_endpoint(upload_vendor v) noexcept {
  return v == upload_vendor::alibaba ? "https://cloudauth-intl.cn-hongkong.aliyuncs.com"
                                     : "https://faceid.intl.tencentcloudapi.com";
}

struct uploader::impl {
  upload_config config;
  detail::signing_context signing;
  std::shared_ptr<rate_limiter> limiter;
  std::unique_ptr<detail::curl_transport> transport;
  std::string endpoint;

  std::chrono::system_clock::time_point now() const {
    return config.hooks.now ? config.hooks.now() : std::chrono::system_clock::now();
  }

  void sleep(std::chrono::nanoseconds d) const {
    if (config.hooks.sleep) {
      config.hooks.sleep(d);
    } else {
      std::this_thread::sleep_for(d);
    }
  }

  std::chrono::milliseconds backoff(int retry) const {
    const double base = static_cast<double>(config.backoff_initial.count()) *
                        std::pow(2.0, static_cast<double>(std::min(retry - 1, 30)));
    const double cap = std::min(base, static_cast<double>(config.backoff_max.count()));
    // "Equal jitter": half fixed, half random, so threads hit by the same
    // throttle spread out but never retry immediately.
    const double unit = static_cast<double>(detail::random_u64(config.hooks.random) >> 11) /
                        static_cast<double>(1ull << 53);
    return std::chrono::milliseconds(static_cast<std::int64_t>(cap / 2 + unit * cap / 2));
  }

  static bool retryable(upload_category c) {
    return c == upload_category::throttled || c == upload_category::server_error ||
           c == upload_category::network;
  }

  upload_outcome run(const detail::prepared_call& call);

  using prepare_fn = std::function<result<detail::prepared_call>()>;

  upload_outcome send_checked(upload_vendor want, std::string_view action, const prepare_fn& prep) {
    if (config.vendor != want) {
      return refuse(std::string(action), upload_category::auth_config,
                    std::string(action) + " needs an uploader configured for " +
                        std::string(to_string(want)));
    }
    try {
      auto call = prep();
      if (!call) return refuse(std::string(action), upload_category::rejected_input, call.error().message);
      return run(call.value());
    } catch (const std::exception& e) {
      return refuse(std::string(action), upload_category::network,
                    std::string("internal failure: ") + e.what());
    }
  }

  result<std::string> dry(upload_vendor want, std::string_view action, const prepare_fn& prep) const {
    if (config.vendor != want) {
      return result<std::string>(error_code::invalid_options, stage::upload,
                                 std::string(action) + " needs an uploader configured for " +
                                     std::string(to_string(want)));
    }
    try {
      auto call = prep();
      if (!call) return call.error();
      const auto req = detail::sign_call(call.value(), signing, now(),
                                         detail::random_hex128(config.hooks.random));
      return detail::render_for_display(req, call.value(), config.credentials);
    } catch (const std::exception& e) {
      return result<std::string>(error_code::internal, stage::upload, e.what());
    }
  }
  upload_outcome refuse(const std::string& action, upload_category c, std::string message) const {
    upload_outcome o;
    o.action = action;
    o.category = c;
    o.message = std::move(message);
    detail::scrub_secrets(o.message, config.credentials);
    return o;
  }
};

upload_outcome uploader::impl::run(const detail::prepared_call& call) {
  upload_outcome o;
  o.action = call.action;
  o.merchant_biz_id = call.merchant_biz_id;
  bool had_unknown = false;

  for (int attempt = 1; attempt <= config.max_attempts; ++attempt) {
    const auto started = limiter->acquire();
    // Signed per attempt: a retry must carry a fresh nonce and date, or the
    // gateway answers SignatureNonceUsed / SignatureExpire.
    const auto nonce = detail::random_hex128(config.hooks.random);
    const auto req = detail::sign_call(call, signing, now(), nonce);
    const auto tr = transport->perform(req);
    o.attempts = attempt;
    if (tr.body_sent) o.sent = true;

    upload_category category = upload_category::network;
    o.http_status = tr.http_status;
    switch (tr.failure) {
      case detail::transport_failure::none: {
        auto p = call.vendor == upload_vendor::alibaba
                     ? detail::parse_ekyc_verify(tr.http_status, tr.body)
                     : detail::parse_tencent(call.action, tr.http_status, tr.body);
        category = p.category;
        o.vendor_code = std::move(p.vendor_code);
        o.vendor_message = std::move(p.vendor_message);
        o.request_id = std::move(p.request_id);
        o.message = std::move(p.message);
        o.ekyc = std::move(p.ekyc);
        o.biz_token = std::move(p.biz_token);
        o.web_result = std::move(p.web_result);
        break;
      }
      case detail::transport_failure::before_send:
        category = upload_category::network;
        o.message = "request not delivered: " + tr.error_text;
        break;
      case detail::transport_failure::tls_verify:
        category = upload_category::auth_config;
        o.message = "TLS verification failed (check --cacert): " + tr.error_text;
        break;
      case detail::transport_failure::after_send:
        category = upload_category::unknown_outcome;
        o.message = "request sent, no answer (" + tr.error_text +
                    "): it may have been processed and billed";
        break;
      case detail::transport_failure::local:
        category = upload_category::network;
        o.message = "local failure: " + tr.error_text;
        o.category = category;
        attempt = config.max_attempts;  // not a server condition: do not retry
        break;
    }
    o.category = category;
    if (category == upload_category::unknown_outcome) had_unknown = true;

    bool retry = attempt < config.max_attempts &&
                 (retryable(category) ||
                  (category == upload_category::unknown_outcome && config.resend_after_unknown_outcome));
    std::chrono::milliseconds wait{0};
    if (retry) wait = backoff(attempt);
    if (config.hooks.on_attempt) {
      upload_attempt_event ev;
      ev.attempt = attempt;
      ev.action = call.action;
      ev.merchant_biz_id = call.merchant_biz_id;
      ev.category = category;
      ev.http_status = tr.http_status;
      ev.body_sent = tr.body_sent;
      ev.will_retry = retry;
      ev.backoff = wait;
      ev.started = started;
      config.hooks.on_attempt(ev);
    }
    if (!retry) break;
    if (had_unknown) o.resent_after_unknown_outcome = true;
    sleep(wait);
  }

  o.billed_possible = o.category == upload_category::success ||
                      o.category == upload_category::unknown_outcome ||
                      (o.category == upload_category::rejected_input && o.http_status != 0) ||
                      had_unknown;
  // The vendor's text could echo a request header; nothing secret leaves.
  detail::scrub_secrets(o.message, config.credentials);
  detail::scrub_secrets(o.vendor_message, config.credentials);
  detail::scrub_secrets(o.vendor_code, config.credentials);
  return o;
}

uploader::uploader(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
uploader::uploader(uploader&&) noexcept = default;
uploader& uploader::operator=(uploader&&) noexcept = default;
uploader::~uploader() = default;

result<uploader> uploader::create(upload_config config) {
  auto bad = [](std::string msg) {
    return result<uploader>(error_code::invalid_options, stage::upload, std::move(msg));
  };
  auto p = std::make_unique<impl>();
  p->endpoint = config.endpoint.empty() ? std::string(default_endpoint(config.vendor)) : config.endpoint;
  auto ep = detail::parse_endpoint(p->endpoint);
  if (!ep) return ep.error();
  if (config.credentials.key_id.empty() || config.credentials.secret.empty()) {
    return bad("credentials are missing (key id and secret are both required)");
  }
  if (config.qps < 0 || !std::isfinite(config.qps)) return bad("qps must be > 0");
  if (config.qps == 0) config.qps = default_qps(config.vendor);
  if (config.connect_timeout.count() <= 0 || config.total_timeout.count() <= 0) {
    return bad("timeouts must be positive");
  }
  if (config.max_attempts < 1 || config.max_attempts > 10) return bad("max_attempts must be 1..10");
  if (config.backoff_initial.count() < 0 || config.backoff_max < config.backoff_initial) {
    return bad("backoff_initial must be >= 0 and <= backoff_max");
  }
  if (!config.ca_file.empty()) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(config.ca_file, ec)) {
      return bad("CA file " + config.ca_file + " does not exist");
    }
  }
  if (config.region.empty() && config.vendor == upload_vendor::tencent) config.region = "ap-singapore";
  for (char c : config.region) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-')) return bad("region: letters, digits and '-' only");
  }

  detail::transport_options t;
  t.connect_timeout = config.connect_timeout;
  t.total_timeout = config.total_timeout;
  t.ca_file = config.ca_file;
  t.socket_send_buffer = config.socket_send_buffer;
  auto tr = detail::curl_transport::create(t);
  if (!tr) return tr.error();
  p->transport = std::move(tr.value());

  p->signing.endpoint = ep.value();
  p->signing.credentials = config.credentials;
  p->signing.region = config.region;
  p->limiter = config.limiter ? config.limiter : std::make_shared<rate_limiter>(config.qps);
  p->config = std::move(config);
  return uploader(std::move(p));
}

upload_outcome uploader::send(const ekyc_verify_request& r) {
  return impl_->send_checked(upload_vendor::alibaba, "EkycVerify", [&] {
    return detail::prepare(r, impl_->config.hash_merchant_user_id, impl_->config.hooks.random);
  });
}

upload_outcome uploader::send(const biz_token_request& r) {
  return impl_->send_checked(upload_vendor::tencent, "ApplyWebVerificationBizTokenIntl",
                             [&] { return detail::prepare(r); });
}

upload_outcome uploader::send(const web_verification_result_request& r) {
  return impl_->send_checked(upload_vendor::tencent, "GetWebVerificationResultIntl",
                             [&] { return detail::prepare(r); });
}

result<std::string> uploader::dry_run(const ekyc_verify_request& r) const {
  return impl_->dry(upload_vendor::alibaba, "EkycVerify", [&] {
    return detail::prepare(r, impl_->config.hash_merchant_user_id, impl_->config.hooks.random);
  });
}

result<std::string> uploader::dry_run(const biz_token_request& r) const {
  return impl_->dry(upload_vendor::tencent, "ApplyWebVerificationBizTokenIntl",
                    [&] { return detail::prepare(r); });
}

result<std::string> uploader::dry_run(const web_verification_result_request& r) const {
  return impl_->dry(upload_vendor::tencent, "GetWebVerificationResultIntl",
                    [&] { return detail::prepare(r); });
}

upload_vendor uploader::vendor() const noexcept { return impl_->config.vendor; }
const std::string& uploader::endpoint() const noexcept { return impl_->endpoint; }
double uploader::qps() const noexcept { return impl_->limiter->qps(); }

}  // namespace kycprep
