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
/// record says it was sent is never sent again. An item sent just before a
/// crash, whose record was not yet written, is sent again on --resume: the
/// step should make that harmless (an idempotency key derived from the id
/// and the sha256 of the payload, which are stable across runs).
class item_step {
 public:
  struct outcome {
    nlohmann::json json;                  ///< written to record[name()]
    std::optional<kycprep::error> error;  ///< makes the record ok=false
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
  std::vector<std::unique_ptr<item_step>> steps;
};

class cli_sink final : public kycprep::batch_sink {
 public:
  cli_sink(sink_options opt, live_counters& live);
  void post(kycprep::batch_outcome& out) override;
  void consume(kycprep::batch_outcome&& out) override;

  [[nodiscard]] const run_stats& stats() const noexcept { return stats_; }

 private:
  void account(const kycprep::batch_outcome& out, bool ok, const kycprep::error* err);

  sink_options opt_;
  live_counters& live_;
  run_stats stats_;
};

}  // namespace kycprep::cli
