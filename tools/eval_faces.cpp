// kycprep_eval_faces: accuracy of the face crop on a labelled photo set.
//
// Runs find_faces + plan_face_frame over every image of a truth.json set
// (default ../shared/faces-dev) for each detector and proxy size, and
// scores it with the set's own rule (truth.json "_about.suggested_check"):
// PASS when, for some acceptable largest face, the crop holds >= 90% of its
// box and the crop centre lies inside the box widened by 50% on each side;
// an image without a human face passes only when no_face is reported.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "kycprep/crop.hpp"
#include "kycprep/decode.hpp"
#include "kycprep/detect.hpp"
#include "kycprep/orient.hpp"
#include "kycprep/prepare.hpp"

namespace {

using json = nlohmann::json;
using namespace kycprep;

struct box {
  double x, y, w, h;
};

box to_box(const json& j) { return {j[0].get<double>(), j[1].get<double>(), j[2].get<double>(), j[3].get<double>()}; }

bool crop_passes(const rect& crop, const box& b) {
  const double x0 = std::max<double>(crop.x, b.x), x1 = std::min<double>(crop.x + crop.w, b.x + b.w);
  const double y0 = std::max<double>(crop.y, b.y), y1 = std::min<double>(crop.y + crop.h, b.y + b.h);
  const double inter = (x1 > x0 && y1 > y0) ? (x1 - x0) * (y1 - y0) : 0.0;
  if (inter < 0.9 * b.w * b.h) return false;
  const double cx = crop.x + crop.w / 2.0, cy = crop.y + crop.h / 2.0;
  return cx >= b.x - 0.5 * b.w && cx <= b.x + 1.5 * b.w && cy >= b.y - 0.5 * b.h && cy <= b.y + 1.5 * b.h;
}

// A crop in the coordinates of the image rotated clockwise by `deg`, mapped
// back to the w x h displayed image.
rect unrotate(const rect& r, int deg, int w, int h) {
  switch (deg) {
    case 90: return {r.y, h - r.x - r.w, r.h, r.w};
    case 180: return {w - r.x - r.w, h - r.y - r.h, r.w, r.h};
    case 270: return {w - r.y - r.h, r.x, r.h, r.w};
    default: return r;
  }
}

result<image> load_upright(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return error{error_code::io_error, stage::read, "cannot open " + path};
  const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto dec = decode(bytes);
  if (!dec) return std::move(dec).error();
  const int o = dec->source.orientation;
  return o == 1 ? std::move(dec->pixels) : apply_orientation(dec->pixels, o);
}

std::string fmt_box(double x, double y, double w, double h) {
  std::ostringstream s;
  s << "[" << static_cast<int>(x) << "," << static_cast<int>(y) << "," << static_cast<int>(w) << "," << static_cast<int>(h) << "]";
  return s.str();
}

// The detector's raw candidates on the first-pass proxy (before confirm),
// with their ratio to the truth box they fall in: the data behind the box
// calibration and the confirm thresholds (docs/FACES.md).
void print_raw(const face_detector& det, const image& img, int proxy, const json& t) {
  const double s = std::min(1.0, static_cast<double>(proxy) / std::max(img.width, img.height));
  // Same reduction as find_faces' first pass, through the public API only:
  // detect() on a box-filtered copy.
  const int pw = std::max(1, static_cast<int>(img.width * s + 0.5)), ph = std::max(1, static_cast<int>(img.height * s + 0.5));
  image p{pw, ph, img.channels, std::vector<std::uint8_t>(static_cast<std::size_t>(pw) * ph * img.channels)};
  for (int y = 0; y < ph; ++y)
    for (int x = 0; x < pw; ++x)
      for (int c = 0; c < img.channels; ++c) {
        const int x0 = static_cast<int>(x / s), x1 = std::max(x0 + 1, static_cast<int>((x + 1) / s));
        const int y0 = static_cast<int>(y / s), y1 = std::max(y0 + 1, static_cast<int>((y + 1) / s));
        unsigned sum = 0, n = 0;
        for (int yy = y0; yy < std::min(y1, img.height); ++yy)
          for (int xx = x0; xx < std::min(x1, img.width); ++xx, ++n) sum += img.pixels[(static_cast<std::size_t>(yy) * img.width + xx) * img.channels + c];
        p.pixels[(static_cast<std::size_t>(y) * pw + x) * img.channels + c] = static_cast<std::uint8_t>(n ? sum / n : 0);
      }
  auto raw = det.detect(p.view());
  if (!raw) return;
  for (const auto& f : *raw) {
    const double x = f.x / s, y = f.y / s, w = f.w / s, h = f.h / s;
    std::cout << "    raw " << fmt_box(x, y, w, h) << " score " << f.score;
    for (const auto& tf : t["faces"]) {
      const box b = to_box(tf["box"]);
      const double cx = x + w / 2, cy = y + h / 2;
      if (cx > b.x && cx < b.x + b.w && cy > b.y && cy < b.y + b.h)
        std::cout << " TRUE tw/w=" << b.w / w << " th/h=" << b.h / h << " dcy/h=" << ((b.y + b.h / 2) - cy) / h
                  << " dcx/w=" << ((b.x + b.w / 2) - cx) / w;
    }
    std::cout << "\n";
  }
}

// The naive baseline: the detector's raw candidates on one proxy, no
// second opinion, no retries; the largest box wins.
class naive_detector final : public face_detector {
 public:
  explicit naive_detector(std::shared_ptr<const face_detector> inner) : inner_(std::move(inner)) {}
  std::string_view name() const noexcept override { return inner_->name(); }
  result<std::vector<face>> detect(image_view img) const override { return inner_->detect(img); }

