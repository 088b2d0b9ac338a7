// Face detection (detect.hpp): detectors, find_faces' retries and choice,
// thread safety, and an accuracy floor on ../shared/faces-dev.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>

#include "detect/box_geometry.hpp"
#include "detect/lbp_cascade.hpp"
#include "kycprep/crop.hpp"
#include "kycprep/decode.hpp"
#include "kycprep/detect.hpp"
#include "kycprep/prepare.hpp"
#include "kycprep/orient.hpp"
#include "test_support.hpp"

namespace kycprep {
namespace {

namespace fs = std::filesystem;

// Debian-packaged photos (python3-skimage), so these run on a fresh clone.
const fs::path kSkimage = "/usr/lib/python3/dist-packages/skimage/data";
// The astronaut's face, hand-checked (faces-dev truth.json).
const face kAstronautFace{178.5f, 58.4f, 93.7f, 117.2f, 1.0f};

fs::path yunet_model() { return test::shared_dir() / "models" / "face_detection_yunet_2022mar.onnx"; }

std::optional<image> load(const fs::path& p) {
  if (!fs::exists(p)) return std::nullopt;
  auto dec = decode(test::read_bytes(p));
  if (!dec) return std::nullopt;
  const int o = dec->source.orientation;
  return o == 1 ? std::move(dec->pixels) : apply_orientation(dec->pixels, o);
}

image astronaut() {
  auto img = load(kSkimage / "astronaut.png");
  if (!img) return {};
  return *img;
}

#define REQUIRE_IMAGE(img)                                                             \
  if ((img).empty()) GTEST_SKIP() << "python3-skimage sample photos are not installed"

std::shared_ptr<const face_detector> cascade() {
  auto d = make_cascade_detector();
  EXPECT_TRUE(d.ok()) << (d.ok() ? "" : d.error().message);
  return d.ok() ? *d : nullptr;
}

double iou(const face& a, const face& b) { return detail::iou(a, b); }

// Pixel-level helpers on kycprep::image (no OpenCV in the tests).
image rotate_cw(const image& src, int deg) {
  if (deg == 0) return src;
  image out;
  out.channels = src.channels;
  const bool swap = deg != 180;
  out.width = swap ? src.height : src.width;
  out.height = swap ? src.width : src.height;
  out.pixels.resize(src.pixels.size());
  for (int y = 0; y < src.height; ++y)
    for (int x = 0; x < src.width; ++x) {
      int nx = x, ny = y;
      if (deg == 90) nx = src.height - 1 - y, ny = x;
      if (deg == 180) nx = src.width - 1 - x, ny = src.height - 1 - y;
      if (deg == 270) nx = y, ny = src.width - 1 - x;
      for (int c = 0; c < src.channels; ++c)
        out.pixels[(static_cast<std::size_t>(ny) * out.width + nx) * out.channels + c] =
            src.pixels[(static_cast<std::size_t>(y) * src.width + x) * src.channels + c];
    }
  return out;
}

image crop(const image& src, int x0, int y0, int w, int h) {
  image out{w, h, src.channels, std::vector<std::uint8_t>(static_cast<std::size_t>(w) * h * src.channels)};
  for (int y = 0; y < h; ++y)
    std::copy_n(&src.pixels[(static_cast<std::size_t>(y + y0) * src.width + x0) * src.channels],
                static_cast<std::size_t>(w) * src.channels, &out.pixels[static_cast<std::size_t>(y) * w * src.channels]);
  return out;
}

// In-plane turn by `deg` degrees about the centre (nearest neighbour, black outside).
image tilt(const image& src, double deg) {
  image out{src.width, src.height, src.channels, std::vector<std::uint8_t>(src.pixels.size(), 0)};
  const double a = deg * 3.14159265358979 / 180.0, c = std::cos(a), s = std::sin(a);
  const double cx = src.width / 2.0, cy = src.height / 2.0;
  for (int y = 0; y < src.height; ++y)
    for (int x = 0; x < src.width; ++x) {
      const int sx = static_cast<int>(std::lround(c * (x - cx) - s * (y - cy) + cx));
      const int sy = static_cast<int>(std::lround(s * (x - cx) + c * (y - cy) + cy));
      if (sx < 0 || sy < 0 || sx >= src.width || sy >= src.height) continue;
      for (int k = 0; k < src.channels; ++k)
        out.pixels[(static_cast<std::size_t>(y) * src.width + x) * src.channels + k] =
            src.pixels[(static_cast<std::size_t>(sy) * src.width + sx) * src.channels + k];
    }
  return out;
}

// A dim, low-contrast copy: values squeezed into [0, 256 * gain).
image darken(const image& src, double gain) {
  image out = src;
  for (auto& v : out.pixels) v = static_cast<std::uint8_t>(v * gain);
  return out;
}

error_code code_of(const result<face_search>& r) { return r.ok() ? error_code::internal : r.error().code; }

// ---------------------------------------------------------------------------

TEST(Detectors, MissingCascadeFileIsDetectorUnavailable) {
  cascade_options o;
  o.face_cascade = "/nonexistent/lbpcascade_frontalface.xml";
  auto d = make_cascade_detector(o);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code, error_code::detector_unavailable);
  EXPECT_EQ(d.error().where, stage::detect);
  o = {};
  o.eye_cascade = "/nonexistent/eyes.xml";
  auto e = make_cascade_detector(o);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code, error_code::detector_unavailable);
}

