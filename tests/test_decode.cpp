// Stage 1 (decode): sniffing, header facts, pixels, limits and the
// corruption policy, against the fixtures that tools/make_fixtures.py writes
// into data/ (data/README.md says what each file is and why it exists).
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "kycprep/decode.hpp"
#include "kycprep/orient.hpp"
#include "test_support.hpp"

namespace kycprep {
namespace {

std::vector<std::uint8_t> load(const std::string& rel) { return test::read_bytes(test::data_dir() / rel); }

/// The error of a call that must fail, or a test failure (not an exception) when it succeeded.
template <class T>
kycprep::error error_of(const result<T>& r, const std::string& what) {
  if (r.ok()) {
    ADD_FAILURE() << what << ": succeeded, an error was expected";
    return {};
  }
  return r.error();
}

template <class T>
std::string describe(const result<T>& r) {
  if (r.ok()) return "ok";
  return std::string(to_string(r.error().code)) + " at " + std::string(to_string(r.error().where)) + ": " +
         r.error().message;
}

result<decoded> decode_file(const std::string& rel, const decode_options& opt = {}, const decode_request& req = {}) {
  const auto bytes = load(rel);
  return decode(bytes, opt, req);
}

result<source_info> header_of(const std::string& rel, const decode_options& opt = {}) {
  const auto bytes = load(rel);
  return read_header(bytes, opt);
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::uint8_t px(const image& im, int x, int y, int c) {
  return im.pixels[(static_cast<std::size_t>(y) * im.width + x) * im.channels + c];
}

double mean_abs_diff(const image& a, const image& b) {
  EXPECT_EQ(a.width, b.width);
  EXPECT_EQ(a.height, b.height);
  EXPECT_EQ(a.channels, b.channels);
  if (a.pixels.size() != b.pixels.size() || a.pixels.empty()) return 1e9;
  double sum = 0;
  for (std::size_t i = 0; i < a.pixels.size(); ++i) sum += std::abs(int{a.pixels[i]} - int{b.pixels[i]});
  return sum / static_cast<double>(a.pixels.size());
}

int max_abs_diff(const image& a, const image& b) {
  EXPECT_EQ(a.pixels.size(), b.pixels.size());
  if (a.pixels.size() != b.pixels.size()) return 256;
  int m = 0;
  for (std::size_t i = 0; i < a.pixels.size(); ++i) m = std::max(m, std::abs(int{a.pixels[i]} - int{b.pixels[i]}));
  return m;
}

image crop(const image& im, rect r) {
  image out{r.w, r.h, im.channels, {}};
  out.pixels.resize(static_cast<std::size_t>(r.w) * r.h * im.channels);
  for (int y = 0; y < r.h; ++y) {
    const auto* src = im.pixels.data() + (static_cast<std::size_t>(r.y + y) * im.width + r.x) * im.channels;
    std::copy_n(src, static_cast<std::size_t>(r.w) * im.channels,
                out.pixels.data() + static_cast<std::size_t>(y) * r.w * im.channels);
  }
  return out;
}

/// Mean of each d x d block (partial blocks at the right/bottom edges included).
image box_shrink(const image& im, int d) {
  const int w = (im.width + d - 1) / d;
  const int h = (im.height + d - 1) / d;
  image out{w, h, im.channels, std::vector<std::uint8_t>(static_cast<std::size_t>(w) * h * im.channels)};
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      for (int c = 0; c < im.channels; ++c) {
        int sum = 0, n = 0;
        for (int yy = y * d; yy < std::min(im.height, (y + 1) * d); ++yy) {
          for (int xx = x * d; xx < std::min(im.width, (x + 1) * d); ++xx, ++n) sum += px(im, xx, yy, c);
        }
        out.pixels[(static_cast<std::size_t>(y) * w + x) * im.channels + c] = static_cast<std::uint8_t>((sum + n / 2) / n);
      }
    }
  }
  return out;
}

/// Compositing over white, the way the decoder contract describes it.
int over_white(int c, int a) { return (c * a + 255 * (255 - a) + 127) / 255; }

/// ITU-R BT.601 luma, as PIL's convert("L") made data/fixtures/png/gray8.png.
int luma(int r, int g, int b) { return (r * 299 + g * 587 + b * 114) / 1000; }

// ---------------------------------------------------------------------------
// sniff_format

TEST(SniffFormat, RecognisesEveryFixtureByMagicNotName) {
  const std::vector<std::pair<std::string, image_format>> cases = {
      {"fixtures/jpeg/baseline_420.jpg", image_format::jpeg},
      {"fixtures/jpeg/cmyk_adobe.jpg", image_format::jpeg},
      {"fixtures/png/rgb8.png", image_format::png},
      {"fixtures/png/adam7_rgb8.png", image_format::png},
      {"hostile/magic_gif.jpg", image_format::gif},
      {"hostile/magic_webp.jpg", image_format::webp},
      {"hostile/magic_bmp.png", image_format::bmp},
      {"hostile/magic_tiff_le.jpg", image_format::tiff},
      {"hostile/magic_tiff_be.jpg", image_format::tiff},
      {"hostile/magic_heic.jpg", image_format::heic},
      {"hostile/magic_avif.jpg", image_format::avif},
      {"hostile/magic_jp2.jpg", image_format::jpeg2000},
      {"hostile/magic_jxl.jpg", image_format::jpegxl},
      {"hostile/magic_pdf.jpg", image_format::pdf},
      {"hostile/text.jpg", image_format::unknown},
      {"hostile/random.jpg", image_format::unknown},
      {"hostile/empty.jpg", image_format::unknown},
  };
  for (const auto& [rel, want] : cases) {
    const auto bytes = load(rel);
    EXPECT_EQ(sniff_format(bytes), want) << rel << " sniffed as " << to_string(sniff_format(bytes));
  }
}

TEST(SniffFormat, ShortAndTrickyPrefixes) {
  using bytes = std::vector<std::uint8_t>;
  EXPECT_EQ(sniff_format(bytes{}), image_format::unknown);
  EXPECT_EQ(sniff_format(bytes{0xFF}), image_format::unknown);
  EXPECT_EQ(sniff_format(bytes{0xFF, 0xD8, 0xFF}), image_format::jpeg);
  EXPECT_EQ(sniff_format(bytes{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'}), image_format::png);
  EXPECT_EQ(sniff_format(bytes{0x89, 'P', 'N', 'G'}), image_format::unknown);  // signature cut short
  EXPECT_EQ(sniff_format(bytes{'G', 'I', 'F', '8', '7', 'a'}), image_format::gif);
  EXPECT_EQ(sniff_format(bytes{'R', 'I', 'F', 'F', 0, 0, 0, 0, 'W', 'E', 'B', 'P'}), image_format::webp);
  EXPECT_EQ(sniff_format(bytes{'R', 'I', 'F', 'F', 0, 0, 0, 0, 'A', 'V', 'I', ' '}), image_format::unknown);
  EXPECT_EQ(sniff_format(bytes{'I', 'I', 0x2A, 0}), image_format::tiff);
  EXPECT_EQ(sniff_format(bytes{'M', 'M', 0, 0x2A}), image_format::tiff);
  EXPECT_EQ(sniff_format(bytes{0, 0, 0, 0x18, 'f', 't', 'y', 'p', 'h', 'e', 'i', 'c'}), image_format::heic);
  EXPECT_EQ(sniff_format(bytes{0, 0, 0, 0x1C, 'f', 't', 'y', 'p', 'a', 'v', 'i', 'f'}), image_format::avif);
  EXPECT_EQ(sniff_format(bytes{0, 0, 0, 0x0C, 'J', 'X', 'L', ' ', 0x0D, 0x0A, 0x87, 0x0A}), image_format::jpegxl);
  EXPECT_EQ(sniff_format(bytes{0xFF, 0x0A}), image_format::jpegxl);
  EXPECT_EQ(sniff_format(bytes{'%', 'P', 'D', 'F', '-'}), image_format::pdf);
}

TEST(SniffFormat, EveryFormatHasAName) {
  for (int f = 0; f <= static_cast<int>(image_format::pdf); ++f) {
    EXPECT_FALSE(to_string(static_cast<image_format>(f)).empty()) << f;
  }
}

// ---------------------------------------------------------------------------
// read_header: what the decoder reports about each fixture

struct header_case {
  const char* file;
  image_format format;
  int width;
  int height;
  int orientation;
  bool progressive;
  const char* subsampling;  // nullptr: not asserted
  const char* color;
  bool cmyk;
  bool adobe_inverted;
  bool icc;
  int bit_depth;
  bool alpha;
};

void PrintTo(const header_case& c, std::ostream* os) { *os << c.file; }

constexpr auto J = image_format::jpeg;
constexpr auto P = image_format::png;

const header_case header_cases[] = {
    // file                                      fmt  w     h    or prog   subsampling color       cmyk   inv    icc    bits alpha
    {"fixtures/jpeg/baseline_420.jpg",           J, 384,  512,  1, false, "4:2:0", "rgb",        false, false, false, 8, false},
    {"fixtures/jpeg/baseline_422.jpg",           J, 384,  512,  1, false, "4:2:2", "rgb",        false, false, false, 8, false},
    {"fixtures/jpeg/baseline_444.jpg",           J, 384,  512,  1, false, "4:4:4", "rgb",        false, false, false, 8, false},
    {"fixtures/jpeg/baseline_440.jpg",           J, 384,  512,  1, false, "4:4:0", "rgb",        false, false, false, 8, false},
    {"fixtures/jpeg/baseline_411.jpg",           J, 384,  512,  1, false, "4:1:1", "rgb",        false, false, false, 8, false},
    {"fixtures/jpeg/progressive_420.jpg",        J, 384,  512,  1, true,  "4:2:0", "rgb",        false, false, false, 8, false},
    {"fixtures/jpeg/gray.jpg",                   J, 384,  512,  1, false, "gray",  "gray",       false, false, false, 8, false},
    {"fixtures/jpeg/cmyk_adobe.jpg",             J, 192,  256,  1, false, nullptr, "cmyk",       true,  true,  false, 8, false},
    {"fixtures/jpeg/ycck_adobe.jpg",             J, 192,  256,  1, false, nullptr, "ycck",       true,  true,  false, 8, false},
    {"fixtures/jpeg/icc_srgb.jpg",               J, 384,  512,  1, false, "4:2:0", "rgb",        false, false, true,  8, false},
    {"fixtures/jpeg/metadata_all.jpg",           J, 384,  512,  1, false, "4:2:0", "rgb",        false, false, false, 8, false},
    {"fixtures/jpeg/junk_after_eoi.jpg",         J, 384,  512,  1, false, "4:2:0", "rgb",        false, false, false, 8, false},
    {"fixtures/jpeg/odd_size_420.jpg",           J, 397,  533,  1, false, "4:2:0", "rgb",        false, false, false, 8, false},
    {"fixtures/orientation/orient_1.jpg",        J, 240,  320,  1, false, "4:2:0", "rgb",        false, false, false, 8, false},
    {"fixtures/orientation/orient_2.jpg",        J, 240,  320,  2, false, "4:2:0", "rgb",        false, false, false, 8, false},
    {"fixtures/orientation/orient_3.jpg",        J, 240,  320,  3, false, "4:2:0", "rgb",        false, false, false, 8, false},
    {"fixtures/orientation/orient_4.jpg",        J, 240,  320,  4, false, "4:2:0", "rgb",        false, false, false, 8, false},
    {"fixtures/orientation/orient_5.jpg",        J, 320,  240,  5, false, "4:2:0", "rgb",        false, false, false, 8, false},
    {"fixtures/orientation/orient_6.jpg",        J, 320,  240,  6, false, "4:2:0", "rgb",        false, false, false, 8, false},
    {"fixtures/orientation/orient_7.jpg",        J, 320,  240,  7, false, "4:2:0", "rgb",        false, false, false, 8, false},
    {"fixtures/orientation/orient_8.jpg",        J, 320,  240,  8, false, "4:2:0", "rgb",        false, false, false, 8, false},
    {"fixtures/orientation/orient_6.png",        P, 320,  240,  6, false, "",      "rgb",        false, false, false, 8, false},
    {"fixtures/orientation/upright.png",         P, 240,  320,  1, false, "",      "rgb",        false, false, false, 8, false},
    {"fixtures/png/rgb8.png",                    P, 192,  256,  1, false, "",      "rgb",        false, false, false, 8, false},
    {"fixtures/png/rgb16.png",                   P, 192,  256,  1, false, "",      "rgb",        false, false, false, 16, false},
    {"fixtures/png/gray8.png",                   P, 192,  256,  1, false, "",      "gray",       false, false, false, 8, false},
    {"fixtures/png/gray16.png",                  P, 192,  256,  1, false, "",      "gray",       false, false, false, 16, false},
    {"fixtures/png/palette1.png",                P, 64,   48,   1, false, "",      "palette",    false, false, false, 1, false},
    {"fixtures/png/palette4.png",                P, 64,   48,   1, false, "",      "palette",    false, false, false, 4, false},
    {"fixtures/png/palette8.png",                P, 64,   48,   1, false, "",      "palette",    false, false, false, 8, false},
    {"fixtures/png/palette8_trns.png",           P, 64,   48,   1, false, "",      "palette",    false, false, false, 8, true},
    {"fixtures/png/rgba8.png",                   P, 192,  256,  1, false, "",      "rgb+alpha",  false, false, false, 8, true},
    {"fixtures/png/gray_alpha8.png",             P, 192,  256,  1, false, "",      "gray+alpha", false, false, false, 8, true},
    {"fixtures/png/transparent_region.png",      P, 192,  256,  1, false, "",      "rgb+alpha",  false, false, false, 8, true},
    {"fixtures/png/adam7_rgb8.png",              P, 192,  256,  1, true,  "",      "rgb",        false, false, false, 8, false},
    {"samples/astronaut_portrait.jpg",           J, 1152, 1536, 1, false, "4:2:0", "rgb",        false, false, false, 8, false},
    {"samples/astronaut_exif6.jpg",              J, 1600, 1200, 6, false, "4:2:0", "rgb",        false, false, false, 8, false},
    {"samples/cameraman_portrait.png",           P, 720,  960,  1, false, "",      "gray",       false, false, false, 8, false},
    {"samples/messi_landscape.jpg",              J, 1096, 684,  1, false, "4:2:0", "rgb",        false, false, false, 8, false},
};

class HeaderFacts : public ::testing::TestWithParam<header_case> {};

void expect_facts(const source_info& s, const header_case& c) {
  EXPECT_EQ(s.format, c.format);
  EXPECT_EQ(s.width, c.width);
  EXPECT_EQ(s.height, c.height);
  EXPECT_EQ(s.orientation, c.orientation);
  EXPECT_EQ(s.progressive, c.progressive);
  if (c.subsampling != nullptr) {
    EXPECT_EQ(s.subsampling, c.subsampling);
  }
  EXPECT_EQ(s.color, c.color);
  EXPECT_EQ(s.cmyk, c.cmyk);
  EXPECT_EQ(s.adobe_inverted, c.adobe_inverted);
  EXPECT_EQ(s.icc, c.icc);
  EXPECT_EQ(s.bit_depth, c.bit_depth);
  EXPECT_EQ(s.alpha, c.alpha);
}

TEST_P(HeaderFacts, ReadHeaderReportsWhatTheFileIs) {
  const auto& c = GetParam();
  const auto h = header_of(c.file);
  ASSERT_TRUE(h.ok()) << describe(h);
  expect_facts(*h, c);
}

TEST_P(HeaderFacts, DecodeGivesStoredSizeRgb8AndTheSameFacts) {
  const auto& c = GetParam();
  const auto d = decode_file(c.file);
  ASSERT_TRUE(d.ok()) << describe(d);
  expect_facts(d->source, c);
  EXPECT_EQ(d->pixels.width, c.width);
  EXPECT_EQ(d->pixels.height, c.height);
  EXPECT_EQ(d->pixels.channels, 3);
  EXPECT_EQ(d->pixels.pixels.size(), static_cast<std::size_t>(c.width) * c.height * 3);
  EXPECT_EQ(d->scale_denom, 1);
  EXPECT_EQ(d->region, (rect{0, 0, c.width, c.height}));
}

INSTANTIATE_TEST_SUITE_P(Fixtures, HeaderFacts, ::testing::ValuesIn(header_cases),
                         [](const ::testing::TestParamInfo<header_case>& i) {
                           std::string n = i.param.file;
                           for (char& ch : n) {
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return n;
                         });

TEST(Decode, CleanFixturesGiveNoWarnings) {
  for (const char* f : {"fixtures/jpeg/baseline_420.jpg", "fixtures/jpeg/progressive_420.jpg",
                        "fixtures/jpeg/cmyk_adobe.jpg", "fixtures/png/rgb16.png", "fixtures/png/adam7_rgb8.png",
                        "fixtures/orientation/orient_6.jpg", "fixtures/orientation/orient_6.png"}) {
    const auto d = decode_file(f);
    ASSERT_TRUE(d.ok()) << f << ": " << describe(d);
    EXPECT_TRUE(d->warnings.empty()) << f << ": " << d->warnings.front();
  }
}

// ---------------------------------------------------------------------------
// Pixels: colour conversions, bit depths, palettes, alpha

TEST(DecodePixels, CmykAndYcckMatchTheRgbOriginal) {
  // cmyk_adobe.jpg / ycck_adobe.jpg hold the very pixels of png/rgb8.png,
  // converted to Adobe (inverted) CMYK with full black generation.
  const auto ref = decode_file("fixtures/png/rgb8.png");
  ASSERT_TRUE(ref.ok()) << describe(ref);
  for (const char* f : {"fixtures/jpeg/cmyk_adobe.jpg", "fixtures/jpeg/ycck_adobe.jpg"}) {
    const auto d = decode_file(f);
    ASSERT_TRUE(d.ok()) << f << ": " << describe(d);
    const double diff = mean_abs_diff(d->pixels, ref->pixels);
    // Measured with PIL + the C*K/255 formula: 1.4 (CMYK), 1.9 (YCCK). A
    // colour negative (inversion ignored) is about 150.
    EXPECT_LT(diff, 6.0) << f;
  }
}

TEST(DecodePixels, GrayJpegIsNeutralAndMatchesLuma) {
  const auto g = decode_file("fixtures/jpeg/gray.jpg");
  const auto c = decode_file("fixtures/jpeg/baseline_444.jpg");
  ASSERT_TRUE(g.ok() && c.ok()) << describe(g) << " / " << describe(c);
  image expect = c->pixels;
  for (int y = 0; y < expect.height; ++y) {
    for (int x = 0; x < expect.width; ++x) {
      EXPECT_EQ(px(g->pixels, x, y, 0), px(g->pixels, x, y, 1));
      EXPECT_EQ(px(g->pixels, x, y, 0), px(g->pixels, x, y, 2));
      const auto l = static_cast<std::uint8_t>(luma(px(c->pixels, x, y, 0), px(c->pixels, x, y, 1), px(c->pixels, x, y, 2)));
      for (int ch = 0; ch < 3; ++ch) expect.pixels[(static_cast<std::size_t>(y) * expect.width + x) * 3 + ch] = l;
    }
  }
  EXPECT_LT(mean_abs_diff(g->pixels, expect), 3.0);
}

TEST(DecodePixels, Png16BitEquals8BitWithinOne) {
  for (const auto& [p16, p8] : {std::pair{"fixtures/png/rgb16.png", "fixtures/png/rgb8.png"},
                                std::pair{"fixtures/png/gray16.png", "fixtures/png/gray8.png"}}) {
    const auto a = decode_file(p16);
    const auto b = decode_file(p8);
    ASSERT_TRUE(a.ok() && b.ok()) << describe(a) << " / " << describe(b);
    EXPECT_LE(max_abs_diff(a->pixels, b->pixels), 1) << p16;
  }
}

TEST(DecodePixels, GrayPngIsLumaOfRgbPng) {
  const auto g = decode_file("fixtures/png/gray8.png");
  const auto c = decode_file("fixtures/png/rgb8.png");
  ASSERT_TRUE(g.ok() && c.ok());
  int worst = 0;
  for (int y = 0; y < c->pixels.height; ++y) {
    for (int x = 0; x < c->pixels.width; ++x) {
      const int l = luma(px(c->pixels, x, y, 0), px(c->pixels, x, y, 1), px(c->pixels, x, y, 2));
      for (int ch = 0; ch < 3; ++ch) worst = std::max(worst, std::abs(px(g->pixels, x, y, ch) - l));
    }
  }
  EXPECT_LE(worst, 1);
}

TEST(DecodePixels, Adam7InterlacedEqualsNonInterlaced) {
  const auto a = decode_file("fixtures/png/adam7_rgb8.png");
  const auto b = decode_file("fixtures/png/rgb8.png");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->pixels.pixels, b->pixels.pixels);
}

// The palettes and index patterns below are the formulas in make_fixtures.py.
struct rgb {
  int r, g, b;
};

rgb palette_color(int bits, int i) {
  if (bits == 1) return i == 0 ? rgb{200, 30, 40} : rgb{20, 60, 220};
  if (bits == 4) return {i * 17, 255 - i * 17, (i * 53) % 256};
  return {i, (i * 7) % 256, 255 - i};
}

int palette_index(int bits, int x, int y) {
  if (bits == 1) return ((x / 8) + (y / 8)) % 2;
  if (bits == 4) return ((x / 4) + (y / 4)) % 16;
  return (x + 3 * y) % 256;
}

TEST(DecodePixels, PaletteImagesExpandToTheirColours) {
  for (int bits : {1, 4, 8}) {
    const auto d = decode_file("fixtures/png/palette" + std::to_string(bits) + ".png");
    ASSERT_TRUE(d.ok()) << bits << ": " << describe(d);
    int wrong = 0;
    for (int y = 0; y < 48; ++y) {
      for (int x = 0; x < 64; ++x) {
        const rgb e = palette_color(bits, palette_index(bits, x, y));
        wrong += px(d->pixels, x, y, 0) != e.r || px(d->pixels, x, y, 1) != e.g || px(d->pixels, x, y, 2) != e.b;
      }
    }
    EXPECT_EQ(wrong, 0) << "palette" << bits;
  }
}

TEST(DecodePixels, PaletteTransparencyIsCompositedOverWhite) {
  const auto d = decode_file("fixtures/png/palette8_trns.png");
  ASSERT_TRUE(d.ok()) << describe(d);
  int worst = 0;
  for (int y = 0; y < 48; ++y) {
    for (int x = 0; x < 64; ++x) {
      const int i = palette_index(8, x, y);
      const int a = std::min(255, i * 2);
      const rgb c = palette_color(8, i);
      worst = std::max({worst, std::abs(px(d->pixels, x, y, 0) - over_white(c.r, a)),
                        std::abs(px(d->pixels, x, y, 1) - over_white(c.g, a)),
                        std::abs(px(d->pixels, x, y, 2) - over_white(c.b, a))});
    }
  }
  EXPECT_LE(worst, 1);
  EXPECT_EQ(px(d->pixels, 0, 0, 0), 255);  // index 0: alpha 0, colour (0, 0, 255) -> white
  EXPECT_EQ(px(d->pixels, 0, 0, 2), 255);
}

TEST(DecodePixels, AlphaIsCompositedOverWhite) {
  // rgba8.png = rgb8.png + alpha (4x + 3y) mod 256; gray_alpha8.png = gray8.png + the same alpha.
  for (const auto& [with_alpha, opaque] : {std::pair{"fixtures/png/rgba8.png", "fixtures/png/rgb8.png"},
                                           std::pair{"fixtures/png/gray_alpha8.png", "fixtures/png/gray8.png"}}) {
    const auto d = decode_file(with_alpha);
    const auto o = decode_file(opaque);
    ASSERT_TRUE(d.ok() && o.ok()) << describe(d) << " / " << describe(o);
    int worst = 0;
    for (int y = 0; y < o->pixels.height; ++y) {
      for (int x = 0; x < o->pixels.width; ++x) {
        const int a = (4 * x + 3 * y) % 256;
        for (int c = 0; c < 3; ++c) {
          worst = std::max(worst, std::abs(px(d->pixels, x, y, c) - over_white(px(o->pixels, x, y, c), a)));
        }
      }
    }
    EXPECT_LE(worst, 1) << with_alpha;
  }
}

TEST(DecodePixels, FullyTransparentRegionIsWhite) {
  // transparent_region.png: alpha 0 (over pure red) in x [16,80), y [24,88); opaque rgb8 elsewhere.
  const auto d = decode_file("fixtures/png/transparent_region.png");
  const auto o = decode_file("fixtures/png/rgb8.png");
  ASSERT_TRUE(d.ok() && o.ok());
  int not_white = 0, changed_outside = 0;
  for (int y = 0; y < 256; ++y) {
    for (int x = 0; x < 192; ++x) {
      const bool inside = x >= 16 && x < 80 && y >= 24 && y < 88;
      for (int c = 0; c < 3; ++c) {
        if (inside) {
          not_white += px(d->pixels, x, y, c) != 255;
        } else {
          changed_outside += px(d->pixels, x, y, c) != px(o->pixels, x, y, c);
        }
      }
    }
  }
  EXPECT_EQ(not_white, 0);
  EXPECT_EQ(changed_outside, 0);
}

TEST(DecodePixels, MetadataIccAndTrailingJunkDoNotChangePixels) {
  // Same encoder, same settings as baseline_420.jpg: only segments differ.
  const auto ref = decode_file("fixtures/jpeg/baseline_420.jpg");
  ASSERT_TRUE(ref.ok());
  for (const char* f : {"fixtures/jpeg/metadata_all.jpg", "fixtures/jpeg/junk_after_eoi.jpg",
                        "fixtures/jpeg/icc_srgb.jpg"}) {
    const auto d = decode_file(f);
    ASSERT_TRUE(d.ok()) << f << ": " << describe(d);
    EXPECT_LT(mean_abs_diff(d->pixels, ref->pixels), 0.5) << f;
  }
}

TEST(DecodePixels, OrientationFixturesAllDisplayTheSameUprightImage) {
  const auto one = decode_file("fixtures/orientation/orient_1.jpg");
  ASSERT_TRUE(one.ok());
  for (int n = 2; n <= 8; ++n) {
    const auto d = decode_file("fixtures/orientation/orient_" + std::to_string(n) + ".jpg");
    ASSERT_TRUE(d.ok()) << n << ": " << describe(d);
    ASSERT_EQ(d->source.orientation, n);
    const image up = apply_orientation(d->pixels, n);
    // jpegtran -perfect moved the DCT blocks; only IDCT rounding differs (PIL: max 3).
    EXPECT_LT(mean_abs_diff(up, one->pixels), 0.5) << n;
    EXPECT_LE(max_abs_diff(up, one->pixels), 6) << n;
  }
  const auto png = decode_file("fixtures/orientation/orient_6.png");
  const auto upright = decode_file("fixtures/orientation/upright.png");
  ASSERT_TRUE(png.ok() && upright.ok());
  EXPECT_EQ(apply_orientation(png->pixels, png->source.orientation).pixels, upright->pixels.pixels);
}

// ---------------------------------------------------------------------------
// decode_request: DCT scaling, regions, gray

TEST(DecodeRequest, ScaledJpegDecodeIsCeilOfSizeOverDenominator) {
  for (const char* f : {"fixtures/jpeg/odd_size_420.jpg", "fixtures/jpeg/baseline_420.jpg",
                        "fixtures/jpeg/progressive_420.jpg", "fixtures/jpeg/cmyk_adobe.jpg"}) {
    const auto full = decode_file(f);
    ASSERT_TRUE(full.ok()) << f << ": " << describe(full);
    const int w = full->pixels.width;
    const int h = full->pixels.height;
    for (int d : {2, 4, 8}) {
      decode_request req;
      req.scale_denom = d;
      const auto s = decode_file(f, {}, req);
      ASSERT_TRUE(s.ok()) << f << " 1/" << d << ": " << describe(s);
      EXPECT_EQ(s->scale_denom, d);
      EXPECT_EQ(s->pixels.width, (w + d - 1) / d) << f << " 1/" << d;
      EXPECT_EQ(s->pixels.height, (h + d - 1) / d) << f << " 1/" << d;
      EXPECT_EQ(s->pixels.channels, 3);
      EXPECT_EQ(s->region, (rect{0, 0, w, h}));
      // Content check: close to a box-filtered full decode (not garbage, not shifted).
      EXPECT_LT(mean_abs_diff(s->pixels, box_shrink(full->pixels, d)), 6.0) << f << " 1/" << d;
    }
  }
}

TEST(DecodeRequest, PngIgnoresScale) {
  decode_request req;
  req.scale_denom = 4;
  const auto d = decode_file("fixtures/png/rgb8.png", {}, req);
  ASSERT_TRUE(d.ok()) << describe(d);
  EXPECT_EQ(d->scale_denom, 1);
  EXPECT_EQ(d->pixels.width, 192);
  EXPECT_EQ(d->pixels.height, 256);
}

TEST(DecodeRequest, BadScaleIsInvalidOptions) {
  for (int d : {0, 3, 16, -2}) {
    decode_request req;
    req.scale_denom = d;
    const auto r = decode_file("fixtures/jpeg/baseline_420.jpg", {}, req);
    ASSERT_FALSE(r.ok()) << d;
    EXPECT_EQ(r.error().code, error_code::invalid_options) << d << ": " << describe(r);
  }
}

void expect_region_matches_full(const std::string& f, rect want, double tolerance) {
  const auto full = decode_file(f);
  ASSERT_TRUE(full.ok()) << describe(full);
  decode_request req;
  req.region = want;
  const auto d = decode_file(f, {}, req);
  ASSERT_TRUE(d.ok()) << f << ": " << describe(d);
  // The decoder may widen the region (e.g. to iMCU columns) but must cover it
  // and say what it decoded.
  const rect got = d->region;
  EXPECT_LE(got.x, want.x);
  EXPECT_LE(got.y, want.y);
  EXPECT_GE(got.x + got.w, want.x + want.w);
  EXPECT_GE(got.y + got.h, want.y + want.h);
  ASSERT_EQ(d->pixels.width, got.w);
  ASSERT_EQ(d->pixels.height, got.h);
  EXPECT_LT(mean_abs_diff(d->pixels, crop(full->pixels, got)), tolerance) << f;
}

TEST(DecodeRequest, RegionDecodeMatchesTheSameRegionOfTheFullDecode) {
  expect_region_matches_full("fixtures/jpeg/baseline_420.jpg", {37, 53, 150, 201}, 1.0);
  expect_region_matches_full("fixtures/jpeg/odd_size_420.jpg", {200, 300, 197, 233}, 1.0);  // to the corner
  expect_region_matches_full("fixtures/jpeg/progressive_420.jpg", {0, 100, 384, 50}, 1.0);
  expect_region_matches_full("fixtures/jpeg/baseline_444.jpg", {101, 7, 60, 60}, 1.0);
}

TEST(DecodeRequest, PngRegionIsExact) {
  const auto full = decode_file("fixtures/png/rgb8.png");
  ASSERT_TRUE(full.ok());
  decode_request req;
  req.region = rect{13, 29, 101, 77};
  const auto d = decode_file("fixtures/png/rgb8.png", {}, req);
  ASSERT_TRUE(d.ok()) << describe(d);
  EXPECT_EQ(d->region, *req.region);
  EXPECT_EQ(d->pixels.pixels, crop(full->pixels, *req.region).pixels);
}

TEST(DecodeRequest, GrayGivesOneChannelLuma) {
  for (const char* f : {"fixtures/jpeg/baseline_420.jpg", "fixtures/png/rgb8.png", "fixtures/jpeg/cmyk_adobe.jpg"}) {
    const auto rgb_d = decode_file(f);
    decode_request req;
    req.gray = true;
    const auto g = decode_file(f, {}, req);
    ASSERT_TRUE(rgb_d.ok() && g.ok()) << f << ": " << describe(g);
    ASSERT_EQ(g->pixels.channels, 1);
    ASSERT_EQ(g->pixels.width, rgb_d->pixels.width);
    ASSERT_EQ(g->pixels.height, rgb_d->pixels.height);
    double sum = 0;
    for (int y = 0; y < g->pixels.height; ++y) {
      for (int x = 0; x < g->pixels.width; ++x) {
        sum += std::abs(px(g->pixels, x, y, 0) -
                        luma(px(rgb_d->pixels, x, y, 0), px(rgb_d->pixels, x, y, 1), px(rgb_d->pixels, x, y, 2)));
      }
    }
    EXPECT_LT(sum / (g->pixels.width * g->pixels.height), 3.0) << f;
  }
}

// ---------------------------------------------------------------------------
// Hostile inputs: every one is an error value, never a crash or a throw

void expect_error(const std::string& f, error_code want, const decode_options& opt = {}) {
  const auto d = decode_file(f, opt);
  ASSERT_FALSE(d.ok()) << f << " decoded";
  EXPECT_EQ(d.error().code, want) << f << ": " << describe(d);
  EXPECT_FALSE(d.error().message.empty()) << f;
}

TEST(Hostile, EmptyInput) {
  expect_error("hostile/empty.jpg", error_code::empty_input);
  const auto h = header_of("hostile/empty.jpg");
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.error().code, error_code::empty_input);
}

TEST(Hostile, OtherFormatsAreUnsupportedAndNamed) {
  const std::vector<std::pair<std::string, image_format>> cases = {
      {"hostile/magic_gif.jpg", image_format::gif},         {"hostile/magic_webp.jpg", image_format::webp},
      {"hostile/magic_bmp.png", image_format::bmp},         {"hostile/magic_tiff_le.jpg", image_format::tiff},
      {"hostile/magic_tiff_be.jpg", image_format::tiff},    {"hostile/magic_heic.jpg", image_format::heic},
      {"hostile/magic_avif.jpg", image_format::avif},       {"hostile/magic_jp2.jpg", image_format::jpeg2000},
      {"hostile/magic_jxl.jpg", image_format::jpegxl},      {"hostile/magic_pdf.jpg", image_format::pdf},
  };
  for (const auto& [f, fmt] : cases) {
    for (const bool header_only : {false, true}) {
      const auto bytes = load(f);
      const kycprep::error e = header_only ? error_of(read_header(bytes), f) : error_of(decode(bytes), f);
      EXPECT_EQ(e.code, error_code::unsupported_format) << f;
      EXPECT_NE(lower(e.message).find(lower(to_string(fmt))), std::string::npos)
          << f << ": message \"" << e.message << "\" does not name " << to_string(fmt);
    }
  }
  expect_error("hostile/text.jpg", error_code::unsupported_format);
  expect_error("hostile/random.jpg", error_code::unsupported_format);
}

TEST(Hostile, InputTooLarge) {
  decode_options opt;
  opt.limits.max_input_bytes = 1000;
  expect_error("fixtures/jpeg/baseline_420.jpg", error_code::input_too_large, opt);
}

TEST(Hostile, TruncatedIsAnErrorOrAWarningByChoice) {
  for (const char* f : {"hostile/truncated_50.jpg", "hostile/truncated_mid_idat.png"}) {
    expect_error(f, error_code::truncated);
    const auto h = header_of(f);  // the header itself is intact
    ASSERT_TRUE(h.ok()) << f << ": " << describe(h);

    decode_options tolerant;
    tolerant.tolerate_corruption = true;
    const auto d = decode_file(f, tolerant);
    ASSERT_TRUE(d.ok()) << f << ": " << describe(d);
    EXPECT_FALSE(d->warnings.empty()) << f;
    EXPECT_EQ(d->pixels.width, h->width);
    EXPECT_EQ(d->pixels.height, h->height);
    EXPECT_EQ(d->pixels.pixels.size(), static_cast<std::size_t>(h->width) * h->height * 3);
  }
}

TEST(Hostile, CorruptEntropyIsAnErrorOrAWarningByChoice) {
  expect_error("hostile/corrupt_entropy.jpg", error_code::corrupt);
  decode_options tolerant;
  tolerant.tolerate_corruption = true;
  const auto d = decode_file("hostile/corrupt_entropy.jpg", tolerant);
  ASSERT_TRUE(d.ok()) << describe(d);
  EXPECT_FALSE(d->warnings.empty());
  EXPECT_EQ(d->pixels.width, 384);
  EXPECT_EQ(d->pixels.height, 512);
}

TEST(Hostile, PngBadCrcIsCorrupt) { expect_error("hostile/bad_crc.png", error_code::corrupt); }

decode_limits unlimited() {
  decode_limits l;
  l.max_pixels = std::numeric_limits<std::uint64_t>::max();
  l.max_side = std::numeric_limits<std::uint32_t>::max();
  l.max_pixels_per_byte = 1e18;
  return l;
}

TEST(Hostile, SizeBombsAreRejectedFromTheHeader) {
  for (const char* f : {"hostile/bomb_65500x65500.jpg", "hostile/bomb_100000x100000.png"}) {
    for (const bool header_only : {false, true}) {
      const auto bytes = load(f);
      const kycprep::error e = header_only ? error_of(read_header(bytes), f) : error_of(decode(bytes), f);
      EXPECT_TRUE(e.code == error_code::too_many_pixels || e.code == error_code::side_too_large)
          << f << ": " << to_string(e.code) << ": " << e.message;
    }
    // Each limit on its own, with the others out of the way.
    decode_options pixels_only;
    pixels_only.limits = unlimited();
    pixels_only.limits.max_pixels = 64'000'000;
    expect_error(f, error_code::too_many_pixels, pixels_only);
    decode_options side_only;
    side_only.limits = unlimited();
    side_only.limits.max_side = 20'000;
    expect_error(f, error_code::side_too_large, side_only);
  }
  expect_error("hostile/side_30000x16.jpg", error_code::side_too_large);
}

TEST(Hostile, ImplausiblePixelsPerByte) {
  // 7800x7800 = 60.8 MP (under max_pixels) declared by a 1.9 KB file.
  expect_error("hostile/implausible_7800x7800.jpg", error_code::implausible_size);
  const auto e = header_of("hostile/implausible_7800x7800.jpg");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code, error_code::implausible_size);
  decode_options opt;
  opt.limits.max_pixels_per_byte = 1e9;
  const auto h = header_of("hostile/implausible_7800x7800.jpg", opt);
  ASSERT_TRUE(h.ok()) << describe(h);
  EXPECT_EQ(h->width, 7800);
}

TEST(Hostile, TooManyProgressiveScans) {
  expect_error("hostile/scans_190.jpg", error_code::too_many_scans);
  decode_options opt;
  opt.limits.max_scans = 200;
  const auto d = decode_file("hostile/scans_190.jpg", opt);
  ASSERT_TRUE(d.ok()) << describe(d);  // a valid file: only the limit rejects it
  EXPECT_TRUE(d->source.progressive);
  EXPECT_EQ(d->pixels.width, 96);
  EXPECT_EQ(d->pixels.height, 128);
}

TEST(Hostile, CorruptExifStillDecodesUprightWithAWarning) {
  for (const char* f : {"hostile/exif_ifd_offset_oor.jpg", "hostile/exif_ifd_selfref.jpg", "hostile/exif_truncated.jpg",
                        "hostile/exif_orientation_9.jpg", "hostile/exif_orientation_0.jpg",
                        "hostile/garbage_exif.png"}) {
    const auto d = decode_file(f);
    ASSERT_TRUE(d.ok()) << f << ": " << describe(d);
    EXPECT_EQ(d->source.orientation, 1) << f;
    EXPECT_FALSE(d->warnings.empty()) << f;
    EXPECT_EQ(d->pixels.width, 96) << f;
    EXPECT_EQ(d->pixels.height, 128) << f;
    const auto h = header_of(f);
    ASSERT_TRUE(h.ok()) << f << ": " << describe(h);
    EXPECT_EQ(h->orientation, 1) << f;
  }
}

TEST(Hostile, ExifIfdLinksThatLoopDoNotHang) {
  // IFD0 is well formed (orientation 3); its next-IFD and ExifIFD links point back at IFD0.
  const auto d = decode_file("hostile/exif_ifd_chain_loop.jpg");
  ASSERT_TRUE(d.ok()) << describe(d);
  EXPECT_EQ(d->source.orientation, 3);
}

TEST(Hostile, EveryHostileFileReturnsWithoutCrashing) {
  // A sweep with every limit at its default and corruption tolerated: the
  // answer may be an error or pixels, but never a crash or an exception.
  decode_options tolerant;
  tolerant.tolerate_corruption = true;
  int n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(test::data_dir() / "hostile")) {
    const auto bytes = test::read_bytes(entry.path());
    for (const auto& opt : {decode_options{}, tolerant}) {
      const auto d = decode(bytes, opt);
      if (d.ok()) {
        EXPECT_EQ(d->pixels.pixels.size(), static_cast<std::size_t>(d->pixels.width) * d->pixels.height * 3)
            << entry.path();
      }
      (void)read_header(bytes, opt);
    }
    ++n;
  }
  EXPECT_GE(n, 29);  // every file listed in data/README.md under hostile/
}

TEST(Corpus, EveryDataFileHasAReasonInTheReadme) {
  // data/README.md gives each fixture its origin and its one-line "why".
  const auto readme_bytes = test::read_bytes(test::data_dir() / "README.md");
  const std::string readme(readme_bytes.begin(), readme_bytes.end());
  int files = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(test::data_dir())) {
    if (!entry.is_regular_file() || entry.path().filename() == "README.md") continue;
    ++files;
    const std::string name = "`" + entry.path().filename().string() + "`";
    EXPECT_NE(readme.find(name), std::string::npos) << entry.path() << " is not described in data/README.md";
  }
  EXPECT_GE(files, 60);
}

}  // namespace
}  // namespace kycprep

