// `kycprep batch --upload alibaba|tencent`: the item_step that sends each
// prepared item with one shared kycprep::uploader and puts the outcome in the
// item's record under "upload". The mapping from manifest fields to API
// fields, the record fields and the crash/billing rule: docs/BATCH.md,
// "Uploading".
#pragma once

#include <memory>
#include <string>
#include <unordered_map>

#include "batch_journal.hpp"
#include "batch_sink.hpp"
#include "kycprep/error.hpp"
#include "kycprep/upload.hpp"

namespace kycprep::cli {

struct upload_step_options {
  /// --dry-run: render each signed request (secrets and images redacted)
  /// into the record and item_step::outcome::print; send nothing.
  bool dry_run = false;
  /// --accept-double-billing: an item whose earlier upload has an intent
  /// line but no record is sent again (same MerchantBizId) instead of being
  /// recorded as unknown_outcome.
  bool accept_double_billing = false;
  /// --redirect-url: Tencent RedirectURL when the manifest has none.
  std::string redirect_url;
  /// Where intent lines go, fsynced before each call (the results journal).
  /// Null (a run without -o): no intent, so a crash cannot be reconciled.
  journal* intents = nullptr;
  /// The journal's pending uploads (ids with an intent and no record), as
  /// found at open time. Read-only during the run; may be null.
  const std::unordered_map<std::string, pending_upload>* pending = nullptr;
};

/// The step, sending through `up` from all worker threads (one uploader for
/// the run: one rate limit, one connection pool).
std::unique_ptr<item_step> make_upload_step(uploader up, upload_step_options options);

}  // namespace kycprep::cli
