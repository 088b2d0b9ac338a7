// The default detector: OpenCV cascades from Debian's opencv-data.
//
// A fast LBP cascade proposes candidates on the small proxy; confirm() then
// looks again at each candidate at a canonical resolution taken from the
// larger image, with two independent cascades (a Haar face cascade and an
// eye cascade). Shoulders, textures and animal faces that fool one cascade
// rarely fool the others at another scale, which is where the naive
// "largest Haar box" loses its ~10%.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>

#include "detect/cv_bridge.hpp"
#include "detect/lbp_cascade.hpp"
#include "detect/object_pool.hpp"

namespace kycprep {
namespace {

// The cascades' native box is a square from the brows to below the mouth;
// kycprep boxes run from forehead to chin (detect.hpp). These factors map
// native -> kycprep boxes: width and height as multiples of the native side,
// and the centre shift as a share of the native side. Measured as medians
// over hand-checked boxes (docs/FACES.md).
struct box_calibration {
  double w = 0.90, h = 1.17, dy = 0.03;
};

box_calibration calibration_for(const std::string& path) {
  const std::string stem = std::filesystem::path(path).stem().string();
  if (stem == "lbpcascade_frontalface_improved") return {0.93, 1.20, 0.03};
  if (stem == "lbpcascade_frontalface") return {0.85, 1.10, 0.015};
  return {};  // the Haar frontal-face cascades
}

// One caller's cascades. An LBP face cascade (the default) runs on
// kycprep's own evaluation (detail::lbp_cascade: the same boxes, about twice
// as fast), shared read-only by every set; any other face cascade on
// OpenCV's.
struct cascade_set {
  std::shared_ptr<const detail::lbp_cascade> lbp;
  detail::lbp_scratch lbp_scratch;
  cv::CascadeClassifier face, confirm, eyes;
};

std::unique_ptr<cascade_set> load_set(const cascade_options& o, std::shared_ptr<const detail::lbp_cascade> lbp) {
  auto s = std::make_unique<cascade_set>();
  s->lbp = std::move(lbp);
  if (!s->lbp && !s->face.load(o.face_cascade)) return nullptr;
  if (!o.confirm_cascade.empty() && !s->confirm.load(o.confirm_cascade)) return nullptr;
  if (!o.eye_cascade.empty() && !s->eyes.load(o.eye_cascade)) return nullptr;
  return s;
}

class cascade_detector final : public face_detector {
 public:
  cascade_detector(cascade_options opt, std::shared_ptr<const detail::lbp_cascade> lbp,
                   std::unique_ptr<cascade_set> first)
      : opt_(std::move(opt)), cal_(calibration_for(opt_.face_cascade)),
        pool_([o = opt_, lbp = std::move(lbp)] { return load_set(o, lbp); }) {
    pool_.put(std::move(first));
  }

  std::string_view name() const noexcept override { return "cascade"; }
  bool uses_colour() const noexcept override { return false; }  // detect() and confirm() work on gray
  float retry_min_score() const noexcept override { return static_cast<float>(opt_.retry_min_score); }

  result<std::vector<face>> detect(image_view img) const override {
    try {
      auto set = pool_.acquire();
      if (!set) return {error_code::detector_unavailable, stage::detect, "cannot load " + opt_.face_cascade};
      const cv::Mat gray = detail::to_gray(detail::wrap(img));
      std::vector<cv::Rect> rects;
      std::vector<int> hits;
      const cv::Size min_face(opt_.min_face_px, opt_.min_face_px);
      if (set->lbp)
        set->lbp->detect(gray, opt_.scale_factor, opt_.min_neighbors, min_face, cv::Size(), rects, hits, set->lbp_scratch);
      else
        set->face.detectMultiScale(gray, rects, hits, opt_.scale_factor, opt_.min_neighbors, 0, min_face);
      std::vector<face> out;
      out.reserve(rects.size());
      for (std::size_t i = 0; i < rects.size(); ++i) {
        const double side = rects[i].width;
        const double cx = rects[i].x + side / 2.0, cy = rects[i].y + side / 2.0 + cal_.dy * side;
        face f;
        f.w = static_cast<float>(cal_.w * side);
        f.h = static_cast<float>(cal_.h * side);
        f.x = static_cast<float>(cx - f.w / 2.0);
        f.y = static_cast<float>(cy - f.h / 2.0);
        // More overlapping hits = more confident; saturates around 20.
        const double n = i < hits.size() ? hits[i] : opt_.min_neighbors;
        f.score = static_cast<float>(std::min(1.0, n / 20.0));
        out.push_back(f);
      }
      return out;
    } catch (const cv::Exception& e) {
      return {error_code::internal, stage::detect, std::string("OpenCV: ") + e.what()};
    } catch (const std::bad_alloc&) {
      return {error_code::internal, stage::detect, "out of memory"};
    }
  }