// ===========================================================================
// Experimental one-Huffman-pass path (src/decode/coef_decode.hpp):
// read_coefficients + dc_proxy + decode_region, judged against libjpeg's own
// decode of the same file.
// ===========================================================================
#include "decode/coef_decode.hpp"
#include "kycprep/encode.hpp"
#include "kycprep/resize.hpp"

namespace kycprep {
namespace {

const char* const coef_fixtures[] = {
    "fixtures/jpeg/baseline_420.jpg", "fixtures/jpeg/baseline_422.jpg", "fixtures/jpeg/baseline_444.jpg",
    "fixtures/jpeg/baseline_440.jpg", "fixtures/jpeg/gray.jpg",         "fixtures/jpeg/progressive_420.jpg",
    "fixtures/jpeg/odd_size_420.jpg", "samples/astronaut_portrait.jpg", "samples/messi_landscape.jpg",
};

// The stored rect decode_region covers at scale d (its documented contract).
rect coef_covered(rect r, int W, int H, int d) {
  const int x0 = r.x / d, y0 = r.y / d;
  const int x1 = std::min((W + d - 1) / d, (r.x + r.w + d - 1) / d), y1 = std::min((H + d - 1) / d, (r.y + r.h + d - 1) / d);
  return {x0, y0, x1 - x0, y1 - y0};  // in scaled pixels
}

struct coef_diff {
  double mean = 0;
  int max = 0;
};

// decode_region(c, r, d) against the same pixels of libjpeg's full decode at 1/d.
coef_diff coef_vs_full(const detail::coefficient_image& c, const decoded& full, rect r, int d) {
  auto got = detail::decode_region(c, r, d);
  EXPECT_TRUE(got.ok()) << describe(got);
  if (!got.ok()) return {1e9, 256};
  const rect s = coef_covered(r, c.width(), c.height(), d);
  EXPECT_EQ(got->width, s.w);
  EXPECT_EQ(got->height, s.h);
  const image want = crop(full.pixels, s);
  return {mean_abs_diff(*got, want), max_abs_diff(*got, want)};
}

TEST(CoefDecode, RegionsMatchLibjpegFullDecodeAtEveryScale) {
  for (const char* rel : coef_fixtures) {
    const auto bytes = load(rel);
    auto c = detail::read_coefficients(bytes, {});
    ASSERT_TRUE(c.ok()) << rel << ": " << describe(c);
    EXPECT_TRUE(c->own_entropy_decoder()) << rel << ": clean files are read by our entropy decoder";
    const int W = c->width(), H = c->height();
    const rect regions[] = {
        {0, 0, W, H},                              // everything
        {W / 5 + 3, H / 7 + 5, W / 2, H / 2},      // interior, not block aligned
        {0, 0, 37, 29},                            // top-left corner
        {W - 41, H - 23, 41, 23},                  // bottom-right corner (partial blocks)
        {W / 3 + 1, 0, 1, H},                      // one odd column, full height
        {0, H / 2 + 1, W, 1},                      // one odd row
    };
    for (int d : {1, 2, 4, 8}) {
      decode_request req;
      req.scale_denom = d;
      auto full = decode(bytes, {}, req);
      ASSERT_TRUE(full.ok()) << rel << ": " << describe(full);
      for (const rect& r : regions) {
        const coef_diff diff = coef_vs_full(*c, *full, r, d);
        // Bit-exact with libjpeg-turbo's ISLOW + fancy upsampling, allowing
        // one level for SIMD colour conversion rounding.
        EXPECT_EQ(diff.max, 0) << rel << " 1/" << d << " region " << r.x << "," << r.y << " " << r.w << "x" << r.h;
        EXPECT_LE(diff.mean, 0.05) << rel << " 1/" << d;
      }
    }
  }
}

TEST(CoefDecode, RegionMatchesKycprepRegionDecode) {
  for (const char* rel : coef_fixtures) {
    const auto bytes = load(rel);
    auto c = detail::read_coefficients(bytes, {});
    ASSERT_TRUE(c.ok()) << rel << ": " << describe(c);
    const rect r{c->width() / 4 + 5, c->height() / 3 + 2, c->width() / 2, c->height() / 2};
    for (int d : {1, 2}) {
      decode_request req;
      req.region = r;
      req.scale_denom = d;
      auto lib = decode(bytes, {}, req);
      ASSERT_TRUE(lib.ok()) << describe(lib);
      auto got = detail::decode_region(*c, r, d);
      ASSERT_TRUE(got.ok()) << describe(got);
      // lib covers lib->region (widened to iMCU columns); cut the same pixels.
      const rect s = coef_covered(r, c->width(), c->height(), d);
      const rect in_lib{s.x - lib->region.x / d, s.y - lib->region.y / d, s.w, s.h};
      const image want = crop(lib->pixels, in_lib);
      // jpeg_crop_scanline restarts the chroma upsampler at its left/right
      // edges, so a few edge columns may differ; the bulk is identical.
      EXPECT_LE(mean_abs_diff(*got, want), 1.0) << rel << " 1/" << d;
      EXPECT_LE(max_abs_diff(*got, want), 40) << rel << " 1/" << d;
    }
  }
}

TEST(CoefDecode, PhoneSized12MpCaseMatches) {
  // A 12 MP 4:2:0 file like the benchmark corpus, built from the portrait sample.
  auto src = decode_file("samples/astronaut_portrait.jpg");
  ASSERT_TRUE(src.ok());
  image big = resize(src->pixels.view(), 3024, 4032);
  for (std::size_t i = 0; i < big.pixels.size(); ++i)  // camera-like texture, deterministic
    big.pixels[i] = static_cast<std::uint8_t>(std::clamp(int{big.pixels[i]} + static_cast<int>((i * 2654435761u) >> 29) - 4, 0, 255));
  auto enc = encode_jpeg(big.view(), {});
  ASSERT_TRUE(enc.ok());
  auto c = detail::read_coefficients(enc->jpeg, {});
  ASSERT_TRUE(c.ok()) << describe(c);
  EXPECT_EQ(c->width(), 3024);
  EXPECT_EQ(c->height(), 4032);
  EXPECT_GE(c->coefficient_bytes(), std::size_t{3024} * 4032 * 3);  // 2 bytes x 1.5 samples per pixel
  const rect face{686, 1794, 1163, 872};
  for (int d : {1, 2}) {
    decode_request req;
    req.scale_denom = d;
    auto full = decode(enc->jpeg, {}, req);
    ASSERT_TRUE(full.ok());
    const coef_diff diff = coef_vs_full(*c, *full, face, d);
    EXPECT_EQ(diff.max, 0) << "1/" << d;
    EXPECT_LE(diff.mean, 0.05) << "1/" << d;
  }
}

TEST(CoefDecode, DcProxyIsTheEighthScaleImage) {
  for (const char* rel : coef_fixtures) {
    const auto bytes = load(rel);
    auto c = detail::read_coefficients(bytes, {});
    ASSERT_TRUE(c.ok()) << describe(c);
    const image proxy = detail::dc_proxy(*c);
    decode_request req;
    req.scale_denom = 8;
    auto lib = decode(bytes, {}, req);
    ASSERT_TRUE(lib.ok());
    ASSERT_EQ(proxy.width, lib->pixels.width) << rel;
    ASSERT_EQ(proxy.height, lib->pixels.height) << rel;
    // libjpeg at 1/8: luma is the DC term, subsampled chroma a 2x2 IDCT.
    EXPECT_EQ(max_abs_diff(proxy, lib->pixels), 0) << rel;
    // ... which is also the draft proxy prepare() detects on for baseline
    // files (a progressive draft is its first scan alone, coarser still).
    if (c->progressive()) continue;
    req.draft = true;
    auto draft = decode(bytes, {}, req);
    ASSERT_TRUE(draft.ok());
    EXPECT_EQ(max_abs_diff(proxy, draft->pixels), 0) << rel;
  }
}

TEST(CoefDecode, UnsupportedLayoutsAreRefusedFromTheHeader) {
  for (const char* rel : {"fixtures/jpeg/cmyk_adobe.jpg", "fixtures/jpeg/ycck_adobe.jpg", "fixtures/jpeg/baseline_411.jpg",
                          "fixtures/png/rgb8.png"}) {
    const auto bytes = load(rel);
    auto c = detail::read_coefficients(bytes, {});
    EXPECT_EQ(error_of(c, rel).code, error_code::unsupported_format) << rel << ": " << describe(c);
  }
}

TEST(CoefDecode, IccProfileIsKeptForTheCaller) {
  const auto with = load("fixtures/jpeg/icc_srgb.jpg");
  auto c = detail::read_coefficients(with, {});
  ASSERT_TRUE(c.ok()) << describe(c);
  EXPECT_GT(c->icc_profile().size(), 128u);  // an ICC header is 128 bytes
  EXPECT_EQ(std::string(c->icc_profile().begin() + 36, c->icc_profile().begin() + 40), "acsp");
  const auto without = load("fixtures/jpeg/baseline_420.jpg");
  auto d = detail::read_coefficients(without, {});
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->icc_profile().empty());
}

TEST(CoefDecode, BadScaleOrRegionIsInvalidOptions) {
  const auto bytes = load("fixtures/jpeg/baseline_420.jpg");
  auto c = detail::read_coefficients(bytes, {});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(error_of(detail::decode_region(*c, {0, 0, 10, 10}, 3), "scale 3").code, error_code::invalid_options);
  EXPECT_EQ(error_of(detail::decode_region(*c, {5000, 0, 10, 10}, 1), "outside").code, error_code::invalid_options);
  auto clamped = detail::decode_region(*c, {-10, -10, 30, 30}, 1);  // clamped to the image
  ASSERT_TRUE(clamped.ok());
  EXPECT_EQ(clamped->width, 20);
  EXPECT_EQ(clamped->height, 20);
}

TEST(CoefDecode, LimitsAndCorruptionPolicyAsDecode) {
  auto code_of = [](const std::string& rel, const decode_options& opt = {}) {
    const auto bytes = load(rel);
    return error_of(detail::read_coefficients(bytes, opt), rel).code;
  };
  EXPECT_EQ(code_of("hostile/truncated_50.jpg"), error_code::truncated);
  EXPECT_EQ(code_of("hostile/corrupt_entropy.jpg"), error_code::corrupt);
  EXPECT_EQ(code_of("hostile/scans_190.jpg"), error_code::too_many_scans);
  EXPECT_EQ(code_of("hostile/bomb_65500x65500.jpg"), error_code::side_too_large);
  EXPECT_EQ(code_of("hostile/implausible_7800x7800.jpg"), error_code::implausible_size);
  decode_options small;
  small.limits.max_input_bytes = 100;
  EXPECT_EQ(code_of("fixtures/jpeg/baseline_420.jpg", small), error_code::input_too_large);

  decode_options tolerant;
  tolerant.tolerate_corruption = true;
  const auto bytes = load("hostile/truncated_50.jpg");
  auto c = detail::read_coefficients(bytes, tolerant);
  ASSERT_TRUE(c.ok()) << describe(c);
  EXPECT_FALSE(c->own_entropy_decoder());  // ours declines damage; libjpeg reads it and warns
  ASSERT_FALSE(c->warnings().empty());
  EXPECT_NE(c->warnings().front().find("truncated"), std::string::npos) << c->warnings().front();
  auto whole = detail::decode_region(*c, {0, 0, c->width(), c->height()}, 1);
  ASSERT_TRUE(whole.ok());
  auto lib = decode(bytes, tolerant);
  ASSERT_TRUE(lib.ok());
  EXPECT_LE(max_abs_diff(*whole, lib->pixels), 1);  // the missing half is the same grey
}

TEST(CoefDecode, EveryHostileFileReturnsWithoutCrashing) {
  int n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(test::data_dir() / "hostile")) {
    const auto bytes = test::read_bytes(entry.path());
    for (bool tolerate : {false, true}) {
      decode_options opt;
      opt.tolerate_corruption = tolerate;
      auto c = detail::read_coefficients(bytes, opt);
      if (!c.ok()) {
        EXPECT_FALSE(c.error().message.empty()) << entry.path();
        continue;
      }
      const image p = detail::dc_proxy(*c);
      EXPECT_EQ(p.width, (c->width() + 7) / 8) << entry.path();
      auto r = detail::decode_region(*c, {c->width() / 3, c->height() / 3, 40, 40}, 2);
      EXPECT_TRUE(r.ok()) << entry.path() << ": " << describe(r);
    }
    ++n;
  }
  EXPECT_GE(n, 29);
}

}  // namespace
}  // namespace kycprep

