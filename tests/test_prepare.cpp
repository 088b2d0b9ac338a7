// The whole pipeline: output rules on real photos, orientation, hostile
// inputs, determinism and thread safety.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <thread>

#include <lcms2.h>

#include "jpeg_markers.hpp"
#include "kycprep/encode.hpp"
#include "kycprep/base64.hpp"
#include "kycprep/prepare.hpp"
#include "test_support.hpp"

using namespace kycprep;
namespace fs = std::filesystem;

namespace {

std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> v;
  if (fs::exists(dir))
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_regular_file() && e.path().extension() != ".md") v.push_back(e.path());
  std::sort(v.begin(), v.end());
  return v;
}

// Every rule of the core issue, for one successful result.
void expect_output_rules(const prepared& p, target t, const std::string& what) {
  SCOPED_TRACE(what);
  const target_preset tp = preset(t);
  EXPECT_EQ(std::min(p.width, p.height), 720);
  EXPECT_GE(p.height, 640);
  EXPECT_GE(p.width, 480);
  EXPECT_LE(p.height, 1920);
  EXPECT_LE(p.width, 1080);
  EXPECT_GE(p.quality, 91);
  EXPECT_LE(p.jpeg.size(), tp.max_jpeg_bytes);
  EXPECT_LE(p.base64.size(), tp.max_base64_bytes);
  const auto m = test::jpeg_markers(p.jpeg);
  EXPECT_TRUE(m.valid);
  EXPECT_FALSE(m.has_exif || m.has_xmp || m.has_icc || m.has_comment || m.has_other_app);
  auto round_trip = base64_decode(p.base64);
  ASSERT_TRUE(round_trip.ok());
  EXPECT_EQ(round_trip.value(), p.jpeg);
  auto h = read_header(p.jpeg);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->width, p.width);
  EXPECT_EQ(h->height, p.height);
  EXPECT_EQ(h->subsampling, "4:2:0");
  EXPECT_EQ(h->orientation, 1);
}

double mean_abs_diff(const image& a, const image& b) {
  if (a.pixels.size() != b.pixels.size()) return 1e9;
  double s = 0;
  for (std::size_t i = 0; i < a.pixels.size(); ++i) s += std::abs(int(a.pixels[i]) - int(b.pixels[i]));
  return s / static_cast<double>(a.pixels.size());
}

image decode_output(const prepared& p) {
  auto d = decode(p.jpeg);
  EXPECT_TRUE(d.ok());
  return d.ok() ? std::move(d->pixels) : image{};
}

prepare_options document_profile() {
  prepare_options o;
  o.profile = profile::document;
  return o;
}

long peak_rss_kb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

}  // namespace

TEST(prepare, every_sample_and_fixture_meets_the_output_rules) {
  int checked = 0;
  for (const char* dir : {"samples", "fixtures/jpeg", "fixtures/png", "fixtures/orientation"})
    for (const auto& f : files_in(test::data_dir() / dir)) {
      for (target t : {target::alibaba, target::tencent}) {
        prepare_options o;
        o.profile = profile::document;
        o.target = t;
        auto r = prepare_file(f.string(), o);
        ASSERT_TRUE(r.ok()) << f << ": " << r.error().message;
        expect_output_rules(r.value(), t, f.string());
        ++checked;
      }
    }
  EXPECT_GE(checked, 40);
}

TEST(prepare, all_eight_orientations_give_the_upright_output) {
  const fs::path dir = test::data_dir() / "fixtures/orientation";
  prepare_options doc;
  doc.profile = profile::document;
  auto ref = prepare_file((dir / "orient_1.jpg").string(), doc);
  ASSERT_TRUE(ref.ok());
  const image ref_px = decode_output(ref.value());
  for (int o = 1; o <= 8; ++o) {
    auto r = prepare_file((dir / ("orient_" + std::to_string(o) + ".jpg")).string(), doc);
    ASSERT_TRUE(r.ok()) << o;
    EXPECT_EQ(r->source.orientation, o);
    EXPECT_EQ(r->width, ref->width) << o;
    EXPECT_EQ(r->height, ref->height) << o;
    EXPECT_EQ(r->crop, ref->crop) << o;
    EXPECT_LT(mean_abs_diff(decode_output(r.value()), ref_px), 3.0) << "orientation " << o;
  }
  // The PNG eXIf chunk is honoured too.
  auto png = prepare_file((dir / "orient_6.png").string(), doc);
  ASSERT_TRUE(png.ok());
  EXPECT_EQ(png->source.orientation, 6);
  EXPECT_LT(mean_abs_diff(decode_output(png.value()), ref_px), 3.0);
}

