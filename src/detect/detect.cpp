// find_faces: proxy, detect, confirm, retry, choose.
#include "kycprep/detect.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <opencv2/imgproc.hpp>

#include "detect/cv_bridge.hpp"

namespace kycprep {

face_detector::~face_detector() = default;

std::optional<face> face_detector::confirm(image_view, const face& candidate) const { return candidate; }

result<std::shared_ptr<const face_detector>> make_default_detector() { return make_cascade_detector(); }

namespace {

// One way of looking at the image.
struct pass_plan {
  const char* name;
  int long_side;
  bool equalize;
  int rotation_cw;    // 0/90/180/270: result boxes are in the rotated image
  double tilt_deg;    // small in-plane turn for rolled heads; boxes map back
  bool mirror_border = false;  // extend the image by its mirror image (faces cut at the border)
};

// Share of the proxy's size added on each side by a mirror_border pass.
constexpr double kMirrorBorder = 0.25;

cv::Mat equalized(const cv::Mat& m) {
  cv::Mat out;
  if (m.channels() == 1) {
    cv::equalizeHist(m, out);
    return out;
  }
  // Equalise luma only, so colour cues survive.
  cv::Mat ycc;
  cv::cvtColor(m, ycc, cv::COLOR_RGB2YCrCb);
  std::vector<cv::Mat> planes;
  cv::split(ycc, planes);
  cv::equalizeHist(planes[0], planes[0]);
  cv::merge(planes, ycc);
  cv::cvtColor(ycc, out, cv::COLOR_YCrCb2RGB);
  return out;
}

// Turns `src` by `deg` (counter-clockwise, OpenCV's sense) on a canvas large
// enough to keep every pixel; `m` receives the src -> canvas transform.
cv::Mat tilted(const cv::Mat& src, double deg, cv::Mat& m) {
  const cv::Point2f c(src.cols / 2.0f, src.rows / 2.0f);
  m = cv::getRotationMatrix2D(c, deg, 1.0);
  const cv::Rect2f bound = cv::RotatedRect(c, src.size(), static_cast<float>(deg)).boundingRect2f();
  m.at<double>(0, 2) += bound.width / 2.0 - c.x;
  m.at<double>(1, 2) += bound.height / 2.0 - c.y;
  cv::Mat out;
  cv::warpAffine(src, out, m, cv::Size(static_cast<int>(std::ceil(bound.width)), static_cast<int>(std::ceil(bound.height))),
                 cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar::all(0));
  return out;
}

// The candidate's neighbourhood for confirm(): the box grown by half its
// size on each side, cut from the upright image (not rotated) and reduced
// so the face is at most kConfirmFace pixels, then turned like the pass.
// Parts outside the image are black, so a face at the border keeps its
// place in the patch instead of being shifted by the clipping.
constexpr int kConfirmFace = 160;

std::optional<face> confirm_candidate(const face_detector& det, const cv::Mat& full, const face& in_rotated,
                                      const pass_plan& p) {
  const face f = detail::unrotate_box(in_rotated, p.rotation_cw, full.cols, full.rows);
  const cv::Rect grown(static_cast<int>(std::floor(f.x - f.w / 2)), static_cast<int>(std::floor(f.y - f.h / 2)),
                       static_cast<int>(std::ceil(f.w * 2)), static_cast<int>(std::ceil(f.h * 2)));
  const cv::Rect inside = grown & cv::Rect(0, 0, full.cols, full.rows);
  if (inside.width < 4 || inside.height < 4) return std::nullopt;
  const double s = std::min(1.0, kConfirmFace / static_cast<double>(std::max(f.w, f.h)));
  const auto scaled = [s](int v) { return static_cast<int>(std::lround(v * s)); };
  cv::Mat patch = full(inside);
  if (s < 1.0) {
    const cv::Size to(std::max(1, scaled(inside.width)), std::max(1, scaled(inside.height)));
    cv::Mat small;
    cv::resize(detail::reduce_to(patch, 2 * std::max(to.width, to.height)), small, to, 0, 0, cv::INTER_AREA);
    patch = small;
  }
  const int left = scaled(inside.x - grown.x), top = scaled(inside.y - grown.y);
  const int right = std::max(0, scaled(grown.width) - left - patch.cols);
  const int bottom = std::max(0, scaled(grown.height) - top - patch.rows);
  if (left || top || right || bottom) {
    // A mirror_border pass found the face on a mirrored extension: show
    // confirm() the same extension.
    const bool mirror = p.mirror_border && left < patch.cols && right < patch.cols && top < patch.rows && bottom < patch.rows;
    // BORDER_ISOLATED: `patch` may be a view into the caller's image, and
    // OpenCV would otherwise read the parent's pixels outside the view.
    cv::Mat padded;
    cv::copyMakeBorder(patch, padded, top, bottom, left, right,
                       (mirror ? cv::BORDER_REFLECT : cv::BORDER_CONSTANT) | cv::BORDER_ISOLATED, cv::Scalar::all(0));
    patch = padded;
  }
  face local{static_cast<float>((f.x - grown.x) * s), static_cast<float>((f.y - grown.y) * s),
             static_cast<float>(f.w * s), static_cast<float>(f.h * s), f.score};
  if (p.tilt_deg != 0.0) {
    // The face is at the patch centre: turning about it keeps the box.
    // Into a new matrix: `patch` may still be a view of the caller's image.
    const cv::Mat m = cv::getRotationMatrix2D(cv::Point2f(local.x + local.w / 2, local.y + local.h / 2), p.tilt_deg, 1.0);
    cv::Mat turned;
    cv::warpAffine(patch, turned, m, patch.size(), cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar::all(0));
    patch = turned;
  }
  cv::Mat rotated = detail::rotate_cw(patch, p.rotation_cw);
  if (!rotated.isContinuous()) rotated = rotated.clone();
  local = detail::rotate_box(local, p.rotation_cw, patch.cols, patch.rows);
  auto ok = det.confirm(detail::view_of(rotated), local);
  if (!ok) return std::nullopt;
  face out = in_rotated;
  out.score = ok->score;
  return out;
}

}  // namespace

result<face_search> find_faces(image_view upright, const face_detector& det, const face_search_options& opt) {
  if (upright.data == nullptr || upright.width <= 0 || upright.height <= 0 || (upright.channels != 1 && upright.channels != 3))
    return {error_code::invalid_options, stage::detect, "find_faces: empty image or unsupported channel count"};
  if (opt.proxy_long_side < 64 || opt.proxy_long_side > 4096 || !(opt.min_face_fraction >= 0 && opt.min_face_fraction < 1) ||
      !(opt.tilt_deg >= 0 && opt.tilt_deg < 45))
    return {error_code::invalid_options, stage::detect, "find_faces: options out of range"};

  try {
    // A view of the caller's pixels: every step below writes into new
    // matrices only (the image is shared, possibly across threads).
    const cv::Mat full = detail::wrap(upright);
    const int long_side = std::max(full.cols, full.rows);

    // Cheapest first; the first pass with a confirmed face ends the search.
    std::vector<pass_plan> passes{{"proxy", opt.proxy_long_side, false, 0, 0.0}};
    if (opt.try_equalize) passes.push_back({"equalized", opt.proxy_long_side, true, 0, 0.0});
    if (opt.try_rescale && long_side > opt.proxy_long_side * 5 / 4)
      passes.push_back({"rescaled", std::min(long_side, opt.proxy_long_side * 2), false, 0, 0.0});
    if (opt.tilt_deg > 0)
      for (double t : {opt.tilt_deg, -opt.tilt_deg}) passes.push_back({"tilted", opt.proxy_long_side, false, 0, t});
    // A face cut by the image border is half a face to the detector; the
    // border mirrored back onto itself makes it whole again (faces are
    // nearly symmetric).
    if (opt.try_mirror_border) passes.push_back({"mirrored", opt.proxy_long_side, false, 0, 0.0, true});
    if (opt.try_rotations)
      for (int r : {90, 270, 180}) passes.push_back({"rotated", opt.proxy_long_side, false, r, 0.0});

    face_search out;
    cv::Mat base_proxy;  // shared by the passes at proxy_long_side
    for (const auto& p : passes) {
      const bool first_pass = &p == &passes.front();
      cv::Mat proxy;
      if (p.long_side == opt.proxy_long_side) {
        if (base_proxy.empty()) base_proxy = detail::reduce_to(full, opt.proxy_long_side);
        proxy = base_proxy;
      } else {
        proxy = detail::reduce_to(full, p.long_side);
      }
      if (p.equalize) proxy = equalized(proxy);
      proxy = detail::rotate_cw(proxy, p.rotation_cw);
      const int proxy_w = proxy.cols, proxy_h = proxy.rows;
      cv::Mat to_canvas;
      if (p.tilt_deg != 0.0) proxy = tilted(proxy, p.tilt_deg, to_canvas);
      int pad_x = 0, pad_y = 0;
      if (p.mirror_border) {
        pad_x = static_cast<int>(proxy.cols * kMirrorBorder);
        pad_y = static_cast<int>(proxy.rows * kMirrorBorder);
        cv::Mat extended;
        cv::copyMakeBorder(proxy, extended, pad_y, pad_y, pad_x, pad_x, cv::BORDER_REFLECT | cv::BORDER_ISOLATED);
        proxy = extended;
      }
      if (!proxy.isContinuous()) proxy = proxy.clone();
      cv::Mat from_canvas;
      if (!to_canvas.empty()) cv::invertAffineTransform(to_canvas, from_canvas);

      auto found = det.detect(detail::view_of(proxy));
      if (!found) return std::move(found).error();

      // Size of the (rotated) full image, and proxy -> full scale.
      const bool swap = p.rotation_cw == 90 || p.rotation_cw == 270;
      const int rw = swap ? full.rows : full.cols, rh = swap ? full.cols : full.rows;
      const double sx = static_cast<double>(rw) / proxy_w, sy = static_cast<double>(rh) / proxy_h;
      const double min_w = opt.min_face_fraction * std::min(rw, rh);

      std::vector<face> kept;
      for (face c : *found) {
        ++out.candidates;
        c.x -= static_cast<float>(pad_x);
        c.y -= static_cast<float>(pad_y);
        if (!from_canvas.empty()) {
          // Back from the tilted canvas: the centre moves, the box is kept
          // upright around it (the crop is axis-aligned anyway).
          const double ccx = c.x + c.w / 2.0, ccy = c.y + c.h / 2.0;
          const double* m0 = from_canvas.ptr<double>(0);
          const double* m1 = from_canvas.ptr<double>(1);
          c.x = static_cast<float>(m0[0] * ccx + m0[1] * ccy + m0[2] - c.w / 2.0);
          c.y = static_cast<float>(m1[0] * ccx + m1[1] * ccy + m1[2] - c.h / 2.0);
        }
        face f{static_cast<float>(c.x * sx), static_cast<float>(c.y * sy), static_cast<float>(c.w * sx),
               static_cast<float>(c.h * sy), c.score};
        const float cx = f.x + f.w / 2, cy = f.y + f.h / 2;
        // Size and position sanity: not a speck, not larger than the image,
        // centred on the image.
        const char* why = nullptr;
        if (f.w < min_w || f.w > 1.2 * rw || f.h > 1.2 * rh) why = "size";
        else if (cx < 0 || cy < 0 || cx >= rw || cy >= rh) why = "position";
        std::optional<face> ok;
        if (!why) {
          ok = confirm_candidate(det, full, f, p);
          const float need = std::max(opt.min_score, first_pass ? 0.0f : det.retry_min_score());
          if (!ok) why = "confirm";
          else if (ok->score >= 0 && ok->score < need) why = "score";
        }
        if (why) {
          ++out.rejected;
          out.rejected_faces.push_back({ok ? *ok : f, p.rotation_cw, p.name, why});
          continue;
        }
        kept.push_back(*ok);
      }
      if (kept.empty()) continue;

      // Overlapping boxes are one face: keep the better scored.
      std::sort(kept.begin(), kept.end(), [](const face& a, const face& b) { return a.score > b.score; });
      std::vector<face> faces;
      for (const face& f : kept)
        if (std::none_of(faces.begin(), faces.end(), [&](const face& g) { return detail::iou(f, g) > 0.3; }))
          faces.push_back(f);
      std::stable_sort(faces.begin(), faces.end(), [](const face& a, const face& b) { return a.w * a.h > b.w * b.h; });

      out.faces = std::move(faces);
      out.chosen = out.faces.front();
      out.rotation_cw = p.rotation_cw;
      out.pass = p.name;
      out.proxy_width = proxy_w;
      out.proxy_height = proxy_h;
      if (p.equalize) out.warnings.emplace_back("face found only after equalising contrast (dark or flat photo)");
      if (p.long_side > opt.proxy_long_side) out.warnings.emplace_back("face found only on a larger proxy (small face)");
      if (p.tilt_deg != 0.0) out.warnings.emplace_back("face found only on a tilted proxy (rolled head)");
      if (p.mirror_border) out.warnings.emplace_back("face found only with the image border mirrored (face cut by the border)");
      if (p.rotation_cw != 0)
        out.warnings.emplace_back("face found only after rotating the image " + std::to_string(p.rotation_cw) +
                                  " degrees clockwise (pixel-rotated photo without EXIF orientation)");
      return out;
    }
    return {error_code::no_face, stage::detect,
            "no plausible human face (" + std::to_string(out.candidates) + " candidates, " +
                std::to_string(out.rejected) + " rejected)"};
  } catch (const cv::Exception& e) {
    return {error_code::internal, stage::detect, std::string("OpenCV: ") + e.what()};
  } catch (const std::bad_alloc&) {
    return {error_code::internal, stage::detect, "out of memory"};
  }
}

}  // namespace kycprep
