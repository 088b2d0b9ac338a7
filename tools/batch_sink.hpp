// `kycprep batch` sink: writes each item's outputs durably (in the parallel
// stage), then its record to results.jsonl and/or the --jsonl-out stream (in
// input order), and keeps the run statistics. The record schema is in
// docs/BATCH.md.
#pragma once

#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "batch_journal.hpp"
#include "batch_stats.hpp"
#include "kycprep/batch.hpp"

namespace kycprep::cli {

enum class write_mode { jpeg, base64, both, none };

/// An optional per-item step after prepare and the output files: the place
/// the uploader (--upload alibaba|tencent) plugs in. run() is called on any
/// worker thread, concurrently for different items, only for items whose
/// images all prepared; it must not throw for per-item failures.
///
/// Its outcome goes into the record under name(). Because every record is
/// terminal and --resume skips every id that has a record, an item whose
/// record says it was sent is never sent again. An item whose step started
/// just before a crash has no record yet: a step with side effects must
/// leave its own trace first (the upload step appends an intent line to the
/// journal before sending; see batch_upload.hpp).
///
/// A step may throw only for failures that are not the item's (the journal
/// cannot be written): the run then stops as for an unwritable output, and
/// the item gets no record.
class item_step {
 public:
  struct outcome {
    nlohmann::json json;                  ///< written to record[name()]
    std::optional<kycprep::error> error;  ///< makes the record ok=false
    /// When non-empty, the record's error.code and the summary's
    /// errors_by_code use this name instead of to_string(error->code)
    /// (the upload step reports its category, e.g. "unknown_outcome").
    std::string code_name;
    /// Text for a human, written to sink_options::print in input order
    /// (the upload step's --dry-run renderings).
    std::string print;
  };
  virtual ~item_step() = default;
  [[nodiscard]] virtual std::string_view name() const = 0;
  /// `sha256` holds the hex digest of each image's JPEG, in image order.
  [[nodiscard]] virtual outcome run(const kycprep::batch_outcome& item, const std::vector<std::string>& sha256) const = 0;
};

struct sink_options {
  write_mode write = write_mode::jpeg;
  output_dir* out = nullptr;          ///< where images go (null: nowhere)
  journal* results = nullptr;         ///< results.jsonl (null: none)
  std::FILE* stream = nullptr;        ///< --jsonl-out (null: none)
  bool inline_base64 = false;         ///< put the base64 text in the stream's records
  std::FILE* print = nullptr;         ///< where item_step::outcome::print goes (null: nowhere)
  std::vector<std::unique_ptr<item_step>> steps;
};

class cli_sink final : public kycprep::batch_sink {
 public:
  cli_sink(sink_options opt, live_counters& live);
  void post(kycprep::batch_outcome& out) override;
  void consume(kycprep::batch_outcome&& out) override;

  [[nodiscard]] const run_stats& stats() const noexcept { return stats_; }

 private:
  void account(const kycprep::batch_outcome& out, bool ok, std::string_view err_code);

  sink_options opt_;
  live_counters& live_;
  run_stats stats_;
};

}  // namespace kycprep::cli