TEST(Detectors, UnreadableCascadeIsDetectorUnavailable) {
  const auto dir = test::temp_dir("cascade");
  test::write_bytes(dir / "bad.xml", {'n', 'o', 't', ' ', 'x', 'm', 'l'});
  cascade_options o;
  o.face_cascade = (dir / "bad.xml").string();
  auto d = make_cascade_detector(o);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code, error_code::detector_unavailable);
}

TEST(Detectors, MissingYunetModelIsDetectorUnavailable) {
  auto d = make_yunet_detector("/nonexistent/face_detection_yunet_2022mar.onnx");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code, error_code::detector_unavailable);
  const auto dir = test::temp_dir("yunet");
  test::write_bytes(dir / "bad.onnx", {1, 2, 3, 4});
  auto bad = make_yunet_detector((dir / "bad.onnx").string());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, error_code::detector_unavailable);
}

TEST(Detectors, DefaultIsTheCascade) {
  auto d = make_default_detector();
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ((*d)->name(), "cascade");
}

TEST(Detectors, InvalidOptionsAreRejected) {
  cascade_options o;
  o.scale_factor = 1.0;
  auto d = make_cascade_detector(o);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code, error_code::invalid_options);
  yunet_options y;
  y.confirm_threshold = 2;
  auto e = make_yunet_detector(yunet_model().string(), y);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code, error_code::invalid_options);
}

TEST(FindFaces, AstronautFaceIsFoundByTheCascade) {
  const image img = astronaut();
  REQUIRE_IMAGE(img);
  auto det = cascade();
  ASSERT_TRUE(det);
  auto r = find_faces(img.view(), *det);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(r->chosen.has_value());
  EXPECT_EQ(r->rotation_cw, 0);
  EXPECT_EQ(r->pass, "proxy");
  EXPECT_GT(iou(*r->chosen, kAstronautFace), 0.5);
  EXPECT_GT(r->chosen->score, 0.0f);
  EXPECT_LE(r->chosen->score, 1.0f);
  // The chosen face is the first (largest) of the faces reported.
  ASSERT_FALSE(r->faces.empty());
  EXPECT_EQ(r->faces.front().x, r->chosen->x);
  // And the frame built on it holds the whole face.
  auto fr = plan_face_frame(*r->chosen, img.width, img.height);
  ASSERT_TRUE(fr.ok());
  EXPECT_LE(fr->frame.x, kAstronautFace.x);
  EXPECT_GE(fr->frame.x + fr->frame.w, kAstronautFace.x + kAstronautFace.w);
}

