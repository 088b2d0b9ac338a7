// One Huffman pass or two, for the face profile's decode (issue 4).
//
//   two_pass: what prepare() does for a baseline JPEG above
//             max_coefficient_bytes: a draft 1/8 decode for detection, then a
//             region decode of the crop (libjpeg entropy-decodes every row
//             down to the crop's bottom again). For a progressive JPEG: one
//             full 1/1 decode, the crop cut from it.
//   one_pass: what prepare() does otherwise: detail::read_coefficients (one
//             entropy pass, our decoder) + dc_proxy (the same 1/8 image) +
//             decode_region of the crop (our ISLOW IDCT).
//
// The crop is the face frame prepare() picks on the corpus' phone12_0.jpg
// (stored x 1794, y 686, 872x1163), scaled to the other files' sizes.
// Inputs: KYCPREP_BENCH_CORPUS (tools/make_bench_corpus.py); missing files skip.
//
//   KYCPREP_BENCH_CORPUS=/tmp/corpus build/bench/kycprep_bench --benchmark_filter=coef \
//     --benchmark_repetitions=7 --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <csetjmp>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

// jpeglib.h needs size_t and FILE declared first.
#include <cstdio>
#include <jpeglib.h>

#include "decode/coef_decode.hpp"
#include "decode/entropy.hpp"
#include "kycprep/decode.hpp"
#include "kycprep/prepare.hpp"

