#include "detect/box_geometry.hpp"

#include <algorithm>

namespace kycprep::detail {

face unrotate_box(const face& f, int degrees, int w, int h) {
  face o = f;
  switch (degrees) {
    case 90: o.x = f.y; o.y = static_cast<float>(h) - f.x - f.w; o.w = f.h; o.h = f.w; break;
    case 180: o.x = static_cast<float>(w) - f.x - f.w; o.y = static_cast<float>(h) - f.y - f.h; break;
    case 270: o.x = static_cast<float>(w) - f.y - f.h; o.y = f.x; o.w = f.h; o.h = f.w; break;
    default: break;
  }
  return o;
}

face rotate_box(const face& f, int degrees, int w, int h) {
  face o = f;
  switch (degrees) {
    case 90: o.x = static_cast<float>(h) - f.y - f.h; o.y = f.x; o.w = f.h; o.h = f.w; break;
    case 180: o.x = static_cast<float>(w) - f.x - f.w; o.y = static_cast<float>(h) - f.y - f.h; break;
    case 270: o.x = f.y; o.y = static_cast<float>(w) - f.x - f.w; o.w = f.h; o.h = f.w; break;
    default: break;
  }
  return o;
}

double iou(const face& a, const face& b) {
  const double x0 = std::max(a.x, b.x), x1 = std::min(a.x + a.w, b.x + b.w);
  const double y0 = std::max(a.y, b.y), y1 = std::min(a.y + a.h, b.y + b.h);
  const double inter = (x1 > x0 && y1 > y0) ? (x1 - x0) * (y1 - y0) : 0.0;
  const double uni = static_cast<double>(a.w) * a.h + static_cast<double>(b.w) * b.h - inter;
  return uni > 0 ? inter / uni : 0.0;
}

}  // namespace kycprep::detail
