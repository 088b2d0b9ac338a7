// YuNet (OpenCV Zoo) through cv::FaceDetectorYN.
//
// YuNet is far better than the cascades, but it still scores some
// paintings, hands and blurred crowd patches highly. Two cheap checks keep
// those out: the five landmarks must sit like a face's (eyes level-ish and
// above the mouth, nose between), and confirm() re-runs the network on the
// candidate alone at a canonical scale, where a real face keeps its score.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>

#include "detect/cv_bridge.hpp"
#include "detect/object_pool.hpp"

namespace kycprep {
namespace {

// Re-detections weaker than this do not count as a vote at all.
constexpr float kMinRedetect = 0.5f;

struct yunet_net {
  cv::Ptr<cv::FaceDetectorYN> net;
};

std::unique_ptr<yunet_net> load_net(const std::string& path, const yunet_options& o) {
  auto n = std::make_unique<yunet_net>();
  n->net = cv::FaceDetectorYN::create(path, "", cv::Size(320, 320), o.score_threshold, o.nms_threshold, o.top_k);
  if (n->net.empty()) return nullptr;
  return n;
}

// Landmarks (right eye, left eye, nose, right and left mouth corner, as seen
// in the image: "right eye" is on the image's left) laid out like an upright
// face inside its box.
bool plausible_landmarks(const float* row) {
  const float bx = row[0], by = row[1], bw = row[2], bh = row[3];
  if (bw <= 0 || bh <= 0) return false;
  const float rex = row[4], rey = row[5], lex = row[6], ley = row[7], nx = row[8], ny = row[9];
  const float rmx = row[10], rmy = row[11], lmx = row[12], lmy = row[13];
  const float eye_dx = lex - rex, eye_dy = ley - rey;
  const float eye_dist = std::hypot(eye_dx, eye_dy);
  if (eye_dx <= 0 || eye_dist < 0.08f * bw || eye_dist > 0.8f * bw) return false;  // 0.08: three-quarter profiles
  if (std::abs(eye_dy) > 0.6f * eye_dx) return false;  // rolled more than ~30 degrees
  const float eyes_y = (rey + ley) / 2, mouth_y = (rmy + lmy) / 2;
  if (!(mouth_y > eyes_y + 0.1f * bh)) return false;  // mouth below the eyes
  if (!(ny > eyes_y - 0.05f * bh && ny < mouth_y + 0.05f * bh)) return false;
  if (rmx >= lmx) return false;
  // Every landmark inside the box grown by a quarter.
  for (int i = 4; i < 14; i += 2) {
    if (row[i] < bx - 0.25f * bw || row[i] > bx + 1.25f * bw) return false;
    if (row[i + 1] < by - 0.25f * bh || row[i + 1] > by + 1.25f * bh) return false;
  }
  (void)nx;
  return true;
}

class yunet_detector final : public face_detector {
 public:
  yunet_detector(std::string path, yunet_options opt, std::unique_ptr<yunet_net> first)
      : path_(std::move(path)), opt_(opt), pool_([p = path_, o = opt_] { return load_net(p, o); }) {
    pool_.put(std::move(first));
  }

  std::string_view name() const noexcept override { return "yunet"; }
  float retry_min_score() const noexcept override { return opt_.retry_threshold; }

  result<std::vector<face>> detect(image_view img) const override {
    try {
      auto n = pool_.acquire();
      if (!n) return {error_code::detector_unavailable, stage::detect, "cannot load " + path_};
      return run(*n, detail::to_bgr(detail::wrap(img)), opt_.score_threshold);
    } catch (const cv::Exception& e) {
      return {error_code::internal, stage::detect, std::string("OpenCV: ") + e.what()};
    } catch (const std::bad_alloc&) {
      return {error_code::internal, stage::detect, "out of memory"};
    }
  }

  std::optional<face> confirm(image_view img, const face& cand) const override {
    try {
      auto n = pool_.acquire();
      if (!n) return std::nullopt;
      // Look again at the patch's own resolution (faces up to 160 px, see
      // find_faces), only enlarging tiny faces to 64 px. Animal faces,
      // fur and crowd blur that YuNet takes for a face at a coarse scale
      // rarely survive a look at a finer one; real faces do.
      const double s = std::clamp(static_cast<double>(cand.h), 64.0, 128.0) / std::max(1.0f, cand.h);
      cv::Mat canon;
      cv::resize(detail::wrap(img), canon, cv::Size(), s, s, s < 1.0 ? cv::INTER_AREA : cv::INTER_LINEAR);
      auto again = run(*n, detail::to_bgr(canon), kMinRedetect);
      if (!again) return std::nullopt;
      const face scaled{float(cand.x * s), float(cand.y * s), float(cand.w * s), float(cand.h * s), cand.score};
      float best = -1;
      for (const auto& f : *again)
        if (detail::iou(f, scaled) >= 0.4) best = std::max(best, f.score);
      // Two votes, from two scales: both must be fair and together strong.
      // A real face scores ~1.0 at both; paintings, fur and crowd blur
      // drop at one of them (docs/FACES.md).
      if (best < kMinRedetect) return std::nullopt;
      const float combined = (std::max(0.0f, cand.score) + best) / 2;
      if (combined < opt_.confirm_threshold) return std::nullopt;
      face out = cand;
      out.score = combined;
      return out;
    } catch (const cv::Exception&) {
      return std::nullopt;
    } catch (const std::bad_alloc&) {
      return std::nullopt;
    }
  }

 private:
  static result<std::vector<face>> run(yunet_net& n, const cv::Mat& bgr, float threshold) {
    n.net->setInputSize(bgr.size());
    n.net->setScoreThreshold(threshold);
    cv::Mat found;
    n.net->detect(bgr, found);
    std::vector<face> out;
    for (int i = 0; i < found.rows; ++i) {
      const float* r = found.ptr<float>(i);
      if (!plausible_landmarks(r)) continue;
      out.push_back(face{r[0], r[1], r[2], r[3], r[14]});
    }
    return out;
  }

  std::string path_;
  yunet_options opt_;
  detail::object_pool<yunet_net> pool_;
};

}  // namespace

result<std::shared_ptr<const face_detector>> make_yunet_detector(const std::string& model_path,
                                                                 const yunet_options& opt) {
  if (!(opt.score_threshold >= 0 && opt.score_threshold <= 1) || !(opt.confirm_threshold >= 0 && opt.confirm_threshold <= 1) ||
      !(opt.retry_threshold >= 0 && opt.retry_threshold <= 1) ||
      !(opt.nms_threshold > 0 && opt.nms_threshold <= 1) || opt.top_k < 1)
    return {error_code::invalid_options, stage::detect, "yunet options out of range"};
  std::error_code ec;
  if (!std::filesystem::is_regular_file(model_path, ec))
    return {error_code::detector_unavailable, stage::detect, "YuNet model not found: " + model_path};
  try {
    auto first = load_net(model_path, opt);
    if (!first) return {error_code::detector_unavailable, stage::detect, "cannot load YuNet model " + model_path};
    return std::shared_ptr<const face_detector>(std::make_shared<yunet_detector>(model_path, opt, std::move(first)));
  } catch (const cv::Exception& e) {
    return {error_code::detector_unavailable, stage::detect,
            "cannot load YuNet model " + model_path + " (the 2023mar model needs OpenCV >= 4.8): " + e.what()};
  }
}

}  // namespace kycprep
