#include "upload_cli.hpp"

#include <CLI/CLI.hpp>
#include <cmath>

namespace kycprep::cli {

void add_upload_options(CLI::App& cmd, upload_options& o) {
  const std::string g = "Upload";
  cmd.add_option("--upload", o.vendor,
                 "Send each prepared item: alibaba (EkycVerify) or tencent (ApplyWebVerificationBizTokenIntl)")
      ->check(CLI::IsMember({"alibaba", "tencent"}))
      ->group(g);
  cmd.add_option("--endpoint", o.endpoint,
                 "API endpoint https://host[:port] (default: the vendor's public endpoint; use for VPC/regions)")
      ->group(g);
  cmd.add_option("--region", o.region, "Tencent X-TC-Region (default ap-singapore)")->group(g);
  cmd.add_option("--qps", o.qps, "Client-side request rate limit, retries included (default 10 alibaba, 20 tencent)")
      ->check(CLI::NonNegativeNumber)
      ->group(g);
  cmd.add_option("--timeout", o.timeout_s, "Whole-request timeout in seconds")
      ->check(CLI::PositiveNumber)
      ->capture_default_str()
      ->group(g);
  cmd.add_option("--connect-timeout", o.connect_timeout_s, "Connect timeout in seconds")
      ->check(CLI::PositiveNumber)
      ->capture_default_str()
      ->group(g);
  cmd.add_option("--max-attempts", o.max_attempts, "Attempts per item for retryable failures (1-10)")
      ->check(CLI::Range(1, 10))
      ->capture_default_str()
      ->group(g);
  cmd.add_option("--cacert", o.cacert, "PEM CA bundle to verify the server with (TLS verification is always on)")
      ->check(CLI::ExistingFile)
      ->group(g);
  cmd.add_option("--credentials", o.credentials_file,
                 "NAME=VALUE file with the vendor's variables (default: read them from the environment)")
      ->check(CLI::ExistingFile)
      ->group(g);
  cmd.add_flag("--dry-run", o.dry_run, "Print each fully signed request (secrets and images redacted); send nothing")
      ->group(g);
  cmd.add_flag("--accept-double-billing", o.accept_double_billing,
               "Also resend after an unknown outcome (timeout/reset after the whole request was sent); "
               "such a call may be billed twice")
      ->group(g);
  cmd.add_flag("--hash-user-id", o.hash_user_id, "Send SHA-256(merchant_user_id) instead of the value")->group(g);
}

result<upload_config> make_upload_config(const upload_options& o,
                                         const std::function<const char*(const char*)>& env) {
  auto bad = [](std::string msg) {
    return result<upload_config>(error_code::invalid_options, stage::upload, std::move(msg));
  };
  const auto vendor = parse_upload_vendor(o.vendor);
  if (!vendor) return bad("--upload takes alibaba or tencent");
  upload_config c;
  c.vendor = *vendor;
  c.endpoint = o.endpoint;
  c.region = o.region;
  c.qps = o.qps;
  c.total_timeout = std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(o.timeout_s * 1000)));
  c.connect_timeout =
      std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(o.connect_timeout_s * 1000)));
  if (c.connect_timeout > c.total_timeout) c.connect_timeout = c.total_timeout;
  c.max_attempts = o.max_attempts;
  c.ca_file = o.cacert;
  c.resend_after_unknown_outcome = o.accept_double_billing;
  c.hash_merchant_user_id = o.hash_user_id;

  auto creds = o.credentials_file.empty() ? credentials_from_environment(c.vendor, env)
                                          : credentials_from_file(c.vendor, o.credentials_file);
  if (creds) {
    c.credentials = std::move(creds.value());
  } else if (o.dry_run) {
    c.credentials = {"YourAccessKeyId", "YourAccessKeySecret", ""};
  } else {
    return creds.error();
  }
  return c;
}

}  // namespace kycprep::cli
