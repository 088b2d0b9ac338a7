// base64 of a typical payload (150 KB JPEG): the 12-bit pair table against a
// naive one-character-at-a-time loop, and the strict decoder.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "kycprep/base64.hpp"

namespace {

constexpr std::size_t payload_bytes = 150 * 1024;

const std::vector<std::uint8_t>& payload() {
  static const std::vector<std::uint8_t> p = [] {
    std::mt19937 rng(42);
    std::vector<std::uint8_t> b(payload_bytes);
    for (auto& x : b) x = static_cast<std::uint8_t>(rng());
    return b;
  }();
  return p;
}

// The baseline: one 6-bit lookup and one push per output character.
void naive_encode(std::span<const std::uint8_t> in, std::string& out) {
  static constexpr char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  out.clear();
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const std::uint32_t v = (std::uint32_t{in[i]} << 16) | (std::uint32_t{in[i + 1]} << 8) | in[i + 2];
    out.push_back(a[v >> 18]);
    out.push_back(a[(v >> 12) & 63]);
    out.push_back(a[(v >> 6) & 63]);
    out.push_back(a[v & 63]);
  }
  if (in.size() - i == 1) {
    const std::uint32_t v = std::uint32_t{in[i]} << 16;
    out.push_back(a[v >> 18]);
    out.push_back(a[(v >> 12) & 63]);
    out += "==";
  } else if (in.size() - i == 2) {
    const std::uint32_t v = (std::uint32_t{in[i]} << 16) | (std::uint32_t{in[i + 1]} << 8);
    out.push_back(a[v >> 18]);
    out.push_back(a[(v >> 12) & 63]);
    out.push_back(a[(v >> 6) & 63]);
    out.push_back('=');
  }
}

void bm_base64_encode_pair_table(benchmark::State& state) {
  const auto& in = payload();
  std::string out;
  for (auto _ : state) {
    kycprep::base64_encode(in, out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * in.size()));
}
BENCHMARK(bm_base64_encode_pair_table);

void bm_base64_encode_naive(benchmark::State& state) {
  const auto& in = payload();
  std::string out;
  for (auto _ : state) {
    naive_encode(in, out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * in.size()));
}
BENCHMARK(bm_base64_encode_naive);

void bm_base64_decode(benchmark::State& state) {
  const std::string text = kycprep::base64_encode(payload());
  for (auto _ : state) {
    auto r = kycprep::base64_decode(text);
    benchmark::DoNotOptimize(r.ok());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * payload_bytes));
}
BENCHMARK(bm_base64_decode);

}  // namespace
