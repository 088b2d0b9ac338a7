// Per-stage microbenchmarks of the pipeline, and prepare() end to end.
//
// Inputs: the corpus of tools/make_bench_corpus.py when KYCPREP_BENCH_CORPUS
// names its directory (phone12_0.jpg, phone12_rot6_0.jpg, phone12_nothumb_0.jpg,
// phone12_prog.jpg, phone3_0.jpg, png1_0.png); otherwise a 12 MP JPEG is synthesised in memory
// from data/samples/astronaut_portrait.jpg (upscaled, camera-like noise,
// kycprep's own encoder at q92), so that the face stages have a face.
// Missing corpus files skip their benchmarks with a message.
//
// The libjpeg-turbo rows (turbo_*) are the floor kycprep's decode is judged
// against (docs/PERFORMANCE.md): they decode into a reused row buffer.
//
//   KYCPREP_BENCH_CORPUS=/tmp/corpus build/bench/kycprep_bench --benchmark_filter=decode
#include <benchmark/benchmark.h>

#include <algorithm>
#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <jpeglib.h>

#include "kycprep/base64.hpp"
#include "kycprep/decode.hpp"
#include "kycprep/detect.hpp"
#include "kycprep/encode.hpp"
#include "kycprep/orient.hpp"
#include "kycprep/prepare.hpp"
#include "kycprep/resize.hpp"

#include <opencv2/objdetect.hpp>

#include "decode/coef_decode.hpp"
#include "detect/lbp_cascade.hpp"