// ===========================================================================
// PNG fast path (src/decode/png_fast.hpp: libdeflate + our own unfiltering for
// 8-bit non-interlaced PNG), judged against libpng's row reader on the same
// bytes (detail::png_reader::libpng): same pixels, facts, warnings, errors.
// The PNGs are written in memory with libpng (each filter type forced with
// png_set_filter) and then re-chunked / re-deflated / damaged on purpose.
// ===========================================================================
#include <png.h>
#include <zlib.h>

#include <csetjmp>
#include <optional>

#include "decode/png_fast.hpp"

namespace kycprep {
namespace {

using byte_vec = std::vector<std::uint8_t>;
using detail::png_reader;

// --- PNGs in memory ----------------------------------------------------------

struct png_picture {
  int width = 0;
  int height = 0;
  int color_type = PNG_COLOR_TYPE_RGB;
  byte_vec samples;  // 8-bit, rows packed
  int filters = PNG_ALL_FILTERS;
  std::vector<png_color> palette;
  byte_vec trns_alpha;                     // palette tRNS
  std::optional<png_color_16> trns_color;  // gray / RGB tRNS key
};

int samples_per_pixel(int color_type) {
  switch (color_type) {
    case PNG_COLOR_TYPE_GRAY: case PNG_COLOR_TYPE_PALETTE: return 1;
    case PNG_COLOR_TYPE_GRAY_ALPHA: return 2;
    case PNG_COLOR_TYPE_RGB_ALPHA: return 4;
    default: return 3;
  }
}

void append_png_bytes(png_structp png, png_bytep data, png_size_t n) {
  auto* out = static_cast<byte_vec*>(png_get_io_ptr(png));
  out->insert(out->end(), data, data + n);
}
void no_flush(png_structp) {}

// setjmp lives here alone, with trivially destructible locals only.
bool run_png_writer(const png_picture* pic, png_bytep* rows, byte_vec* out) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  if (!png) return false;
  png_infop info = png_create_info_struct(png);
  if (!info) {
    png_destroy_write_struct(&png, nullptr);
    return false;
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return false;
  }
  png_set_write_fn(png, out, append_png_bytes, no_flush);
  png_set_IHDR(png, info, static_cast<png_uint_32>(pic->width), static_cast<png_uint_32>(pic->height), 8,
               pic->color_type, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_BASE, PNG_FILTER_TYPE_BASE);
  png_set_filter(png, PNG_FILTER_TYPE_BASE, pic->filters);
  if (!pic->palette.empty())
    png_set_PLTE(png, info, pic->palette.data(), static_cast<int>(pic->palette.size()));
  if (!pic->trns_alpha.empty())
    png_set_tRNS(png, info, pic->trns_alpha.data(), static_cast<int>(pic->trns_alpha.size()), nullptr);
  if (pic->trns_color) png_set_tRNS(png, info, nullptr, 0, &*pic->trns_color);
  png_write_info(png, info);
  png_write_image(png, rows);
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return true;
}

byte_vec write_png(const png_picture& pic) {
  const std::size_t row_bytes = static_cast<std::size_t>(pic.width) * samples_per_pixel(pic.color_type);
  std::vector<png_bytep> rows(static_cast<std::size_t>(pic.height));
  byte_vec samples = pic.samples;
  for (int y = 0; y < pic.height; ++y) rows[static_cast<std::size_t>(y)] = samples.data() + row_bytes * y;
  byte_vec out;
  EXPECT_TRUE(run_png_writer(&pic, rows.data(), &out)) << "libpng could not write the test picture";
  return out;
}

/// Smooth gradients plus a little noise, so that every filter type has work
/// to do and libpng's adaptive choice varies from row to row. Alpha (the last
/// sample of GA / RGBA) runs through 0..255 with runs of exact 0 and 255.
byte_vec photo_like(int w, int h, int color_type, std::uint32_t seed) {
  const int spp = samples_per_pixel(color_type);
  const bool alpha = (color_type & PNG_COLOR_MASK_ALPHA) != 0;
  byte_vec s(static_cast<std::size_t>(w) * h * spp);
  std::uint32_t r = seed;
  std::size_t i = 0;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < spp; ++c, ++i) {
        r = r * 1664525u + 1013904223u;
        if (alpha && c == spp - 1)
          s[i] = x % 7 == 0 ? 0 : x % 5 == 0 ? 255 : static_cast<std::uint8_t>(x * 9 + y * 5);
        else
          s[i] = static_cast<std::uint8_t>(x * 3 + y * 2 + c * 70 + (r >> 28));
      }
  return s;
}

