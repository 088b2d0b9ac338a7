// The upload flags shared by CLI subcommands (`kycprep batch --upload ...`):
// registration on a CLI11 subcommand, and turning the parsed values into a
// kycprep::upload_config (credentials read here, in the CLI layer).
#pragma once

#include <functional>
#include <string>

#include "kycprep/error.hpp"
#include "kycprep/upload.hpp"

namespace CLI {
class App;
}

namespace kycprep::cli {

/// Parsed upload flags. Defaults are the library's.
struct upload_options {
  std::string vendor;            ///< --upload alibaba|tencent; empty: no upload
  std::string endpoint;          ///< --endpoint URL (VPC, other regions, tests)
  std::string region;            ///< --region (Tencent X-TC-Region)
  double qps = 0;                ///< --qps; 0: vendor default (10 / 20)
  double timeout_s = 30;         ///< --timeout, whole request, seconds
  double connect_timeout_s = 5;  ///< --connect-timeout, seconds
  int max_attempts = 4;          ///< --max-attempts
  std::string cacert;            ///< --cacert PEM bundle
  std::string credentials_file;  ///< --credentials FILE (else the environment)
  bool dry_run = false;          ///< --dry-run: print the signed requests, send nothing
  bool accept_double_billing = false;  ///< --accept-double-billing: resend after unknown_outcome
  bool hash_user_id = false;     ///< --hash-user-id: send SHA-256(MerchantUserId)
};

/// Adds the flags above to `cmd` in an "Upload" group.
void add_upload_options(CLI::App& cmd, upload_options& o);

/// True when --upload was given.
[[nodiscard]] inline bool upload_requested(const upload_options& o) { return !o.vendor.empty(); }

/// Builds the uploader config: vendor, endpoint, limits, and credentials from
/// --credentials or else the vendor's environment variables (`env` replaces
/// std::getenv in tests). With --dry-run and no credentials anywhere, the
/// documentation placeholders are used so the request can still be shown.
/// Errors (invalid_options / io_error, stage upload) never contain a secret.
result<upload_config> make_upload_config(const upload_options& o,
                                         const std::function<const char*(const char*)>& env = {});

}  // namespace kycprep::cli