TEST(prepare, face_profile_crops_the_same_face_in_every_orientation) {
  const fs::path dir = test::data_dir() / "fixtures/orientation";
  prepare_options o;  // face profile is the default
  auto det = make_default_detector();
  ASSERT_TRUE(det.ok()) << det.error().message;
  o.detector = det.value();
  auto ref = prepare_file((dir / "orient_1.jpg").string(), o);
  ASSERT_TRUE(ref.ok()) << ref.error().message;
  ASSERT_TRUE(ref->chosen_face.has_value());
  expect_output_rules(ref.value(), target::alibaba, "orient_1 face");
  EXPECT_GT(ref->height, ref->width);  // portrait frame
  EXPECT_NEAR(ref->face_area_ratio, 0.6, 0.1);
  const image ref_px = decode_output(ref.value());
  for (int v = 2; v <= 8; ++v) {
    auto r = prepare_file((dir / ("orient_" + std::to_string(v) + ".jpg")).string(), o);
    ASSERT_TRUE(r.ok()) << v << ": " << r.error().message;
    // Same crop within a few pixels of detection jitter, same output size and content.
    EXPECT_NEAR(r->crop.x, ref->crop.x, 6) << v;
    EXPECT_NEAR(r->crop.y, ref->crop.y, 6) << v;
    EXPECT_NEAR(r->crop.w, ref->crop.w, 8) << v;
    EXPECT_EQ(r->width, ref->width);
    EXPECT_EQ(r->height, ref->height);
    EXPECT_LT(mean_abs_diff(decode_output(r.value()), ref_px), 12.0) << "orientation " << v;
  }
}

TEST(prepare, face_profile_on_samples_and_no_face_on_a_faceless_image) {
  prepare_options o;
  auto det = make_default_detector();
  ASSERT_TRUE(det.ok());
  o.detector = det.value();
  for (const char* name : {"astronaut_portrait.jpg", "astronaut_exif6.jpg"}) {
    auto r = prepare_file((test::data_dir() / "samples" / name).string(), o);
    ASSERT_TRUE(r.ok()) << name << ": " << r.error().message;
    expect_output_rules(r.value(), target::alibaba, name);
    EXPECT_EQ(r->width, 720);
    EXPECT_EQ(r->height, 960);
    ASSERT_TRUE(r->chosen_face.has_value());
    EXPECT_FALSE(r->faces.empty());
    // The chosen face lies inside the crop.
    const face& f = *r->chosen_face;
    EXPECT_GE(f.x + f.w / 2, r->crop.x);
    EXPECT_LE(f.x + f.w / 2, r->crop.x + r->crop.w);
  }
  // A flat synthetic image holds no face: no_face, never an arbitrary crop.
  auto none = prepare_file((test::data_dir() / "fixtures/png/palette8.png").string(), o);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, error_code::no_face);
  EXPECT_EQ(none.error().where, stage::detect);
}

TEST(prepare, same_input_same_bytes_across_threads) {
  const auto bytes = test::read_bytes(test::data_dir() / "fixtures/orientation/orient_6.jpg");
  prepare_options o;
  auto det = make_default_detector();
  ASSERT_TRUE(det.ok());
  o.detector = det.value();  // one detector shared by all threads
  auto first = prepare(bytes, o);
  ASSERT_TRUE(first.ok());
  std::vector<std::vector<std::uint8_t>> got(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 3; ++i) {
        auto r = prepare(bytes, o);
        if (r.ok()) got[static_cast<std::size_t>(t)] = r->jpeg;
      }
    });
  for (auto& t : threads) t.join();
  for (const auto& g : got) EXPECT_EQ(g, first->jpeg);
}