// uses_colour() false is a promise that luma alone gives the same answer:
// prepare() then hands the cascade a 1-channel proxy.
TEST(FindFaces, TheCascadeIgnoresColourAndFindsTheSameFaceOnLuma) {
  const image img = astronaut();
  REQUIRE_IMAGE(img);
  auto det = cascade();
  ASSERT_TRUE(det);
  EXPECT_FALSE(det->uses_colour());
  image gray{img.width, img.height, 1, std::vector<std::uint8_t>(static_cast<std::size_t>(img.width) * img.height)};
  for (std::size_t i = 0; i < gray.pixels.size(); ++i) {
    const std::uint8_t* p = img.pixels.data() + 3 * i;
    gray.pixels[i] = static_cast<std::uint8_t>((299 * p[0] + 587 * p[1] + 114 * p[2] + 500) / 1000);
  }
  auto on_rgb = find_faces(img.view(), *det);
  auto on_gray = find_faces(gray.view(), *det);
  ASSERT_TRUE(on_rgb.ok()) << on_rgb.error().message;
  ASSERT_TRUE(on_gray.ok()) << on_gray.error().message;
  EXPECT_EQ(on_gray->pass, on_rgb->pass);
  EXPECT_GT(iou(*on_gray->chosen, *on_rgb->chosen), 0.95);
  EXPECT_GT(iou(*on_gray->chosen, kAstronautFace), 0.5);
  if (fs::exists(yunet_model())) {  // YuNet looks at colour
    auto y = make_yunet_detector(yunet_model().string());
    ASSERT_TRUE(y.ok());
    EXPECT_TRUE(y.value()->uses_colour());
  }
}

TEST(FindFaces, AstronautFaceIsFoundByYunet) {
  const image img = astronaut();
  REQUIRE_IMAGE(img);
  if (!fs::exists(yunet_model())) GTEST_SKIP() << "no YuNet model at " << yunet_model();
  auto det = make_yunet_detector(yunet_model().string());
  ASSERT_TRUE(det.ok()) << det.error().message;
  EXPECT_EQ((*det)->name(), "yunet");
  auto r = find_faces(img.view(), **det);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_GT(iou(*r->chosen, kAstronautFace), 0.6);
  EXPECT_GT(r->chosen->score, 0.85f);
}

TEST(FindFaces, PhotosWithoutAHumanFaceGiveNoFace) {
  auto det = cascade();
  ASSERT_TRUE(det);
  std::vector<std::shared_ptr<const face_detector>> dets{det};
  if (fs::exists(yunet_model())) dets.push_back(*make_yunet_detector(yunet_model().string()));
  // Objects, and animal faces that fool detectors (a cat, a dog photographed
  // sideways so that only the rotation retry sees it upright, a squirrel,
  // coins with heads on them, a 3D monkey head), all from Debian packages.
  const fs::path ocv = "/usr/share/doc/opencv-doc/examples/data";
  const std::vector<fs::path> photos{kSkimage / "coffee.png",       kSkimage / "rocket.jpg",   kSkimage / "chelsea.png",
                                     kSkimage / "coins.png",        kSkimage / "horse.png",    ocv / "chicky_512.png",
                                     ocv / "squirrel_cls.jpg",      ocv / "Blender_Suzanne1.jpg"};
  int tested = 0;
  for (const auto& path : photos) {
    auto img = load(path);
    if (!img) continue;
    for (const auto& d : dets) {
      auto r = find_faces(img->view(), *d);
      EXPECT_EQ(code_of(r), error_code::no_face) << path.filename() << " with " << d->name();
      if (!r.ok()) EXPECT_EQ(r.error().where, stage::detect);
      ++tested;
    }
  }
  if (tested == 0) GTEST_SKIP() << "python3-skimage sample photos are not installed";
}

TEST(FindFaces, PixelRotatedPhotoIsFoundByTheRotationRetry) {
  const image img = astronaut();
  REQUIRE_IMAGE(img);
  auto det = cascade();
  ASSERT_TRUE(det);
  for (int stored_turn : {90, 180, 270}) {
    // The camera stored the pixels turned by stored_turn and wrote no EXIF
    // tag: viewing it upright needs (360 - stored_turn) clockwise.
    const image turned = rotate_cw(img, stored_turn);
    auto r = find_faces(turned.view(), *det);
    ASSERT_TRUE(r.ok()) << stored_turn << ": " << r.error().message;
    EXPECT_EQ(r->rotation_cw, (360 - stored_turn) % 360);
    EXPECT_EQ(r->pass, "rotated");
    EXPECT_FALSE(r->warnings.empty());
    // Boxes are in the coordinates of the image rotated upright: here the
    // original astronaut.png.
    EXPECT_GT(iou(*r->chosen, kAstronautFace), 0.5) << stored_turn;
    // The same face the upright photo gives.
    auto upright = find_faces(img.view(), *det);
    ASSERT_TRUE(upright.ok());
    EXPECT_GT(iou(*r->chosen, *upright->chosen), 0.7) << stored_turn;
  }
  face_search_options no_rot;
  no_rot.try_rotations = false;
  EXPECT_EQ(code_of(find_faces(rotate_cw(img, 90).view(), *det, no_rot)), error_code::no_face);
}