struct png_chunk {
  std::string type;
  byte_vec data;
};

std::uint32_t be32_at(const byte_vec& b, std::size_t at) {
  return (std::uint32_t{b[at]} << 24) | (std::uint32_t{b[at + 1]} << 16) | (std::uint32_t{b[at + 2]} << 8) | b[at + 3];
}

/// Bytes [from, to) of `v`.
byte_vec slice(const byte_vec& v, std::size_t from, std::size_t to) {
  return byte_vec(v.begin() + static_cast<std::ptrdiff_t>(from), v.begin() + static_cast<std::ptrdiff_t>(to));
}

std::vector<png_chunk> read_chunks(const byte_vec& png) {
  std::vector<png_chunk> out;
  for (std::size_t pos = 8; pos + 12 <= png.size();) {
    const std::uint32_t len = be32_at(png, pos);
    if (pos + 12 + len > png.size()) break;
    const byte_vec type = slice(png, pos + 4, pos + 8);
    out.push_back({std::string(type.begin(), type.end()), slice(png, pos + 8, pos + 8 + len)});
    pos += 12 + len;
  }
  return out;
}

void put_be32(byte_vec& out, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<std::uint8_t>(v >> s));
}

byte_vec write_chunks(const std::vector<png_chunk>& chunks) {
  byte_vec out = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  for (const auto& c : chunks) {
    put_be32(out, static_cast<std::uint32_t>(c.data.size()));
    const std::size_t type_at = out.size();
    out.insert(out.end(), c.type.begin(), c.type.end());
    out.insert(out.end(), c.data.begin(), c.data.end());
    put_be32(out, static_cast<std::uint32_t>(crc32(0, out.data() + type_at, static_cast<uInt>(c.data.size() + 4))));
  }
  return out;
}

/// The zlib stream of a PNG: its IDAT payloads joined.
byte_vec idat_stream(const byte_vec& png) {
  byte_vec z;
  for (const auto& c : read_chunks(png))
    if (c.type == "IDAT") z.insert(z.end(), c.data.begin(), c.data.end());
  return z;
}

byte_vec zlib_inflate(const byte_vec& z) {
  z_stream s{};
  EXPECT_EQ(inflateInit(&s), Z_OK);
  byte_vec out;
  std::uint8_t buf[65536];
  s.next_in = const_cast<Bytef*>(z.data());
  s.avail_in = static_cast<uInt>(z.size());
  int ret = Z_OK;
  while (ret == Z_OK) {
    s.next_out = buf;
    s.avail_out = sizeof buf;
    ret = inflate(&s, Z_NO_FLUSH);
    out.insert(out.end(), buf, buf + (sizeof buf - s.avail_out));
  }
  EXPECT_EQ(ret, Z_STREAM_END);
  inflateEnd(&s);
  return out;
}

byte_vec zlib_deflate(const byte_vec& raw, int window_bits = 15, int level = 6) {
  z_stream s{};
  EXPECT_EQ(deflateInit2(&s, level, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
  byte_vec out(deflateBound(&s, static_cast<uLong>(raw.size())));
  s.next_in = const_cast<Bytef*>(raw.data());
  s.avail_in = static_cast<uInt>(raw.size());
  s.next_out = out.data();
  s.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&s, Z_FINISH), Z_STREAM_END);
  out.resize(s.total_out);
  deflateEnd(&s);
  return out;
}

/// `png` with its image data replaced by `z`, in IDAT chunks of `chunk`
/// bytes (the last one shorter), where the old IDATs were.
byte_vec with_idat(const byte_vec& png, const byte_vec& z, std::size_t chunk = SIZE_MAX) {
  std::vector<png_chunk> out;
  bool placed = false;
  for (auto& c : read_chunks(png)) {
    if (c.type != "IDAT") {
      out.push_back(std::move(c));
      continue;
    }
    if (placed) continue;
    placed = true;
    for (std::size_t at = 0; at < z.size() || at == 0; at += chunk) {
      const std::size_t n = std::min(chunk, z.size() - at);
      out.push_back({"IDAT", slice(z, at, at + n)});
      if (n == 0) break;
    }
  }
  return write_chunks(out);
}

/// libpng writes a smaller zlib window for small images, which the fast path
/// leaves to libpng; re-deflated with a 32 KiB window, same filtered rows.
byte_vec full_window(const byte_vec& png) { return with_idat(png, zlib_deflate(zlib_inflate(idat_stream(png)))); }

/// The filter type byte of each row.
std::vector<int> row_filters(const byte_vec& png, std::size_t row_bytes) {
  const byte_vec raw = zlib_inflate(idat_stream(png));
  std::vector<int> f;
  for (std::size_t at = 0; at < raw.size(); at += row_bytes + 1) f.push_back(raw[at]);
  return f;
}

// --- judging ------------------------------------------------------------------

result<decoded> decode_with(const byte_vec& png, png_reader reader, const decode_options& opt = {},
                            const decode_request& req = {}) {
  return detail::decode_png(png, opt, req, reader);
}

/// Same result, field by field (pixels compared whole, without printing them).
void expect_same_decode(const result<decoded>& got, const result<decoded>& want, const std::string& what) {
  ASSERT_EQ(got.ok(), want.ok()) << what << ": " << describe(got) << " | libpng: " << describe(want);
  if (!got.ok()) {
    EXPECT_EQ(got.error().code, want.error().code) << what;
    EXPECT_EQ(got.error().where, want.error().where) << what;
    EXPECT_EQ(got.error().message, want.error().message) << what;
    return;
  }
  EXPECT_EQ(got->pixels.width, want->pixels.width) << what;
  EXPECT_EQ(got->pixels.height, want->pixels.height) << what;
  EXPECT_EQ(got->pixels.channels, want->pixels.channels) << what;
  EXPECT_TRUE(got->pixels.pixels == want->pixels.pixels) << what << ": pixels differ";
  EXPECT_EQ(got->warnings, want->warnings) << what;
  EXPECT_EQ(got->region, want->region) << what;
  EXPECT_EQ(got->scale_denom, want->scale_denom) << what;
  const source_info &a = got->source, &b = want->source;
  EXPECT_TRUE(a.format == b.format && a.width == b.width && a.height == b.height && a.orientation == b.orientation &&
              a.progressive == b.progressive && a.color == b.color && a.icc == b.icc &&
              a.icc_converted == b.icc_converted && a.bit_depth == b.bit_depth && a.alpha == b.alpha)
      << what << ": source facts differ";
}

/// The fast path takes `png` (full decode, a region, gray) and matches
/// libpng; decode() (which picks the reader itself) matches too.
void expect_fast_path_matches_libpng(const byte_vec& png, const std::string& what) {
  const auto fast = decode_with(png, png_reader::fast_only);
  ASSERT_TRUE(fast.ok()) << what << ": " << describe(fast);
  expect_same_decode(fast, decode_with(png, png_reader::libpng), what);
  expect_same_decode(decode(png), decode_with(png, png_reader::libpng), what + " via decode()");

  const int w = fast->source.width, h = fast->source.height;
  decode_request region;
  region.region = rect{w / 3, h / 4, std::max(1, w / 2), std::max(1, h / 2)};
  expect_same_decode(decode_with(png, png_reader::fast_only, {}, region),
                     decode_with(png, png_reader::libpng, {}, region), what + " region");
  decode_request gray;
  gray.gray = true;
  expect_same_decode(decode_with(png, png_reader::fast_only, {}, gray), decode_with(png, png_reader::libpng, {}, gray),
                     what + " gray");
}

/// decode() gives exactly what libpng's reader gives, with and without
/// tolerate_corruption, and the fast path itself declines the file.
void expect_left_to_libpng(const byte_vec& png, const std::string& what) {
  for (const bool tolerate : {false, true}) {
    decode_options opt;
    opt.tolerate_corruption = tolerate;
    expect_same_decode(decode(png, opt), decode_with(png, png_reader::libpng, opt),
                       what + (tolerate ? " (tolerated)" : ""));
    const auto fast = decode_with(png, png_reader::fast_only, opt);
    ASSERT_FALSE(fast.ok()) << what << ": the fast path took it";
    EXPECT_EQ(fast.error().code, error_code::internal) << what;
    EXPECT_NE(fast.error().message.find("fast path not taken"), std::string::npos) << what;
  }
}

const std::pair<int, const char*> fast_colour_types[] = {
    {PNG_COLOR_TYPE_GRAY, "gray"}, {PNG_COLOR_TYPE_GRAY_ALPHA, "gray+alpha"}, {PNG_COLOR_TYPE_RGB, "rgb"},
    {PNG_COLOR_TYPE_RGB_ALPHA, "rgba"}, {PNG_COLOR_TYPE_PALETTE, "palette"}};

png_picture picture(int color_type, int w, int h, int filters, std::uint32_t seed = 1) {
  png_picture p;
  p.width = w;
  p.height = h;
  p.color_type = color_type;
  p.filters = filters;
  p.samples = photo_like(w, h, color_type, seed);
  if (color_type == PNG_COLOR_TYPE_PALETTE) {
    for (int i = 0; i < 256; ++i)
      p.palette.push_back({static_cast<png_byte>(i), static_cast<png_byte>(255 - i), static_cast<png_byte>(i * 7)});
  }
  return p;
}

/// An 8-bit RGB PNG of w x h whose image data is the zlib stream `z`.
byte_vec rgb_png_with_stream(int w, int h, const byte_vec& z) {
  png_picture p = picture(PNG_COLOR_TYPE_RGB, w, h, PNG_FILTER_NONE);
  return with_idat(write_png(p), z);
}

byte_vec raw_rows(const byte_vec& png) { return zlib_inflate(idat_stream(png)); }

// --- the unfilter kernels -------------------------------------------------------

std::uint8_t spec_paeth(int a, int b, int c) {
  const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  if (pa <= pb && pa <= pc) return static_cast<std::uint8_t>(a);
  return static_cast<std::uint8_t>(pb <= pc ? b : c);
}

/// PNG spec 9.2 / 9.4, byte by byte.
void spec_unfilter(int filter, std::uint8_t* row, const std::uint8_t* prev, std::size_t n, int bpp) {
  for (std::size_t i = 0; i < n; ++i) {
    const int a = i >= static_cast<std::size_t>(bpp) ? row[i - bpp] : 0;
    const int b = prev[i];
    const int c = i >= static_cast<std::size_t>(bpp) ? prev[i - bpp] : 0;
    const int pred = filter == 1   ? a
                     : filter == 2 ? b
                     : filter == 3 ? (a + b) / 2
                     : filter == 4 ? spec_paeth(a, b, c)
                                   : 0;
    row[i] = static_cast<std::uint8_t>(row[i] + pred);
  }
}

TEST(PngFastPath, UnfilterMatchesTheSpecOnRandomRows) {
  std::uint32_t r = 12345;
  auto next = [&] { return static_cast<std::uint8_t>((r = r * 1664525u + 1013904223u) >> 24); };
  for (int bpp = 1; bpp <= 4; ++bpp) {
    for (const std::size_t pixels : {1u, 2u, 3u, 17u, 300u}) {
      const std::size_t n = pixels * static_cast<std::size_t>(bpp);
      for (int filter = 0; filter <= 4; ++filter) {
        for (int trial = 0; trial < 20; ++trial) {
          byte_vec row(n), prev(n);
          // Small values in some trials make ties (pa == pb, ...) common.
          for (auto& v : row) v = trial % 2 ? next() : static_cast<std::uint8_t>(next() % 4);
          for (auto& v : prev) v = trial % 2 ? next() : static_cast<std::uint8_t>(next() % 4);
          byte_vec want = row;
          spec_unfilter(filter, want.data(), prev.data(), n, bpp);
          ASSERT_TRUE(detail::png_unfilter_row(static_cast<std::uint8_t>(filter), row.data(), prev.data(), n, bpp));
          ASSERT_EQ(row, want) << "bpp " << bpp << " filter " << filter << " pixels " << pixels << " trial " << trial;
        }
      }
    }
  }
  byte_vec row(6, 1), prev(6, 2);
  EXPECT_FALSE(detail::png_unfilter_row(5, row.data(), prev.data(), 6, 3));
  EXPECT_EQ(row, byte_vec(6, 1));
}

// --- clean files: the fast path takes them and matches libpng -------------------

TEST(PngFastPath, EveryFilterTypeAndColourTypeMatchesLibpng) {
  const std::pair<int, const char*> filters[] = {{PNG_FILTER_NONE, "none"}, {PNG_FILTER_SUB, "sub"},
                                                 {PNG_FILTER_UP, "up"},     {PNG_FILTER_AVG, "avg"},
                                                 {PNG_FILTER_PAETH, "paeth"}, {PNG_ALL_FILTERS, "adaptive"}};
  const int filter_value[] = {0, 1, 2, 3, 4, -1};
  for (const auto& [color, color_name] : fast_colour_types) {
    for (std::size_t f = 0; f < std::size(filters); ++f) {
      for (const auto& [w, h] : {std::pair{64, 48}, {37, 23}, {1, 1}, {1, 9}, {9, 1}}) {
        const std::string what = std::string(color_name) + " " + filters[f].second + " " + std::to_string(w) + "x" +
                                 std::to_string(h);
        const byte_vec png = full_window(write_png(picture(color, w, h, filters[f].first)));
        if (filter_value[f] >= 0 && w > 1 && h > 1) {
          // libpng really used that filter (it may pick another for the first
          // row, and None throughout for a one-pixel width).
          const auto used = row_filters(png, static_cast<std::size_t>(w) * samples_per_pixel(color));
          EXPECT_EQ(std::count(used.begin() + 1, used.end(), filter_value[f]), h - 1) << what;
        }
        expect_fast_path_matches_libpng(png, what);
      }
    }
  }
}

TEST(PngFastPath, AdaptiveFiltersOnAPhotoSizedImageMatchLibpng) {
  // Large enough for libpng to write a 32 KiB window itself and several
  // IDAT chunks (8 KiB each), and for Paeth rows to come in pairs.
  for (const int color : {PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA}) {
    const byte_vec png = write_png(picture(color, 301, 203, PNG_ALL_FILTERS, 7));
    const auto chunks = read_chunks(png);
    EXPECT_GT(std::count_if(chunks.begin(), chunks.end(), [](const png_chunk& c) { return c.type == "IDAT"; }), 1);
    EXPECT_EQ(idat_stream(png).at(0), 0x78) << "libpng wrote a small window";
    const auto used = row_filters(png, 301u * samples_per_pixel(color));
    EXPECT_GT(std::count(used.begin(), used.end(), 4), 10) << "want Paeth rows";
    expect_fast_path_matches_libpng(png, color == PNG_COLOR_TYPE_RGB ? "rgb 301x203" : "rgba 301x203");
  }
}

TEST(PngFastPath, RandomFilterBytesAndSamplesMatchLibpng) {
  // Raw rows built directly: every filter type in random order (so Paeth
  // rows meet every neighbour) over random samples, which libpng's encoder
  // heuristics would never produce.
  std::uint32_t r = 99;
  auto next = [&] { return static_cast<std::uint8_t>((r = r * 1664525u + 1013904223u) >> 24); };
  for (const auto& [w, h] : {std::pair{1, 1}, std::pair{2, 7}, std::pair{33, 40}, std::pair{128, 65}}) {
    byte_vec raw;
    for (int y = 0; y < h; ++y) {
      raw.push_back(static_cast<std::uint8_t>(y % 3 == 0 ? 4 : next() % 5));
      for (int i = 0; i < w * 3; ++i) raw.push_back(next());
    }
    expect_fast_path_matches_libpng(rgb_png_with_stream(w, h, zlib_deflate(raw)),
                                    "random " + std::to_string(w) + "x" + std::to_string(h));
  }
}