TEST(prepare, hostile_inputs_get_clear_errors) {
  // file-name prefix -> expected error (or ok for recoverable EXIF damage)
  const std::vector<std::pair<std::string, std::optional<error_code>>> expect = {
      {"empty", error_code::empty_input},
      {"magic_", error_code::unsupported_format},
      {"text", error_code::unsupported_format},
      {"random", error_code::unsupported_format},
      {"bomb_", error_code::side_too_large},
      {"side_", error_code::side_too_large},
      {"implausible_", error_code::implausible_size},
      {"scans_", error_code::too_many_scans},
      {"truncated_", error_code::truncated},
      {"corrupt_", error_code::corrupt},
      {"bad_crc", error_code::corrupt},
      {"exif_ifd_chain_loop", std::nullopt},  // IFD0 is valid (orientation 3); only its links loop
      {"exif_", std::nullopt},
      {"garbage_exif", std::nullopt},
  };
  const long rss_before = peak_rss_kb();
  int checked = 0;
  for (const auto& f : files_in(test::data_dir() / "hostile")) {
    const std::string name = f.filename().string();
    auto r = prepare_file(f.string(), document_profile());
    bool matched = false;
    for (const auto& [prefix, code] : expect) {
      if (name.rfind(prefix, 0) != 0) continue;
      matched = true;
      if (code) {
        ASSERT_FALSE(r.ok()) << name;
        EXPECT_EQ(r.error().code, *code) << name << ": " << r.error().message;
        EXPECT_FALSE(r.error().message.empty());
      } else {
        ASSERT_TRUE(r.ok()) << name << ": " << r.error().message;
        if (name.rfind("exif_ifd_chain_loop", 0) == 0) {
          EXPECT_EQ(r->source.orientation, 3) << name;
        } else {
          EXPECT_EQ(r->source.orientation, 1) << name;
          EXPECT_FALSE(r->warnings.empty()) << name;
        }
        expect_output_rules(r.value(), target::alibaba, name);
      }
      break;
    }
    EXPECT_TRUE(matched) << "no expectation for hostile fixture " << name;
    ++checked;
  }
  EXPECT_GE(checked, 20);
  // Size bombs are refused from the header: no large allocation happened.
  EXPECT_LT(peak_rss_kb() - rss_before, 100 * 1024);
}

TEST(prepare, tolerated_truncation_is_a_warning) {
  prepare_options o = document_profile();
  o.decode.tolerate_corruption = true;
  for (const char* name : {"truncated_50.jpg", "truncated_mid_idat.png"}) {
    auto r = prepare_file((test::data_dir() / "hostile" / name).string(), o);
    ASSERT_TRUE(r.ok()) << name << ": " << r.error().message;
    ASSERT_FALSE(r->warnings.empty());
    bool says_truncated = false;
    for (const auto& w : r->warnings) says_truncated |= w.find("truncated") != std::string::npos;
    EXPECT_TRUE(says_truncated) << name;
  }
}

TEST(prepare, limits_are_per_call) {
  const auto bytes = test::read_bytes(test::data_dir() / "fixtures/jpeg/baseline_420.jpg");
  prepare_options tight = document_profile();
  tight.decode.limits.max_pixels = 1000;
  EXPECT_EQ(prepare(bytes, tight).error().code, error_code::too_many_pixels);
  tight = document_profile();
  tight.decode.limits.max_input_bytes = 100;
  EXPECT_EQ(prepare(bytes, tight).error().code, error_code::input_too_large);
  tight = document_profile();
  tight.decode.limits.max_side = 100;
  EXPECT_EQ(prepare(bytes, tight).error().code, error_code::side_too_large);
  EXPECT_TRUE(prepare(bytes, document_profile()).ok());  // the defaults were not changed by the calls above
}

TEST(prepare, invalid_options_and_missing_files) {
  prepare_options o;
  o.quality = 90;
  o.min_quality = 90;
  EXPECT_EQ(prepare_file((test::data_dir() / "samples/astronaut_portrait.jpg").string(), o).error().code,
            error_code::invalid_options);
  auto missing = prepare_file("/nonexistent/photo.jpg");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, error_code::io_error);
  EXPECT_EQ(missing.error().where, stage::read);
}