TEST(FindFaces, DarkPhotoIsFound) {
  const image img = astronaut();
  REQUIRE_IMAGE(img);
  auto det = cascade();
  ASSERT_TRUE(det);
  const image dark = darken(img, 0.12);  // an underexposed shot: values 0..30
  auto r = find_faces(dark.view(), *det);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_GT(iou(*r->chosen, kAstronautFace), 0.5);
  face_search_options no_eq;
  no_eq.try_equalize = false;
  no_eq.try_rescale = false;
  no_eq.try_rotations = false;
  no_eq.tilt_deg = 0;
  no_eq.try_mirror_border = false;
  auto plain = find_faces(dark.view(), *det, no_eq);
  if (plain.ok()) EXPECT_EQ(r->pass, "proxy");  // found directly: then no retry was needed
  else EXPECT_EQ(r->pass, "equalized");
}

TEST(FindFaces, RolledHeadIsFoundByTheTiltRetry) {
  const image img = astronaut();
  REQUIRE_IMAGE(img);
  auto det = cascade();
  ASSERT_TRUE(det);
  const image rolled = tilt(img, 30.0);
  auto r = find_faces(rolled.view(), *det);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->rotation_cw, 0);
  // Where the face centre went under the 30 degree turn about the centre.
  const double a = -30.0 * 3.14159265358979 / 180.0, cx = 256, cy = 256;
  const double fx = kAstronautFace.x + kAstronautFace.w / 2 - cx, fy = kAstronautFace.y + kAstronautFace.h / 2 - cy;
  const double ex = std::cos(a) * fx - std::sin(a) * fy + cx, ey = std::sin(a) * fx + std::cos(a) * fy + cy;
  EXPECT_NEAR(r->chosen->x + r->chosen->w / 2, ex, 0.3 * kAstronautFace.w);
  EXPECT_NEAR(r->chosen->y + r->chosen->h / 2, ey, 0.3 * kAstronautFace.h);
}

TEST(FindFaces, FaceCutByTheBorderIsFoundByTheMirrorRetry) {
  const image img = astronaut();
  REQUIRE_IMAGE(img);
  auto det = cascade();
  ASSERT_TRUE(det);
  // The image starts at the face's mid-line: only its right half is in
  // the photo (the case the mirror retry is for; see docs/FACES.md).
  const int x0 = static_cast<int>(kAstronautFace.x + 0.5 * kAstronautFace.w);
  const image cut = crop(img, x0, 0, img.width - x0, img.height);
  auto r = find_faces(cut.view(), *det);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->pass, "mirrored");
  face truth = kAstronautFace;
  truth.x -= static_cast<float>(x0);
  // The chosen box covers the visible part of the face.
  EXPECT_LT(r->chosen->x, 0.2 * truth.w);
  EXPECT_GT(r->chosen->x + r->chosen->w, truth.x + 0.8 * truth.w);
  EXPECT_NEAR(r->chosen->y + r->chosen->h / 2, truth.y + truth.h / 2, 0.25 * truth.h);
  auto fr = plan_face_frame(*r->chosen, cut.width, cut.height);
  ASSERT_TRUE(fr.ok());
  // Without the mirror retry the cut face is missed.
  face_search_options no_mirror;
  no_mirror.try_mirror_border = false;
  EXPECT_EQ(code_of(find_faces(cut.view(), *det, no_mirror)), error_code::no_face);
  EXPECT_TRUE(fr->face_cut);
  EXPECT_EQ(fr->frame.x, 0);
}

TEST(FindFaces, BoxesAreInTheCoordinatesOfTheImageGiven) {
  // A reduced copy and the full image give the same face, scaled.
  const image img = astronaut();
  REQUIRE_IMAGE(img);
  auto det = cascade();
  ASSERT_TRUE(det);
  face_search_options big;
  big.proxy_long_side = 128;  // forces a real proxy (512 -> 128)
  auto r = find_faces(img.view(), *det, big);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_GT(iou(*r->chosen, kAstronautFace), 0.5);
  EXPECT_EQ(r->proxy_width, 128);
}

