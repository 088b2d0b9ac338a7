// `kycprep batch` inputs: files and directories, --list, --manifest; stable
// ids; the shard filter; the resume/duplicate filter. See docs/BATCH.md.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <istream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "kycprep/batch.hpp"

namespace kycprep::cli {

/// 128 bits of SHA-256(id): the key of the done/seen sets.
struct id_key {
  std::uint64_t hi = 0, lo = 0;
  friend bool operator==(const id_key&, const id_key&) = default;
};
struct id_key_hash {
  std::size_t operator()(const id_key& k) const noexcept { return static_cast<std::size_t>(k.lo); }
};
using id_set = std::unordered_set<id_key, id_key_hash>;

std::array<std::uint8_t, 32> sha256(std::string_view bytes);
std::string sha256_hex(std::span<const std::uint8_t> bytes);
id_key key_of(std::string_view id);

/// The id of a plain file input: its path as enumerated (the root as given
/// on the command line joined with the path below it), lexically normalised,
/// with '/' separators. "./a//b.jpg" -> "a/b.jpg".
std::string file_id(const std::filesystem::path& p);

/// --shard K/N.
struct shard_spec {
  std::uint64_t index = 0;  ///< K
  std::uint64_t count = 1;  ///< N
};
/// Parses "K/N" (0 <= K < N).
std::optional<shard_spec> parse_shard(std::string_view s);
/// The shard an id belongs to: the first 8 bytes of SHA-256(id), read as a
/// big-endian unsigned 64-bit integer, modulo n.
std::uint64_t shard_of(std::string_view id, std::uint64_t n);

/// Where the inputs come from, in this order: positional files and
/// directories (each directory walked recursively, entries sorted by byte
/// order of their names), then the --list, then the --manifest.
struct input_spec {
  std::vector<std::string> paths;
  std::string list;      ///< "" none, "-" stdin
  std::string manifest;  ///< "" none, "-" stdin
  kycprep::profile profile = kycprep::profile::document;  ///< for plain files
};

/// Walks one root depth-first in sorted order, holding one sorted listing
/// per open directory level (not the whole tree). Follows symlinks to files;
/// symlinked directories are listed but not descended (no cycles).
class tree_walker {
 public:
  explicit tree_walker(std::filesystem::path root);
  /// The next regular file (or unreadable entry, reported as a path so that
  /// it gets an error record), or nullopt at the end.
  std::optional<std::filesystem::path> next();

 private:
  struct level {
    std::vector<std::filesystem::path> entries;
    std::size_t pos = 0;
  };
  bool push_listing(const std::filesystem::path& dir);

  std::filesystem::path root_;
  bool started_ = false;
  std::vector<level> stack_;
};

/// Counters the source keeps while reading (read by the progress thread).
struct input_counters {
  std::atomic<std::uint64_t> seen{0};          ///< inputs enumerated
  std::atomic<std::uint64_t> other_shard{0};   ///< left to the other shards
  std::atomic<std::uint64_t> already_done{0};  ///< skipped: terminal record in the journal
  std::atomic<std::uint64_t> duplicates{0};    ///< skipped: id seen earlier in this run
  std::atomic<std::uint64_t> queued{0};        ///< handed to the engine
};

/// The batch source of the CLI: enumerates, assigns ids, filters by shard,
/// skips ids already done (`done`) and ids seen before in this run.
class cli_source final : public kycprep::batch_source {
 public:
  cli_source(input_spec spec, shard_spec shard, const id_set* done, input_counters& counters);
  std::optional<kycprep::batch_item> next() override;

  /// Counts the inputs this run will queue (same filters, no duplicate
  /// check) without reading them; for the progress line. Stops early when
  /// `stop` is set. Not for stdin inputs (returns nullopt).
  static std::optional<std::uint64_t> count(const input_spec& spec, shard_spec shard, const id_set* done,
                                            const std::atomic<bool>& stop);

 private:
  std::optional<kycprep::batch_item> next_raw();
  std::optional<kycprep::batch_item> next_manifest_item();

  input_spec spec_;
  shard_spec shard_;
  const id_set* done_;
  input_counters& counters_;
  id_set seen_;
  std::size_t path_pos_ = 0;
  std::unique_ptr<tree_walker> walker_;
  bool list_open_ = false, list_done_ = false;
  std::ifstream list_file_;
  std::istream* list_ = nullptr;
  bool manifest_open_ = false, manifest_done_ = false;
  std::ifstream manifest_file_;
  std::istream* manifest_ = nullptr;
  std::filesystem::path manifest_dir_;
  std::uint64_t manifest_line_ = 0;
};

/// Manifest pass-through fields, carried as batch_item::user_data: the JSON
/// text of the line's object without "id" and the image roles.
struct manifest_fields {
  std::string json;
};

/// The image roles a manifest line may carry, with their profiles.
inline constexpr std::array<std::pair<std::string_view, kycprep::profile>, 2> manifest_roles{{
    {"face", kycprep::profile::face},
    {"document", kycprep::profile::document},
}};

}  // namespace kycprep::cli
