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
