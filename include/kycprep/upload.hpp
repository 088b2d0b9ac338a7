// kycprep/upload.hpp: stage 8, the thin API uploader.
//
// Sends prepared payloads to Alibaba Cloud ID Verification (EkycVerify,
// signed with ACS3-HMAC-SHA256) or Tencent Cloud FaceID international
// (ApplyWebVerificationBizTokenIntl / GetWebVerificationResultIntl, signed
// with TC3-HMAC-SHA256). See docs/UPLOAD.md for the flags, the credentials and
// the retry/billing rule.
//
// Thread safety: one `uploader` may be shared by any number of threads;
// send() is thread-safe. Connections are kept alive and reused (a pool of
// connection handles, one in use per concurrent send). All requests of one
// uploader go through one token-bucket rate limiter.
//
// Secrets (AccessKeySecret / SecretKey / STS token) never appear in any
// string this API returns: outcomes, error messages, dry-run renderings.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "kycprep/error.hpp"
#include "kycprep/export.hpp"

namespace kycprep {

/// Which API family an uploader talks to.
enum class upload_vendor : std::uint8_t {
  alibaba,  ///< cloudauth-intl EkycVerify (eKYC_MIN), version 2022-08-09
  tencent,  ///< faceid *Intl actions, version 2018-03-01
};
KYCPREP_API std::string_view to_string(upload_vendor v) noexcept;
/// "alibaba" or "tencent"; nullopt otherwise.
KYCPREP_API std::optional<upload_vendor> parse_upload_vendor(std::string_view s) noexcept;

/// What an upload ended as. Values are stable and written to batch records
/// by name (to_string).
enum class upload_category : std::uint8_t {
  success,          ///< the API answered the call; for EkycVerify check ekyc->passed
  rejected_input,   ///< the request or image was refused (fix the input; never retried)
  auth_config,      ///< credentials, permissions, signature, clock, TLS or endpoint problem
  throttled,        ///< QPS exceeded; retries exhausted
  server_error,     ///< 5xx / InternalError / ServiceUnavailable; retries exhausted
  network,          ///< no request reached the server (connect/DNS failures, body not fully sent)
  unknown_outcome,  ///< the full request was sent but no usable answer came back:
                    ///< it may have been processed and billed. Not resent by default.
};
KYCPREP_API std::string_view to_string(upload_category c) noexcept;

/// Vendor credentials. `key_id` is AccessKeyId / SecretId; `secret` is
/// AccessKeySecret / SecretKey; `token` is the optional STS token
/// (Alibaba x-acs-security-token, Tencent X-TC-Token).
struct upload_credentials {
  std::string key_id;
  std::string secret;
  std::string token;
};

/// Reads ALIBABA_CLOUD_ACCESS_KEY_ID / ALIBABA_CLOUD_ACCESS_KEY_SECRET /
/// ALIBABA_CLOUD_SECURITY_TOKEN, or TENCENTCLOUD_SECRET_ID /
/// TENCENTCLOUD_SECRET_KEY / TENCENTCLOUD_SESSION_TOKEN. This is the only
/// place the library reads the environment, and only when called.
/// `lookup` replaces std::getenv (tests). Errors (code invalid_options,
/// stage upload) name the missing variable, never a value.
KYCPREP_API result<upload_credentials> credentials_from_environment(
    upload_vendor v, const std::function<const char*(const char*)>& lookup = {});

/// Reads a credentials file: `NAME=VALUE` lines using the same variable names
/// as the environment (blank lines and `#` comments ignored, surrounding
/// whitespace and one pair of quotes stripped). At most 64 KiB. Errors
/// (io_error / invalid_options) never quote the file's contents.
KYCPREP_API result<upload_credentials> credentials_from_file(upload_vendor v,
                                                             const std::filesystem::path& path);

/// Masks an identifier for display: the first 4 characters, then "****".
KYCPREP_API std::string redact_key_id(std::string_view key_id);

/// A thread-safe client-side rate limit: a token bucket of capacity 1. Each
/// grant is at least 1.01/qps after the previous *actual* grant (paced 1%
/// under the rate), so no window of one second holds more than qps grants,
/// even when a thread wakes up late. Waiters are served one at a time (not
/// strictly FIFO).
class KYCPREP_API rate_limiter {
 public:
  using steady_now_fn = std::function<std::chrono::steady_clock::time_point()>;
  using sleep_fn = std::function<void(std::chrono::nanoseconds)>;

