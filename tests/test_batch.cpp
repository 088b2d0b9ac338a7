// The batch engine (include/kycprep/batch.hpp, src/batch/engine.cpp): order,
// the in-flight cap, the thread cap, per-item error capture, cancellation,
// and a real run over data/ samples and hostile files. The CLI on top
// (durability, resume, shards, streaming) is tested in tests/batch/.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <new>
#include <random>
#include <set>
#include <stdexcept>
#include <stop_token>
#include <thread>

#include "batch/engine.hpp"
#include "kycprep/batch.hpp"
#include "test_support.hpp"

namespace {

using namespace kycprep;
namespace fs = std::filesystem;

// An item whose single image carries `n` as its bytes, so the fake prepare
// knows which item it is working on.
batch_item numbered_item(std::uint32_t n) {
  batch_item it;
  it.id = "item-" + std::to_string(n);
  batch_image im;
  im.role = "document";
  im.bytes = {static_cast<std::uint8_t>(n & 255), static_cast<std::uint8_t>(n >> 8), 1};
  it.images.push_back(std::move(im));
  return it;
}

std::vector<batch_item> numbered_items(std::uint32_t count) {
  std::vector<batch_item> v;
  for (std::uint32_t i = 0; i < count; ++i) v.push_back(numbered_item(i));
  return v;
}

std::uint32_t number_of(std::span<const std::uint8_t> b) { return b[0] | (b[1] << 8); }

// A fake prepare: sleeps a pseudo-random 0..3 ms (so items finish out of
// order), returns a 1-byte "jpeg" holding the item number's low byte.
result<prepared> slow_fake(std::span<const std::uint8_t> b, const prepare_options&) {
  const std::uint32_t n = number_of(b);
  std::this_thread::sleep_for(std::chrono::microseconds((n * 7919u) % 3000u));
  prepared p;
  p.jpeg = {static_cast<std::uint8_t>(n & 255)};
  p.width = static_cast<int>(n);
  return p;
}

TEST(batch_engine, outcomes_arrive_in_input_order_with_threads_and_random_delays) {
  vector_source src(numbered_items(200));
  std::vector<std::string> ids;
  std::vector<std::uint64_t> seqs;
  callback_sink sink([&](batch_outcome&& o) {
    ids.push_back(o.item.id);
    seqs.push_back(o.seq);
    ASSERT_EQ(o.images.size(), 1u);
    ASSERT_TRUE(o.images[0].output.ok());
    EXPECT_EQ(o.images[0].output->width, static_cast<int>(o.seq));
  });
  batch_options opt;
  opt.threads = 2;
  opt.in_flight = 8;
  auto r = detail::run_batch_with(src, sink, opt, slow_fake);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->items, 200u);
  EXPECT_EQ(r->ok, 200u);
  EXPECT_EQ(r->failed, 0u);
  EXPECT_FALSE(r->stopped);
  ASSERT_EQ(ids.size(), 200u);
  for (std::uint32_t i = 0; i < 200; ++i) {
    EXPECT_EQ(ids[i], "item-" + std::to_string(i));
    EXPECT_EQ(seqs[i], i);
  }
}

// Counts items between leaving the source and reaching the sink.
struct counting_source final : batch_source {
  explicit counting_source(std::uint32_t n, std::atomic<int>& live, std::atomic<int>& peak)
      : n_(n), live_(live), peak_(peak) {}
  std::optional<batch_item> next() override {
    if (i_ >= n_) return std::nullopt;
    const int now = ++live_;
    int p = peak_.load();
    while (now > p && !peak_.compare_exchange_weak(p, now)) {
    }
    return numbered_item(i_++);
  }
  std::uint32_t n_, i_ = 0;
  std::atomic<int>& live_;
  std::atomic<int>& peak_;
};

TEST(batch_engine, in_flight_caps_the_items_alive_at_once) {
  for (int cap : {1, 3, 6}) {
    std::atomic<int> live{0}, peak{0};
    counting_source src(120, live, peak);
    callback_sink sink([&](batch_outcome&&) { --live; });
    batch_options opt;
    opt.threads = 2;
    opt.in_flight = cap;
    auto r = detail::run_batch_with(src, sink, opt, slow_fake);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->items, 120u);
    EXPECT_LE(peak.load(), cap) << "cap " << cap;
    EXPECT_GE(peak.load(), 1);
  }
}