TEST(PngFastPath, TransparencyChunksMatchLibpng) {
  // Palette with partial tRNS (entries past it are opaque).
  png_picture pal = picture(PNG_COLOR_TYPE_PALETTE, 40, 30, PNG_ALL_FILTERS);
  for (int i = 0; i < 100; ++i) pal.trns_alpha.push_back(static_cast<std::uint8_t>(i * 37));
  expect_fast_path_matches_libpng(full_window(write_png(pal)), "palette + tRNS");

  // Gray and RGB keyed by tRNS: the key colour becomes white.
  png_picture gray = picture(PNG_COLOR_TYPE_GRAY, 40, 30, PNG_ALL_FILTERS);
  png_color_16 gray_key{};
  gray_key.gray = gray.samples[5];
  gray.trns_color = gray_key;
  const byte_vec gray_png = full_window(write_png(gray));
  expect_fast_path_matches_libpng(gray_png, "gray + tRNS");
  const auto g = decode_with(gray_png, png_reader::fast_only);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(px(g->pixels, 5, 0, 0), 255);

  png_picture rgb = picture(PNG_COLOR_TYPE_RGB, 40, 30, PNG_ALL_FILTERS);
  png_color_16 rgb_key{};
  rgb_key.red = rgb.samples[3 * 7];
  rgb_key.green = rgb.samples[3 * 7 + 1];
  rgb_key.blue = rgb.samples[3 * 7 + 2];
  rgb.trns_color = rgb_key;
  const byte_vec rgb_png = full_window(write_png(rgb));
  expect_fast_path_matches_libpng(rgb_png, "rgb + tRNS");
  const auto c = decode_with(rgb_png, png_reader::fast_only);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(px(c->pixels, 7, 0, 0), 255);
  EXPECT_EQ(px(c->pixels, 7, 0, 2), 255);
}

TEST(PngFastPath, IdatChunkingDoesNotMatter) {
  const byte_vec base = write_png(picture(PNG_COLOR_TYPE_RGB, 50, 40, PNG_ALL_FILTERS));
  const byte_vec z = zlib_deflate(raw_rows(base));
  const auto want = decode_with(with_idat(base, z), png_reader::libpng);
  ASSERT_TRUE(want.ok());
  for (const std::size_t chunk : {std::size_t{1}, std::size_t{7}, std::size_t{100}, std::size_t{4096}}) {
    const byte_vec png = with_idat(base, z, chunk);
    expect_fast_path_matches_libpng(png, "IDAT chunks of " + std::to_string(chunk));
    expect_same_decode(decode_with(png, png_reader::fast_only), want, "chunks of " + std::to_string(chunk) + " vs one");
  }
  // Empty IDATs between the others, and ancillary chunks after the last one.
  std::vector<png_chunk> chunks = read_chunks(with_idat(base, z, 500));
  for (std::size_t i = chunks.size() - 1; i > 0; --i)
    if (chunks[i].type == "IDAT") chunks.insert(chunks.begin() + static_cast<std::ptrdiff_t>(i), png_chunk{"IDAT", {}});
  chunks.insert(chunks.end() - 1, png_chunk{"tEXt", {'k', 0, 'v'}});
  expect_fast_path_matches_libpng(write_chunks(chunks), "empty IDATs and a tEXt after them");
}

TEST(PngFastPath, EveryPngInDataAgreesWithLibpng) {
  // Fixtures (every colour type and depth, iCCP, eXIf, trailing junk) and
  // the hostile files, with and without tolerate_corruption.
  int fast = 0, files = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(test::data_dir())) {
    if (entry.path().extension() != ".png") continue;
    const auto png = test::read_bytes(entry.path());
    if (sniff_format(png) != image_format::png) continue;  // hostile/magic_bmp.png
    ++files;
    const std::string what = std::filesystem::relative(entry.path(), test::data_dir()).string();
    for (const bool tolerate : {false, true}) {
      decode_options opt;
      opt.tolerate_corruption = tolerate;
      expect_same_decode(decode(png, opt), decode_with(png, png_reader::libpng, opt), what);
    }
    if (decode_with(png, png_reader::fast_only).ok()) {
      ++fast;
      expect_fast_path_matches_libpng(png, what);
    }
  }
  EXPECT_GE(files, 19);
  EXPECT_GE(fast, 10);
  for (const char* f : {"fixtures/png/rgb16.png", "fixtures/png/palette4.png", "fixtures/png/adam7_rgb8.png"})
    EXPECT_FALSE(decode_with(load(f), png_reader::fast_only).ok()) << f << " is not for the fast path";
}

// --- unclean files: libpng's verdict, whatever it is ---------------------------

struct damaged_case {
  const char* what;
  byte_vec png;
  std::optional<error_code> want;  // libpng's error without tolerance; none: it decodes
  bool warns = false;              // when it decodes: with a warning
};

std::vector<damaged_case> damaged_pngs() {
  const int w = 45, h = 31;
  const byte_vec base = write_png(picture(PNG_COLOR_TYPE_RGB, w, h, PNG_ALL_FILTERS));
  const byte_vec raw = raw_rows(base);
  const byte_vec z = zlib_deflate(raw);
  const std::size_t row = static_cast<std::size_t>(w) * 3 + 1;
  std::vector<damaged_case> out;

  {  // A flipped bit in the CRC of the second IDAT.
    const byte_vec png = with_idat(base, z, 1000);
    std::vector<png_chunk> chunks = read_chunks(png);
    byte_vec bad = png;
    std::size_t pos = 8;
    int idats = 0;
    for (const auto& c : chunks) {
      if (c.type == "IDAT" && ++idats == 2) {
        bad[pos + 8 + c.data.size()] ^= 0x01;
        break;
      }
      pos += 12 + c.data.size();
    }
    out.push_back({"bad IDAT CRC", bad, error_code::corrupt});
  }
  {  // The file ends inside the IDAT data.
    byte_vec cut = with_idat(base, z);
    cut.resize(8 + 25 + 8 + z.size() / 2);
    out.push_back({"file cut inside IDAT", cut, error_code::truncated});
  }
  {  // The zlib stream stops halfway, in a well-formed chunk.
    out.push_back({"zlib stream cut in half", with_idat(base, slice(z, 0, z.size() / 2)), error_code::corrupt});
  }
  {  // A complete zlib stream one row short of the image.
    out.push_back({"zlib stream a row too short", with_idat(base, zlib_deflate(slice(raw, 0, raw.size() - row))),
                   error_code::corrupt});
  }
  {  // A complete zlib stream one row longer than the image (libpng warns).
    byte_vec longer = raw;
    longer.insert(longer.end(), raw.begin(), raw.begin() + static_cast<std::ptrdiff_t>(row));
    out.push_back({"zlib stream a row too long", with_idat(base, zlib_deflate(longer)), std::nullopt, true});
  }
  {  // Bytes after the end of the zlib stream, inside the IDAT.
    byte_vec extra = z;
    extra.insert(extra.end(), {1, 2, 3, 4});
    out.push_back({"data after the zlib stream", with_idat(base, extra), std::nullopt, true});
  }
  {  // Wrong Adler-32.
    byte_vec bad = z;
    bad.back() ^= 0x55;
    out.push_back({"bad Adler-32", with_idat(base, bad), error_code::corrupt});
  }
  {  // Garbage in the middle of the deflate data.
    byte_vec bad = z;
    for (std::size_t i = bad.size() / 3; i < bad.size() / 3 + 8; ++i) bad[i] = static_cast<std::uint8_t>(~bad[i]);
    out.push_back({"garbage deflate data", with_idat(base, bad), error_code::corrupt});
  }
  {  // A filter type of 7 on row 10.
    byte_vec bad = raw;
    bad[row * 10] = 7;
    out.push_back({"bad filter type", with_idat(base, zlib_deflate(bad)), error_code::corrupt});
  }
  {  // A tEXt chunk between two IDATs: libpng wants IDATs consecutive.
    std::vector<png_chunk> chunks = read_chunks(with_idat(base, z, z.size() / 2 + 1));
    for (std::size_t i = 0; i < chunks.size(); ++i)
      if (chunks[i].type == "IDAT") {
        chunks.insert(chunks.begin() + static_cast<std::ptrdiff_t>(i + 1), png_chunk{"tEXt", {'k', 0, 'v'}});
        break;
      }
    out.push_back({"tEXt between IDATs", write_chunks(chunks), error_code::corrupt});
  }
  {  // A valid stream declaring a 512-byte window: zlib honours it, libdeflate would not.
    out.push_back({"512-byte zlib window", with_idat(base, zlib_deflate(raw, 9)), std::nullopt});
  }
  {  // Palette indices beyond the PLTE entries.
    // libpng will not write them: cut the PLTE chunk to 16 entries afterwards.
    const byte_vec pal_png = write_png(picture(PNG_COLOR_TYPE_PALETTE, 20, 10, PNG_FILTER_NONE));
    std::vector<png_chunk> chunks = read_chunks(with_idat(pal_png, zlib_deflate(raw_rows(pal_png))));
    for (auto& c : chunks)
      if (c.type == "PLTE") c.data.resize(16 * 3);
    out.push_back({"palette index beyond PLTE", write_chunks(chunks), std::nullopt});
  }
  return out;
}

TEST(PngFastPath, DamagedStreamsGetLibpngsVerdict) {
  for (const auto& c : damaged_pngs()) {
    expect_left_to_libpng(c.png, c.what);
    const auto d = decode(c.png);
    if (!c.want) {
      ASSERT_TRUE(d.ok()) << c.what << ": " << describe(d);
      EXPECT_EQ(d->warnings.empty(), !c.warns) << c.what;
    } else {
      ASSERT_FALSE(d.ok()) << c.what << " decoded";
      EXPECT_EQ(d.error().code, *c.want) << c.what << ": " << describe(d);
      EXPECT_EQ(d.error().where, stage::decode) << c.what;
      decode_options tolerant;
      tolerant.tolerate_corruption = true;
      const auto t = decode(c.png, tolerant);
      ASSERT_TRUE(t.ok()) << c.what << ": " << describe(t);
      EXPECT_FALSE(t->warnings.empty()) << c.what;
    }
  }
}

TEST(PngFastPath, RegionDecodesIgnoreDamageBelowTheRegionLikeLibpng) {
  // libpng's row reader stops after the region's last row; the fast path
  // checks the whole stream and hands such files back, so the outcome is
  // libpng's either way.
  const int w = 45, h = 31;
  const byte_vec base = write_png(picture(PNG_COLOR_TYPE_RGB, w, h, PNG_ALL_FILTERS));
  byte_vec raw = raw_rows(base);
  raw[(static_cast<std::size_t>(w) * 3 + 1) * 25] = 9;  // bad filter on row 25
  const byte_vec png = with_idat(base, zlib_deflate(raw));
  decode_request top;
  top.region = rect{0, 0, w, 10};
  const auto d = decode(png, {}, top);
  expect_same_decode(d, decode_with(png, png_reader::libpng, {}, top), "top region");
  EXPECT_TRUE(d.ok()) << describe(d);
  expect_same_decode(decode_with(png, png_reader::fast_only, {}, top), decode_with(png, png_reader::libpng, {}, top),
                     "fast path, top region");
  EXPECT_FALSE(decode(png).ok());
}

}  // namespace
}  // namespace kycprep

// ===========================================================================
// Our own Huffman decoder (src/decode/entropy.hpp): detail::entropy_decode
// against libjpeg-turbo's jpeg_read_coefficients, coefficient for
// coefficient, on fixtures written here with libjpeg's encoder (every
// sampling, odd sizes, restarts, progressive and custom successive-
// approximation scripts, optimised tables, non-interleaved scans) and on
// every JPEG in data/, faces-dev and /tmp/corpus2; plus its strict declines.
// ===========================================================================
#include <jerror.h>
#include <jpeglib.h>

#include <cstdlib>
#include <cstring>
#include <random>

#include "decode/entropy.hpp"