  /// qps must be > 0. `now`/`sleep` default to steady_clock / sleep_for.
  explicit rate_limiter(double qps, steady_now_fn now = {}, sleep_fn sleep = {});

  /// Blocks until the next grant; returns the grant time (steady clock).
  std::chrono::steady_clock::time_point acquire();
  /// Reserves the next slot without waiting; returns how long the caller
  /// must wait before starting (0 when a slot is free now).
  std::chrono::nanoseconds reserve();

  [[nodiscard]] double qps() const noexcept { return qps_; }

 private:
  double qps_;
  std::chrono::nanoseconds interval_;
  steady_now_fn now_;
  sleep_fn sleep_;
  std::mutex mutex_;       ///< guards next_ (reserve)
  std::mutex gate_;        ///< held by the one waiter in acquire
  std::chrono::steady_clock::time_point next_{};
};

/// Documented per-account limits: 10/s for EkycVerify, 20/s for Tencent.
KYCPREP_API double default_qps(upload_vendor v) noexcept;
/// The public endpoints: https://cloudauth-intl.cn-hongkong.aliyuncs.com and
/// https://faceid.intl.tencentcloudapi.com.
KYCPREP_API std::string_view default_endpoint(upload_vendor v) noexcept;

/// What one attempt did, reported to upload_hooks::on_attempt. Holds no
/// secret and no image data.
struct upload_attempt_event {
  int attempt = 0;                  ///< 1-based
  std::string action;               ///< e.g. "EkycVerify"
  std::string merchant_biz_id;      ///< EkycVerify only
  upload_category category = upload_category::network;
  int http_status = 0;              ///< 0 when no response
  bool body_sent = false;           ///< the complete body left this process
  bool will_retry = false;
  std::chrono::milliseconds backoff{0};
  /// When the rate limiter let this attempt start.
  std::chrono::steady_clock::time_point started{};
};

/// Injection points for tests and embedding hosts. Every member is optional.
struct upload_hooks {
  /// Wall clock used for x-acs-date / X-TC-Timestamp (must be UTC-correct).
  std::function<std::chrono::system_clock::time_point()> now;
  /// Sleep used between retries (the rate limiter has its own).
  std::function<void(std::chrono::nanoseconds)> sleep;
  /// Randomness for nonces, generated MerchantBizIds and backoff jitter.
  /// Defaults to OpenSSL RAND_bytes.
  std::function<std::uint64_t()> random;
  /// Called after every attempt, from the sending thread.
  std::function<void(const upload_attempt_event&)> on_attempt;
};

/// How an uploader is built. Validated by uploader::create().
struct upload_config {
  upload_vendor vendor = upload_vendor::alibaba;
  /// "https://host[:port][/]". Empty: default_endpoint(vendor). Plain
  /// "http://" is accepted only for loopback hosts (127.0.0.1, ::1,
  /// localhost), for tests. No path, query or user info.
  std::string endpoint;
  /// Tencent X-TC-Region (default "ap-singapore"). Alibaba: the region is the
  /// endpoint's; a non-empty value other than "cn-hongkong" is only recorded.
  std::string region;
  upload_credentials credentials;
  /// Requests per second for this uploader (retries included). 0: default_qps.
  double qps = 0;
  std::chrono::milliseconds connect_timeout{5000};
  /// Whole exchange: connect + upload + response.
  std::chrono::milliseconds total_timeout{30000};
  /// PEM bundle to verify the server with (--cacert). Empty: system store.
  /// TLS verification is always on; there is no insecure mode.
  std::string ca_file;
  /// Attempts per call, first included (1..10).
  int max_attempts = 4;
  /// Backoff before retry n (n >= 1): uniform in [d/2, d] with
  /// d = min(backoff_max, backoff_initial * 2^(n-1)).
  std::chrono::milliseconds backoff_initial{500};
  std::chrono::milliseconds backoff_max{8000};
  /// Opt-in to double-billing risk: also retry after unknown_outcome.
  bool resend_after_unknown_outcome = false;
  /// Send SHA-256(MerchantUserId) as lowercase hex instead of the value.
  bool hash_merchant_user_id = false;
  /// SO_SNDBUF for the connection (0: OS default). A small value makes
  /// "the body was not completely sent" visible sooner; mainly for tests.
  int socket_send_buffer = 0;
  /// Share one limiter between uploaders of the same account (optional).
  std::shared_ptr<rate_limiter> limiter;
  upload_hooks hooks;
};

/// EkycVerify (eKYC_MIN). For each image give exactly one of the base64
/// string (raw base64, no "data:" prefix; sent in the form body) or the URL
/// (sent in the query).
struct ekyc_verify_request {
  std::string merchant_biz_id;  ///< <= 32 letters/digits; empty: generated (see outcome)
  std::string merchant_user_id; ///< required, <= 256 bytes; hashed if configured
  std::string doc_type;         ///< required, 8 digits, e.g. "01000000"
  std::string product_code = "eKYC_MIN";
  std::string face_picture_base64;    ///< <= 1,000,000 characters
  std::string face_picture_url;
  std::string id_ocr_picture_base64;  ///< <= 1,000,000 characters
  std::string id_ocr_picture_url;
  std::string authorize;        ///< "", "T" or "F"
  std::string crop;             ///< "", "T" or "F"
  std::string doc_name;         ///< optional
  std::string doc_no;           ///< optional, <= 18 letters/digits
  std::string id_threshold;     ///< "", "0".."3"
  std::string scene_code;       ///< optional, <= 10 of [A-Za-z0-9_]
};

/// Tencent ApplyWebVerificationBizTokenIntl.
struct biz_token_request {
  std::string redirect_url;          ///< required, http(s) URL
  std::string compare_image_base64;  ///< optional, <= 8 MiB, no "data:" prefix
  std::string extra;                 ///< optional, <= 1000 characters
  std::string rule_id;               ///< optional
  std::optional<int> check_mode;     ///< Config.CheckMode (1..4)
  std::string id_card_type;          ///< Config.IDCardType
  std::string language;              ///< Config.Language
  std::optional<int> security_level; ///< Config.SecurityLevel
};

/// Tencent GetWebVerificationResultIntl.
struct web_verification_result_request {
  std::string biz_token;  ///< required
};

/// EkycVerify's Result, with the nested ExtFaceInfo/ExtIdInfo JSON parsed.
struct ekyc_verify_result {
  std::string transaction_id;
  std::string passed;     ///< raw: "Y"/"N" (docs also mention "T"/"F")
  bool verified = false;  ///< passed == "Y"; only "Y" counts as passed
  std::string sub_code;
  std::optional<double> face_comparison_score;
  std::optional<double> authority_comparison_score;
  std::string face_passed;    ///< ExtFaceInfo.facePassed
  std::string face_attack;    ///< ExtFaceInfo.faceAttack
  std::string ocr_id_passed;  ///< ExtIdInfo.ocrIdPassed
  std::string spoof_result;   ///< ExtIdInfo.spoofInfo.spoofResult
  /// The nested JSON strings as received. ExtIdInfo holds OCR'd personal
  /// data (names, ID numbers): store it only where that is allowed.
  std::string ext_face_info;
  std::string ext_id_info;
};

/// ApplyWebVerificationBizTokenIntl's answer.
struct biz_token_result {
  std::string biz_token;
  std::string verification_url;  ///< VerificationURL (or the old VerificationUrl)
};

/// GetWebVerificationResultIntl's answer (videos and frames are not kept).
struct web_verification_result {
  std::optional<int> error_code;  ///< 0: same person; absent: not finished
  std::string error_msg;
  std::string extra;
  int attempt_count = 0;               ///< VerificationDetailList size
  std::optional<double> similarity;    ///< from the last detail entry
};

/// The terminal state of one call, after all attempts.
struct upload_outcome {
  upload_category category = upload_category::network;
  int attempts = 0;      ///< requests started (0: refused by validation)
  int http_status = 0;   ///< of the last response (0: none)
  /// The complete request left this process at least once.
  bool sent = false;
  /// The server may have processed (and billed) the call: success,
  /// unknown_outcome, or an input rejection answered by the server. A batch
  /// must never resend an item whose record has this set (--resume).
  bool billed_possible = false;
  /// An unknown_outcome was followed by a resend (only with
  /// resend_after_unknown_outcome): the call may be billed twice.
  bool resent_after_unknown_outcome = false;
  std::string vendor_code;     ///< Alibaba Code / Tencent Error.Code
  std::string vendor_message;  ///< as sent by the vendor (scrubbed of secrets)
  std::string request_id;
  std::string message;         ///< ours, for humans
  std::string action;          ///< API action name
  std::string merchant_biz_id; ///< EkycVerify: the id sent (generated when absent)
  std::optional<ekyc_verify_result> ekyc;
  std::optional<biz_token_result> biz_token;
  std::optional<web_verification_result> web_result;