TEST(FindFaces, RejectsInvalidInput) {
  auto det = cascade();
  ASSERT_TRUE(det);
  EXPECT_EQ(code_of(find_faces(image_view{}, *det)), error_code::invalid_options);
  image tiny{8, 8, 3, std::vector<std::uint8_t>(8 * 8 * 3, 128)};
  face_search_options o;
  o.proxy_long_side = 10;
  EXPECT_EQ(code_of(find_faces(tiny.view(), *det, o)), error_code::invalid_options);
  o = {};
  o.tilt_deg = 50;
  EXPECT_EQ(code_of(find_faces(tiny.view(), *det, o)), error_code::invalid_options);
  // A flat grey image has no face and must not crash any retry.
  EXPECT_EQ(code_of(find_faces(tiny.view(), *det)), error_code::no_face);
  image gray{300, 200, 1, std::vector<std::uint8_t>(300 * 200, 90)};
  EXPECT_EQ(code_of(find_faces(gray.view(), *det)), error_code::no_face);
}

TEST(FindFaces, ConcurrentCallsOnOneDetectorAgree) {
  const image img = astronaut();
  REQUIRE_IMAGE(img);
  std::vector<std::shared_ptr<const face_detector>> dets{cascade()};
  if (fs::exists(yunet_model())) dets.push_back(*make_yunet_detector(yunet_model().string()));
  for (const auto& det : dets) {
    auto ref = find_faces(img.view(), *det);
    ASSERT_TRUE(ref.ok());
    const image turned = rotate_cw(img, 90);
    auto ref_turned = find_faces(turned.view(), *det);
    ASSERT_TRUE(ref_turned.ok());
    std::atomic<int> mismatches{0}, failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&, t] {
        for (int i = 0; i < 4; ++i) {
          const bool use_turned = (t + i) % 2 == 1;
          auto r = find_faces(use_turned ? turned.view() : img.view(), *det);
          if (!r.ok()) {
            ++failures;
            continue;
          }
          const face& want = use_turned ? *ref_turned->chosen : *ref->chosen;
          if (r->chosen->x != want.x || r->chosen->y != want.y || r->chosen->w != want.w || r->chosen->score != want.score)
            ++mismatches;
        }
      });
    for (auto& th : threads) th.join();
    EXPECT_EQ(failures.load(), 0) << det->name();
    EXPECT_EQ(mismatches.load(), 0) << det->name();
  }
}

TEST(BoxGeometry, RotateBoxRoundTrips) {
  const face f{10, 20, 30, 40, 0.5f};
  for (int deg : {0, 90, 180, 270}) {
    const face r = detail::rotate_box(f, deg, 200, 100);
    const face b = detail::unrotate_box(r, deg, 200, 100);
    EXPECT_FLOAT_EQ(b.x, f.x) << deg;
    EXPECT_FLOAT_EQ(b.y, f.y) << deg;
    EXPECT_FLOAT_EQ(b.w, f.w) << deg;
    EXPECT_FLOAT_EQ(b.h, f.h) << deg;
  }
  // 90 clockwise: the top-left corner goes to the top-right.
  const face r = detail::rotate_box(face{0, 0, 10, 20, 0}, 90, 200, 100);
  EXPECT_FLOAT_EQ(r.x, 80);
  EXPECT_FLOAT_EQ(r.y, 0);
  EXPECT_FLOAT_EQ(r.w, 20);
  EXPECT_FLOAT_EQ(r.h, 10);
}

// ---------------------------------------------------------------------------
// Accuracy floor on the shared labelled set (the scoring rule of its
// truth.json "_about.suggested_check"). Measured numbers are in
// docs/FACES.md; the floors sit one image below them so a regression fails.

