// Face detection cost per detector and proxy size (docs/FACES.md).
//
//   BM_find_faces/<detector>/<proxy>      find_faces on a portrait photo, first pass succeeds
//   BM_find_faces_12mp/<detector>/<proxy> the same photo enlarged to 4000x3000 (proxy making included)
//   BM_find_faces_no_face/<detector>/<proxy> a photo without a face: every retry runs
//   BM_plan_face_frame                    the crop geometry
//
// detector 0 = cascade (default), 1 = YuNet (skipped without the model).
#include <benchmark/benchmark.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kycprep/crop.hpp"
#include "kycprep/decode.hpp"
#include "kycprep/detect.hpp"

namespace {

using namespace kycprep;
namespace fs = std::filesystem;

std::optional<image> load(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  if (!f) return std::nullopt;
  const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto dec = decode(bytes);
  if (!dec) return std::nullopt;
  return std::move(dec->pixels);
}

// A faces-dev portrait when the shared folder is there, else Debian's astronaut.
const image& face_photo() {
  static const image img = [] {
    if (auto i = load(fs::path(KYCPREP_SHARED_DIR) / "faces-dev" / "fr_obama.jpg")) return *i;
    if (auto i = load("/usr/lib/python3/dist-packages/skimage/data/astronaut.png")) return *i;
    return image{};
  }();
  return img;
}

const image& no_face_photo() {
  static const image img = [] {
    if (auto i = load("/usr/lib/python3/dist-packages/skimage/data/coffee.png")) return *i;
    if (auto i = load(fs::path(KYCPREP_SHARED_DIR) / "faces-dev" / "sk_coffee.png")) return *i;
    return image{};
  }();
  return img;
}

// Nearest-neighbour enlargement to 4000x3000-ish: a 12 MP input.
const image& big_photo() {
  static const image img = [] {
    const image& src = face_photo();
    if (src.empty()) return image{};
    const int h = 4000, w = static_cast<int>(4000.0 * src.width / src.height);
    image out{w, h, 3, std::vector<std::uint8_t>(static_cast<std::size_t>(w) * h * 3)};
    for (int y = 0; y < h; ++y) {
      const int sy = y * src.height / h;
      for (int x = 0; x < w; ++x) {
        const int sx = x * src.width / w;
        for (int c = 0; c < 3; ++c)
          out.pixels[(static_cast<std::size_t>(y) * w + x) * 3 + c] = src.pixels[(static_cast<std::size_t>(sy) * src.width + sx) * 3 + c];
      }
    }
    return out;
  }();
  return img;
}

std::shared_ptr<const face_detector> detector(int which) {
  static const auto cascade = make_cascade_detector();
  static const auto yunet =
      make_yunet_detector((fs::path(KYCPREP_SHARED_DIR) / "models" / "face_detection_yunet_2022mar.onnx").string());
  const auto& d = which == 0 ? cascade : yunet;
  return d.ok() ? *d : nullptr;
}

void run_find_faces(benchmark::State& state, const image& img, bool expect_face) {
  auto det = detector(static_cast<int>(state.range(0)));
  if (!det) return state.SkipWithError("detector unavailable (YuNet model missing?)");
  if (img.empty()) return state.SkipWithError("no test photo");
  face_search_options opt;
  opt.proxy_long_side = static_cast<int>(state.range(1));
  {
    auto warm = find_faces(img.view(), *det, opt);  // fills the detector's pool
    if (warm.ok() != expect_face) return state.SkipWithError("unexpected result on the test photo");
    if (warm.ok()) state.SetLabel(std::string(det->name()) + " pass=" + warm->pass);
    else state.SetLabel(std::string(det->name()));
  }
  for (auto _ : state) {
    auto r = find_faces(img.view(), *det, opt);
    benchmark::DoNotOptimize(r);
  }
}

void BM_find_faces(benchmark::State& state) { run_find_faces(state, face_photo(), true); }
void BM_find_faces_12mp(benchmark::State& state) { run_find_faces(state, big_photo(), true); }
void BM_find_faces_no_face(benchmark::State& state) { run_find_faces(state, no_face_photo(), false); }

void BM_plan_face_frame(benchmark::State& state) {
  const face f{1200, 900, 700, 900, 1};
  for (auto _ : state) {
    auto r = plan_face_frame(f, 4000, 3000);
    benchmark::DoNotOptimize(r);
  }
}

void proxies(benchmark::internal::Benchmark* b) {
  for (int d : {0, 1})
    for (int p : {240, 320, 400, 480, 640}) b->Args({d, p});
}

BENCHMARK(BM_find_faces)->Apply(proxies)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_find_faces_12mp)->Args({0, 320})->Args({1, 320})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_find_faces_no_face)->Args({0, 320})->Args({1, 320})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_plan_face_frame);

}  // namespace