TEST(batch_engine, threads_caps_the_workers_used) {
  for (int threads : {1, 2}) {
    std::mutex m;
    std::set<std::thread::id> workers;
    auto fn = [&](std::span<const std::uint8_t> b, const prepare_options& o) {
      {
        std::lock_guard lk(m);
        workers.insert(std::this_thread::get_id());
      }
      return slow_fake(b, o);
    };
    vector_source src(numbered_items(60));
    callback_sink sink([](batch_outcome&&) {});
    batch_options opt;
    opt.threads = threads;
    opt.in_flight = 8;
    ASSERT_TRUE(detail::run_batch_with(src, sink, opt, fn).ok());
    EXPECT_LE(static_cast<int>(workers.size()), threads);
    if (threads == 1) {
      EXPECT_TRUE(workers.count(std::this_thread::get_id()));
    }
  }
}

TEST(batch_engine, anything_thrown_per_item_becomes_that_items_error) {
  auto fn = [](std::span<const std::uint8_t> b, const prepare_options& o) -> result<prepared> {
    const auto n = number_of(b);
    if (n % 5 == 1) throw std::bad_alloc();
    if (n % 5 == 2) throw std::runtime_error("boom");
    if (n % 5 == 3) throw 42;
    if (n % 5 == 4) return error{error_code::corrupt, stage::decode, "bad"};
    return slow_fake(b, o);
  };
  vector_source src(numbered_items(50));
  std::vector<batch_outcome> got;
  callback_sink sink([&](batch_outcome&& o) { got.push_back(std::move(o)); });
  batch_options opt;
  opt.threads = 2;
  auto r = detail::run_batch_with(src, sink, opt, fn);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(got.size(), 50u);
  EXPECT_EQ(r->ok, 10u);
  EXPECT_EQ(r->failed, 40u);
  for (std::uint32_t i = 0; i < 50; ++i) {
    const auto* e = got[i].first_error();
    switch (i % 5) {
      case 0: EXPECT_EQ(e, nullptr); break;
      case 1:
        ASSERT_NE(e, nullptr);
        EXPECT_EQ(e->code, error_code::internal);
        EXPECT_EQ(e->message, "out of memory");
        break;
      case 2:
        ASSERT_NE(e, nullptr);
        EXPECT_EQ(e->code, error_code::internal);
        EXPECT_NE(e->message.find("boom"), std::string::npos);
        break;
      case 3:
        ASSERT_NE(e, nullptr);
        EXPECT_EQ(e->message, "unknown exception");
        break;
      case 4:
        ASSERT_NE(e, nullptr);
        EXPECT_EQ(e->code, error_code::corrupt);
        EXPECT_EQ(e->where, stage::decode);
        break;
    }
    // Inputs are released once prepared, before the in-order wait.
    EXPECT_TRUE(got[i].item.images[0].bytes.empty());
  }
}

TEST(batch_engine, failed_items_skip_prepare_and_a_throwing_post_step_is_recorded) {
  struct sink_t final : batch_sink {
    void post(batch_outcome& o) override {
      if (o.item.id == "item-3") throw std::runtime_error("upload refused");
      o.annotations = std::string("posted ") + o.item.id;
    }
    void consume(batch_outcome&& o) override { got.push_back(std::move(o)); }
    std::vector<batch_outcome> got;
  } sink;
  auto items = numbered_items(6);
  items[1].failed = error{error_code::invalid_options, stage::read, "bad manifest line"};
  std::atomic<int> calls{0};
  auto fn = [&](std::span<const std::uint8_t> b, const prepare_options& o) {
    ++calls;
    return slow_fake(b, o);
  };
  vector_source src(std::move(items));
  ASSERT_TRUE(detail::run_batch_with(src, sink, {}, fn).ok());
  ASSERT_EQ(sink.got.size(), 6u);
  EXPECT_EQ(calls.load(), 5);
  EXPECT_TRUE(sink.got[1].images.empty());
  ASSERT_NE(sink.got[1].first_error(), nullptr);
  EXPECT_EQ(sink.got[1].first_error()->message, "bad manifest line");
  ASSERT_TRUE(sink.got[3].post_error.has_value());
  EXPECT_NE(sink.got[3].post_error->message.find("upload refused"), std::string::npos);
  EXPECT_FALSE(sink.got[3].ok());
  EXPECT_EQ(std::any_cast<std::string>(sink.got[0].annotations), "posted item-0");
}