 private:
  std::shared_ptr<const face_detector> inner_;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Face-crop accuracy on a labelled photo set (truth.json)"};
  std::string dir = std::string(KYCPREP_SHARED_DIR) + "/faces-dev";
  std::string model = std::string(KYCPREP_SHARED_DIR) + "/models/face_detection_yunet_2022mar.onnx";
  std::vector<std::string> detectors{"cascade", "yunet"};
  std::vector<int> proxies{240, 320, 480};
  bool verbose = false, quiet = false, naive = false, pipeline = false;
  cascade_options co;
  std::string only;
  app.add_option("--dir", dir, "folder with truth.json and the images");
  app.add_option("--model", model, "YuNet ONNX model (face_detection_yunet_2022mar.onnx)");
  app.add_option("--detector", detectors, "detectors to evaluate: cascade, yunet");
  app.add_option("--proxy", proxies, "proxy long sides to evaluate");
  app.add_option("--only", only, "evaluate only the images whose name contains this");
  app.add_option("--scale-factor", co.scale_factor, "cascade pyramid step");
  app.add_option("--min-neighbors", co.min_neighbors, "cascade candidate hits");
  app.add_option("--face-cascade", co.face_cascade, "cascade candidate finder file");
  app.add_option("--confirm-cascade", co.confirm_cascade, "second-opinion face cascade file (\"\" to skip)");
  app.add_option("--eye-cascade", co.eye_cascade, "eye cascade file (\"\" to skip)");
  app.add_flag("--pipeline", pipeline,
               "score the whole pipeline instead: prepare() with the face profile on the file's bytes "
               "(DCT-reduced detection input, then the crop prepare() returns)");
  app.add_flag("--naive", naive, "baseline: largest raw detector box, no confirm, no retries");
  app.add_flag("-v,--verbose", verbose, "print every face found");
  app.add_flag("-q,--quiet", quiet, "print only the summary");
  CLI11_PARSE(app, argc, argv);

  std::ifstream tf(dir + "/truth.json");
  if (!tf) {
    std::cerr << "cannot open " << dir << "/truth.json\n";
    return 2;
  }
  const json truth = json::parse(tf);
  const json& images = truth.contains("images") ? truth["images"] : truth;

  // Decode once; every detector and proxy sees the same pixels.
  std::vector<std::pair<std::string, image>> pixels;
  std::map<std::string, std::vector<std::uint8_t>> file_bytes;  // --pipeline
  for (const auto& [name, t] : images.items()) {
    if (!only.empty() && name.find(only) == std::string::npos) continue;
    if (pipeline) {
      auto b = read_file(dir + "/" + name, 1u << 30);
      if (!b) {
        std::cerr << name << ": " << b.error().message << "\n";
        return 2;
      }
      file_bytes[name] = std::move(b.value());
    }
    auto img = load_upright(dir + "/" + name);
    if (!img) {
      std::cerr << name << ": cannot decode: " << img.error().message << "\n";
      return 2;
    }
    pixels.emplace_back(name, std::move(*img));
  }

