// kycprep's own evaluation of OpenCV's LBP face cascades (private to the
// detect stage).
//
// The default detector's first look runs lbpcascade_frontalface on a
// 240-pixel proxy. cv::CascadeClassifier spends ~7-8 ms there, almost all of
// it evaluating one window at a time. This class runs the same cascade, read
// from the same XML file, on the same image pyramid (cv::resize with
// OpenCV's arguments, exact integer integral images) and visits the same
// windows in the same order, with the same float sums; only the arithmetic
// is laid out differently: eight neighbouring windows at once in AVX2
// registers (their integral-image corners are contiguous, so every corner is
// one load, and the 256-bit category subset is one register).
//
// The result is the same, rectangle for rectangle and in the same order, as
// cv::CascadeClassifier::detectMultiScale run on one OpenCV thread (the
// tests compare both on photos and noise, with and without grouping).
// Anything else than a stump-based LBP cascade with 256 categories (Haar,
// deeper trees, the old format) is refused by load(), and the caller keeps
// using OpenCV.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace kycprep::detail {

/// Which build of the window loop runs: the best the CPU has (AVX2 on
/// x86-64) or the portable one-window-at-a-time loop. Same output.
enum class lbp_isa { best, baseline };

/// Reusable buffers of one caller (not thread-safe; one per thread).
struct lbp_scratch {
  cv::Mat scaled;                   ///< the current pyramid level
  cv::Mat sum;                      ///< its integral image (CV_32S)
  std::vector<std::int32_t> lanes;    ///< the integral image laid out for 8-wide loads
  std::vector<std::int32_t> offsets;  ///< 16 corner offsets per feature, for the current level
  std::vector<std::int8_t> result;    ///< per window of one row: 1 face, 0 rejected by stage 0, -1 later
};

class lbp_cascade {
 public:
  /// Reads a cascade written by opencv_traincascade (the format of Debian's
  /// opencv-data lbpcascades/*.xml). nullptr, with the reason in `why`, for
  /// a file that cannot be read or that is not a stump-based LBP cascade
  /// with 256 categories.
  static std::shared_ptr<const lbp_cascade> load(const std::string& path, std::string& why);

  /// The windows classified as a face, before grouping: what
  /// cv::CascadeClassifier::detectMultiScale(gray, out, scale_factor, 0, 0,
  /// min_size, max_size) returns with minNeighbors 0 on one OpenCV thread,
  /// in the same order (clipped to the image like it). `gray` is 8-bit,
  /// one channel; scale_factor > 1; an empty max_size means the image size.
  void candidates(const cv::Mat& gray, double scale_factor, cv::Size min_size, cv::Size max_size,
                  std::vector<cv::Rect>& out, lbp_scratch& scratch, lbp_isa isa = lbp_isa::best) const;

  /// The grouped detections and their neighbour counts, as
  /// cv::CascadeClassifier::detectMultiScale(gray, rects, hits, scale_factor,
  /// min_neighbors, 0, min_size, max_size) returns them.
  void detect(const cv::Mat& gray, double scale_factor, int min_neighbors, cv::Size min_size, cv::Size max_size,
              std::vector<cv::Rect>& rects, std::vector<int>& hits, lbp_scratch& scratch,
              lbp_isa isa = lbp_isa::best) const;

  [[nodiscard]] cv::Size window() const noexcept { return win_; }

  /// True when `isa` best runs the AVX2 loop on this CPU.
  static bool has_avx2() noexcept;

  struct feature {
    int x, y, w, h;  ///< the top-left block of the 3x3 grid, in window pixels
  };
  struct stump {
    int feature;
    float left, right;         ///< leaf when the code's bit is set / clear
    std::int32_t subset[8];    ///< 256-bit set of LBP codes
  };
  struct stage {
    int first, count;
    float threshold;           ///< the file's threshold minus 1e-5, as OpenCV reads it
  };

 private:
  // Every level's face windows into `out`, unclipped and ungrouped.
  void windows(const cv::Mat& gray, double scale_factor, cv::Size min_size, cv::Size max_size,
               std::vector<cv::Rect>& out, lbp_scratch& scratch, lbp_isa isa) const;
  // The windows of one pyramid level into `out` (the integral image is in
  // scratch.sum).
  void scan_level(float scale, int y_end, int step, cv::Size working, std::vector<cv::Rect>& out,
                  lbp_scratch& scratch, bool avx2) const;

  cv::Size win_;
  std::vector<feature> features_;
  std::vector<stump> stumps_;
  std::vector<stage> stages_;
};

}  // namespace kycprep::detail