TEST(batch_engine, a_throwing_sink_stops_the_batch_and_is_returned) {
  vector_source src(numbered_items(100));
  std::vector<std::uint64_t> seqs;
  callback_sink sink([&](batch_outcome&& o) {
    if (o.seq == 10) throw std::runtime_error("disk full");
    seqs.push_back(o.seq);
  });
  batch_options opt;
  opt.threads = 2;
  auto r = detail::run_batch_with(src, sink, opt, slow_fake);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("disk full"), std::string::npos);
  ASSERT_EQ(seqs.size(), 10u);  // everything before the failure, in order, nothing after
  for (std::uint64_t i = 0; i < 10; ++i) EXPECT_EQ(seqs[i], i);
}

TEST(batch_engine, stop_finishes_the_items_in_flight_and_reports_stopped) {
  std::stop_source stop;
  vector_source src(numbered_items(500));
  std::vector<std::uint64_t> seqs;
  callback_sink sink([&](batch_outcome&& o) {
    seqs.push_back(o.seq);
    if (o.seq == 20) stop.request_stop();
  });
  batch_options opt;
  opt.threads = 2;
  opt.in_flight = 4;
  opt.stop = stop.get_token();
  auto r = detail::run_batch_with(src, sink, opt, slow_fake);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->stopped);
  EXPECT_GE(seqs.size(), 21u);
  EXPECT_LE(seqs.size(), 21u + 4u);  // at most the in-flight items are finished after the stop
  for (std::size_t i = 0; i < seqs.size(); ++i) EXPECT_EQ(seqs[i], i);
}

TEST(batch_engine, rejects_negative_counts) {
  vector_source src(numbered_items(1));
  callback_sink sink([](batch_outcome&&) {});
  batch_options opt;
  opt.threads = -1;
  auto r = run_batch(src, sink, opt);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, error_code::invalid_options);
}

// The real pipeline over real files: samples prepare, hostile files and a
// missing path each get an error outcome, and nothing stops the batch.
TEST(batch_run, real_files_good_and_hostile_all_get_an_outcome) {
  std::vector<batch_item> items;
  std::vector<fs::path> files;
  for (const char* dir : {"samples", "hostile"})
    for (const auto& e : fs::directory_iterator(test::data_dir() / dir)) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 10u);
  for (const auto& f : files) {
    batch_item it;
    it.id = f.filename().string();
    it.images.push_back({"document", f.string(), {}, profile::document});
    items.push_back(std::move(it));
  }
  batch_item missing;
  missing.id = "missing";
  missing.images.push_back({"document", (test::data_dir() / "no-such-file.jpg").string(), {}, profile::document});
  items.push_back(std::move(missing));
  const std::size_t n = items.size();

  vector_source src(std::move(items));
  std::vector<batch_outcome> got;
  callback_sink sink([&](batch_outcome&& o) { got.push_back(std::move(o)); });
  batch_options opt;
  opt.threads = 2;
  opt.in_flight = 3;
  auto r = run_batch(src, sink, opt);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(got.size(), n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto& o = got[i];
    EXPECT_EQ(o.seq, i);
    const bool sample = i < files.size() && files[i].parent_path().filename() == "samples";
    if (sample) {
      ASSERT_TRUE(o.ok()) << o.item.id << ": " << o.first_error()->message;
      const auto& p = *o.images[0].output;
      EXPECT_EQ(std::min(p.width, p.height), 720) << o.item.id;
      EXPECT_GT(p.jpeg.size(), 1000u);
      EXPECT_EQ(o.images[0].input_bytes, fs::file_size(files[i]));
    } else if (o.item.id == "missing") {
      ASSERT_FALSE(o.ok());
      EXPECT_EQ(o.first_error()->code, error_code::io_error);
    }
  }
  EXPECT_GE(r->ok, 4u);
  EXPECT_GE(r->failed, 10u);  // the hostile corpus is hostile
}

}  // namespace