namespace {
// A JPEG of flat RGB (v, v, v) carrying `profile` in an APP2 ICC_PROFILE segment.
std::vector<std::uint8_t> flat_jpeg_with_icc(std::uint8_t v, const std::vector<std::uint8_t>& profile) {
  image img;
  img.width = 480;
  img.height = 640;
  img.channels = 3;
  img.pixels.assign(img.stride() * 640, v);
  auto enc = encode_jpeg(img.view(), {100, 91, 0});
  EXPECT_TRUE(enc.ok());
  std::vector<std::uint8_t> j = enc->jpeg;
  if (profile.empty()) return j;
  std::vector<std::uint8_t> seg = {0xFF, 0xE2, 0, 0};
  const char tag[] = "ICC_PROFILE";
  seg.insert(seg.end(), tag, tag + 12);  // with its NUL
  seg.push_back(1);                      // chunk 1 of 1
  seg.push_back(1);
  seg.insert(seg.end(), profile.begin(), profile.end());
  const std::size_t len = seg.size() - 2;
  seg[2] = static_cast<std::uint8_t>(len >> 8);
  seg[3] = static_cast<std::uint8_t>(len & 0xFF);
  j.insert(j.begin() + 2, seg.begin(), seg.end());
  return j;
}

std::vector<std::uint8_t> linear_light_profile() {
  cmsCIExyY d65;
  cmsWhitePointFromTemp(&d65, 6504);
  const cmsCIExyYTRIPLE srgb_primaries = {{0.64, 0.33, 1.0}, {0.30, 0.60, 1.0}, {0.15, 0.06, 1.0}};
  cmsToneCurve* linear = cmsBuildGamma(nullptr, 1.0);
  cmsToneCurve* curves[3] = {linear, linear, linear};
  cmsHPROFILE p = cmsCreateRGBProfile(&d65, &srgb_primaries, curves);
  cmsSetProfileVersion(p, 4.3);
  cmsUInt32Number n = 0;
  cmsSaveProfileToMem(p, nullptr, &n);
  std::vector<std::uint8_t> out(n);
  cmsSaveProfileToMem(p, out.data(), &n);
  cmsCloseProfile(p);
  cmsFreeToneCurve(linear);
  return out;
}

double mean_of(const image& img) {
  double s = 0;
  for (auto v : img.pixels) s += v;
  return s / static_cast<double>(img.pixels.size());
}
}  // namespace

TEST(prepare, embedded_icc_profiles_are_converted_to_srgb) {
  const auto profile = linear_light_profile();
  ASSERT_GT(profile.size(), 100u);
  prepare_options o = document_profile();
  // Linear-light 128 is 50% light; in sRGB that is encoded as ~188.
  auto tagged = prepare(flat_jpeg_with_icc(128, profile), o);
  ASSERT_TRUE(tagged.ok()) << tagged.error().message;
  EXPECT_TRUE(tagged->source.icc);
  EXPECT_TRUE(tagged->source.icc_converted);
  EXPECT_NEAR(mean_of(decode_output(tagged.value())), 188.0, 4.0);
  EXPECT_FALSE(test::jpeg_markers(tagged->jpeg).has_icc);  // converted, never copied
  // Untagged, the same pixels are taken as sRGB already.
  auto plain = prepare(flat_jpeg_with_icc(128, {}), o);
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->source.icc_converted);
  EXPECT_NEAR(mean_of(decode_output(plain.value())), 128.0, 2.0);
  // An sRGB profile is recognised and left alone; garbage is a warning, not an error.
  auto srgb = prepare_file((test::data_dir() / "fixtures/jpeg/icc_srgb.jpg").string(), o);
  ASSERT_TRUE(srgb.ok());
  EXPECT_TRUE(srgb->source.icc);
  EXPECT_FALSE(srgb->source.icc_converted);
  std::vector<std::uint8_t> junk(200, 0x5A);
  auto bad = prepare(flat_jpeg_with_icc(128, junk), o);
  ASSERT_TRUE(bad.ok()) << bad.error().message;
  EXPECT_FALSE(bad->source.icc_converted);
  bool warned = false;
  for (const auto& w : bad->warnings) warned |= w.rfind("icc:", 0) == 0;
  EXPECT_TRUE(warned);
}

// ---------------------------------------------------------------------------
// The EXIF thumbnail as the first detection input (prepare_options::use_exif_thumbnail).

