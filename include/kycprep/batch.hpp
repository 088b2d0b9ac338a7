// kycprep/batch.hpp: the batch engine, prepare() over a stream of inputs.
//
//   source (serial, in order) -> read + prepare + post-step (parallel)
//                             -> sink (serial, in input order)
//
// run_batch() runs on a tbb::parallel_pipeline inside its own
// tbb::task_arena: `threads` bounds the worker threads (an embedding host's
// pool is not oversubscribed) and `in_flight` bounds the number of items
// alive at once, and with it the memory (each live item holds at most its
// encoded input, its decoded pixels and its outputs).
//
// Per-item failures (unreadable file, hostile bytes, out of memory, an
// exception thrown by a post-step) become error values in that item's
// outcome; they never stop the batch. Only a failing source or sink (they
// throw) stops it, and run_batch() then returns that as its error.
//
// No global state: any number of batches may run at once in one process.
#pragma once

#include <any>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "kycprep/error.hpp"
#include "kycprep/export.hpp"
#include "kycprep/prepare.hpp"

namespace kycprep {

/// One image of a batch item.
struct batch_image {
  /// What the image is for: "face" or "document" in manifests, the profile
  /// name for plain files. Reported back; the engine does not interpret it.
  std::string role;
  /// Read with read_file() in a parallel stage when `bytes` is empty.
  std::string path;
  /// In-memory input (used instead of `path` when non-empty). Released as
  /// soon as the image is prepared.
  std::vector<std::uint8_t> bytes;
  /// The profile this image is prepared with (overrides batch_options::prepare).
  kycprep::profile profile = kycprep::profile::document;
};

/// One unit of work: an id and the images that belong together (a plain file
/// is one image; a manifest line may hold a face and a document).
struct batch_item {
  std::string id;
  std::vector<batch_image> images;
  /// Set by a source that already knows the item is bad (e.g. a malformed
  /// manifest line). The item is then not prepared and reaches the sink with
  /// this error.
  std::optional<kycprep::error> failed;
  /// Opaque data carried unchanged to the post-step and the sink (e.g. a
  /// manifest's pass-through fields).
  std::any user_data;
};

/// The outcome of one image.
struct image_outcome {
  result<prepared> output = error{error_code::internal, stage::read, "not run"};
  double read_ms = 0.0;  ///< time spent reading the file (also in output->timings[stage::read])
  std::uint64_t input_bytes = 0;
};

/// What the sink receives for each item, in input order.
struct batch_outcome {
  std::uint64_t seq = 0;  ///< 0-based position in the source's order
  batch_item item;        ///< the item, with image bytes released
  std::vector<image_outcome> images;  ///< one per item.images, same order
  /// Set when the post-step threw; the engine records it instead of aborting.
  std::optional<kycprep::error> post_error;
  /// Anything the post-step wants to hand to the sink (written files,
  /// checksums, an upload receipt...).
  std::any annotations;

  /// The item's own error, else the first image error, else the post error.
  [[nodiscard]] const kycprep::error* first_error() const noexcept;
  [[nodiscard]] bool ok() const noexcept { return first_error() == nullptr; }
};

/// Where the items come from. next() is called from one thread at a time, in
/// order; it returns std::nullopt at the end. Throwing stops the batch.
class KYCPREP_API batch_source {
 public:
  virtual ~batch_source();
  virtual std::optional<batch_item> next() = 0;
};

/// Where the outcomes go.
class KYCPREP_API batch_sink {
 public:
  virtual ~batch_sink();
  /// Optional per-item step, run in the parallel stage right after prepare,
  /// on any worker thread and concurrently for different items (so it must
  /// be thread-safe). Meant for work that should overlap: writing output
  /// files, uploading. An exception becomes outcome.post_error.
  virtual void post(batch_outcome& /*outcome*/) {}
  /// Called from one thread at a time, strictly in input order. Throwing
  /// stops the batch (no new items are started) and becomes run_batch's error.
  virtual void consume(batch_outcome&& outcome) = 0;
};

struct batch_options {
  /// Worker threads (the batch runs in a task_arena of this size). 0: all cores.
  int threads = 0;
  /// Items alive at once (read, being prepared, or waiting for the in-order
  /// sink). Bounds memory. 0: 2 x threads.
  int in_flight = 0;
  /// Options for every image; each image's profile overrides `prepare.profile`.
  prepare_options prepare;
  /// Cancels the batch gracefully: no new items are read, the items in
  /// flight are finished and consumed. run_batch() then returns normally
  /// with batch_stats::stopped set.
  std::stop_token stop;
};

struct batch_stats {
  std::uint64_t items = 0;   ///< items consumed by the sink
  std::uint64_t ok = 0;      ///< items without any error
  std::uint64_t failed = 0;  ///< items with an error
  double wall_seconds = 0.0;
  bool stopped = false;      ///< ended by batch_options::stop before the source ran dry
};

/// Runs the batch to the end of the source (or until stopped). Errors only
/// when the source or sink throws, or the options are invalid
/// (invalid_options); per-item errors are in the outcomes.
KYCPREP_API result<batch_stats> run_batch(batch_source& source, batch_sink& sink, const batch_options& opt = {});

/// Convenience: a source over a vector of items (moved out as they are read).
class KYCPREP_API vector_source final : public batch_source {
 public:
  explicit vector_source(std::vector<batch_item> items);
  std::optional<batch_item> next() override;

 private:
  std::vector<batch_item> items_;
  std::size_t pos_ = 0;
};

/// Convenience: a sink that calls a function for each outcome, in input order.
class KYCPREP_API callback_sink final : public batch_sink {
 public:
  explicit callback_sink(std::function<void(batch_outcome&&)> fn);
  void consume(batch_outcome&& outcome) override;

 private:
  std::function<void(batch_outcome&&)> fn_;
};

}  // namespace kycprep
