// `kycprep batch` durability: results.jsonl as a journal (one record per
// item, appended only after the item's outputs are durable; torn tails cut
// on --resume) and output files written by temp name + fsync + rename.
#pragma once

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "batch_inputs.hpp"

namespace kycprep::cli {

/// An upload that an earlier run started (its intent line is in the
/// journal) but never recorded: the call may have reached the server and
/// been billed. See docs/BATCH.md, "Uploading".
struct pending_upload {
  std::string merchant_biz_id;  ///< the id the call was sent with
  std::string vendor;           ///< "alibaba" / "tencent"
  int starts = 0;               ///< intent lines seen for this id
};

/// What a journal held when it was opened.
struct journal_state {
  id_set done;                      ///< ids with a (terminal) record
  std::uint64_t records = 0;        ///< terminal records (intent lines are not records)
  std::uint64_t failed = 0;         ///< records with "ok": false
  std::uint64_t cut_bytes = 0;      ///< bytes of torn tail removed
  /// Ids with an upload intent line and no terminal record after it, by id.
  std::unordered_map<std::string, pending_upload> pending_uploads;
};

/// The marker of an upload intent line: {"id": ..., "upload_started": true,
/// "vendor": ..., "merchant_biz_id": ...}. Such a line is not a record.
inline constexpr std::string_view upload_intent_key = "upload_started";

/// results.jsonl, held under an exclusive flock for the whole run (a second
/// process on the same journal fails fast instead of interleaving records).
/// Errors throw std::runtime_error: the run cannot continue without it.
class journal {
 public:
  /// Opens (creating) `path`. With `resume`, reads the existing records and
  /// cuts a torn last line (a line without '\n', or a final line that is not
  /// a JSON object, as a crash or power loss can leave). Without `resume`, a
  /// non-empty journal is an error (no silent mixing of two runs).
  journal(const std::filesystem::path& path, bool resume);
  ~journal();
  journal(const journal&) = delete;
  journal& operator=(const journal&) = delete;

  [[nodiscard]] const journal_state& state() const noexcept { return state_; }

  /// Appends `line` + '\n' with one write() and, when `sync`, fdatasync()s.
  /// Thread-safe: the upload step writes intent lines from worker threads
  /// while the sink writes records.
  void append(std::string_view line, bool sync);
  void sync();

 private:
  void load(bool resume);

  std::filesystem::path path_;
  int fd_ = -1;
  journal_state state_;
  std::mutex append_mutex_;  ///< one line at a time, even across short writes
};

/// The file name stem of an item's outputs: the id itself when it is made of
/// [A-Za-z0-9._-], does not start with '.', and has at most 120 characters;
/// otherwise the id with every other byte turned into '_', cut to 100
/// characters, plus '-' and the first 12 hex digits of SHA-256(id).
std::string output_stem(std::string_view id);

/// An output directory. Thread-safe: write_durable may run concurrently for
/// different names.
class output_dir {
 public:
  explicit output_dir(const std::filesystem::path& dir);
  ~output_dir();
  output_dir(const output_dir&) = delete;
  output_dir& operator=(const output_dir&) = delete;

  /// Writes `bytes` to dir/name so that a reader (or a crash) only ever sees
  /// the old file or the whole new one: write ".name.part", fsync, rename
  /// over name, fsync the directory. Throws std::system_error.
  void write_durable(const std::string& name, std::span<const std::uint8_t> bytes) const;
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return dir_; }

 private:
  std::filesystem::path dir_;
  int fd_ = -1;
};

}  // namespace kycprep::cli