namespace {

using bytes_t = std::vector<std::uint8_t>;

const bytes_t* corpus_file(const std::string& file) {
  static std::map<std::string, bytes_t> cache;  // benchmarks run on one thread
  auto it = cache.find(file);
  if (it == cache.end()) {
    const char* dir = std::getenv("KYCPREP_BENCH_CORPUS");
    bytes_t b;
    if (dir != nullptr && *dir != '\0')
      if (auto r = kycprep::read_file(std::string(dir) + "/" + file, 64u << 20)) b = std::move(r).value();
    it = cache.emplace(file, std::move(b)).first;
  }
  return it->second.empty() ? nullptr : &it->second;
}

struct input {
  const bytes_t* bytes = nullptr;
  kycprep::rect region;
  bool progressive = false;
};

input load(benchmark::State& state, const std::string& file) {
  input in;
  in.bytes = corpus_file(file);
  if (in.bytes == nullptr) {
    state.SkipWithError(("no " + file + " (set KYCPREP_BENCH_CORPUS)").c_str());
    return in;
  }
  auto h = kycprep::read_header(*in.bytes);
  if (!h) {
    state.SkipWithError(h.error().message.c_str());
    in.bytes = nullptr;
    return in;
  }
  const double sx = h->width / 4032.0, sy = h->height / 3024.0;
  in.region = {static_cast<int>(1794 * sx), static_cast<int>(686 * sy), static_cast<int>(872 * sx),
               static_cast<int>(1163 * sy)};
  in.progressive = h->progressive;
  return in;
}

void bm_coef_two_pass(benchmark::State& state, const std::string& file) {
  const input in = load(state, file);
  if (in.bytes == nullptr) return;
  for (auto _ : state) {
    if (in.progressive) {  // prepare(): one full decode, the crop cut from it
      auto full = kycprep::decode(*in.bytes);
      if (!full) return state.SkipWithError(full.error().message.c_str());
      benchmark::DoNotOptimize(full->pixels.pixels.data());
      continue;
    }
    kycprep::decode_request proxy_req;
    proxy_req.scale_denom = 8;
    proxy_req.draft = true;
    auto proxy = kycprep::decode(*in.bytes, {}, proxy_req);
    if (!proxy) return state.SkipWithError(proxy.error().message.c_str());
    benchmark::DoNotOptimize(proxy->pixels.pixels.data());
    kycprep::decode_request crop_req;
    crop_req.region = in.region;
    auto crop = kycprep::decode(*in.bytes, {}, crop_req);
    if (!crop) return state.SkipWithError(crop.error().message.c_str());
    benchmark::DoNotOptimize(crop->pixels.pixels.data());
  }
}

void bm_coef_one_pass(benchmark::State& state, const std::string& file) {
  const input in = load(state, file);
  if (in.bytes == nullptr) return;
  std::size_t coef_bytes = 0;
  for (auto _ : state) {
    auto c = kycprep::detail::read_coefficients(*in.bytes, {});
    if (!c) return state.SkipWithError(c.error().message.c_str());
    kycprep::image proxy = kycprep::detail::dc_proxy(*c);
    benchmark::DoNotOptimize(proxy.pixels.data());
    auto crop = kycprep::detail::decode_region(*c, in.region, 1);
    if (!crop) return state.SkipWithError(crop.error().message.c_str());
    benchmark::DoNotOptimize(crop->pixels.data());
    coef_bytes = c->coefficient_bytes();
  }
  state.counters["coef_MB"] = static_cast<double>(coef_bytes) / 1e6;
}

// The parts of one_pass, to see where its time goes.
void bm_coef_part(benchmark::State& state, const std::string& file) {
  const input in = load(state, file);
  if (in.bytes == nullptr) return;
  const int part = static_cast<int>(state.range(0));
  auto held = kycprep::detail::read_coefficients(*in.bytes, {});
  if (!held) return state.SkipWithError(held.error().message.c_str());
  for (auto _ : state) {
    if (part == 0) {
      auto c = kycprep::detail::read_coefficients(*in.bytes, {});
      benchmark::DoNotOptimize(c.ok());
    } else if (part == 1) {
      kycprep::image proxy = kycprep::detail::dc_proxy(*held);
      benchmark::DoNotOptimize(proxy.pixels.data());
    } else if (part == 3) {
      kycprep::image proxy = kycprep::detail::dc_luma_proxy(*held);
      benchmark::DoNotOptimize(proxy.pixels.data());
    } else {
      auto crop = kycprep::detail::decode_region(*held, in.region, 1);
      benchmark::DoNotOptimize(crop.ok());
    }
  }
  static const char* const names[] = {"read_coefficients", "dc_proxy", "decode_region 1/1", "dc_luma_proxy"};
  state.SetLabel(names[part]);
}

BENCHMARK_CAPTURE(bm_coef_two_pass, 12mp, std::string("phone12_0.jpg"))->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(bm_coef_one_pass, 12mp, std::string("phone12_0.jpg"))->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(bm_coef_two_pass, 12mp_prog, std::string("phone12_prog.jpg"))->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(bm_coef_one_pass, 12mp_prog, std::string("phone12_prog.jpg"))->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(bm_coef_two_pass, 3mp, std::string("phone3_0.jpg"))->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(bm_coef_one_pass, 3mp, std::string("phone3_0.jpg"))->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(bm_coef_part, 12mp, std::string("phone12_0.jpg"))->Arg(0)->Arg(1)->Arg(2)->Arg(3)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

// ---- Huffman decoding alone: libjpeg's jpeg_read_coefficients against our
// detail::entropy_decode (src/decode/entropy.hpp), same files, same run:
//
//   KYCPREP_BENCH_CORPUS=/tmp/corpus2 build/bench/kycprep_bench --benchmark_filter=entropy \
//     --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true
namespace {

struct bench_jerr {
  jpeg_error_mgr pub;
  std::jmp_buf jump;
};

extern "C" void bench_error_exit(j_common_ptr c) { std::longjmp(reinterpret_cast<bench_jerr*>(c->err)->jump, 1); }

bool bench_read_coefficients(jpeg_decompress_struct* d, bench_jerr* err, const bytes_t& b) {
  if (setjmp(err->jump)) return false;
  jpeg_mem_src(d, b.data(), static_cast<unsigned long>(b.size()));
  jpeg_read_header(d, TRUE);
  jvirt_barray_ptr* arrays = jpeg_read_coefficients(d);
  benchmark::DoNotOptimize(arrays);
  return true;
}

void bm_entropy_libjpeg(benchmark::State& state, const std::string& file) {
  const bytes_t* b = corpus_file(file);
  if (b == nullptr) return state.SkipWithError(("no " + file + " (set KYCPREP_BENCH_CORPUS)").c_str());
  for (auto _ : state) {
    jpeg_decompress_struct d{};
    bench_jerr err{};
    d.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = bench_error_exit;
    jpeg_create_decompress(&d);
    const bool ok = bench_read_coefficients(&d, &err, *b);
    jpeg_destroy_decompress(&d);
    if (!ok) return state.SkipWithError("libjpeg failed");
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(b->size()));
}

// Arg 0: the scan loops the CPU runs by default (BMI2 when present); 1: the
// baseline x86-64 build of the same loops.
void bm_entropy_ours(benchmark::State& state, const std::string& file) {
  const bytes_t* b = corpus_file(file);
  if (b == nullptr) return state.SkipWithError(("no " + file + " (set KYCPREP_BENCH_CORPUS)").c_str());
  const auto isa = state.range(0) == 0 ? kycprep::detail::entropy_isa::best : kycprep::detail::entropy_isa::baseline;
  state.SetLabel(state.range(0) == 0 ? "best ISA" : "baseline ISA");
  for (auto _ : state) {
    std::string why;
    auto f = kycprep::detail::entropy_decode(*b, 1000, &why, std::size_t{1} << 32, isa);
    if (!f) return state.SkipWithError(("declined: " + why).c_str());
    benchmark::DoNotOptimize(f->planes.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(b->size()));
}

BENCHMARK_CAPTURE(bm_entropy_libjpeg, 12mp_baseline, std::string("phone12_nothumb_0.jpg"))->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(bm_entropy_ours, 12mp_baseline, std::string("phone12_nothumb_0.jpg"))->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(bm_entropy_libjpeg, 12mp_prog, std::string("phone12_prog.jpg"))->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(bm_entropy_ours, 12mp_prog, std::string("phone12_prog.jpg"))->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
