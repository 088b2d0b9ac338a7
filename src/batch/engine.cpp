#include "batch/engine.hpp"

#include <oneapi/tbb/enumerable_thread_specific.h>
#include <oneapi/tbb/parallel_pipeline.h>
#include <oneapi/tbb/task_arena.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <memory>
#include <new>
#include <utility>

namespace kycprep {

batch_source::~batch_source() = default;
batch_sink::~batch_sink() = default;

const error* batch_outcome::first_error() const noexcept {
  if (item.failed) return &*item.failed;
  for (const auto& im : images)
    if (!im.output.ok()) return &im.output.error();
  if (post_error) return &*post_error;
  return nullptr;
}

vector_source::vector_source(std::vector<batch_item> items) : items_(std::move(items)) {}

std::optional<batch_item> vector_source::next() {
  if (pos_ >= items_.size()) return std::nullopt;
  return std::move(items_[pos_++]);
}

callback_sink::callback_sink(std::function<void(batch_outcome&&)> fn) : fn_(std::move(fn)) {}

void callback_sink::consume(batch_outcome&& outcome) { fn_(std::move(outcome)); }

namespace detail {

error error_from_current_exception(stage where) {
  try {
    throw;
  } catch (const std::bad_alloc&) {
    return {error_code::internal, where, "out of memory"};
  } catch (const std::exception& e) {
    return {error_code::internal, where, std::string("exception: ") + e.what()};
  } catch (...) {
    return {error_code::internal, where, "unknown exception"};
  }
}

namespace {

using clock = std::chrono::steady_clock;

double ms_since(clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(clock::now() - t0).count();
}

// Reads (when needed) and prepares one image. Never throws: a failure of any
// kind, std::bad_alloc included, is this image's error and nothing more.
image_outcome prepare_one(batch_image& im, const prepare_options& base, const prepare_fn& fn) {
  image_outcome out;
  try {
    prepare_options opt = base;
    opt.profile = im.profile;
    double read_ms = 0.0;
    if (im.bytes.empty() && !im.path.empty()) {
      const auto t0 = clock::now();
      auto bytes = read_file(im.path, opt.decode.limits.max_input_bytes);
      read_ms = ms_since(t0);
      if (!bytes.ok()) {
        out.output = std::move(bytes).error();
        out.read_ms = read_ms;
        return out;
      }
      im.bytes = std::move(bytes.value());
    }
    out.input_bytes = im.bytes.size();
    out.output = fn(im.bytes, opt);
    out.read_ms = read_ms;
    if (out.output.ok()) out.output->timings[stage::read] += read_ms;
  } catch (...) {
    out.output = error_from_current_exception(stage::read);
  }
  // The input is dead weight from here on; drop it before the item waits
  // for its turn at the in-order sink.
  std::vector<std::uint8_t>().swap(im.bytes);
  return out;
}

}  // namespace

result<batch_stats> run_batch_with(batch_source& source, batch_sink& sink, const batch_options& opt,
                                   const prepare_fn& fn) {
  if (opt.threads < 0 || opt.in_flight < 0)
    return error{error_code::invalid_options, stage::read, "threads and in_flight must be >= 0"};
  const int threads = opt.threads > 0 ? opt.threads : tbb::this_task_arena::max_concurrency();
  const int in_flight = opt.in_flight > 0 ? opt.in_flight : 2 * threads;

  batch_stats stats;
  std::uint64_t seq = 0;
  const auto t0 = clock::now();
  using token = std::unique_ptr<batch_outcome>;

  auto read = [&](tbb::flow_control& fc) -> token {
    if (opt.stop.stop_requested()) {
      stats.stopped = true;
      fc.stop();
      return nullptr;
    }
    auto item = source.next();
    if (!item) {
      fc.stop();
      return nullptr;
    }
    auto out = std::make_unique<batch_outcome>();
    out->seq = seq++;
    out->item = std::move(*item);
    return out;
  };

  auto work = [&](token out) -> token {
    if (!out->item.failed) {
      out->images.reserve(out->item.images.size());
      for (auto& im : out->item.images) out->images.push_back(prepare_one(im, opt.prepare, fn));
    }
    try {
      sink.post(*out);
    } catch (...) {
      out->post_error = error_from_current_exception(stage::upload);
    }
    return out;
  };

  auto write = [&](token out) {
    const bool ok = out->ok();
    sink.consume(std::move(*out));
    ++stats.items;
    ++(ok ? stats.ok : stats.failed);
  };

  try {
    // A private arena: the batch never uses more than `threads` threads,
    // whatever the host process does with TBB elsewhere.
    tbb::task_arena arena(threads);
    arena.execute([&] {
      tbb::parallel_pipeline(static_cast<std::size_t>(in_flight),
                             tbb::make_filter<void, token>(tbb::filter_mode::serial_in_order, read) &
                                 tbb::make_filter<token, token>(tbb::filter_mode::parallel, work) &
                                 tbb::make_filter<token, void>(tbb::filter_mode::serial_in_order, write));
    });
  } catch (...) {
    // Only the source or the sink can get here: the middle stage catches all.
    auto e = error_from_current_exception(stage::read);
    e.message = "batch stopped by its source or sink: " + e.message;
    return e;
  }
  stats.wall_seconds = ms_since(t0) / 1000.0;
  return stats;
}

}  // namespace detail

result<batch_stats> run_batch(batch_source& source, batch_sink& sink, const batch_options& opt) {
  // One workspace per worker thread: the large buffers are reused from
  // image to image instead of being faulted in afresh.
  tbb::enumerable_thread_specific<workspace> spaces;
  return detail::run_batch_with(source, sink, opt, [&spaces](std::span<const std::uint8_t> bytes, const prepare_options& o) {
    return prepare(bytes, o, spaces.local());
  });
}

}  // namespace kycprep