namespace kycprep {
namespace {

using ent_bytes = std::vector<std::uint8_t>;

// ---- libjpeg encoder for fixtures ----------------------------------------

struct ent_enc {
  int w = 64, h = 48, nc = 3;
  int samp[3][2] = {{2, 2}, {1, 1}, {1, 1}};  // h, v per component
  bool progressive = false;                   // jpeg_simple_progression
  std::vector<jpeg_scan_info> scans;          // a custom script (progressive or sequential)
  int restart = 0;                            // restart interval in MCUs
  bool optimize = false;
  bool arith = false;
  int quality = 92;
};

struct ent_jerr {
  jpeg_error_mgr pub;
  std::jmp_buf jump;
};

extern "C" void ent_error_exit(j_common_ptr c) { std::longjmp(reinterpret_cast<ent_jerr*>(c->err)->jump, 1); }
extern "C" void ent_silent(j_common_ptr) {}

// A deterministic picture with edges, gradients and noise, so that every
// frequency band gets non-zero coefficients.
std::vector<std::uint8_t> ent_picture(int w, int h, int nc, unsigned seed) {
  std::vector<std::uint8_t> px(static_cast<std::size_t>(w) * h * nc);
  std::mt19937 rng(seed);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < nc; ++c) {
        int v = (x * (3 + c) + y * (5 - c)) & 255;
        if (((x / 7) + (y / 5)) % 3 == c) v = 255 - v;
        v += static_cast<int>(rng() % 41) - 20;
        px[(static_cast<std::size_t>(y) * w + x) * nc + c] = static_cast<std::uint8_t>(std::clamp(v, 0, 255));
      }
  return px;
}

bool ent_encode_into(jpeg_compress_struct* c, ent_jerr* err, const ent_enc& e, const std::vector<std::uint8_t>& px,
                     unsigned char** out, unsigned long* size) {
  if (setjmp(err->jump)) return false;
  jpeg_create_compress(c);
  jpeg_mem_dest(c, out, size);
  c->image_width = static_cast<JDIMENSION>(e.w);
  c->image_height = static_cast<JDIMENSION>(e.h);
  c->input_components = e.nc;
  c->in_color_space = e.nc == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(c);
  jpeg_set_quality(c, e.quality, TRUE);
  for (int i = 0; i < c->num_components && i < 3; ++i) {
    c->comp_info[i].h_samp_factor = e.samp[i][0];
    c->comp_info[i].v_samp_factor = e.samp[i][1];
  }
  if (e.progressive) jpeg_simple_progression(c);
  if (!e.scans.empty()) {
    c->scan_info = e.scans.data();
    c->num_scans = static_cast<int>(e.scans.size());
  }
  c->restart_interval = static_cast<unsigned>(e.restart);
  c->optimize_coding = e.optimize ? TRUE : FALSE;
  c->arith_code = e.arith ? TRUE : FALSE;
  jpeg_start_compress(c, TRUE);
  const int stride = e.w * e.nc;
  while (c->next_scanline < c->image_height) {
    JSAMPROW row = const_cast<JSAMPROW>(px.data() + static_cast<std::size_t>(c->next_scanline) * stride);
    jpeg_write_scanlines(c, &row, 1);
  }
  jpeg_finish_compress(c);
  return true;
}

ent_bytes ent_encode(const ent_enc& e, unsigned seed = 1) {
  const auto px = ent_picture(e.w, e.h, e.nc, seed);
  jpeg_compress_struct c{};
  ent_jerr err{};
  c.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = ent_error_exit;
  unsigned char* out = nullptr;
  unsigned long size = 0;
  const bool ok = ent_encode_into(&c, &err, e, px, &out, &size);
  jpeg_destroy_compress(&c);
  ent_bytes b;
  if (ok && out != nullptr) b.assign(out, out + size);
  std::free(out);
  EXPECT_TRUE(ok) << "libjpeg could not write the fixture";
  return b;
}

// ---- libjpeg's coefficients -----------------------------------------------

struct ent_ref_comp {
  int id = 0, h = 0, v = 0, wib = 0, hib = 0;
  std::vector<std::int16_t> coef;  // wib * hib blocks, 64 each
};

struct ent_ref {
  bool ok = false;
  long warnings = 0;
  int width = 0, height = 0;
  bool progressive = false;
  std::vector<ent_ref_comp> comps;
};

// setjmp phases: only trivially destructible locals, so that libjpeg's
// error_exit can longjmp out of them.
bool ent_read_phase(jpeg_decompress_struct* d, ent_jerr* err, const ent_bytes& b, jvirt_barray_ptr** arrays) {
  if (setjmp(err->jump)) return false;
  jpeg_create_decompress(d);
  jpeg_mem_src(d, b.data(), static_cast<unsigned long>(b.size()));
  jpeg_read_header(d, TRUE);
  if (static_cast<double>(d->image_width) * d->image_height > 40e6) return false;  // not for this test
  *arrays = jpeg_read_coefficients(d);
  return true;
}

bool ent_row_phase(jpeg_decompress_struct* d, ent_jerr* err, jvirt_barray_ptr array, int by, const JCOEF** row) {
  if (setjmp(err->jump)) return false;
  *row = (*d->mem->access_virt_barray)(reinterpret_cast<j_common_ptr>(d), array, static_cast<JDIMENSION>(by), 1,
                                       FALSE)[0][0];
  return true;
}

ent_ref ent_libjpeg(const ent_bytes& b) {
  ent_ref r;
  jpeg_decompress_struct d{};
  ent_jerr err{};
  d.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = ent_error_exit;
  err.pub.output_message = ent_silent;
  jvirt_barray_ptr* arrays = nullptr;
  r.ok = ent_read_phase(&d, &err, b, &arrays);
  r.width = static_cast<int>(d.image_width);
  r.height = static_cast<int>(d.image_height);
  r.progressive = d.progressive_mode != 0;
  for (int ci = 0; r.ok && ci < d.num_components; ++ci) {
    const jpeg_component_info& c = d.comp_info[ci];
    ent_ref_comp rc;
    rc.id = c.component_id;
    rc.h = c.h_samp_factor;
    rc.v = c.v_samp_factor;
    rc.wib = static_cast<int>(c.width_in_blocks);
    rc.hib = static_cast<int>(c.height_in_blocks);
    rc.coef.resize(static_cast<std::size_t>(rc.wib) * rc.hib * 64);
    for (int by = 0; r.ok && by < rc.hib; ++by) {
      const JCOEF* row = nullptr;
      r.ok = ent_row_phase(&d, &err, arrays[ci], by, &row);
      if (r.ok)
        std::memcpy(rc.coef.data() + static_cast<std::size_t>(by) * rc.wib * 64, row,
                    static_cast<std::size_t>(rc.wib) * 64 * sizeof(JCOEF));
    }
    r.comps.push_back(std::move(rc));
  }
  r.warnings = err.pub.num_warnings;
  jpeg_destroy_decompress(&d);
  return r;
}

// Every coefficient of every block inside width_in_blocks x height_in_blocks.
::testing::AssertionResult ent_same(const detail::coef_frame& f, const ent_ref& r) {
  if (f.width != r.width || f.height != r.height) return ::testing::AssertionFailure() << "size differs";
  if (f.progressive != r.progressive) return ::testing::AssertionFailure() << "progressive flag differs";
  if (f.planes.size() != r.comps.size()) return ::testing::AssertionFailure() << "component count differs";
  for (std::size_t c = 0; c < r.comps.size(); ++c) {
    const auto& p = f.planes[c];
    const auto& q = r.comps[c];
    if (p.id != q.id || p.h != q.h || p.v != q.v || p.width_in_blocks != q.wib || p.height_in_blocks != q.hib)
      return ::testing::AssertionFailure() << "component " << c << " geometry differs: " << p.width_in_blocks << "x"
                                           << p.height_in_blocks << " vs " << q.wib << "x" << q.hib;
    // jdcoefct.c's storage: rounded up to whole MCUs.
    if (p.stride_blocks != (q.wib + q.h - 1) / q.h * q.h || p.rows_blocks != (q.hib + q.v - 1) / q.v * q.v ||
        p.coef.size() != static_cast<std::size_t>(p.stride_blocks) * p.rows_blocks * 64)
      return ::testing::AssertionFailure() << "component " << c << " storage not MCU-padded";
    // Sequential frames carry a copy of every block's DC term; progressive ones none.
    if (f.progressive != p.dc.empty()) return ::testing::AssertionFailure() << "component " << c << " dc copy missing or unexpected";
    for (std::size_t i = 0; i < p.dc.size(); ++i)
      if (p.dc.size() != static_cast<std::size_t>(p.stride_blocks) * p.rows_blocks || p.dc[i] != p.coef[i * 64])
        return ::testing::AssertionFailure() << "component " << c << " dc copy differs at block " << i;
    for (int by = 0; by < q.hib; ++by)
      for (int bx = 0; bx < q.wib; ++bx) {
        const std::int16_t* a = p.block(bx, by);
        const std::int16_t* b = q.coef.data() + (static_cast<std::size_t>(by) * q.wib + bx) * 64;
        for (int k = 0; k < 64; ++k)
          if (a[k] != b[k])
            return ::testing::AssertionFailure() << "component " << c << " block (" << bx << "," << by << ") coef "
                                                 << k << ": " << a[k] << " vs libjpeg " << b[k];
      }
  }
  return ::testing::AssertionSuccess();
}

// The file must be accepted and equal libjpeg's clean decode.
void ent_expect_exact(const ent_bytes& b, const std::string& what, int max_scans = 1000) {
  SCOPED_TRACE(what);
  const ent_ref r = ent_libjpeg(b);
  ASSERT_TRUE(r.ok) << "libjpeg failed";
  ASSERT_EQ(r.warnings, 0) << "fixture is not clean for libjpeg";
  // Both builds of the scan loops (BMI2 where the CPU has it, and baseline).
  for (const auto isa : {detail::entropy_isa::best, detail::entropy_isa::baseline}) {
    std::string why;
    const auto f = detail::entropy_decode(b, max_scans, &why, std::size_t{1} << 32, isa);
    ASSERT_TRUE(f.has_value()) << "declined: " << why;
    EXPECT_TRUE(ent_same(*f, r));
  }
}

// Whatever the input: accepted means libjpeg agrees without a warning.
// Returns whether it was accepted.
bool ent_check_consistent(const ent_bytes& b, const std::string& what) {
  std::string why;
  const auto f = detail::entropy_decode(b, 1000, &why);
  // The baseline build of the scan loops decides and decodes alike.
  const auto g = detail::entropy_decode(b, 1000, nullptr, std::size_t{1} << 32, detail::entropy_isa::baseline);
  EXPECT_EQ(f.has_value(), g.has_value()) << what;
  if (f && g) EXPECT_EQ(f->planes[0].coef, g->planes[0].coef) << what;
  if (!f) {
    EXPECT_FALSE(why.empty()) << what << ": a decline gives a reason";
    return false;
  }
  const ent_ref r = ent_libjpeg(b);
  EXPECT_TRUE(r.ok) << what << ": accepted, but libjpeg fails";
  EXPECT_EQ(r.warnings, 0) << what << ": accepted, but libjpeg warns";
  if (r.ok) EXPECT_TRUE(ent_same(*f, r)) << what;
  return true;
}

struct ent_layout {
  const char* name;
  int nc;
  int samp[3][2];
};
const ent_layout ent_layouts[] = {
    {"420", 3, {{2, 2}, {1, 1}, {1, 1}}}, {"422", 3, {{2, 1}, {1, 1}, {1, 1}}},
    {"444", 3, {{1, 1}, {1, 1}, {1, 1}}}, {"440", 3, {{1, 2}, {1, 1}, {1, 1}}},
    {"411", 3, {{4, 1}, {1, 1}, {1, 1}}}, {"gray", 1, {{1, 1}, {1, 1}, {1, 1}}},
    {"gray22", 1, {{2, 2}, {1, 1}, {1, 1}}},  // one component with sampling 2x2: still one block per MCU
    {"odd", 3, {{1, 2}, {2, 1}, {1, 1}}},     // chroma wider than luma: odd MCU shapes
};

ent_enc ent_with(const ent_layout& l, int w, int h) {
  ent_enc e;
  e.w = w;
  e.h = h;
  e.nc = l.nc;
  std::memcpy(e.samp, l.samp, sizeof e.samp);
  return e;
}

// One scan of a progression script (libjpeg's jpeg_scan_info).
jpeg_scan_info ent_scan(std::initializer_list<int> comps, int Ss, int Se, int Ah, int Al) {
  jpeg_scan_info s{};
  s.comps_in_scan = static_cast<int>(comps.size());
  int i = 0;
  for (int c : comps) s.component_index[i++] = c;
  s.Ss = Ss;
  s.Se = Se;
  s.Ah = Ah;
  s.Al = Al;
  return s;
}

std::vector<jpeg_scan_info> ent_sa_script(int nc) {
  // Successive approximation on DC and AC, spectral selection, refinement
  // of every band, interleaved DC scans (as cjpeg -scans accepts).
  const auto scan = ent_scan;
  if (nc == 1)
    return {scan({0}, 0, 0, 0, 3), scan({0}, 1, 2, 0, 2),  scan({0}, 3, 63, 0, 3), scan({0}, 0, 0, 3, 2),
            scan({0}, 3, 63, 3, 2), scan({0}, 1, 63, 2, 1), scan({0}, 0, 0, 2, 1), scan({0}, 1, 63, 1, 0),
            scan({0}, 0, 0, 1, 0)};
  return {scan({0, 1, 2}, 0, 0, 0, 2), scan({0}, 1, 5, 0, 2),    scan({2}, 1, 63, 0, 1),    scan({1}, 1, 63, 0, 1),
          scan({0}, 6, 63, 0, 3),      scan({0}, 6, 63, 3, 2),   scan({0}, 1, 63, 2, 1),    scan({0, 1, 2}, 0, 0, 2, 1),
          scan({0}, 1, 63, 1, 0),      scan({1}, 1, 63, 1, 0),   scan({2}, 1, 63, 1, 0),    scan({0, 1, 2}, 0, 0, 1, 0)};
}

TEST(EntropyDecode, EverySamplingSizeAndModeMatchesLibjpeg) {
  const int sizes[][2] = {{1, 1}, {17, 9}, {8, 8}, {64, 48}, {203, 131}, {67, 301}};
  for (const ent_layout& l : ent_layouts)
    for (const auto& sz : sizes) {
      const std::string base = std::string(l.name) + " " + std::to_string(sz[0]) + "x" + std::to_string(sz[1]);
      ent_enc e = ent_with(l, sz[0], sz[1]);
      ent_expect_exact(ent_encode(e), base + " baseline");
      e.optimize = true;
      ent_expect_exact(ent_encode(e), base + " baseline optimized");
      e.optimize = false;
      e.restart = 3;
      ent_expect_exact(ent_encode(e), base + " baseline restart 3");
      e.restart = 1;
      e.quality = 50;
      ent_expect_exact(ent_encode(e), base + " baseline restart 1 q50");
      e.restart = 0;
      e.quality = 92;
      e.progressive = true;
      ent_expect_exact(ent_encode(e), base + " progressive");
      e.restart = 2;
      ent_expect_exact(ent_encode(e), base + " progressive restart 2");
      e.restart = 0;
      e.progressive = false;
      e.scans = ent_sa_script(l.nc);
      ent_expect_exact(ent_encode(e), base + " successive approximation script");
      e.restart = 5;
      e.quality = 98;
      ent_expect_exact(ent_encode(e), base + " successive approximation script restart 5 q98");
    }
}

TEST(EntropyDecode, LargerProgressiveAndHighQualityFilesMatchLibjpeg) {
  for (int q : {75, 92, 100}) {
    ent_enc e = ent_with(ent_layouts[0], 1031, 777);
    e.quality = q;
    ent_expect_exact(ent_encode(e, 7), "420 1031x777 baseline q" + std::to_string(q));
    e.progressive = true;
    ent_expect_exact(ent_encode(e, 7), "420 1031x777 progressive q" + std::to_string(q));
    e.progressive = false;
    e.scans = ent_sa_script(3);
    e.restart = 17;
    ent_expect_exact(ent_encode(e, 7), "420 1031x777 SA script restart 17 q" + std::to_string(q));
  }
}

// A sequential scan of the given components (a custom scan script entry).
jpeg_scan_info ent_seq_scan(std::initializer_list<int> comps) {
  jpeg_scan_info s{};
  s.comps_in_scan = static_cast<int>(comps.size());
  int i = 0;
  for (int c : comps) s.component_index[i++] = c;
  s.Se = 63;
  return s;
}

TEST(EntropyDecode, NonInterleavedSequentialScansMatchLibjpeg) {
  for (const ent_layout& l : ent_layouts) {
    if (l.nc != 3) continue;
    ent_enc e = ent_with(l, 101, 77);
    e.scans = {ent_seq_scan({0}), ent_seq_scan({1}), ent_seq_scan({2})};
    ent_expect_exact(ent_encode(e), std::string(l.name) + " three scans");
    e.scans = {ent_seq_scan({0}), ent_seq_scan({1, 2})};
    e.restart = 4;
    ent_expect_exact(ent_encode(e), std::string(l.name) + " Y then CbCr, restart 4");
    e.scans = {ent_seq_scan({2}), ent_seq_scan({0, 1})};
    e.optimize = true;
    ent_expect_exact(ent_encode(e), std::string(l.name) + " Cr then YCb, optimized");
  }
}

std::vector<std::filesystem::path> ent_jpegs_in(const std::filesystem::path& dir, bool recursive) {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return out;
  auto add = [&](const std::filesystem::directory_entry& e) {
    std::string ext = e.path().extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char ch) { return std::tolower(ch); });
    if (e.is_regular_file() && (ext == ".jpg" || ext == ".jpeg")) out.push_back(e.path());
  };
  if (recursive)
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) add(e);
  else
    for (const auto& e : std::filesystem::directory_iterator(dir)) add(e);
  std::sort(out.begin(), out.end());
  return out;
}

// A file libjpeg reads cleanly must be accepted and equal; any other file
// may be declined, but if it is accepted libjpeg must agree without warnings.
void ent_check_file(const std::filesystem::path& p, int* accepted) {
  const ent_bytes b = test::read_bytes(p);
  const ent_ref r = ent_libjpeg(b);
  if (static_cast<double>(r.width) * r.height > 40e6) return;  // the caller's limits keep these away
  const bool clean = r.ok && r.warnings == 0;
  std::string why;
  const auto f = detail::entropy_decode(b, 1000, &why);
  if (clean) {
    EXPECT_TRUE(f.has_value()) << p << " declined: " << why;
  }
  if (f) {
    ++*accepted;
    EXPECT_TRUE(clean) << p << ": accepted, but libjpeg " << (r.ok ? "warns" : "fails");
    if (r.ok) EXPECT_TRUE(ent_same(*f, r)) << p;
  } else {
    EXPECT_FALSE(why.empty());
  }
}

TEST(EntropyDecode, EveryDataAndFacesJpegMatchesLibjpegOrIsDeclined) {
  int accepted = 0, files = 0;
  for (const auto& p : ent_jpegs_in(test::data_dir(), true)) {
    ent_check_file(p, &accepted);
    ++files;
  }
  EXPECT_GE(files, 40);
  EXPECT_GE(accepted, 20);  // every clean fixture and sample
  const auto faces = ent_jpegs_in(test::shared_dir() / "faces-dev", false);
  for (const auto& p : faces) ent_check_file(p, &accepted);
  if (faces.empty()) GTEST_SKIP() << "no faces-dev beside the checkout";
}

TEST(EntropyDecode, PhoneCorpusMatchesLibjpeg) {
  const auto files = ent_jpegs_in("/tmp/corpus2", false);
  if (files.empty()) GTEST_SKIP() << "/tmp/corpus2 not present";
  int accepted = 0;
  for (const auto& p : files) ent_check_file(p, &accepted);
  EXPECT_EQ(accepted, static_cast<int>(files.size()));
}

// Where the entropy-coded data of the first scan starts.
std::size_t ent_first_scan_data(const ent_bytes& b) {
  std::size_t p = 2;
  while (p + 4 <= b.size()) {
    const std::size_t len = static_cast<std::size_t>(b[p + 2]) << 8 | b[p + 3];
    if (b[p + 1] == 0xDA) return p + 2 + len;
    p += 2 + len;
  }
  return b.size();
}

TEST(EntropyDecode, EveryTruncationIsDeclined) {
  ent_enc e = ent_with(ent_layouts[0], 61, 43);
  const ent_bytes base = ent_encode(e);
  e.progressive = true;
  const ent_bytes prog = ent_encode(e);
  e.progressive = false;
  e.scans = ent_sa_script(3);
  e.restart = 2;
  const ent_bytes sa = ent_encode(e);
  for (const ent_bytes* b : {&base, &prog, &sa}) {
    ASSERT_TRUE(detail::entropy_decode(*b, 1000).has_value());
    for (std::size_t n = 0; n < b->size(); ++n) {
      const ent_bytes cut(b->begin(), b->begin() + static_cast<std::ptrdiff_t>(n));
      std::string why;
      EXPECT_FALSE(detail::entropy_decode(cut, 1000, &why).has_value()) << "accepted a prefix of " << n << " bytes";
      EXPECT_FALSE(why.empty());
    }
  }
}

TEST(EntropyDecode, FlippedEntropyBytesAreDeclinedOrCleanForLibjpeg) {
  std::mt19937 rng(12345);
  int declined = 0, trials = 0;
  for (int variant = 0; variant < 4; ++variant) {
    ent_enc e = ent_with(ent_layouts[variant % 2 == 0 ? 0 : 5], 77, 59);
    e.progressive = variant >= 2;
    e.restart = variant == 1 ? 2 : 0;
    if (variant == 3) e.scans = ent_sa_script(e.nc);
    const ent_bytes good = ent_encode(e);
    const std::size_t data = ent_first_scan_data(good);
    ASSERT_LT(data, good.size());
    for (int t = 0; t < 300; ++t) {
      ent_bytes b = good;
      const int flips = 1 + static_cast<int>(rng() % 3);
      for (int i = 0; i < flips; ++i) {
        const std::size_t at = data + rng() % (b.size() - 2 - data);  // keep EOI
        if (rng() % 4 == 0) b[at] = static_cast<std::uint8_t>(rng());
        else b[at] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
      }
      ++trials;
      if (!ent_check_consistent(b, "variant " + std::to_string(variant) + " trial " + std::to_string(t))) ++declined;
    }
  }
  EXPECT_GT(declined, trials / 2);  // most damage is caught
}

TEST(EntropyDecode, ArithmeticCodingIsDeclined) {
  ent_enc e = ent_with(ent_layouts[0], 40, 30);
  e.arith = true;
  const ent_bytes b = ent_encode(e);
  ASSERT_FALSE(b.empty());
  ASSERT_TRUE(ent_libjpeg(b).ok);  // a valid file libjpeg reads
  std::string why;
  EXPECT_FALSE(detail::entropy_decode(b, 1000, &why).has_value());
  EXPECT_FALSE(why.empty());
  e.progressive = true;
  EXPECT_FALSE(detail::entropy_decode(ent_encode(e), 1000).has_value());
}

TEST(EntropyDecode, ScanLimitAndScanCount) {
  ent_enc e = ent_with(ent_layouts[0], 40, 30);
  e.progressive = true;  // jpeg_simple_progression: 10 scans for YCbCr
  const ent_bytes b = ent_encode(e);
  std::string why;
  EXPECT_FALSE(detail::entropy_decode(b, 9, &why).has_value());
  EXPECT_EQ(why, "too many scans");
  const auto f = detail::entropy_decode(b, 10);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->scans, 10);
  EXPECT_TRUE(f->progressive);
  const auto g = detail::entropy_decode(ent_encode(ent_with(ent_layouts[0], 40, 30)), 1);
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(g->scans, 1);
  EXPECT_FALSE(g->progressive);
}

// Index of the first occurrence of marker `m` (FF m) in the header part.
std::size_t ent_find_marker(const ent_bytes& b, std::uint8_t m) {
  std::size_t p = 2;
  while (p + 4 <= b.size() && b[p] == 0xFF) {
    if (b[p + 1] == m) return p;
    if (b[p + 1] == 0xDA) break;
    p += 2 + (static_cast<std::size_t>(b[p + 2]) << 8 | b[p + 3]);
  }
  return std::string::npos;
}

