// Conversions between kycprep images and OpenCV matrices. Private to
// src/detect.
#pragma once

#include <opencv2/core.hpp>

#include "detect/box_geometry.hpp"
#include "kycprep/detect.hpp"
#include "kycprep/image.hpp"

namespace kycprep::detail {

// A cv::Mat header over the view's pixels (no copy; RGB or gray order kept).
cv::Mat wrap(image_view v);
// The view of a cv::Mat (8-bit, 1 or 3 channels, RGB order assumed).
image_view view_of(const cv::Mat& m);

// 8-bit gray from an RGB or gray matrix (a header copy when already gray).
cv::Mat to_gray(const cv::Mat& rgb_or_gray);
// 8-bit BGR from an RGB or gray matrix, as OpenCV's DNN models expect.
cv::Mat to_bgr(const cv::Mat& rgb_or_gray);

// Reduces `src` so that its long side is at most `long_side` (area
// averaging; never enlarges). Large factors are decimated first, so the
// cost stays proportional to the output rather than the input.
cv::Mat reduce_to(const cv::Mat& src, int long_side);

// Rotates clockwise by 0, 90, 180 or 270 degrees.
cv::Mat rotate_cw(const cv::Mat& src, int degrees);

}  // namespace kycprep::detail
