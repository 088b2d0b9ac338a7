#include "detect/cv_bridge.hpp"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "kycprep/resize.hpp"

namespace kycprep::detail {

cv::Mat wrap(image_view v) {
  const int type = v.channels == 1 ? CV_8UC1 : CV_8UC3;
  return cv::Mat(v.height, v.width, type, const_cast<std::uint8_t*>(v.data), v.stride);
}

image_view view_of(const cv::Mat& m) {
  return image_view{m.data, m.cols, m.rows, m.channels(), m.step[0]};
}

cv::Mat to_gray(const cv::Mat& m) {
  if (m.channels() == 1) return m;
  cv::Mat g;
  cv::cvtColor(m, g, cv::COLOR_RGB2GRAY);
  return g;
}

cv::Mat to_bgr(const cv::Mat& m) {
  cv::Mat out;
  cv::cvtColor(m, out, m.channels() == 1 ? cv::COLOR_GRAY2BGR : cv::COLOR_RGB2BGR);
  return out;
}

cv::Mat reduce_to(const cv::Mat& src, int long_side) {
  const int cur = std::max(src.cols, src.rows);
  if (cur <= long_side) return src;
  const double s = static_cast<double>(long_side) / cur;
  const cv::Size target(std::max(1, static_cast<int>(std::lround(src.cols * s))),
                        std::max(1, static_cast<int>(std::lround(src.rows * s))));
  cv::Mat in = src;
  // Area averaging reads every input pixel; beyond 4x, first keep every
  // k-th pixel down to 2x the target (detection does not need the rest).
  const int k = static_cast<int>(cur / (2.0 * long_side));
  if (k >= 2) cv::resize(src, in, cv::Size(src.cols / k, src.rows / k), 0, 0, cv::INTER_NEAREST);
  // kycprep's exact area filter (AVX2 when present; every output within
  // 0.51 of the exact area mean): cheaper than cv::INTER_AREA at the odd
  // ratios proxies have (504x378 -> 240x180: ~0.33 ms in bm_detect_parts,
  // against ~0.8 ms that perf put in INTER_AREA).
  const image small = resize(view_of(in), target.width, target.height);
  return wrap(small.view()).clone();
}

cv::Mat rotate_cw(const cv::Mat& src, int degrees) {
  if (degrees == 0) return src;
  cv::Mat out;
  const int code = degrees == 90 ? cv::ROTATE_90_CLOCKWISE : degrees == 180 ? cv::ROTATE_180 : cv::ROTATE_90_COUNTERCLOCKWISE;
  cv::rotate(src, out, code);
  return out;
}

}  // namespace kycprep::detail