TEST(EntropyDecode, MalformedStreamsAreDeclined) {
  ent_enc e = ent_with(ent_layouts[0], 48, 32);
  e.restart = 1;
  const ent_bytes good = ent_encode(e);
  ASSERT_TRUE(detail::entropy_decode(good, 100).has_value());
  const std::size_t sof = ent_find_marker(good, 0xC0);
  ASSERT_NE(sof, std::string::npos);
  auto declines = [](const ent_bytes& b, const char* what) {
    std::string why;
    EXPECT_FALSE(detail::entropy_decode(b, 100, &why).has_value()) << what;
    EXPECT_FALSE(why.empty()) << what;
  };
  {
    ent_bytes b = good;
    b[sof + 1] = 0xC3;  // lossless
    declines(b, "SOF3");
  }
  {
    ent_bytes b = good;
    b[sof + 4] = 12;  // 12-bit
    declines(b, "12-bit");
  }
  {
    ent_bytes b = good;
    b[sof + 5] = b[sof + 6] = 0;  // height 0: DNL
    declines(b, "height 0");
  }
  {
    ent_bytes b = good;
    b[sof + 7] = b[sof + 8] = 0;
    declines(b, "width 0");
  }
  {
    ent_bytes b = good;
    b[sof + 11] = 0x52;  // luma h=5
    declines(b, "sampling 5");
  }
  {
    ent_bytes b = good;
    b[sof + 11] = 0x44;  // 16 + 1 + 1 = 18 blocks per MCU
    declines(b, "MCU of 18 blocks");
  }
  {
    ent_bytes b(good.begin(), good.end() - 2);
    declines(b, "no EOI");
  }
  {
    ent_bytes b = good;
    b.erase(b.begin() + 2, b.begin() + 4);  // SOI not followed by a marker
    declines(b, "bytes after SOI");
  }
  {
    ent_bytes b = good;
    b[0] = 0;
    declines(b, "no SOI");
  }
  {
    ent_bytes b = good;
    b.insert(b.end() - 2, {0x12, 0x34});
    declines(b, "bytes before EOI");
  }
  {  // restart markers out of order
    ent_bytes b = good;
    std::size_t rst = ent_first_scan_data(b);
    while (rst + 1 < b.size() && !(b[rst] == 0xFF && b[rst + 1] == 0xD0)) ++rst;
    ASSERT_LT(rst + 1, b.size());
    b[rst + 1] = 0xD1;
    declines(b, "RST1 instead of RST0");
    b[rst + 1] = 0xD9;
    declines(b, "EOI instead of RST0");
  }
  {  // a missing restart marker
    ent_bytes b = good;
    std::size_t rst = ent_first_scan_data(b);
    while (rst + 1 < b.size() && !(b[rst] == 0xFF && b[rst + 1] == 0xD3)) ++rst;
    ASSERT_LT(rst + 1, b.size());
    b.erase(b.begin() + static_cast<std::ptrdiff_t>(rst), b.begin() + static_cast<std::ptrdiff_t>(rst) + 2);
    declines(b, "RST3 dropped");
  }
  {  // JFIF 2.x: libjpeg warns
    ent_bytes b = good;
    const std::size_t app0 = ent_find_marker(b, 0xE0);
    ASSERT_NE(app0, std::string::npos);
    b[app0 + 9] = 2;
    ASSERT_GT(ent_libjpeg(b).warnings, 0);
    declines(b, "JFIF 2.01");
  }
  {  // a scan with a component twice, or one not in the frame
    ent_bytes b = good;
    std::size_t sos = ent_first_scan_data(b);
    std::size_t p = 2;
    while (!(b[p] == 0xFF && b[p + 1] == 0xDA)) p += 2 + (static_cast<std::size_t>(b[p + 2]) << 8 | b[p + 3]);
    ASSERT_LT(p, sos);
    b[p + 7] = b[p + 5];
    declines(b, "component twice in a scan");
    b[p + 7] = 99;
    declines(b, "unknown component");
  }
  {  // the Huffman table a scan uses is missing
    ent_bytes b = good;
    const std::size_t dht = ent_find_marker(b, 0xC4);
    ASSERT_NE(dht, std::string::npos);
    b[dht + 1] = 0xFE;  // turn the DHT into a comment
    declines(b, "no DHT");
  }
  {  // an over-subscribed table (libjpeg: JERR_BAD_HUFF_TABLE)
    ent_bytes b = good;
    const std::size_t dht = ent_find_marker(b, 0xC4);
    b[dht + 5] = 3;  // three 1-bit codes
    declines(b, "bad Huffman table");
  }
}

// Every marker position (FF xx, xx not 00) after SOI, entropy data included.
std::vector<std::size_t> ent_markers(const ent_bytes& b) {
  std::vector<std::size_t> out;
  for (std::size_t p = 2; p + 1 < b.size(); ++p)
    if (b[p] == 0xFF && b[p + 1] != 0x00 && b[p + 1] != 0xFF) out.push_back(p);
  return out;
}

TEST(EntropyDecode, FillBytesAndStrayRestartMarkersAreAcceptedLikeLibjpeg) {
  ent_enc e = ent_with(ent_layouts[0], 53, 37);
  e.restart = 2;
  for (bool progressive : {false, true}) {
    e.progressive = progressive;
    const ent_bytes good = ent_encode(e);
    {  // FF fill bytes before every marker, RSTn and EOI included (B.1.1.2)
      ent_bytes b;
      std::size_t last = 0;
      for (std::size_t m : ent_markers(good)) {
        b.insert(b.end(), good.begin() + static_cast<std::ptrdiff_t>(last), good.begin() + static_cast<std::ptrdiff_t>(m));
        b.insert(b.end(), {0xFF, 0xFF});
        last = m;
      }
      b.insert(b.end(), good.begin() + static_cast<std::ptrdiff_t>(last), good.end());
      ASSERT_GT(b.size(), good.size() + 10);
      ent_expect_exact(b, progressive ? "progressive, fill bytes" : "baseline, fill bytes");
    }
    {  // a stray RST marker after the last scan: libjpeg skips it silently
      ent_bytes b = good;
      b.insert(b.end() - 2, {0xFF, 0xD5});
      ent_expect_exact(b, "stray RST5 before EOI");
    }
    {  // FF FF 00 inside entropy data: fill byte, then a stuffed FF (jdhuff.c jpeg_fill_bit_buffer)
      ent_bytes b = good;
      std::size_t at = ent_first_scan_data(b);
      while (at + 1 < b.size() && !(b[at] == 0xFF && b[at + 1] == 0x00)) ++at;
      if (at + 1 < b.size()) {
        b.insert(b.begin() + static_cast<std::ptrdiff_t>(at), 0xFF);
        EXPECT_TRUE(ent_check_consistent(b, "FF FF 00 in entropy data")) << "declined";
      }
    }
  }
}

TEST(EntropyDecode, DqtAfterTheFirstScanIsDeclined) {
  // Legal, but the caller takes its quantisation tables from libjpeg's
  // header, which ends at the first SOS; so this decoder hands such files back.
  ent_enc e = ent_with(ent_layouts[0], 40, 32);
  e.progressive = true;
  const ent_bytes good = ent_encode(e);
  const std::size_t dqt = ent_find_marker(good, 0xDB);
  ASSERT_NE(dqt, std::string::npos);
  const std::size_t len = 2 + (static_cast<std::size_t>(good[dqt + 2]) << 8 | good[dqt + 3]);
  const std::vector<std::size_t> m = ent_markers(good);
  std::size_t second_sos = 0;
  int sos_seen = 0;
  for (std::size_t p : m)
    if (good[p + 1] == 0xDA && ++sos_seen == 2) second_sos = p;
  ASSERT_GT(second_sos, 0u);
  ent_bytes b = good;
  b.insert(b.begin() + static_cast<std::ptrdiff_t>(second_sos), good.begin() + static_cast<std::ptrdiff_t>(dqt),
           good.begin() + static_cast<std::ptrdiff_t>(dqt + len));
  const ent_ref r = ent_libjpeg(b);
  ASSERT_TRUE(r.ok && r.warnings == 0);  // libjpeg takes it
  std::string why;
  EXPECT_FALSE(detail::entropy_decode(b, 100, &why).has_value());
  EXPECT_EQ(why, "DQT after the first scan");
}

TEST(EntropyDecode, BogusProgressionsAreDeclined) {
  const auto scan = ent_scan;
  ent_enc e = ent_with(ent_layouts[5], 40, 24);  // gray
  e.scans = {scan({0}, 0, 0, 0, 1), scan({0}, 1, 63, 0, 0), scan({0}, 0, 0, 1, 0)};
  const ent_bytes good = ent_encode(e);
  ent_expect_exact(good, "valid three-scan script");
  // Patch the scans' Ss/Se/Ah/Al bytes (libjpeg's encoder refuses to write bad scripts).
  std::vector<std::size_t> sos;
  for (std::size_t p = 2; p + 1 < good.size(); ++p)
    if (good[p] == 0xFF && good[p + 1] == 0xDA) sos.push_back(p);
  ASSERT_EQ(sos.size(), 3u);
  auto patched = [&](int scan_no, int Ss, int Se, int AhAl) {
    ent_bytes b = good;
    const std::size_t q = sos[static_cast<std::size_t>(scan_no)] + 7;  // FF DA len(2) Ns Cs Tda
    b[q] = static_cast<std::uint8_t>(Ss);
    b[q + 1] = static_cast<std::uint8_t>(Se);
    b[q + 2] = static_cast<std::uint8_t>(AhAl);
    return b;
  };
  struct bad_case {
    int scan, Ss, Se, AhAl;
    const char* what;
  };
  const bad_case cases[] = {
      {2, 0, 0, 0x21, "DC refinement with the wrong Ah"},
      {2, 0, 0, 0x00, "DC first scan again after Al=1"},
      {1, 1, 63, 0x10, "AC refinement with no first scan"},
      {1, 0, 63, 0x00, "DC band with Se != 0"},
      {1, 5, 4, 0x00, "Ss > Se"},
      {0, 0, 0, 0x0E, "Al = 14"},
      {0, 1, 63, 0x00, "AC before DC"},
  };
  for (const bad_case& c : cases) {
    const ent_bytes b = patched(c.scan, c.Ss, c.Se, c.AhAl);
    std::string why;
    const auto f = detail::entropy_decode(b, 100, &why);
    if (f) {  // only acceptable if libjpeg finds nothing wrong either
      ent_check_consistent(b, c.what);
      ADD_FAILURE() << c.what << ": accepted";
    }
    const ent_ref r = ent_libjpeg(b);
    EXPECT_TRUE(!r.ok || r.warnings > 0) << c.what << ": libjpeg has no complaint, the case is not bogus";
  }
}

// ---- dc_luma_proxy ---------------------------------------------------------

// libjpeg's own 1/8 grayscale decode (for a YCbCr file: its Y plane).
bool luma_eighth_phase(jpeg_decompress_struct* d, ent_jerr* err, const ent_bytes& b, std::vector<std::uint8_t>* px) {
  if (setjmp(err->jump)) return false;
  jpeg_create_decompress(d);
  jpeg_mem_src(d, b.data(), static_cast<unsigned long>(b.size()));
  jpeg_read_header(d, TRUE);
  d->out_color_space = JCS_GRAYSCALE;
  d->scale_num = 1;
  d->scale_denom = 8;
  jpeg_start_decompress(d);
  px->resize(static_cast<std::size_t>(d->output_width) * d->output_height);
  while (d->output_scanline < d->output_height) {
    JSAMPROW row = px->data() + static_cast<std::size_t>(d->output_scanline) * d->output_width;
    jpeg_read_scanlines(d, &row, 1);
  }
  jpeg_finish_decompress(d);
  return true;
}

TEST(CoefDecode, DcLumaProxyIsTheEighthScaleLuma) {
  std::vector<std::string> files(std::begin(coef_fixtures), std::end(coef_fixtures));
  for (const char* rel : {"faces-dev/fr_obama.jpg", "faces-dev/ocv_messi5.jpg"}) {
    const auto p = test::shared_dir() / rel;
    if (std::filesystem::exists(p)) files.push_back(p.string());
  }
  for (const std::string& rel : files) {
    const ent_bytes bytes = rel.front() == '/' ? test::read_bytes(rel) : load(rel);
    auto c = detail::read_coefficients(bytes, {});
    ASSERT_TRUE(c.ok()) << rel << ": " << describe(c);
    const image y = detail::dc_luma_proxy(*c);
    jpeg_decompress_struct d{};
    ent_jerr err{};
    d.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = ent_error_exit;
    err.pub.output_message = ent_silent;
    std::vector<std::uint8_t> ref;
    const bool ok = luma_eighth_phase(&d, &err, bytes, &ref);
    const int rw = static_cast<int>(d.output_width), rh = static_cast<int>(d.output_height);
    jpeg_destroy_decompress(&d);
    ASSERT_TRUE(ok) << rel;
    ASSERT_EQ(y.channels, 1) << rel;
    ASSERT_EQ(y.width, rw) << rel;
    ASSERT_EQ(y.height, rh) << rel;
    EXPECT_EQ(y.pixels, ref) << rel;
    // And it is the luma of dc_proxy's colour image, up to the rounding of
    // the colour conversion there and back.
    const image rgb = detail::dc_proxy(*c);
    double sum = 0;
    for (std::size_t i = 0; i < y.pixels.size(); ++i) {
      const std::uint8_t* q = rgb.pixels.data() + 3 * i;
      sum += std::abs(0.299 * q[0] + 0.587 * q[1] + 0.114 * q[2] - y.pixels[i]);
    }
    // Saturated colours clamp in RGB, which moves their gray a few levels.
    EXPECT_LT(sum / static_cast<double>(y.pixels.size()), 0.75) << rel;
  }
}

}  // namespace
}  // namespace kycprep

// ===========================================================================
// Kernels of the coefficient path (src/decode/coef_simd.hpp): the SSE2
// versions against the scalar ones on every input or on random and extreme
// ones, and the scalar ones against jdcolor.c's formulas and libjpeg's own
// jpeg_idct_islow. (On a build without SSE2 both names are the scalar code
// and the comparisons are trivially true; the libjpeg ones still hold.)
// ===========================================================================
#include <functional>

#include "decode/coef_simd.hpp"

// jdct.h's, exported by libjpeg-turbo: the C ISLOW IDCT (64-bit arithmetic,
// ISLOW_MULT_TYPE = short in its SIMD builds).
extern "C" void jpeg_idct_islow(j_decompress_ptr cinfo, jpeg_component_info* compptr, JCOEFPTR coef_block,
                                JSAMPARRAY output_buf, JDIMENSION output_col);

