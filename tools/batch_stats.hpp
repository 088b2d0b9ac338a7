// `kycprep batch` run statistics: per-stage latency histograms (bounded
// memory however long the run), error counts, the progress line, the summary.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace kycprep::cli {

/// Latencies in ms, in log-spaced buckets (2% wide, 1 us .. ~30 min). Fixed
/// size: percentiles of a million items cost no more than of ten.
class latency_histogram {
 public:
  void add(double ms);
  [[nodiscard]] std::uint64_t count() const noexcept { return n_; }
  /// The q-quantile (0..1), accurate to a bucket width (2%); 0 when empty.
  [[nodiscard]] double quantile(double q) const;
  [[nodiscard]] double mean() const noexcept { return n_ ? sum_ / static_cast<double>(n_) : 0.0; }

 private:
  static constexpr int buckets = 1100;
  std::array<std::uint32_t, buckets> counts_{};
  std::uint64_t n_ = 0;
  double sum_ = 0.0;
};

/// Peak resident set size of this process in bytes (getrusage ru_maxrss).
std::uint64_t peak_rss_bytes();

/// The live counters the progress line reads (written by the sink thread).
struct live_counters {
  std::atomic<std::uint64_t> done{0};
  std::atomic<std::uint64_t> failed{0};
  std::atomic<std::uint64_t> total{0};   ///< 0 until known
  std::atomic<bool> total_known{false};
};

/// One progress line, e.g. "1234/5000  41.2 img/s  ETA 0:01:31  errors 3".
std::string progress_line(const live_counters& c, double elapsed_s);

/// Everything the summary reports, accumulated by the sink (one thread).
struct run_stats {
  std::uint64_t items = 0, ok = 0, failed = 0;
  std::uint64_t images = 0;             ///< images prepared successfully
  double megapixels = 0.0;              ///< source pixels of those images
  std::uint64_t input_bytes = 0, output_bytes = 0;
  std::map<std::string, latency_histogram> stages;  ///< by stage name, plus "write", "total"
  std::map<std::string, std::uint64_t> errors;      ///< by error code name
};

}  // namespace kycprep::cli
