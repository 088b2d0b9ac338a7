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

TEST(encode, lowers_quality_to_meet_budget_but_never_below_min) {
  image img = noisy_image(720, 960, 3, 60);
  auto free = encode_jpeg(img.view(), {92, 91, 0});
  ASSERT_TRUE(free.ok());
  auto q91 = encode_jpeg(img.view(), {91, 91, 0});
  ASSERT_TRUE(q91.ok());
  ASSERT_LT(q91->jpeg.size(), free->jpeg.size());
  // A budget between the q91 and q92 sizes: quality steps down to 91.
  auto mid = encode_jpeg(img.view(), {92, 91, free->jpeg.size() - 1});
  ASSERT_TRUE(mid.ok());
  EXPECT_EQ(mid->quality, 91);
  EXPECT_LE(mid->jpeg.size(), free->jpeg.size() - 1);
  // A budget below the q91 size: over_budget, never a lower quality.
  auto over = encode_jpeg(img.view(), {92, 91, q91->jpeg.size() - 1});
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
