// The JPEG encoder: quality floor, byte budget, no metadata, determinism.
#include <gtest/gtest.h>

#include <random>

#include "jpeg_markers.hpp"
#include "kycprep/decode.hpp"
#include "kycprep/encode.hpp"

using namespace kycprep;

namespace {

image noisy_image(int w, int h, unsigned seed, int amplitude) {
  image img;
  img.width = w;
  img.height = h;
  img.channels = 3;
  img.pixels.resize(img.stride() * static_cast<std::size_t>(h));
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> noise(-amplitude, amplitude);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) {
        const int base = (x * 255 / w + y * 127 / h + c * 60) % 256;
        img.pixels[(static_cast<std::size_t>(y) * w + x) * 3 + c] =
            static_cast<std::uint8_t>(std::clamp(base + noise(rng), 0, 255));
      }
  return img;
}

}  // namespace

TEST(encode, default_quality_and_baseline_420_without_metadata) {
  image img = noisy_image(720, 960, 1, 10);
  auto r = encode_jpeg(img.view());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->quality, 92);
  const auto m = test::jpeg_markers(r->jpeg);
  EXPECT_TRUE(m.valid);
  EXPECT_FALSE(m.has_exif);
  EXPECT_FALSE(m.has_xmp);
  EXPECT_FALSE(m.has_icc);
  EXPECT_FALSE(m.has_comment);
  EXPECT_FALSE(m.has_other_app);  // only JFIF APP0
  EXPECT_EQ(m.sof, 0xC0);         // baseline
  auto h = read_header(r->jpeg);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->subsampling, "4:2:0");
  EXPECT_FALSE(h->progressive);
  EXPECT_EQ(h->width, 720);
  EXPECT_EQ(h->height, 960);
}

TEST(encode, same_pixels_same_bytes) {
  image img = noisy_image(300, 400, 7, 30);
  auto a = encode_jpeg(img.view());
  auto b = encode_jpeg(img.view());
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->jpeg, b->jpeg);
}

TEST(encode, standard_huffman_tables_unless_asked_or_needed) {
  image img = noisy_image(720, 960, 3, 60);
  auto standard = encode_jpeg(img.view());
  ASSERT_TRUE(standard.ok());
  EXPECT_FALSE(standard->optimized_huffman);
  encode_options always;
  always.optimize_huffman = true;
  auto optimized = encode_jpeg(img.view(), always);
  ASSERT_TRUE(optimized.ok());
  EXPECT_TRUE(optimized->optimized_huffman);
  EXPECT_EQ(optimized->quality, 92);
  EXPECT_LT(optimized->jpeg.size(), standard->jpeg.size());
  // Same coefficients, other tables: the pixels decode identically.
  auto a = decode(standard->jpeg);
  auto b = decode(optimized->jpeg);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->pixels.pixels, b->pixels.pixels);
}

TEST(encode, optimised_tables_then_lower_quality_to_meet_budget_but_never_below_min) {
  image img = noisy_image(720, 960, 3, 60);
  auto size_at = [&](int q, bool optimize) {
    encode_options o{q, q, 0, optimize};
    auto r = encode_jpeg(img.view(), o);
    EXPECT_TRUE(r.ok());
    return r.ok() ? r->jpeg.size() : 0;
  };
  const std::size_t std92 = size_at(92, false), opt92 = size_at(92, true), opt91 = size_at(91, true);
  ASSERT_LT(opt92, std92);
  ASSERT_LT(opt91, opt92);
  // Just under the standard-table size: optimised tables keep quality 92.
  auto tables = encode_jpeg(img.view(), {92, 91, std92 - 1});
  ASSERT_TRUE(tables.ok());
  EXPECT_EQ(tables->quality, 92);
  EXPECT_TRUE(tables->optimized_huffman);
  EXPECT_EQ(tables->jpeg.size(), opt92);
  // Under the optimised q92 size: quality steps down to 91.
  auto mid = encode_jpeg(img.view(), {92, 91, opt92 - 1});
  ASSERT_TRUE(mid.ok());
  EXPECT_EQ(mid->quality, 91);
  EXPECT_LE(mid->jpeg.size(), opt92 - 1);
  // Below the smallest q91 file: over_budget, never a lower quality.
  auto over = encode_jpeg(img.view(), {92, 91, opt91 - 1});
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code, error_code::over_budget);
  EXPECT_EQ(over.error().where, stage::encode);
}

TEST(encode, rejects_quality_below_91) {
  image img = noisy_image(64, 64, 1, 5);
  EXPECT_EQ(encode_jpeg(img.view(), {90, 90, 0}).error().code, error_code::invalid_options);
  EXPECT_EQ(encode_jpeg(img.view(), {92, 85, 0}).error().code, error_code::invalid_options);
  EXPECT_EQ(encode_jpeg(img.view(), {101, 91, 0}).error().code, error_code::invalid_options);
  EXPECT_EQ(encode_jpeg(image_view{}, {}).error().code, error_code::invalid_options);
}
