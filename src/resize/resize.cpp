// The resampler: an exact area filter when shrinking (every source pixel
// contributes, no aliasing; see area.cpp), OpenCV's bicubic when enlarging.
#include <opencv2/imgproc.hpp>

#include "kycprep/resize.hpp"
#include "resize/area.hpp"

namespace kycprep {

image resize(image_view src, int w, int h) {
  image out;
  out.width = w;
  out.height = h;
  out.channels = src.channels;
  out.pixels.resize(out.stride() * static_cast<std::size_t>(h));
  const int type = src.channels == 1 ? CV_8UC1 : CV_8UC3;
  const cv::Mat in(src.height, src.width, type, const_cast<std::uint8_t*>(src.data), src.stride);
  cv::Mat dst(h, w, type, out.pixels.data(), out.stride());
  if (w == src.width && h == src.height) {
    in.copyTo(dst);
  } else if (w <= src.width && h <= src.height) {
    detail::area_downscale(src, out);
  } else {
    cv::resize(in, dst, dst.size(), 0, 0, cv::INTER_CUBIC);
  }
  return out;
}

}  // namespace kycprep