namespace {

// A camera-style thumbnail of a JPEG's stored pixels: long side `long_side`,
// optionally shifted circularly by half its width (a stale thumbnail whose
// face sits elsewhere) or cropped to a square (another frame).
enum class thumb_kind { faithful, shifted, square, flat };
std::vector<std::uint8_t> thumbnail_of(const std::vector<std::uint8_t>& jpeg, thumb_kind kind = thumb_kind::faithful,
                                       int long_side = 160) {
  auto d = decode(jpeg);
  EXPECT_TRUE(d.ok());
  if (!d.ok()) return {};
  const image& px = d->pixels;
  const double f = static_cast<double>(long_side) / std::max(px.width, px.height);
  image t = resize(px.view(), std::max(1, static_cast<int>(std::lround(px.width * f))),
                   std::max(1, static_cast<int>(std::lround(px.height * f))));
  if (kind == thumb_kind::shifted) {
    image s = t;
    const int c = t.channels;
    for (int y = 0; y < t.height; ++y)
      for (int x = 0; x < t.width; ++x)
        std::memcpy(&s.pixels[(static_cast<std::size_t>(y) * t.width + (x + t.width / 2) % t.width) * c],
                    &t.pixels[(static_cast<std::size_t>(y) * t.width + x) * c], static_cast<std::size_t>(c));
    t = std::move(s);
  } else if (kind == thumb_kind::square) {
    const int side = std::min(t.width, t.height);
    image s;
    s.width = s.height = side;
    s.channels = t.channels;
    s.pixels.resize(s.stride() * static_cast<std::size_t>(side));
    for (int y = 0; y < side; ++y) std::memcpy(&s.pixels[y * s.stride()], &t.pixels[y * t.stride()], s.stride());
    t = std::move(s);
  } else if (kind == thumb_kind::flat) {
    std::fill(t.pixels.begin(), t.pixels.end(), std::uint8_t{128});
  }
  auto e = encode_jpeg(t.view());
  EXPECT_TRUE(e.ok());
  return e.ok() ? e->jpeg : std::vector<std::uint8_t>{};
}

double box_iou(const face& a, const face& b) {
  const double ix = std::max(0.0, std::min<double>(a.x + a.w, b.x + b.w) - std::max<double>(a.x, b.x));
  const double iy = std::max(0.0, std::min<double>(a.y + a.h, b.y + b.h) - std::max<double>(a.y, b.y));
  return ix * iy / (double(a.w) * a.h + double(b.w) * b.h - ix * iy);
}

struct both_ways {
  result<prepared> with_thumbnail, without;
};
both_ways prepare_both(const std::vector<std::uint8_t>& bytes, prepare_options o) {
  o.use_exif_thumbnail = true;
  auto a = prepare(bytes, o);
  o.use_exif_thumbnail = false;
  auto b = prepare(bytes, o);
  return {std::move(a), std::move(b)};
}

}  // namespace

TEST(prepare_exif_thumbnail, header_reports_where_the_thumbnail_is) {
  const auto photo = test::read_bytes(test::data_dir() / "samples/astronaut_portrait.jpg");
  const auto thumb = thumbnail_of(photo);
  for (bool be : {false, true}) {
    const auto bytes = test::with_exif(photo, test::camera_exif(3, thumb, be));
    auto h = read_header(bytes);
    ASSERT_TRUE(h.ok());
    EXPECT_EQ(h->orientation, 3);
    ASSERT_EQ(h->exif_thumbnail_size, thumb.size());
    ASSERT_LE(h->exif_thumbnail_offset + h->exif_thumbnail_size, bytes.size());
    EXPECT_TRUE(std::equal(thumb.begin(), thumb.end(), bytes.begin() + static_cast<std::ptrdiff_t>(h->exif_thumbnail_offset)));
  }
  auto none = read_header(photo);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->exif_thumbnail_size, 0u);
}