// Scored through the whole pipeline, prepare() with the face profile on the
// file's bytes (DCT-reduced detection input, the crop prepare() returns), as
// a user gets it; tools/kycprep_eval_faces --pipeline prints the same.
double faces_dev_accuracy(const std::shared_ptr<const face_detector>& det) {
  const fs::path dir = test::shared_dir() / "faces-dev";
  std::ifstream tf(dir / "truth.json");
  const auto truth = nlohmann::json::parse(tf);
  prepare_options po;
  po.detector = det;
  int pass = 0, total = 0;
  for (const auto& [name, t] : truth["images"].items()) {
    const auto bytes = test::read_bytes(dir / name);
    ++total;
    auto r = prepare(bytes, po);
    if (t["largest"].is_null()) {
      const bool ok = !r.ok() && r.error().code == error_code::no_face;
      EXPECT_TRUE(ok) << det->name() << " cropped something in " << name << " (no human face there)";
      pass += ok;
      continue;
    }
    if (!r.ok()) continue;
    // The crop is in the upright frame, turned by extra_rotation_cw when the
    // photo was found pixel-rotated; map it back to the displayed image.
    const bool swap = r->extra_rotation_cw == 90 || r->extra_rotation_cw == 270;
    const int disp_w = swap ? r->upright_height : r->upright_width, disp_h = swap ? r->upright_width : r->upright_height;
    const face crop_box = detail::unrotate_box(
        face{float(r->crop.x), float(r->crop.y), float(r->crop.w), float(r->crop.h), 0}, r->extra_rotation_cw, disp_w,
        disp_h);
    bool ok = false;
    for (const auto& i : t["acceptable_largest"]) {
      const auto& b = t["faces"][i.get<int>()]["box"];
      const double bx = b[0], by = b[1], bw = b[2], bh = b[3];
      const double ix = std::min<double>(crop_box.x + crop_box.w, bx + bw) - std::max<double>(crop_box.x, bx);
      const double iy = std::min<double>(crop_box.y + crop_box.h, by + bh) - std::max<double>(crop_box.y, by);
      const double inter = (ix > 0 && iy > 0) ? ix * iy : 0;
      const double cx = crop_box.x + crop_box.w / 2.0, cy = crop_box.y + crop_box.h / 2.0;
      ok = ok || (inter >= 0.9 * bw * bh && cx >= bx - 0.5 * bw && cx <= bx + 1.5 * bw && cy >= by - 0.5 * bh &&
                  cy <= by + 1.5 * bh);
    }
    EXPECT_GE(r->face_area_ratio, 0.3) << name;
    pass += ok;
  }
  return total ? static_cast<double>(pass) / total : 0.0;
}

// --- detail::lbp_cascade: our evaluation of the LBP cascade, held to be
// the same as OpenCV's window for window.

const char* const kLbpFrontal = "/usr/share/opencv4/lbpcascades/lbpcascade_frontalface.xml";
const char* const kLbpImproved = "/usr/share/opencv4/lbpcascades/lbpcascade_frontalface_improved.xml";

// Gray test images: every faces-dev photo at the proxy's 240 px and at odd
// sizes, the astronaut, and noise (smooth and rough) at sizes that make the
// pyramid's rounding and OpenCV's stripe ends matter.
std::vector<std::pair<std::string, cv::Mat>> lbp_test_images() {
  std::vector<std::pair<std::string, cv::Mat>> out;
  const auto add_photo = [&](const std::string& name, const image& img) {
    const cv::Mat gray = [&] {
      cv::Mat m(img.height, img.width, img.channels == 3 ? CV_8UC3 : CV_8UC1, const_cast<std::uint8_t*>(img.pixels.data()),
                img.stride());
      cv::Mat g;
      if (img.channels == 3) cv::cvtColor(m, g, cv::COLOR_RGB2GRAY);
      else g = m.clone();
      return g;
    }();
    for (const int long_side : {240, 317, 96}) {
      const double f = static_cast<double>(long_side) / std::max(gray.cols, gray.rows);
      cv::Mat small;
      cv::resize(gray, small, cv::Size(std::max(1, int(std::lround(gray.cols * f))), std::max(1, int(std::lround(gray.rows * f)))),
                 0, 0, cv::INTER_AREA);
      out.emplace_back(name + "@" + std::to_string(long_side), small);
    }
  };
  const fs::path dir = test::shared_dir() / "faces-dev";
  if (fs::exists(dir))
    for (const auto& e : fs::directory_iterator(dir)) {
      const auto ext = e.path().extension().string();
      if (ext != ".jpg" && ext != ".jpeg" && ext != ".png") continue;
      if (auto img = load(e.path())) add_photo(e.path().filename().string(), *img);
    }
  if (auto a = load(kSkimage / "astronaut.png")) add_photo("astronaut", *a);
  cv::RNG rng(12345);
  for (const cv::Size sz : {cv::Size(240, 180), cv::Size(241, 181), cv::Size(180, 240), cv::Size(97, 64), cv::Size(24, 24),
                            cv::Size(25, 31), cv::Size(480, 50), cv::Size(33, 200)}) {
    cv::Mat rough(sz, CV_8UC1), smooth;
    rng.fill(rough, cv::RNG::UNIFORM, 0, 256);
    cv::GaussianBlur(rough, smooth, cv::Size(0, 0), 2.5);
    cv::normalize(smooth, smooth, 0, 255, cv::NORM_MINMAX);
    out.emplace_back("noise " + std::to_string(sz.width) + "x" + std::to_string(sz.height), rough);
    out.emplace_back("smooth noise " + std::to_string(sz.width) + "x" + std::to_string(sz.height), smooth);
  }
  return out;
}