  std::optional<face> confirm(image_view img, const face& cand) const override {
    try {
      auto set = pool_.acquire();
      if (!set) return std::nullopt;
      const cv::Mat gray = detail::to_gray(detail::wrap(img));
      // The candidate's native (square) box in patch pixels.
      const double side = cand.w / cal_.w;
      const double ncx = cand.x + cand.w / 2.0, ncy = cand.y + cand.h / 2.0 - cal_.dy * side;
      // One canonical view: the native side becomes kEyeCanon pixels, the
      // whole neighbourhood equalised together (so a dark face next to a
      // bright background still gets contrast).
      constexpr double kEyeCanon = 96.0;
      const double s = kEyeCanon / side;
      cv::Mat canon;
      cv::resize(gray, canon, cv::Size(std::max(1, static_cast<int>(std::lround(gray.cols * s))),
                                       std::max(1, static_cast<int>(std::lround(gray.rows * s)))),
                 0, 0, s < 1.0 ? cv::INTER_AREA : cv::INTER_LINEAR);
      cv::equalizeHist(canon, canon);
      const cv::Rect whole(0, 0, canon.cols, canon.rows);
      const double cx = ncx * s, cy = ncy * s;
      const auto around = [&](double x0, double y0, double w, double h) {
        return cv::Rect(static_cast<int>(std::floor(cx + x0 * kEyeCanon)), static_cast<int>(std::floor(cy + y0 * kEyeCanon)),
                        static_cast<int>(std::ceil(w * kEyeCanon)), static_cast<int>(std::ceil(h * kEyeCanon))) &
               whole;
      };

      // A second, independent face cascade, only around the candidate and
      // at a small scale of its own: cheap.
      bool face_hit = opt_.confirm_cascade.empty();
      if (!face_hit) {
        constexpr double kFaceCanon = 40.0;
        const cv::Rect r = around(-0.9, -0.9, 1.8, 1.8);
        if (r.width > 4 && r.height > 4) {
          const double k = kFaceCanon / kEyeCanon;
          cv::Mat m;
          cv::resize(canon(r), m, cv::Size(std::max(1, static_cast<int>(std::lround(r.width * k))),
                                           std::max(1, static_cast<int>(std::lround(r.height * k)))),
                     0, 0, cv::INTER_AREA);
          const double mx = (cx - r.x) * k, my = (cy - r.y) * k;
          std::vector<cv::Rect> hits;
          set->confirm.detectMultiScale(m, hits, 1.1, 2, 0, cv::Size(int(kFaceCanon * 0.7), int(kFaceCanon * 0.7)),
                                        cv::Size(int(kFaceCanon * 1.45), int(kFaceCanon * 1.45)));
          for (const auto& q : hits)
            if (std::abs(q.x + q.width / 2.0 - mx) < 0.3 * kFaceCanon && std::abs(q.y + q.height / 2.0 - my) < 0.3 * kFaceCanon)
              face_hit = true;
        }
      }
      const double nb = std::max(0.0f, cand.score);
      const auto evidence = [&](int eyes) {
        return 0.4 * face_hit + 0.2 * (eyes >= 1) + 0.1 * (eyes >= 2) + 0.3 * nb;
      };
      // Eyes, in the upper half of the native box; skipped (the costlier
      // check) when the two face cascades already agree strongly enough.
      int eyes = 0;
      if (!opt_.eye_cascade.empty() && evidence(0) < opt_.min_confirm_score) {
        const cv::Rect band = around(-0.55, -0.5, 1.1, 0.55);
        if (band.width > 4 && band.height > 4) {
          std::vector<cv::Rect> hits;
          set->eyes.detectMultiScale(canon(band), hits, 1.1, 2, 0, cv::Size(int(kEyeCanon * 0.14), int(kEyeCanon * 0.14)),
                                     cv::Size(int(kEyeCanon * 0.45), int(kEyeCanon * 0.45)));
          eyes = static_cast<int>(hits.size());
        }
      }
      face out = cand;
      out.score = static_cast<float>(evidence(eyes));
      if (out.score < opt_.min_confirm_score) return std::nullopt;
      return out;
    } catch (const cv::Exception&) {
      return std::nullopt;
    } catch (const std::bad_alloc&) {
      return std::nullopt;
    }
  }

 private:
  cascade_options opt_;
  box_calibration cal_;
  detail::object_pool<cascade_set> pool_;
};

}  // namespace

result<std::shared_ptr<const face_detector>> make_cascade_detector(const cascade_options& opt) {
  if (!(opt.scale_factor > 1.0) || opt.min_neighbors < 1 || opt.min_face_px < 8 ||
      !(opt.min_confirm_score >= 0 && opt.min_confirm_score <= 1) || !(opt.retry_min_score >= 0 && opt.retry_min_score <= 1))
    return {error_code::invalid_options, stage::detect, "cascade options out of range"};
  for (const auto* p : {&opt.face_cascade, &opt.confirm_cascade, &opt.eye_cascade}) {
    if (p == &opt.face_cascade || !p->empty()) {
      std::error_code ec;
      if (!std::filesystem::is_regular_file(*p, ec))
        return {error_code::detector_unavailable, stage::detect,
                "cascade file not found: " + *p + " (Debian package opencv-data)"};
    }
  }
  try {
    std::string why;  // not an LBP stump cascade: OpenCV evaluates it
    std::shared_ptr<const detail::lbp_cascade> lbp = detail::lbp_cascade::load(opt.face_cascade, why);
    auto first = load_set(opt, lbp);
    if (!first) return {error_code::detector_unavailable, stage::detect, "cannot load the cascade files"};
    return std::shared_ptr<const face_detector>(std::make_shared<cascade_detector>(opt, std::move(lbp), std::move(first)));
  } catch (const cv::Exception& e) {
    return {error_code::detector_unavailable, stage::detect, std::string("cannot load cascade: ") + e.what()};
  }
}

}  // namespace kycprep