TEST(prepare_exif_thumbnail, finds_the_same_face_as_the_whole_photo_search) {
  prepare_options o;
  auto det = make_default_detector();
  ASSERT_TRUE(det.ok());
  o.detector = det.value();
  struct input {
    const char* file;
    int orientation;
  };
  for (const input in : {input{"samples/astronaut_portrait.jpg", 1}, input{"fixtures/orientation/orient_6.jpg", 6},
                         input{"fixtures/orientation/orient_3.jpg", 3}}) {
    SCOPED_TRACE(in.file);
    const auto photo = test::read_bytes(test::data_dir() / in.file);
    const auto bytes = test::with_exif(photo, test::camera_exif(in.orientation, thumbnail_of(photo), false));
    auto r = prepare_both(bytes, o);
    ASSERT_TRUE(r.with_thumbnail.ok()) << r.with_thumbnail.error().message;
    ASSERT_TRUE(r.without.ok()) << r.without.error().message;
    EXPECT_EQ(r.with_thumbnail->detected_on, detect_input::exif_thumbnail);
    EXPECT_NE(r.without->detected_on, detect_input::exif_thumbnail);
    expect_output_rules(r.with_thumbnail.value(), target::alibaba, in.file);
    EXPECT_EQ(r.with_thumbnail->source.orientation, in.orientation);
    EXPECT_GT(box_iou(*r.with_thumbnail->chosen_face, *r.without->chosen_face), 0.7);
    EXPECT_NEAR(r.with_thumbnail->face_area_ratio, 0.6, 0.1);
    EXPECT_EQ(r.with_thumbnail->width, r.without->width);
    EXPECT_EQ(r.with_thumbnail->height, r.without->height);
    // The same frame within detection jitter (a few pixels on these small photos;
    // the two searches run on differently made proxies: thumbnail vs coefficients).
    const auto as_face = [](rect c) { return face{float(c.x), float(c.y), float(c.w), float(c.h)}; };
    EXPECT_GT(box_iou(as_face(r.with_thumbnail->crop), as_face(r.without->crop)), 0.8);
  }
}