// OpenCV's parallel_for_ would split the rows across threads and change
// the order of the raw windows; one thread gives the reference order.
struct one_opencv_thread {
  int was = cv::getNumThreads();
  one_opencv_thread() { cv::setNumThreads(1); }
  ~one_opencv_thread() { cv::setNumThreads(was); }
};

TEST(LbpCascade, RawWindowsAreOpenCvsInTheSameOrder) {
  one_opencv_thread one;
  const auto images = lbp_test_images();
  ASSERT_GE(images.size(), 16u);
  std::size_t windows = 0, images_with_windows = 0;
  for (const char* file : {kLbpFrontal, kLbpImproved}) {
    if (!fs::exists(file)) GTEST_SKIP() << file << " is absent (Debian package opencv-data)";
    cv::CascadeClassifier cv_cascade(file);
    ASSERT_FALSE(cv_cascade.empty());
    std::string why;
    const auto ours = detail::lbp_cascade::load(file, why);
    ASSERT_TRUE(ours) << why;
    detail::lbp_scratch scratch;
    struct setting { double scale; cv::Size min, max; };
    const setting settings[] = {{1.1, {20, 20}, {}}, {1.2, {30, 30}, {}}, {1.05, {0, 0}, {90, 90}}};
    for (std::size_t si = 0; si < std::size(settings); ++si) {
      const setting& s = settings[si];
      for (std::size_t ii = 0; ii < images.size(); ++ii) {
        // The default setting on every image, the others on a third (time).
        if (si > 0 && ii % 3 != si) continue;
        const auto& [name, gray] = images[ii];
        std::vector<cv::Rect> want;
        cv_cascade.detectMultiScale(gray, want, s.scale, 0, 0, s.min, s.max);
        for (const auto isa : {detail::lbp_isa::best, detail::lbp_isa::baseline}) {
          std::vector<cv::Rect> got;
          ours->candidates(gray, s.scale, s.min, s.max, got, scratch, isa);
          ASSERT_EQ(got, want) << file << " on " << name << ", scale " << s.scale << ", "
                               << (isa == detail::lbp_isa::best ? "best" : "baseline") << " build";
        }
        windows += want.size();
        images_with_windows += !want.empty();
      }
    }
  }
  // The comparison means something only if there were windows to compare
  // (most come from the faces-dev photos, which a clone without ../shared lacks).
  if (fs::exists(test::shared_dir() / "faces-dev")) {
    EXPECT_GT(windows, 1000u);
    EXPECT_GT(images_with_windows, 30u);
  }
}