  std::vector<std::string> summary;
  int worst_rc = 0;
  for (const auto& dname : detectors) {
    auto det = dname == "yunet" ? make_yunet_detector(model) : make_cascade_detector(co);
    if (det && naive) det = std::shared_ptr<const face_detector>(std::make_shared<naive_detector>(*det));
    if (!det) {
      std::cerr << dname << ": " << det.error().message << "\n";
      worst_rc = 2;
      continue;
    }
    for (int proxy : proxies) {
      face_search_options fo;
      fo.proxy_long_side = proxy;
      if (naive) {
        fo.try_equalize = fo.try_rescale = fo.try_rotations = fo.try_mirror_border = false;
        fo.tilt_deg = 0;
      }
      int pass = 0, total = 0;
      double ms_total = 0;
      std::vector<std::string> failed;
      for (const auto& [name, img] : pixels) {
        const json& t = images[name];
        const auto t0 = std::chrono::steady_clock::now();
        if (pipeline) {
          prepare_options po;
          po.detector = *det;
          po.face_search = fo;
          auto r = prepare(file_bytes[name], po);
          ms_total += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
          bool ok = false;
          std::string what;
          if (t["largest"].is_null()) {
            ok = !r && r.error().code == error_code::no_face;
            what = ok ? "no_face as expected" : (r ? "cropped a non-face" : r.error().message);
          } else if (!r) {
            what = std::string(to_string(r.error().code)) + ": " + r.error().message;
          } else {
            const rect crop = unrotate(r->crop, r->extra_rotation_cw, img.width, img.height);
            for (const auto& i : t["acceptable_largest"]) ok = ok || crop_passes(crop, to_box(t["faces"][i.get<int>()]["box"]));
            what = "crop " + fmt_box(crop.x, crop.y, crop.w, crop.h) + " truth " + t["largest"].dump();
          }
          ++total;
          pass += ok;
          if (!ok) failed.push_back(name);
          if (!quiet) std::cout << dname << "@" << proxy << " pipeline " << (ok ? "PASS " : "FAIL ") << name << ": " << what << "\n";
          continue;
        }
        auto found = find_faces(img.view(), **det, fo);
        std::optional<face_frame> frame;
        if (found && found->chosen) {
          const bool swap = found->rotation_cw == 90 || found->rotation_cw == 270;
          auto fr = plan_face_frame(*found->chosen, swap ? img.height : img.width, swap ? img.width : img.height);
          if (fr) frame = *fr;
        }
        ms_total += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();

        bool ok = false;
        std::string what;
        if (t["largest"].is_null()) {
          ok = !found && found.error().code == error_code::no_face;
          what = ok ? "no_face as expected" : (found ? "cropped a non-face " + fmt_box(found->chosen->x, found->chosen->y, found->chosen->w, found->chosen->h) : found.error().message);
        } else if (!found || !frame) {
          what = found ? "no frame" : std::string(to_string(found.error().code)) + ": " + found.error().message;
        } else {
          const rect crop = unrotate(frame->frame, found->rotation_cw, img.width, img.height);
          for (const auto& i : t["acceptable_largest"]) ok = ok || crop_passes(crop, to_box(t["faces"][i.get<int>()]["box"]));
          const auto& c = *found->chosen;
          std::ostringstream s;
          s << "face " << fmt_box(c.x, c.y, c.w, c.h) << " score " << c.score << " crop "
            << fmt_box(crop.x, crop.y, crop.w, crop.h) << " truth " << t["largest"].dump() << " pass=" << found->pass;
          if (found->rotation_cw) s << " rot=" << found->rotation_cw;
          what = s.str();
        }
        ++total;
        pass += ok;
        if (!ok) failed.push_back(name);
        if (!quiet) std::cout << dname << "@" << proxy << " " << (ok ? "PASS " : "FAIL ") << name << ": " << what << "\n";
        if (verbose && found) {
          for (const auto& f : found->faces)
            std::cout << "    found " << fmt_box(f.x, f.y, f.w, f.h) << " score " << f.score << "\n";
          for (const auto& r : found->rejected_faces)
            std::cout << "    rejected (" << r.pass << " rot " << r.rotation_cw << ", " << r.reason << ") "
                      << fmt_box(r.box.x, r.box.y, r.box.w, r.box.h) << " score " << r.box.score << "\n";
        }
        if (verbose) print_raw(**det, img, proxy, t);
      }
      std::ostringstream s;
      s << (naive ? "naive " : "") << (pipeline ? "pipeline " : "") << dname << " proxy " << proxy << ": " << pass << "/" << total << " = " << (100.0 * pass / total)
        << "% correct, " << (ms_total / total) << " ms/image (find_faces+plan_face_frame)";
      if (!failed.empty()) {
        s << "; failed:";
        for (const auto& f : failed) s << " " << f;
      }
      summary.push_back(s.str());
    }
  }
  std::cout << "\n== summary (" << dir << ")\n";
  for (const auto& s : summary) std::cout << s << "\n";
  return worst_rc;
}