namespace {

using bytes_t = std::vector<std::uint8_t>;

// A 12 MP phone-like JPEG with a face, made from the astronaut sample.
bytes_t synthesize_12mp() {
  auto src = kycprep::read_file(KYCPREP_DATA_DIR "/samples/astronaut_portrait.jpg", 64u << 20);
  if (!src) return {};
  auto dec = kycprep::decode(src.value());
  if (!dec) return {};
  kycprep::image big = kycprep::resize(dec->pixels.view(), 3024, 4032);
  std::mt19937 rng(7);
  std::normal_distribution<float> noise(0.0f, 4.0f);
  for (auto& p : big.pixels) p = static_cast<std::uint8_t>(std::clamp(p + noise(rng), 0.0f, 255.0f));
  kycprep::encode_options eo;
  eo.quality = 92;
  auto enc = kycprep::encode_jpeg(big.view(), eo);
  return enc ? std::move(enc->jpeg) : bytes_t{};
}

// name -> bytes; "12mp" always exists (corpus file or synthesised).
const bytes_t* input(const std::string& name) {
  static const std::map<std::string, bytes_t> inputs = [] {
    std::map<std::string, bytes_t> m;
    const char* dir = std::getenv("KYCPREP_BENCH_CORPUS");
    const std::pair<const char*, const char*> files[] = {{"12mp", "phone12_0.jpg"},
                                                         {"12mp_exif6", "phone12_rot6_0.jpg"},
                                                         {"12mp_nothumb", "phone12_nothumb_0.jpg"},
                                                         {"12mp_prog", "phone12_prog.jpg"},
                                                         {"3mp", "phone3_0.jpg"},
                                                         {"png1mp", "png1_0.png"}};
    if (dir != nullptr && *dir != '\0')
      for (const auto& [key, file] : files)
        if (auto b = kycprep::read_file(std::string(dir) + "/" + file, 64u << 20)) m[key] = std::move(b).value();
    if (m.find("12mp") == m.end()) {
      std::fprintf(stderr, "kycprep_bench: KYCPREP_BENCH_CORPUS not set or incomplete; synthesising a 12 MP JPEG\n");
      m["12mp"] = synthesize_12mp();
    }
    return m;
  }();
  auto it = inputs.find(name);
  return it == inputs.end() || it->second.empty() ? nullptr : &it->second;
}

const bytes_t* input_or_skip(benchmark::State& state, const std::string& name) {
  const bytes_t* b = input(name);
  if (b == nullptr) state.SkipWithError(("no input " + name + " (set KYCPREP_BENCH_CORPUS)").c_str());
  return b;
}

std::shared_ptr<const kycprep::face_detector> detector() {
  static const auto det = [] {
    auto d = kycprep::make_default_detector();
    return d ? std::move(d).value() : nullptr;
  }();
  return det;
}

void set_mp(benchmark::State& state, const bytes_t& b) {
  auto h = kycprep::read_header(b);
  if (h) state.counters["MP/s"] = benchmark::Counter(static_cast<double>(h->width) * h->height / 1e6,
                                                     benchmark::Counter::kIsIterationInvariantRate);
}

// ---- decode -----------------------------------------------------------------

// kycprep::decode of the whole frame at 1/scale.
void bm_decode_scale(benchmark::State& state, const std::string& name) {
  const bytes_t* b = input_or_skip(state, name);
  if (b == nullptr) return;
  kycprep::decode_request req;
  req.scale_denom = static_cast<int>(state.range(0));
  for (auto _ : state) {
    auto d = kycprep::decode(*b, {}, req);
    if (!d) state.SkipWithError(d.error().message.c_str());
    benchmark::DoNotOptimize(d.ok());
  }
  set_mp(state, *b);
}
BENCHMARK_CAPTURE(bm_decode_scale, 12mp, std::string("12mp"))->Arg(1)->Arg(2)->Arg(4)->Arg(8)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(bm_decode_scale, 12mp_prog, std::string("12mp_prog"))->Arg(1)->Arg(8)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(bm_decode_scale, 3mp, std::string("3mp"))->Arg(1)->Arg(4)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(bm_decode_scale, png1mp, std::string("png1mp"))->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

// The detection proxy as prepare() makes it: luma only, 1/8.
void bm_decode_gray_proxy(benchmark::State& state) {
  const bytes_t* b = input_or_skip(state, "12mp");
  if (b == nullptr) return;
  kycprep::decode_request req;
  req.scale_denom = 8;
  req.gray = true;
  for (auto _ : state) {
    auto d = kycprep::decode(*b, {}, req);
    benchmark::DoNotOptimize(d.ok());
  }
}
BENCHMARK(bm_decode_gray_proxy)->Unit(benchmark::kMillisecond)->UseRealTime();

// The crop decode: a centred 3:4 portrait region 0.6 of the short side wide
// (about the frame prepare() asks for on the corpus), at each DCT scale.
void bm_decode_region(benchmark::State& state) {
  const bytes_t* b = input_or_skip(state, "12mp");
  if (b == nullptr) return;
  auto h = kycprep::read_header(*b);
  if (!h) return state.SkipWithError(h.error().message.c_str());
  const int rw = std::min(h->width, h->height) * 3 / 5, rh = rw * 4 / 3;
  kycprep::decode_request req;
  req.region = kycprep::rect{(h->width - rw) / 2, (h->height - rh) / 2, rw, rh};
  req.scale_denom = static_cast<int>(state.range(0));
  for (auto _ : state) {
    auto d = kycprep::decode(*b, {}, req);
    if (!d) state.SkipWithError(d.error().message.c_str());
    benchmark::DoNotOptimize(d.ok());
  }
  state.SetLabel(std::to_string(rw) + "x" + std::to_string(rh) + " region");
}
BENCHMARK(bm_decode_region)->Arg(1)->Arg(2)->Arg(4)->Unit(benchmark::kMillisecond)->UseRealTime();

// ---- libjpeg-turbo floor ------------------------------------------------------

struct turbo_error {
  jpeg_error_mgr mgr{};
  std::jmp_buf jump{};
};
[[noreturn]] void turbo_error_exit(j_common_ptr c) { std::longjmp(reinterpret_cast<turbo_error*>(c->err)->jump, 1); }

// denom 0: entropy decode only (jpeg_read_coefficients). Locals are trivially
// destructible so that longjmp is safe.
bool turbo_decode(const bytes_t& b, int denom, std::uint8_t* rows, std::size_t rows_size) {
  jpeg_decompress_struct cinfo{};
  turbo_error err;
  cinfo.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = turbo_error_exit;
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, b.data(), static_cast<unsigned long>(b.size()));
  jpeg_read_header(&cinfo, TRUE);
  if (denom == 0) {
    benchmark::DoNotOptimize(jpeg_read_coefficients(&cinfo));
  } else {
    cinfo.out_color_space = JCS_RGB;
    cinfo.scale_num = 1;
    cinfo.scale_denom = static_cast<unsigned>(denom);
    cinfo.dct_method = JDCT_ISLOW;
    jpeg_start_decompress(&cinfo);
    const std::size_t stride = static_cast<std::size_t>(cinfo.output_width) * 3;
    const int batch = static_cast<int>(std::min<std::size_t>(16, rows_size / stride));
    JSAMPROW rp[16];
    for (int i = 0; i < batch; ++i) rp[i] = rows + stride * static_cast<std::size_t>(i);
    while (cinfo.output_scanline < cinfo.output_height) jpeg_read_scanlines(&cinfo, rp, static_cast<JDIMENSION>(batch));
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  return true;
}

void bm_turbo(benchmark::State& state, const std::string& name) {
  const bytes_t* b = input_or_skip(state, name);
  if (b == nullptr) return;
  std::vector<std::uint8_t> rows(16 * 8192 * 3);
  for (auto _ : state)
    if (!turbo_decode(*b, static_cast<int>(state.range(0)), rows.data(), rows.size()))
      state.SkipWithError("libjpeg error");
  state.SetLabel(state.range(0) == 0 ? "entropy only" : "1/" + std::to_string(state.range(0)));
  set_mp(state, *b);
}
BENCHMARK_CAPTURE(bm_turbo, 12mp, std::string("12mp"))->Arg(0)->Arg(1)->Arg(2)->Arg(4)->Arg(8)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(bm_turbo, 12mp_nothumb, std::string("12mp_nothumb"))->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(bm_turbo, 12mp_prog, std::string("12mp_prog"))->Arg(0)->Arg(1)->Arg(8)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(bm_turbo, 3mp, std::string("3mp"))->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

// ---- detect, orient, resize, encode ---------------------------------------------

// find_faces on the upright 1/4 decode (1008 px long side for 12 MP), as prepare() hands it over.
void bm_detect(benchmark::State& state, const std::string& name) {
  const bytes_t* b = input_or_skip(state, name);
  if (b == nullptr) return;
  auto det = detector();
  if (!det) return state.SkipWithError("default detector unavailable (opencv-data)");
  kycprep::decode_request req;
  req.scale_denom = 4;
  auto d = kycprep::decode(*b, {}, req);
  if (!d) return state.SkipWithError(d.error().message.c_str());
  const kycprep::image up = kycprep::apply_orientation(d->pixels, d->source.orientation);
  for (auto _ : state) {
    auto f = kycprep::find_faces(up.view(), *det);
    benchmark::DoNotOptimize(f.ok());
  }
  state.SetLabel(std::to_string(up.width) + "x" + std::to_string(up.height));
}
BENCHMARK_CAPTURE(bm_detect, 12mp, std::string("12mp"))->Unit(benchmark::kMillisecond)->UseRealTime();

// The detect stage of prepare() on a stripped 12 MP photo, in parts: 0 =
// find_faces on the luma DC proxy (504x378, what prepare() hands it), 1 =
// the detector's first look alone on a 240-px copy (the LBP scan), 2 = that
// copy's making (kycprep::resize; find_faces uses OpenCV's INTER_AREA).
void bm_detect_parts(benchmark::State& state, const std::string& name) {
  const bytes_t* b = input_or_skip(state, name);
  if (b == nullptr) return;
  auto det = detector();
  if (!det) return state.SkipWithError("default detector unavailable (opencv-data)");
  auto c = kycprep::detail::read_coefficients(*b, {});
  if (!c) return state.SkipWithError(c.error().message.c_str());
  const kycprep::image proxy = kycprep::detail::dc_luma_proxy(*c);
  const int part = static_cast<int>(state.range(0));
  const double f = 240.0 / std::max(proxy.width, proxy.height);
  const int w = static_cast<int>(proxy.width * f + 0.5), h = static_cast<int>(proxy.height * f + 0.5);
  const kycprep::image small = kycprep::resize(proxy.view(), w, h);
  for (auto _ : state) {
    if (part == 0) {
      auto r = kycprep::find_faces(proxy.view(), *det);
      benchmark::DoNotOptimize(r.ok());
    } else if (part == 1) {
      auto r = det->detect(small.view());
      benchmark::DoNotOptimize(r.ok());
    } else {
      kycprep::image r = kycprep::resize(proxy.view(), w, h);
      benchmark::DoNotOptimize(r.pixels.data());
    }
  }
  static const char* const names[] = {"find_faces on the luma DC proxy", "detect() on 240 px", "240 px copy"};
  state.SetLabel(names[part]);
}
BENCHMARK_CAPTURE(bm_detect_parts, 12mp_nothumb, std::string("12mp_nothumb"))->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

// The first look's LBP cascade on the 240 px proxy of the stripped 12 MP
// photo, as the default detector runs it (scale 1.1, 3 neighbours, 20 px):
// 0 cv::CascadeClassifier, 1 kycprep's evaluation (AVX2 when present), 2 its
// portable build. All three return the same boxes (tests/test_detect.cpp).
void bm_lbp(benchmark::State& state, const std::string& name) {
  const bytes_t* b = input_or_skip(state, name);
  if (b == nullptr) return;
  const char* file = "/usr/share/opencv4/lbpcascades/lbpcascade_frontalface.xml";
  cv::CascadeClassifier cvc;
  std::string why;
  const auto ours = kycprep::detail::lbp_cascade::load(file, why);
  if (!cvc.load(file) || !ours) return state.SkipWithError("lbpcascade_frontalface.xml unavailable (opencv-data)");
  auto c = kycprep::detail::read_coefficients(*b, {});
  if (!c) return state.SkipWithError(c.error().message.c_str());
  const kycprep::image proxy = kycprep::detail::dc_luma_proxy(*c);
  const double f = 240.0 / std::max(proxy.width, proxy.height);
  const kycprep::image small = kycprep::resize(proxy.view(), static_cast<int>(proxy.width * f + 0.5),
                                               static_cast<int>(proxy.height * f + 0.5));
  const cv::Mat gray(small.height, small.width, CV_8UC1, const_cast<std::uint8_t*>(small.pixels.data()));
  const int part = static_cast<int>(state.range(0));
  kycprep::detail::lbp_scratch scratch;
  std::vector<cv::Rect> rects;
  std::vector<int> hits;
  for (auto _ : state) {
    if (part == 0) cvc.detectMultiScale(gray, rects, hits, 1.1, 3, 0, cv::Size(20, 20));
    else
      ours->detect(gray, 1.1, 3, cv::Size(20, 20), cv::Size(), rects, hits, scratch,
                   part == 1 ? kycprep::detail::lbp_isa::best : kycprep::detail::lbp_isa::baseline);
    benchmark::DoNotOptimize(rects.data());
  }
  static const char* const names[] = {"cv::CascadeClassifier", "kycprep best ISA", "kycprep baseline ISA"};
  state.SetLabel(names[part]);
}
BENCHMARK_CAPTURE(bm_lbp, 12mp_nothumb, std::string("12mp_nothumb"))->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

// Orientation 6 on a 1512x2016 crop (the fast path) and on the full 12 MP frame (what it avoids).
void bm_orient(benchmark::State& state) {
  const int w = static_cast<int>(state.range(0)), h = w * 3 / 4;
  kycprep::image img{w, h, 3, std::vector<std::uint8_t>(static_cast<std::size_t>(w) * h * 3, 90)};
  for (auto _ : state) {
    auto r = kycprep::apply_orientation(img, 6);
    benchmark::DoNotOptimize(r.pixels.data());
  }
  state.SetLabel(std::to_string(w) + "x" + std::to_string(h) + " exif6");
}
BENCHMARK(bm_orient)->Arg(2016)->Arg(4032)->Unit(benchmark::kMillisecond)->UseRealTime();

const kycprep::image& photo_at(int w, int h) {
  static std::map<std::pair<int, int>, kycprep::image> cache;
  auto key = std::make_pair(w, h);
  auto it = cache.find(key);
  if (it == cache.end()) {
    kycprep::image img;
    if (const bytes_t* b = input("12mp")) {
      kycprep::decode_request req;
      req.scale_denom = 2;
      if (auto d = kycprep::decode(*b, {}, req)) img = kycprep::resize(d->pixels.view(), w, h);
    }
    it = cache.emplace(key, std::move(img)).first;
  }
  return it->second;
}

// The final filtered resize: a crop decoded with headroom (w x 4w/3) -> 720x960.
void bm_resize(benchmark::State& state) {
  const int w = static_cast<int>(state.range(0));
  const kycprep::image& src = photo_at(w, w * 4 / 3);
  if (src.empty()) return state.SkipWithError("no source image");
  for (auto _ : state) {
    auto r = kycprep::resize(src.view(), 720, 960);
    benchmark::DoNotOptimize(r.pixels.data());
  }
  state.SetLabel(std::to_string(w) + "x" + std::to_string(w * 4 / 3) + " -> 720x960");
}
BENCHMARK(bm_resize)->Arg(872)->Arg(1080)->Arg(1512)->Arg(2268)->Unit(benchmark::kMillisecond)->UseRealTime();

void bm_encode_720x960(benchmark::State& state) {
  const kycprep::image& src = photo_at(720, 960);
  if (src.empty()) return state.SkipWithError("no source image");
  kycprep::encode_options eo;
  eo.quality = static_cast<int>(state.range(0));
  eo.min_quality = std::min(eo.quality, 91);
  std::size_t bytes = 0;
  for (auto _ : state) {
    auto e = kycprep::encode_jpeg(src.view(), eo);
    if (!e) state.SkipWithError(e.error().message.c_str());
    bytes = e ? e->jpeg.size() : 0;
  }
  state.counters["jpeg_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(bm_encode_720x960)->Arg(92)->Arg(95)->Unit(benchmark::kMillisecond)->UseRealTime();

// Does keeping one libjpeg compressor (and its output buffer) per thread pay?
// The same settings as encode_jpeg (4:2:0, ISLOW, q92, standard tables);
// arg 0: a fresh jpeg_compress_struct per image, as encode_jpeg does; arg 1:
// one kept across images. Error handling is libjpeg's default (exit), fine here.
void bm_encode_handle(benchmark::State& state) {
  const kycprep::image& src = photo_at(720, 960);
  if (src.empty()) return state.SkipWithError("no source image");
  const bool keep = state.range(0) == 1;
  jpeg_error_mgr err;
  jpeg_compress_struct kept;
  kept.err = jpeg_std_error(&err);
  jpeg_create_compress(&kept);
  std::vector<unsigned char> out_keep(1 << 20);
  auto encode = [&](jpeg_compress_struct& c, unsigned char** buf, unsigned long* size) {
    jpeg_mem_dest(&c, buf, size);
    c.image_width = static_cast<JDIMENSION>(src.width);
    c.image_height = static_cast<JDIMENSION>(src.height);
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    c.comp_info[0].h_samp_factor = c.comp_info[0].v_samp_factor = 2;
    for (int k = 1; k < 3; ++k) c.comp_info[k].h_samp_factor = c.comp_info[k].v_samp_factor = 1;
    jpeg_set_quality(&c, 92, TRUE);
    c.dct_method = JDCT_ISLOW;
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
      JSAMPROW row = const_cast<JSAMPROW>(src.pixels.data() + static_cast<std::size_t>(c.next_scanline) * src.stride());
      jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
  };
  for (auto _ : state) {
    if (keep) {
      unsigned char* buf = out_keep.data();
      unsigned long size = out_keep.size();  // libjpeg writes into it, growing only if too small
      encode(kept, &buf, &size);
      if (buf != out_keep.data()) std::free(buf);
      benchmark::DoNotOptimize(size);
    } else {
      jpeg_compress_struct c;
      c.err = jpeg_std_error(&err);
      jpeg_create_compress(&c);
      unsigned char* buf = nullptr;
      unsigned long size = 0;
      encode(c, &buf, &size);
      std::vector<unsigned char> copy(buf, buf + size);  // encode_jpeg hands the bytes to a vector
      std::free(buf);
      jpeg_destroy_compress(&c);
      benchmark::DoNotOptimize(copy.data());
    }
  }
  jpeg_destroy_compress(&kept);
  state.SetLabel(keep ? "compressor + buffer kept" : "fresh compressor per image (encode_jpeg)");
}
BENCHMARK(bm_encode_handle)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

// ---- end to end ---------------------------------------------------------------

// max_coefficient_bytes: the default (one entropy pass for photos searched
// whole) or 0 (two passes), to compare the two on the same file in one run.
void bm_prepare(benchmark::State& state, const std::string& name, kycprep::profile prof,
                std::size_t max_coefficient_bytes = kycprep::prepare_options{}.max_coefficient_bytes) {
  const bytes_t* b = input_or_skip(state, name);
  if (b == nullptr) return;
  kycprep::prepare_options opt;
  opt.profile = prof;
  opt.max_coefficient_bytes = max_coefficient_bytes;
  if (prof == kycprep::profile::face) {
    opt.detector = detector();
    if (!opt.detector) return state.SkipWithError("default detector unavailable (opencv-data)");
  }
  kycprep::stage_timings sum;
  for (auto _ : state) {
    auto r = kycprep::prepare(*b, opt);
    if (!r) {
      state.SkipWithError((std::string(kycprep::to_string(r.error().code)) + ": " + r.error().message).c_str());
      break;
    }
    for (std::size_t i = 0; i < sum.ms.size(); ++i) sum.ms[i] += r->timings.ms[i];
  }
  // Mean per-stage milliseconds, from prepared::timings.
  const double n = static_cast<double>(std::max<benchmark::IterationCount>(1, state.iterations()));
  for (auto st : {kycprep::stage::decode, kycprep::stage::orient, kycprep::stage::detect, kycprep::stage::resize,
                  kycprep::stage::encode})
    state.counters[std::string(kycprep::to_string(st)) + "_ms"] = sum[st] / n;
  set_mp(state, *b);
}
BENCHMARK_CAPTURE(bm_prepare, face_12mp, std::string("12mp"), kycprep::profile::face)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(bm_prepare, face_12mp_exif6, std::string("12mp_exif6"), kycprep::profile::face)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(bm_prepare, face_12mp_nothumb, std::string("12mp_nothumb"), kycprep::profile::face)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(bm_prepare, face_12mp_nothumb_two_pass, std::string("12mp_nothumb"), kycprep::profile::face, std::size_t{0})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(bm_prepare, face_12mp_prog, std::string("12mp_prog"), kycprep::profile::face)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(bm_prepare, face_3mp, std::string("3mp"), kycprep::profile::face)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(bm_prepare, face_png1mp, std::string("png1mp"), kycprep::profile::face)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(bm_prepare, document_12mp, std::string("12mp"), kycprep::profile::document)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(bm_prepare, document_3mp, std::string("3mp"), kycprep::profile::document)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