namespace kycprep {
namespace {

// jdcolor.c's build_ycc_rgb_table and ycc_rgb_convert, written out again.
void jdcolor_pixel(int y, int cb, int cr, std::uint8_t* out) {
  constexpr int scalebits = 16;
  const auto fix = [](double x) { return static_cast<std::int64_t>(x * (1 << scalebits) + 0.5); };
  const std::int64_t one_half = std::int64_t{1} << (scalebits - 1), xb = cb - 128, xr = cr - 128;
  const auto rshift = [](std::int64_t v) { return static_cast<int>(v >> scalebits); };  // arithmetic, as RIGHT_SHIFT
  const int r = y + rshift(fix(1.40200) * xr + one_half);
  const int b = y + rshift(fix(1.77200) * xb + one_half);
  const int g = y + rshift(-fix(0.34414) * xb + -fix(0.71414) * xr + one_half);
  out[0] = static_cast<std::uint8_t>(std::clamp(r, 0, 255));
  out[1] = static_cast<std::uint8_t>(std::clamp(g, 0, 255));
  out[2] = static_cast<std::uint8_t>(std::clamp(b, 0, 255));
}

TEST(CoefSimd, YccToRgbRowIsJdcolorForEveryYCbCr) {
  // All 2^24 (Y, Cb, Cr): one row of 65536 pixels (every Y, Cb) per Cr.
  constexpr int n = 256 * 256;
  std::vector<std::uint8_t> y(n), cb(n), cr(n), got(3 * n), scalar(3 * n), want(3 * n);
  for (int i = 0; i < n; ++i) {
    y[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(i & 255);
    cb[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(i >> 8);
  }
  int bad = 0;
  for (int c = 0; c < 256; ++c) {
    std::fill(cr.begin(), cr.end(), static_cast<std::uint8_t>(c));
    detail::ycc_to_rgb_row(y.data(), cb.data(), cr.data(), got.data(), n);
    detail::ycc_to_rgb_row_scalar(y.data(), cb.data(), cr.data(), scalar.data(), n);
    for (int i = 0; i < n; ++i)
      jdcolor_pixel(y[static_cast<std::size_t>(i)], cb[static_cast<std::size_t>(i)], c, want.data() + 3 * i);
    if (got != want || scalar != want) {
      for (int i = 0; i < n && bad < 5; ++i)
        if (std::memcmp(got.data() + 3 * i, want.data() + 3 * i, 3) != 0 ||
            std::memcmp(scalar.data() + 3 * i, want.data() + 3 * i, 3) != 0) {
          ADD_FAILURE() << "Y " << int{y[static_cast<std::size_t>(i)]} << " Cb " << int{cb[static_cast<std::size_t>(i)]}
                        << " Cr " << c;
          ++bad;
        }
      if (bad >= 5) return;
    }
  }
}

TEST(CoefSimd, YccToRgbRowHandlesEveryLengthAndWritesNoFurther) {
  std::mt19937 rng(7);
  std::vector<std::uint8_t> y(80), cb(80), cr(80);
  for (std::size_t i = 0; i < 80; ++i) {
    y[i] = static_cast<std::uint8_t>(rng());
    cb[i] = static_cast<std::uint8_t>(rng());
    cr[i] = static_cast<std::uint8_t>(rng());
  }
  for (int off = 0; off < 3; ++off)
    for (int n = 0; n <= 70; ++n) {
      std::vector<std::uint8_t> got(3 * 80 + 16, 0xA5), want(3 * 80 + 16, 0xA5);
      detail::ycc_to_rgb_row(y.data() + off, cb.data() + off, cr.data() + off, got.data() + 1, n);
      for (int i = 0; i < n; ++i) jdcolor_pixel(y[static_cast<std::size_t>(off + i)], cb[static_cast<std::size_t>(off + i)],
                                                cr[static_cast<std::size_t>(off + i)], want.data() + 1 + 3 * i);
      EXPECT_EQ(got, want) << "n " << n << " offset " << off;  // includes the untouched 0xA5 around the row
    }
}

TEST(CoefSimd, FancyUpsampleKernelsMatchScalar) {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 400; ++trial) {
    const int n = static_cast<int>(rng() % 90);
    const int kind = trial % 4;  // random, all 0, all 255, near/far extremes alternating
    std::vector<std::uint8_t> near(static_cast<std::size_t>(n) + 1), far(static_cast<std::size_t>(n) + 1);
    for (std::size_t i = 0; i < near.size(); ++i) {
      near[i] = static_cast<std::uint8_t>(kind == 0 ? rng() : kind == 1 ? 0 : kind == 2 ? 255 : (i % 2) * 255);
      far[i] = static_cast<std::uint8_t>(kind == 0 ? rng() : kind == 1 ? 0 : kind == 2 ? 255 : (i % 3 == 0) * 255);
    }
    for (bool v2 : {false, true}) {
      // Column sums: s[1 .. n] (s[0] and s[n + 1] are the replicated edges).
      std::vector<std::int16_t> s(static_cast<std::size_t>(n) + 2, -1), s_ref(s);
      detail::fancy_column_sums(near.data(), v2 ? far.data() : nullptr, n, s.data() + 1);
      detail::fancy_column_sums_scalar(near.data(), v2 ? far.data() : nullptr, n, s_ref.data() + 1);
      ASSERT_EQ(s, s_ref) << "n " << n << " v2 " << v2;
      for (int i = 0; i < n; ++i)
        ASSERT_EQ(s[static_cast<std::size_t>(i) + 1],
                  v2 ? 3 * near[static_cast<std::size_t>(i)] + far[static_cast<std::size_t>(i)] : near[static_cast<std::size_t>(i)]);
      if (n == 0) continue;
      s.front() = s[1];
      s.back() = s[static_cast<std::size_t>(n)];
      // Pairs over s[1 .. n - 1] (each reads one column either side).
      const int pairs = std::max(0, n - 2);
      std::vector<std::uint8_t> got(2 * static_cast<std::size_t>(pairs) + 4, 0xA5), want(got);
      detail::fancy_h2_pairs(s.data() + 2, pairs, v2, got.data() + 1);
      for (int k = 0; k < pairs; ++k) {  // jdsample.c's h2v1 / h2v2 fancy arithmetic
        const int c = s[static_cast<std::size_t>(k) + 2], l = s[static_cast<std::size_t>(k) + 1], r = s[static_cast<std::size_t>(k) + 3];
        want[2 * static_cast<std::size_t>(k) + 1] = static_cast<std::uint8_t>(v2 ? (3 * c + l + 8) >> 4 : (3 * c + l + 1) >> 2);
        want[2 * static_cast<std::size_t>(k) + 2] = static_cast<std::uint8_t>(v2 ? (3 * c + r + 7) >> 4 : (3 * c + r + 2) >> 2);
      }
      ASSERT_EQ(got, want) << "n " << n << " v2 " << v2 << " kind " << kind;
      std::vector<std::uint8_t> scalar(got.size(), 0xA5);
      detail::fancy_h2_pairs_scalar(s.data() + 2, pairs, v2, scalar.data() + 1);
      ASSERT_EQ(scalar, want);
    }
  }
}

// One IDCT into the middle of a canary-filled 12 x 10 area (stride 12), so
// that a write outside the 8 x 8 block shows.
std::vector<std::uint8_t> idct_into_canvas(bool simd, const std::int16_t* coef, const detail::idct_quant& q) {
  std::vector<std::uint8_t> canvas(120, 0xA5);
  (simd ? detail::idct_islow_8x8 : detail::idct_islow_8x8_scalar)(coef, q, canvas.data() + 12 + 2, 12);
  return canvas;
}

TEST(CoefSimd, IdctSimdMatchesScalarOnRandomAndExtremeBlocks) {
  std::mt19937 rng(2024);
  const auto pick = [&](int lo, int hi) { return lo + static_cast<int>(rng() % static_cast<unsigned>(hi - lo + 1)); };
  int checked = 0;
  for (int trial = 0; trial < 40000; ++trial) {
    // Quantisation tables: camera-like, any 8-bit, any 16-bit, all 1, all 255, all 65535, some zeros.
    std::array<std::uint16_t, 64> qv{};
    const int qkind = trial % 7;
    for (std::size_t k = 0; k < 64; ++k) {
      const int camera = 1 + static_cast<int>(k / 8 + k % 8) / 3;
      qv[k] = static_cast<std::uint16_t>(qkind == 0   ? camera
                                         : qkind == 1 ? pick(1, 255)
                                         : qkind == 2 ? pick(0, 65535)
                                         : qkind == 3 ? 1
                                         : qkind == 4 ? 255
                                         : qkind == 5 ? 65535
                                                      : (pick(0, 3) == 0 ? 0 : pick(1, 64)));
    }
    const detail::idct_quant q = detail::make_idct_quant(qv.data());
    // Coefficients: typical (small, sparse), up to the SIMD headroom, the
    // whole int16 range, and only the extremes.
    std::array<std::int16_t, 64> c{};
    const int ckind = (trial / 7) % 5;
    const int bound = ckind == 0 ? 64 : ckind == 1 ? 1024 : ckind == 2 ? 16383 : 32767;
    for (std::size_t k = 0; k < 64; ++k) {
      if (ckind == 4) {
        const int e = pick(0, 4);
        c[k] = static_cast<std::int16_t>(e == 0 ? -32768 : e == 1 ? 32767 : e == 2 ? -32767 : e == 3 ? 0 : pick(-2, 2));
      } else if (ckind == 2) {  // around |c q| = 16383, the edge of the SIMD range
        const int lim = qv[k] == 0 ? 16383 : 16383 / std::max<int>(1, qv[k] > 32767 ? qv[k] - 65536 : qv[k]);
        c[k] = static_cast<std::int16_t>(std::clamp(pick(-lim - 2, lim + 2), -32768, 32767));
      } else {
        const bool zero = k != 0 && pick(0, 2) != 0;
        c[k] = zero ? 0 : static_cast<std::int16_t>(pick(-bound, bound) / (ckind == 0 ? 1 + static_cast<int>(k) / 4 : 1));
      }
    }
    const auto got = idct_into_canvas(true, c.data(), q), want = idct_into_canvas(false, c.data(), q);
    ASSERT_EQ(got, want) << "trial " << trial << " quant kind " << qkind << " coefficient kind " << ckind;
    ++checked;
  }
  EXPECT_EQ(checked, 40000);
}

// libjpeg's C IDCT on one block: a decompressor started on a fixture gives
// it the range-limit table; the component's dct_table is ours.
bool libjpeg_idct_phase(jpeg_decompress_struct* d, ent_jerr* err, const ent_bytes& b, const std::int16_t* coef,
                        const std::int16_t* dct_table, std::uint8_t* out) {
  if (setjmp(err->jump)) return false;
  if (d->global_state == 0) {
    jpeg_create_decompress(d);
    jpeg_mem_src(d, b.data(), static_cast<unsigned long>(b.size()));
    jpeg_read_header(d, TRUE);
    jpeg_start_decompress(d);
  }
  jpeg_component_info comp = d->comp_info[0];
  comp.dct_table = const_cast<std::int16_t*>(dct_table);
  JCOEF block[64];
  std::memcpy(block, coef, sizeof block);
  JSAMPROW rows[8];
  for (int r = 0; r < 8; ++r) rows[r] = out + 8 * r;
  jpeg_idct_islow(d, &comp, block, rows, 0);
  return true;
}

TEST(CoefSimd, IdctIsLibjpegsJpegIdctIslow) {
  // Every block of two fixtures with their own tables, then random blocks
  // whose values keep libjpeg's 64-bit arithmetic within our 32 bits.
  const ent_bytes host = load("fixtures/jpeg/baseline_420.jpg");
  jpeg_decompress_struct d{};
  ent_jerr err{};
  d.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = ent_error_exit;
  err.pub.output_message = ent_silent;
  const auto run = [&](const std::int16_t* coef, const std::uint16_t* qv) -> ::testing::AssertionResult {
    std::int16_t table[64];
    for (int k = 0; k < 64; ++k) table[k] = static_cast<std::int16_t>(qv[k]);
    std::uint8_t want[64];
    if (!libjpeg_idct_phase(&d, &err, host, coef, table, want)) return ::testing::AssertionFailure() << "libjpeg failed";
    const detail::idct_quant q = detail::make_idct_quant(qv);
    for (bool simd : {false, true}) {
      std::uint8_t got[64];
      (simd ? detail::idct_islow_8x8 : detail::idct_islow_8x8_scalar)(coef, q, got, 8);
      if (std::memcmp(got, want, 64) != 0) return ::testing::AssertionFailure() << (simd ? "SSE2" : "scalar") << " differs";
    }
    return ::testing::AssertionSuccess();
  };
  int blocks = 0;
  for (const char* rel : {"samples/astronaut_portrait.jpg", "fixtures/jpeg/progressive_420.jpg"}) {
    const ent_bytes b = load(rel);
    const ent_ref r = ent_libjpeg(b);
    ASSERT_TRUE(r.ok) << rel;
    // The quantisation tables, from libjpeg's header parse.
    jpeg_decompress_struct h{};
    ent_jerr herr{};
    h.err = jpeg_std_error(&herr.pub);
    herr.pub.error_exit = ent_error_exit;
    jvirt_barray_ptr* unused = nullptr;
    ASSERT_TRUE(ent_read_phase(&h, &herr, b, &unused));
    for (std::size_t ci = 0; ci < r.comps.size(); ++ci) {
      const std::uint16_t* qv = h.comp_info[ci].quant_table->quantval;
      const auto& coef = r.comps[ci].coef;
      for (std::size_t i = 0; i < coef.size(); i += 64, ++blocks) ASSERT_TRUE(run(coef.data() + i, qv)) << rel << " block " << i / 64;
    }
    jpeg_destroy_decompress(&h);
  }
  EXPECT_GT(blocks, 1000);
  std::mt19937 rng(5);
  for (int trial = 0; trial < 20000; ++trial) {
    std::array<std::uint16_t, 64> qv{};
    std::array<std::int16_t, 64> c{};
    for (std::size_t k = 0; k < 64; ++k) {
      qv[k] = static_cast<std::uint16_t>(trial % 3 == 0 ? 65535 - rng() % 4 : 1 + rng() % 255);  // 65532..65535: libjpeg's -4..-1
      const int lim = std::max(1, 200 / std::abs(static_cast<std::int16_t>(qv[k])));
      c[k] = static_cast<std::int16_t>(static_cast<int>(rng() % static_cast<unsigned>(2 * lim + 1)) - lim);
    }
    ASSERT_TRUE(run(c.data(), qv.data())) << "trial " << trial;
  }
  jpeg_destroy_decompress(&d);
}

}  // namespace
}  // namespace kycprep

namespace kycprep {
namespace {

// `jpeg` with every DQT table rewritten as 16-bit (Pq = 1) entries value(k),
// k in zigzag order; empty if the markers before SOS do not parse.
ent_bytes with_16bit_tables(const ent_bytes& jpeg, const std::function<std::uint16_t(int)>& value) {
  ent_bytes out(jpeg.begin(), jpeg.begin() + 2);
  std::size_t i = 2;
  while (i + 4 <= jpeg.size() && jpeg[i] == 0xFF) {
    const int marker = jpeg[i + 1];
    const std::size_t len = static_cast<std::size_t>(jpeg[i + 2]) << 8 | jpeg[i + 3];
    if (marker == 0xDA) {  // SOS: the rest as it is
      out.insert(out.end(), jpeg.begin() + static_cast<std::ptrdiff_t>(i), jpeg.end());
      return out;
    }
    if (i + 2 + len > jpeg.size()) return {};
    if (marker != 0xDB) {
      out.insert(out.end(), jpeg.begin() + static_cast<std::ptrdiff_t>(i), jpeg.begin() + static_cast<std::ptrdiff_t>(i + 2 + len));
    } else {
      ent_bytes body;
      for (std::size_t p = i + 4; p < i + 2 + len;) {
        const int pq = jpeg[p] >> 4, tq = jpeg[p] & 15;
        body.push_back(static_cast<std::uint8_t>(0x10 | tq));
        for (int k = 0; k < 64; ++k) {
          body.push_back(static_cast<std::uint8_t>(value(k) >> 8));
          body.push_back(static_cast<std::uint8_t>(value(k) & 255));
        }
        p += 1 + 64 * (pq + 1);
      }
      const std::size_t n = body.size() + 2;
      out.insert(out.end(), {0xFF, 0xDB, static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n & 255)});
      out.insert(out.end(), body.begin(), body.end());
    }
    i += 2 + len;
  }
  return {};
}

TEST(CoefSimd, QuantEntriesAbove32767MultiplyAsLibjpegTurbo) {
  // 65535, 65534, 65533 are -1, -2, -3 in libjpeg-turbo's short dct_table:
  // small products, on which its C and SIMD IDCTs agree, and so must we.
  for (const char* rel : {"fixtures/jpeg/baseline_420.jpg", "fixtures/jpeg/baseline_444.jpg", "fixtures/jpeg/gray.jpg"}) {
    const ent_bytes b = with_16bit_tables(load(rel), [](int k) { return static_cast<std::uint16_t>(65535 - k % 3); });
    ASSERT_FALSE(b.empty()) << rel;
    auto c = detail::read_coefficients(b, {});
    ASSERT_TRUE(c.ok()) << rel << ": " << describe(c);
    for (int d : {1, 2, 4, 8}) {
      decode_request req;
      req.scale_denom = d;
      auto full = decode(b, {}, req);
      ASSERT_TRUE(full.ok()) << rel << ": " << describe(full);
      const coef_diff diff = coef_vs_full(*c, *full, {0, 0, c->width(), c->height()}, d);
      EXPECT_EQ(diff.max, 0) << rel << " 1/" << d;
    }
    if (c->components() == 3) {
      const image proxy = detail::dc_proxy(*c);
      decode_request req;
      req.scale_denom = 8;
      auto eighth = decode(b, {}, req);
      ASSERT_TRUE(eighth.ok());
      EXPECT_EQ(max_abs_diff(proxy, eighth->pixels), 0) << rel << " dc_proxy";
    }
  }
}

}  // namespace
}  // namespace kycprep

namespace kycprep {
namespace {

TEST(CoefSimd, RealPhotosDecodeExactlyAsLibjpeg) {
  // Camera and web JPEGs (faces-dev), whole image at full scale and 1/2:
  // every kernel on real data, against libjpeg's decode.
  const auto dir = test::shared_dir() / "faces-dev";
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << "no " << dir;
  int decoded_files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string ext = entry.path().extension().string();
    if (ext != ".jpg" && ext != ".jpeg") continue;
    const auto bytes = test::read_bytes(entry.path());
    auto c = detail::read_coefficients(bytes, {});
    // Skipped: layouts the coefficient path leaves to libjpeg, and embedded
    // ICC profiles (decode() converts those to sRGB, decode_region does not).
    if (!c.ok() || !c->icc_profile().empty()) continue;
    for (int d : {1, 2}) {
      decode_request req;
      req.scale_denom = d;
      auto full = decode(bytes, {}, req);
      ASSERT_TRUE(full.ok()) << entry.path() << ": " << describe(full);
      const coef_diff diff = coef_vs_full(*c, *full, {0, 0, c->width(), c->height()}, d);
      EXPECT_EQ(diff.max, 0) << entry.path() << " 1/" << d;
    }
    ++decoded_files;
  }
  EXPECT_GE(decoded_files, 10);
}

}  // namespace
}  // namespace kycprep


namespace kycprep {
namespace {

// The MCU padding blocks that no scan codes (right of width_in_blocks and
// below height_in_blocks in a non-interleaved scan) must be zero.
::testing::AssertionResult ent_padding_zero(const detail::coef_frame& f) {
  for (std::size_t c = 0; c < f.planes.size(); ++c) {
    const auto& p = f.planes[c];
    for (int by = 0; by < p.rows_blocks; ++by)
      for (int bx = 0; bx < p.stride_blocks; ++bx) {
        if (bx < p.width_in_blocks && by < p.height_in_blocks) continue;
        const std::int16_t* b = p.block(bx, by);
        for (int k = 0; k < 64; ++k)
          if (b[k] != 0) return ::testing::AssertionFailure() << "component " << c << " padding block (" << bx << "," << by << ") not zero";
      }
  }
  return ::testing::AssertionSuccess();
}

// A pool hands a frame's arrays back to the next frame. The recycled memory
// still holds the last frame's values (here scribbled over), so this also
// checks that a sequential decode writes every block, padding included
// (an interleaved scan codes the MCUs' dummy blocks; a non-interleaved one
// leaves them zero), as the arrays are no longer zeroed when allocated.
TEST(CoefPool, ArraysAreReusedAndEveryBlockIsRewritten) {
  ent_enc e = ent_with(ent_layouts[0], 101, 77);  // 4:2:0, MCU padding on both axes
  const ent_bytes interleaved = ent_encode(e);
  e.scans = {ent_seq_scan({0}), ent_seq_scan({1}), ent_seq_scan({2})};        // non-interleaved: padding blocks never coded
  const ent_bytes separate = ent_encode(e);
  for (const ent_bytes* b : {&interleaved, &separate}) {
    const ent_ref r = ent_libjpeg(*b);
    ASSERT_TRUE(r.ok);
    const auto fresh = detail::entropy_decode(*b, 1000);  // from the heap
    ASSERT_TRUE(fresh.has_value());
    const auto same_arrays = [&](const detail::coef_frame& f) {
      for (std::size_t c = 0; c < f.planes.size(); ++c)
        if (!(f.planes[c].coef == fresh->planes[c].coef)) return false;
      return true;
    };
    if (b == &separate) EXPECT_TRUE(ent_padding_zero(*fresh));
    detail::coef_pool pool(64u << 20);
    std::set<const std::int16_t*> first;
    std::size_t bytes = 0;
    {
      auto f = detail::entropy_decode(*b, 1000, nullptr, std::size_t{1} << 32, detail::entropy_isa::best, &pool);
      ASSERT_TRUE(f.has_value());
      EXPECT_TRUE(ent_same(*f, r));
      EXPECT_TRUE(same_arrays(*f));
      EXPECT_EQ(pool.retained_bytes(), 0u);  // every array is out
      for (auto& p : f->planes) {
        first.insert(p.coef.data());
        bytes += p.coef.size() * sizeof(std::int16_t);
        std::memset(p.coef.data(), 0x5A, p.coef.size() * sizeof(std::int16_t));
      }
    }
    EXPECT_EQ(pool.retained_bytes(), bytes);  // all back
    {
      auto f = detail::entropy_decode(*b, 1000, nullptr, std::size_t{1} << 32, detail::entropy_isa::baseline, &pool);
      ASSERT_TRUE(f.has_value());
      EXPECT_TRUE(ent_same(*f, r));
      EXPECT_TRUE(same_arrays(*f));  // every block rewritten, padding included
      for (const auto& p : f->planes) EXPECT_EQ(first.count(p.coef.data()), 1u) << "a new array instead of a kept one";
    }
    pool.set_limit(bytes - 1);  // the smallest array goes, the others stay
    EXPECT_LT(pool.retained_bytes(), bytes);
    EXPECT_GT(pool.retained_bytes(), 0u);
    pool.clear();
    EXPECT_EQ(pool.retained_bytes(), 0u);
  }
}

// A pool keeps at most its limit, and the largest arrays first.
TEST(CoefPool, KeepsTheLargestArraysWithinItsLimit) {
  detail::coef_pool pool(1000 * sizeof(std::int16_t));
  {
    auto a = pool.take(100), b = pool.take(600), c = pool.take(300), d = pool.take(2000);
    EXPECT_EQ(a.size(), 100u);
    EXPECT_EQ(d.size(), 2000u);
  }  // 2000 alone is above the limit: freed; then 600 + 300 + 100 fit
  EXPECT_EQ(pool.retained_bytes(), 1000 * sizeof(std::int16_t));
  auto e = pool.take(250);  // the smallest kept one large enough: 300
  EXPECT_EQ(pool.retained_bytes(), 700 * sizeof(std::int16_t));
  EXPECT_EQ(e.size(), 250u);
  {
    auto f = pool.take(900);  // none large enough: new
    EXPECT_EQ(pool.retained_bytes(), 700 * sizeof(std::int16_t));
  }  // 900 back: it displaces the smaller 600 and 100 to stay within 1000
  EXPECT_EQ(pool.retained_bytes(), 900 * sizeof(std::int16_t));
}

}  // namespace
}  // namespace kycprep
