#include "batch_stats.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace kycprep::cli {

namespace {
constexpr double min_ms = 0.001;
const double log_step = std::log(1.02);
}  // namespace

void latency_histogram::add(double ms) {
  int b = 0;
  if (ms > min_ms) b = std::min(buckets - 1, 1 + static_cast<int>(std::log(ms / min_ms) / log_step));
  ++counts_[static_cast<std::size_t>(b)];
  ++n_;
  sum_ += ms;
}

double latency_histogram::quantile(double q) const {
  if (n_ == 0) return 0.0;
  const auto rank = static_cast<std::uint64_t>(std::ceil(std::clamp(q, 0.0, 1.0) * static_cast<double>(n_)));
  std::uint64_t seen = 0;
  for (int b = 0; b < buckets; ++b) {
    seen += counts_[static_cast<std::size_t>(b)];
    if (seen >= std::max<std::uint64_t>(rank, 1)) {
      if (b == 0) return min_ms;
      // Geometric middle of the bucket [min * 1.02^(b-1), min * 1.02^b).
      return min_ms * std::exp((b - 0.5) * log_step);
    }
  }
  return min_ms * std::exp((buckets - 1) * log_step);
}

std::uint64_t peak_rss_bytes() {
  rusage ru{};
  if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
  return static_cast<std::uint64_t>(ru.ru_maxrss) * 1024u;  // Linux reports KiB
}

std::string progress_line(const live_counters& c, double elapsed_s) {
  const std::uint64_t done = c.done.load(std::memory_order_relaxed);
  const double rate = elapsed_s > 0 ? static_cast<double>(done) / elapsed_s : 0.0;
  char buf[160];
  std::string eta = "--:--:--";
  std::string total = "?";
  if (c.total_known.load(std::memory_order_acquire)) {
    const std::uint64_t t = c.total.load(std::memory_order_relaxed);
    total = std::to_string(t);
    if (rate > 0 && t >= done) {
      const auto s = static_cast<long long>(static_cast<double>(t - done) / rate);
      std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
      eta = buf;
    }
  }
  std::snprintf(buf, sizeof buf, "%llu/%s  %.1f img/s  ETA %s  errors %llu", static_cast<unsigned long long>(done),
                total.c_str(), rate, eta.c_str(),
                static_cast<unsigned long long>(c.failed.load(std::memory_order_relaxed)));
  return buf;
}

}  // namespace kycprep::cli