  [[nodiscard]] bool ok() const noexcept { return category == upload_category::success; }
};

/// 32 lowercase hex characters from 128 random bits: unique, <= 32 letters
/// and digits as EkycVerify requires. `random` as in upload_hooks.
KYCPREP_API std::string generate_merchant_biz_id(const std::function<std::uint64_t()>& random = {});

/// Lowercase hex SHA-256 of `value` (the MerchantUserId hashing).
KYCPREP_API std::string sha256_hex(std::string_view value);

/// Client-side validation, as done by send() before anything is sent.
/// Errors have code invalid_options, stage upload.
KYCPREP_API result<bool> validate(const ekyc_verify_request& r);
KYCPREP_API result<bool> validate(const biz_token_request& r);
KYCPREP_API result<bool> validate(const web_verification_result_request& r);

/// The uploader. Create once per vendor/account and share between threads.
class KYCPREP_API uploader {
 public:
  /// Validates the config (endpoint, credentials present, ranges) and sets up
  /// the transport. Errors: invalid_options (stage upload).
  static result<uploader> create(upload_config config);

  uploader(uploader&&) noexcept;
  uploader& operator=(uploader&&) noexcept;
  uploader(const uploader&) = delete;
  uploader& operator=(const uploader&) = delete;
  ~uploader();

  /// Sends, retrying as described in docs/UPLOAD.md; never throws for bad
  /// input or network trouble. A request for the other vendor's uploader is
  /// refused with auth_config and attempts == 0.
  upload_outcome send(const ekyc_verify_request& r);
  upload_outcome send(const biz_token_request& r);
  upload_outcome send(const web_verification_result_request& r);

  /// The request send() would make (first attempt, freshly signed), as text:
  /// request line, headers and body, with the STS token and secrets removed,
  /// the key id masked and every image body replaced by its length and
  /// SHA-256. Sends nothing. Errors: validation failures.
  result<std::string> dry_run(const ekyc_verify_request& r) const;
  result<std::string> dry_run(const biz_token_request& r) const;
  result<std::string> dry_run(const web_verification_result_request& r) const;

  [[nodiscard]] upload_vendor vendor() const noexcept;
  /// The effective endpoint, e.g. "https://faceid.intl.tencentcloudapi.com".
  [[nodiscard]] const std::string& endpoint() const noexcept;
  [[nodiscard]] double qps() const noexcept;

 private:
  struct impl;
  explicit uploader(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace kycprep
