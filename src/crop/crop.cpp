#include "kycprep/crop.hpp"

#include <algorithm>
#include <cmath>
#include <string>

namespace kycprep {
namespace {

result<face_frame> invalid(std::string msg) { return {error_code::invalid_options, stage::crop, std::move(msg)}; }

// Width for a frame of height h: nearest to the aspect, but strictly
// narrower than tall even when rounding would make a tiny frame square.
int width_for(int h, const frame_options& opt) {
  const long w = std::lround(static_cast<double>(h) * opt.aspect_w / opt.aspect_h);
  return static_cast<int>(std::clamp<long>(w, 1, h - 1));
}

// Moves [pos, pos + len) inside [0, limit) when it fits.
int clamp_into(int pos, int len, int limit) { return len >= limit ? (limit - len) / 2 : std::clamp(pos, 0, limit - len); }

// In double throughout: float sums would make a face that exactly fits
// look a hair too large.
double overlap_area(const face& f, const rect& r) {
  const double fx = f.x, fy = f.y, fw = f.w, fh = f.h;
  const double x0 = std::max<double>(fx, r.x), x1 = std::min<double>(fx + fw, r.x + r.w);
  const double y0 = std::max<double>(fy, r.y), y1 = std::min<double>(fy + fh, r.y + r.h);
  return (x1 > x0 && y1 > y0) ? (x1 - x0) * (y1 - y0) : 0.0;
}

}  // namespace

result<face_frame> plan_face_frame(const face& chosen, int image_w, int image_h, const frame_options& opt) {
  if (image_w <= 0 || image_h <= 0) return invalid("empty image");
  if (image_h < 2) return invalid("image too small for a portrait frame");
  if (opt.aspect_w <= 0 || opt.aspect_h <= 0 || opt.aspect_w >= opt.aspect_h)
    return invalid("frame aspect must be portrait (0 < aspect_w < aspect_h)");
  if (!(opt.face_area_ratio > 0.0 && opt.face_area_ratio <= 1.0)) return invalid("face_area_ratio must be in (0, 1]");
  if (!(opt.face_center_y > 0.0 && opt.face_center_y < 1.0)) return invalid("face_center_y must be in (0, 1)");
  if (!(std::isfinite(chosen.x) && std::isfinite(chosen.y) && std::isfinite(chosen.w) && std::isfinite(chosen.h)) ||
      !(chosen.w > 0 && chosen.h > 0))
    return invalid("empty face box");
  if (chosen.x >= image_w || chosen.y >= image_h || chosen.x + chosen.w <= 0 || chosen.y + chosen.h <= 0)
    return invalid("face box outside the image");

  const double fw = chosen.w, fh = chosen.h;
  const double aspect = static_cast<double>(opt.aspect_w) / opt.aspect_h;
  // Height giving the wanted area ratio, raised if needed so the frame still
  // holds the whole face box at the requested vertical placement: a frame
  // that cuts the face is worse than one where the face is a little smaller.
  const double h_area = std::sqrt(fw * fh / opt.face_area_ratio / aspect);
  const double h_contain = std::max(fh / (2.0 * std::min(opt.face_center_y, 1.0 - opt.face_center_y)), fw / aspect);
  const int wanted_h = static_cast<int>(std::ceil(std::max(h_area, h_contain) - 1e-9));

  face_frame out;
  int h = std::max(wanted_h, 2);
  if (!opt.allow_padding) {
    // Largest frame of the aspect that fits the image (the closed form can
    // be one pixel off after rounding; step down until it fits).
    const double h_for_width = (image_w + 0.5) * opt.aspect_h / opt.aspect_w;
    int fit_h = static_cast<int>(std::min<double>(image_h, std::floor(h_for_width)));
    while (fit_h > 2 && width_for(fit_h, opt) > image_w) --fit_h;
    if (width_for(fit_h, opt) > image_w) return invalid("image too small for a portrait frame");
    if (h > fit_h) {
      h = fit_h;
      out.shrunk = true;
      out.warnings.emplace_back("image too small for the wanted frame: frame shrunk, face covers more of it");
    }
  }
  const int w = width_for(h, opt);

  const double cx = chosen.x + fw / 2.0, cy = chosen.y + fh / 2.0;
  int x = static_cast<int>(std::lround(cx - w / 2.0));
  int y = static_cast<int>(std::lround(cy - opt.face_center_y * h));
  if (opt.allow_padding) {
    // Shift inside where the frame fits; otherwise keep it on the face and
    // let the caller pad the outside.
    if (w <= image_w) x = std::clamp(x, 0, image_w - w);
    if (h <= image_h) y = std::clamp(y, 0, image_h - h);
  } else {
    x = clamp_into(x, w, image_w);
    y = clamp_into(y, h, image_h);
  }
  out.frame = rect{x, y, w, h};
  out.padded = x < 0 || y < 0 || x + w > image_w || y + h > image_h;

  const bool outside_image = chosen.x < 0 || chosen.y < 0 || double(chosen.x) + fw > image_w || double(chosen.y) + fh > image_h;
  const double face_area = fw * fh;
  const double visible = overlap_area(chosen, out.frame);
  const bool outside_frame = visible < face_area * (1.0 - 1e-6);
  if (outside_image) out.warnings.emplace_back("face cut at the image border");
  else if (outside_frame) out.warnings.emplace_back("face larger than the frame: face cut");
  out.face_cut = outside_image || outside_frame;
  out.face_area_ratio = visible / (static_cast<double>(w) * h);
  return out;
}

}  // namespace kycprep