TEST(prepare_exif_thumbnail, stale_or_unusable_thumbnails_fall_back_to_the_same_result) {
  prepare_options o;
  auto det = make_default_detector();
  ASSERT_TRUE(det.ok());
  o.detector = det.value();
  const auto photo = test::read_bytes(test::data_dir() / "samples/astronaut_portrait.jpg");
  std::vector<std::uint8_t> corrupt = thumbnail_of(photo);
  corrupt.resize(corrupt.size() / 2);  // truncated thumbnail
  const auto whole = [&] {
    auto d = decode(photo);
    return d.ok() ? encode_jpeg(d->pixels.view()).value().jpeg : std::vector<std::uint8_t>{};
  }();
  const struct {
    const char* what;
    std::vector<std::uint8_t> thumb;
  } cases[] = {
      {"stale: the face elsewhere", thumbnail_of(photo, thumb_kind::shifted)},
      {"another frame (square)", thumbnail_of(photo, thumb_kind::square)},
      {"no face on it", thumbnail_of(photo, thumb_kind::flat)},
      {"truncated", corrupt},
      {"as large as the photo", whole.size() < 60000 ? whole : std::vector<std::uint8_t>{0xFF, 0xD8, 0xFF, 0xD9}},
      {"not a JPEG past its SOI", {0xFF, 0xD8, 'n', 'o', 'p', 'e'}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    const auto bytes = test::with_exif(photo, test::camera_exif(1, c.thumb, false));
    auto r = prepare_both(bytes, o);
    ASSERT_TRUE(r.with_thumbnail.ok()) << r.with_thumbnail.error().message;
    ASSERT_TRUE(r.without.ok());
    EXPECT_NE(r.with_thumbnail->detected_on, detect_input::exif_thumbnail);
    EXPECT_EQ(r.with_thumbnail->jpeg, r.without->jpeg);
    EXPECT_EQ(r.with_thumbnail->crop, r.without->crop);
  }
}

// Accuracy: on every photo of faces-dev, given a 160-pixel camera thumbnail,
// the thumbnail path must agree with the whole-photo search: the same face
// (IoU > 0.5) or the same no_face verdict. Measured: docs/FACES.md.
TEST(prepare_exif_thumbnail, agrees_with_the_whole_photo_search_on_faces_dev) {
  const fs::path dir = test::shared_dir() / "faces-dev";
  if (!fs::exists(dir)) GTEST_SKIP() << "no ../shared/faces-dev";
  prepare_options o;
  auto det = make_default_detector();
  ASSERT_TRUE(det.ok());
  o.detector = det.value();
  int photos = 0, agree = 0, used = 0;
  for (const auto& p : files_in(dir)) {
    if (p.extension() == ".json") continue;
    auto d = decode(test::read_bytes(p));
    ASSERT_TRUE(d.ok()) << p;
    // Every photo as a camera JPEG (PNGs re-encoded), with its thumbnail.
    const auto jpeg = encode_jpeg(d->pixels.view()).value().jpeg;
    const auto bytes = test::with_exif(jpeg, test::camera_exif(1, thumbnail_of(jpeg), false));
    auto r = prepare_both(bytes, o);
    ++photos;
    used += r.with_thumbnail.ok() && r.with_thumbnail->detected_on == detect_input::exif_thumbnail;
    bool same = false;
    if (r.with_thumbnail.ok() && r.without.ok())
      same = box_iou(*r.with_thumbnail->chosen_face, *r.without->chosen_face) > 0.5;
    else if (!r.with_thumbnail.ok() && !r.without.ok())
      same = r.with_thumbnail.error().code == r.without.error().code;
    agree += same;
    EXPECT_TRUE(same) << p.filename() << ": "
                      << (r.with_thumbnail.ok() ? "face" : std::string(to_string(r.with_thumbnail.error().code)))
                      << " vs " << (r.without.ok() ? "face" : std::string(to_string(r.without.error().code)));
  }
  std::printf("faces-dev with 160 px thumbnails: %d photos, %d agree, %d via the thumbnail\n", photos, agree, used);
  EXPECT_GE(photos, 30);
  EXPECT_GE(used, photos / 2);  // most photos with a face take the fast path
}

// ---- one entropy pass or two (max_coefficient_bytes) ----------------------

namespace {

// A 12 MP-class baseline JPEG of a real face: a sample enlarged to 3000x4000.
std::vector<std::uint8_t> large_face_jpeg() {
  auto d = decode(test::read_bytes(test::data_dir() / "samples/astronaut_portrait.jpg"));
  EXPECT_TRUE(d.ok());
  if (!d.ok()) return {};
  const image big = resize(d->pixels.view(), 3000, 4000);
  encode_options eo;
  eo.quality = 92;
  auto e = encode_jpeg(big.view(), eo);
  EXPECT_TRUE(e.ok());
  return e.ok() ? std::move(e->jpeg) : std::vector<std::uint8_t>{};
}

}  // namespace

namespace {

// The default cascade, saying uses_colour() as told and recording the
// channel count of every image its first look (detect) is given.
class channel_recorder final : public face_detector {
 public:
  channel_recorder(std::shared_ptr<const face_detector> inner, bool colour) : inner_(std::move(inner)), colour_(colour) {}
  std::string_view name() const noexcept override { return "recorder"; }
  bool uses_colour() const noexcept override { return colour_; }
  result<std::vector<face>> detect(image_view img) const override {
    seen.push_back(img.channels);
    return inner_->detect(img);
  }
  std::optional<face> confirm(image_view img, const face& c) const override { return inner_->confirm(img, c); }
  float retry_min_score() const noexcept override { return inner_->retry_min_score(); }
  mutable std::vector<int> seen;  // one thread in this test

 private:
  std::shared_ptr<const face_detector> inner_;
  bool colour_;
};

}  // namespace

// A detector that ignores colour is searched on luma alone (the DC terms of
// the luma blocks, or libjpeg's gray draft), one that uses it on RGB; both
// find the same face.
TEST(prepare, a_luma_only_detector_gets_a_one_channel_proxy) {
  const auto bytes = large_face_jpeg();
  ASSERT_FALSE(bytes.empty());
  auto cascade = make_default_detector();
  ASSERT_TRUE(cascade.ok());
  prepare_options o;
  o.detector = cascade.value();
  auto plain = prepare(bytes, o);
  ASSERT_TRUE(plain.ok()) << plain.error().message;
  for (const std::size_t cap : {prepare_options{}.max_coefficient_bytes, std::size_t{0}}) {
    SCOPED_TRACE(cap == 0 ? "two passes (draft)" : "one pass (coefficients)");
    o.max_coefficient_bytes = cap;
    auto gray_det = std::make_shared<channel_recorder>(cascade.value(), false);
    auto rgb_det = std::make_shared<channel_recorder>(cascade.value(), true);
    o.detector = gray_det;
    auto gray = prepare(bytes, o);
    o.detector = rgb_det;
    auto rgb = prepare(bytes, o);
    ASSERT_TRUE(gray.ok()) << gray.error().message;
    ASSERT_TRUE(rgb.ok()) << rgb.error().message;
    EXPECT_EQ(gray->detected_on, cap == 0 ? detect_input::dct_scaled : detect_input::dc_coefficients);
    ASSERT_FALSE(gray_det->seen.empty());
    ASSERT_FALSE(rgb_det->seen.empty());
    EXPECT_EQ(gray_det->seen.front(), 1);
    EXPECT_EQ(rgb_det->seen.front(), 3);
    ASSERT_TRUE(gray->chosen_face && rgb->chosen_face);
    EXPECT_GT(box_iou(*gray->chosen_face, *rgb->chosen_face), 0.8);
    if (cap != 0) EXPECT_EQ(gray->jpeg, plain->jpeg);  // the default cascade takes the same luma path
  }
}

TEST(prepare, one_entropy_pass_and_two_find_the_same_face) {
  const auto bytes = large_face_jpeg();
  ASSERT_FALSE(bytes.empty());
  prepare_options o;
  auto det = make_default_detector();
  ASSERT_TRUE(det.ok());
  o.detector = det.value();
  auto one = prepare(bytes, o);  // default: coefficients read once (~27 MB here)
  o.max_coefficient_bytes = 0;   // two passes: draft 1/8, then the crop region
  auto two = prepare(bytes, o);
  o.max_coefficient_bytes = 20u << 20;  // below what this file needs: two passes too
  auto capped = prepare(bytes, o);
  ASSERT_TRUE(one.ok()) << one.error().message;
  ASSERT_TRUE(two.ok()) << two.error().message;
  ASSERT_TRUE(capped.ok()) << capped.error().message;
  EXPECT_EQ(one->detected_on, detect_input::dc_coefficients);
  EXPECT_EQ(two->detected_on, detect_input::dct_scaled);
  EXPECT_EQ(capped->detected_on, detect_input::dct_scaled);
  EXPECT_EQ(capped->jpeg, two->jpeg);
  expect_output_rules(one.value(), target::alibaba, "one pass");
  expect_output_rules(two.value(), target::alibaba, "two passes");
  ASSERT_TRUE(one->chosen_face && two->chosen_face);
  EXPECT_GT(box_iou(*one->chosen_face, *two->chosen_face), 0.8);
  EXPECT_EQ(one->width, two->width);
  EXPECT_EQ(one->height, two->height);
  // Same frame within detection jitter, and so nearly the same picture.
  const auto as_face = [](rect c) { return face{float(c.x), float(c.y), float(c.w), float(c.h)}; };
  EXPECT_GT(box_iou(as_face(one->crop), as_face(two->crop)), 0.8);
}

// A workspace changes where the buffers come from, never the result; it
// keeps the coefficient arrays of the one-pass route between calls, within
// max_coefficient_bytes, and gives them back on release().
TEST(prepare, a_workspace_gives_the_same_bytes_and_keeps_its_buffers) {
  const auto big = large_face_jpeg();
  ASSERT_FALSE(big.empty());
  auto det = make_default_detector();
  ASSERT_TRUE(det.ok());
  prepare_options o;
  o.detector = det.value();
  o.use_exif_thumbnail = false;  // the whole-photo search: coefficients read once
  const std::vector<std::vector<std::uint8_t>> inputs = {
      big, test::read_bytes(test::data_dir() / "samples/messi_landscape.jpg"),
      test::read_bytes(test::data_dir() / "samples/cameraman_portrait.png"), big};
  workspace ws;
  EXPECT_EQ(ws.retained_bytes(), 0u);
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    SCOPED_TRACE(i);
    auto plain = prepare(inputs[i], o);
    auto reused = prepare(inputs[i], o, ws);
    ASSERT_EQ(plain.ok(), reused.ok());
    if (!plain) {
      EXPECT_EQ(plain.error().code, reused.error().code);
      continue;
    }
    EXPECT_EQ(plain->jpeg, reused->jpeg);
    EXPECT_EQ(plain->detected_on, reused->detected_on);
  }
  // The 12 MP-class file's arrays are kept (~2 bytes per coefficient).
  EXPECT_GT(ws.retained_bytes(), 8u << 20);
  EXPECT_LE(ws.retained_bytes(), o.max_coefficient_bytes);
  o.max_coefficient_bytes = 1u << 20;  // a lower limit applies at the next call
  ASSERT_TRUE(prepare(inputs[1], o, ws).ok());
  EXPECT_LE(ws.retained_bytes(), 1u << 20);
  ws.release();
  EXPECT_EQ(ws.retained_bytes(), 0u);
  workspace moved = std::move(ws);
  EXPECT_TRUE(prepare(inputs[0], o, ws).ok());  // a moved-from workspace still works
}