TEST(LbpCascade, GroupedDetectionsAndCountsAreOpenCvs) {
  one_opencv_thread one;
  if (!fs::exists(kLbpFrontal)) GTEST_SKIP() << kLbpFrontal << " is absent (Debian package opencv-data)";
  cv::CascadeClassifier cv_cascade(kLbpFrontal);
  std::string why;
  const auto ours = detail::lbp_cascade::load(kLbpFrontal, why);
  ASSERT_TRUE(ours) << why;
  detail::lbp_scratch scratch;
  std::size_t faces = 0;
  for (const auto& [name, gray] : lbp_test_images()) {
    for (const int neighbours : {1, 3}) {
      std::vector<cv::Rect> want, got;
      std::vector<int> want_hits, got_hits;
      cv_cascade.detectMultiScale(gray, want, want_hits, 1.1, neighbours, 0, cv::Size(20, 20));
      ours->detect(gray, 1.1, neighbours, cv::Size(20, 20), cv::Size(), got, got_hits, scratch);
      ASSERT_EQ(got, want) << name << ", min_neighbors " << neighbours;
      ASSERT_EQ(got_hits, want_hits) << name << ", min_neighbors " << neighbours;
      faces += want.size();
    }
  }
  if (fs::exists(test::shared_dir() / "faces-dev")) EXPECT_GT(faces, 30u);  // else too few photos to count
}

// The default detector falls back to OpenCV silently when the LBP file is
// not one lbp_cascade takes: keep the default on the fast path.
TEST(LbpCascade, TheDefaultFaceCascadeIsEvaluatedByKycprep) {
  const cascade_options defaults;
  if (!fs::exists(defaults.face_cascade)) GTEST_SKIP() << defaults.face_cascade << " is absent (opencv-data)";
  std::string why;
  const auto c = detail::lbp_cascade::load(defaults.face_cascade, why);
  ASSERT_TRUE(c) << why;
  EXPECT_EQ(c->window(), cv::Size(24, 24));
}

TEST(LbpCascade, RefusesWhatItCannotEvaluate) {
  std::string why;
  EXPECT_FALSE(detail::lbp_cascade::load("/nonexistent/cascade.xml", why));
  EXPECT_FALSE(why.empty());
  const char* haar = "/usr/share/opencv4/haarcascades/haarcascade_frontalface_alt2.xml";
  if (fs::exists(haar)) {
    why.clear();
    EXPECT_FALSE(detail::lbp_cascade::load(haar, why)) << "a Haar cascade is not an LBP cascade";
    EXPECT_NE(why.find("LBP"), std::string::npos) << why;
  }
  // A stump whose feature lies outside the window would read outside the
  // integral image.
  const fs::path bad = fs::temp_directory_path() / "kycprep_lbp_bad.xml";
  {
    std::ofstream f(bad);
    f << R"(<?xml version="1.0"?><opencv_storage><cascade><stageType>BOOST</stageType><featureType>LBP</featureType>
<height>24</height><width>24</width><featureParams><maxCatCount>256</maxCatCount></featureParams><stageNum>1</stageNum>
<stages><_><maxWeakCount>1</maxWeakCount><stageThreshold>-1.</stageThreshold><weakClassifiers><_>
<internalNodes>0 -1 0 -1 -1 -1 -1 -1 -1 -1 -1</internalNodes><leafValues>1. -1.</leafValues></_></weakClassifiers></_></stages>
<features><_><rect>20 0 3 3</rect></_></features></cascade></opencv_storage>)";
  }
  why.clear();
  EXPECT_FALSE(detail::lbp_cascade::load(bad.string(), why));
  EXPECT_NE(why.find("outside"), std::string::npos) << why;
  fs::remove(bad);
}

TEST(FacesDev, CascadeAccuracyFloor) {
  if (!fs::exists(test::shared_dir() / "faces-dev" / "truth.json")) GTEST_SKIP() << "../shared/faces-dev is absent";
  auto det = make_default_detector();
  ASSERT_TRUE(det.ok()) << det.error().message;
  const double acc = faces_dev_accuracy(det.value());
  RecordProperty("accuracy", std::to_string(acc));
  EXPECT_GE(acc, 0.90) << "measured 31/33 = 0.939 when written";
}

TEST(FacesDev, YunetAccuracyFloor) {
  if (!fs::exists(test::shared_dir() / "faces-dev" / "truth.json")) GTEST_SKIP() << "../shared/faces-dev is absent";
  if (!fs::exists(yunet_model())) GTEST_SKIP() << "no YuNet model at " << yunet_model();
  auto det = make_yunet_detector(yunet_model().string());
  ASSERT_TRUE(det.ok()) << det.error().message;
  const double acc = faces_dev_accuracy(det.value());
  RecordProperty("accuracy", std::to_string(acc));
  EXPECT_GE(acc, 0.93) << "measured 32/33 = 0.970 when written";
}

}  // namespace
}  // namespace kycprep
