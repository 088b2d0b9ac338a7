// run_batch throughput on 12 MP JPEGs, 1 vs 2 threads (issue 5: 2 threads
// should give >= 1.85x). The inputs are made in memory at start-up: a smooth
// gradient plus seeded noise (camera-like entropy), 4000x3000, JPEG q90.
//   build/bench/kycprep_bench --benchmark_filter=batch
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "kycprep/batch.hpp"
#include "kycprep/encode.hpp"

namespace {

using namespace kycprep;

const std::vector<std::vector<std::uint8_t>>& inputs_12mp() {
  static const auto v = [] {
    std::vector<std::vector<std::uint8_t>> out;
    std::mt19937 rng(7);
    std::normal_distribution<double> noise(0.0, 6.0);
    for (int k = 0; k < 4; ++k) {
      image im;
      im.width = k % 2 ? 3000 : 4000;
      im.height = k % 2 ? 4000 : 3000;
      im.channels = 3;
      im.pixels.resize(static_cast<std::size_t>(im.width) * im.height * 3);
      std::size_t i = 0;
      for (int y = 0; y < im.height; ++y)
        for (int x = 0; x < im.width; ++x)
          for (int c = 0; c < 3; ++c) {
            const double base = 60 + 120.0 * ((x * (c + 1) + y * (3 - c) + 500 * k) % 4000) / 4000.0;
            im.pixels[i++] = static_cast<std::uint8_t>(std::clamp(base + noise(rng), 0.0, 255.0));
          }
      encode_options eo;
      eo.quality = 92;
      auto e = encode_jpeg(im.view(), eo);
      if (e.ok()) out.push_back(std::move(e->jpeg));
    }
    return out;
  }();
  return v;
}

void batch_12mp(benchmark::State& state) {
  const auto& inputs = inputs_12mp();
  const int per_run = 16;
  for (auto _ : state) {
    std::vector<batch_item> items;
    for (int i = 0; i < per_run; ++i) {
      batch_item it;
      it.id = std::to_string(i);
      it.images.push_back({"document", "", inputs[static_cast<std::size_t>(i) % inputs.size()], profile::document});
      items.push_back(std::move(it));
    }
    vector_source src(std::move(items));
    std::size_t ok = 0;
    callback_sink sink([&](batch_outcome&& o) { ok += o.ok(); });
    batch_options opt;
    opt.threads = static_cast<int>(state.range(0));
    opt.prepare.want_base64 = true;
    auto r = run_batch(src, sink, opt);
    if (!r.ok() || ok != static_cast<std::size_t>(per_run)) state.SkipWithError("batch failed");
  }
  state.SetItemsProcessed(state.iterations() * per_run);
  state.counters["MP/s"] = benchmark::Counter(static_cast<double>(state.iterations()) * per_run * 12.0,
                                              benchmark::Counter::kIsRate);
}
BENCHMARK(batch_12mp)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(3.0);

}  // namespace
