// Output-size planning (exhaustive, no images) and the resampler.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "kycprep/resize.hpp"

using namespace kycprep;

namespace {

// Checks every rule plan_output promises for one crop.
void check_plan(rect crop, int S, const output_bounds& b) {
  auto p = plan_output(crop, S, b);
  ASSERT_TRUE(p.ok()) << crop.w << "x" << crop.h << ": " << p.error().message;
  const output_plan& o = p.value();
  // Short side is exactly S.
  EXPECT_EQ(std::min(o.out_w, o.out_h), S) << crop.w << "x" << crop.h;
  // Within the API bounds (height x width).
  EXPECT_GE(o.out_h, b.min_h);
  EXPECT_GE(o.out_w, b.min_w);
  EXPECT_LE(o.out_h, b.max_h);
  EXPECT_LE(o.out_w, b.max_w);
  // Orientation of the frame is kept.
  if (crop.h > crop.w) EXPECT_GE(o.out_h, o.out_w) << crop.w << "x" << crop.h;
  if (crop.w > crop.h) EXPECT_GE(o.out_w, o.out_h) << crop.w << "x" << crop.h;
  // The planned crop lies inside the original crop, centred, trimmed on the long axis only.
  EXPECT_GE(o.crop.x, crop.x);
  EXPECT_GE(o.crop.y, crop.y);
  EXPECT_LE(o.crop.x + o.crop.w, crop.x + crop.w);
  EXPECT_LE(o.crop.y + o.crop.h, crop.y + crop.h);
  if (!o.trimmed) {
    EXPECT_EQ(o.crop, crop);
  } else if (crop.h >= crop.w) {
    EXPECT_EQ(o.crop.w, crop.w);
    EXPECT_LE(std::abs((o.crop.y - crop.y) - (crop.y + crop.h - o.crop.y - o.crop.h)), 1);
  } else {
    EXPECT_EQ(o.crop.h, crop.h);
    EXPECT_LE(std::abs((o.crop.x - crop.x) - (crop.x + crop.w - o.crop.x - o.crop.w)), 1);
  }
  // Aspect ratio of the planned crop is preserved by the output within one output pixel.
  const double sx = static_cast<double>(o.out_w) / o.crop.w, sy = static_cast<double>(o.out_h) / o.crop.h;
  EXPECT_NEAR(o.crop.h * sx, o.out_h, 1.0 + sx) << crop.w << "x" << crop.h;
  EXPECT_NEAR(o.crop.w * sy, o.out_w, 1.0 + sy) << crop.w << "x" << crop.h;
}

}  // namespace

TEST(plan_output, exhaustive_small_and_large_crops) {
  const output_bounds b;
  for (int w = 1; w <= 160; ++w)
    for (int h = 1; h <= 160; ++h) check_plan({0, 0, w, h}, 720, b);
  for (int w = 100; w <= 10000; w += 97)
    for (int h = 100; h <= 10000; h += 89) check_plan({w / 7, h / 5, w, h}, 720, b);
}

TEST(plan_output, phone_photos) {
  auto p = plan_output({0, 0, 3024, 4032}, 720);  // portrait 3:4
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->out_w, 720);
  EXPECT_EQ(p->out_h, 960);
  EXPECT_FALSE(p->trimmed);
  auto l = plan_output({0, 0, 4032, 3024}, 720);  // landscape 4:3 fits 720 x 960 (HxW)
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->out_w, 960);
  EXPECT_EQ(l->out_h, 720);
  EXPECT_FALSE(l->trimmed);
}

TEST(plan_output, wide_landscape_is_trimmed_to_max_width) {
  auto p = plan_output({0, 0, 1920, 1080}, 720);  // 16:9 would be 1280 wide
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->trimmed);
  EXPECT_EQ(p->out_w, 1080);
  EXPECT_EQ(p->out_h, 720);
  EXPECT_EQ(p->crop.h, 1080);
  EXPECT_EQ(p->crop.w, 1620);
  EXPECT_EQ(p->crop.x, 150);
}

TEST(plan_output, tall_portrait_is_trimmed_to_max_height) {
  auto p = plan_output({0, 0, 1000, 5000}, 720);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->trimmed);
  EXPECT_EQ(p->out_h, 1920);
  EXPECT_EQ(p->out_w, 720);
}

TEST(plan_output, rejects_impossible_requests) {
  EXPECT_EQ(plan_output({0, 0, 0, 10}, 720).error().code, error_code::invalid_options);
  EXPECT_EQ(plan_output({0, 0, 10, 10}, 0).error().code, error_code::invalid_options);
  // A short side of 1200 cannot fit a width of at most 1080.
  EXPECT_EQ(plan_output({0, 0, 3000, 4000}, 1200).error().code, error_code::invalid_options);
  // A square at 600 would be 600 high, below the 640 minimum height.
  EXPECT_EQ(plan_output({0, 0, 1000, 1000}, 600).error().code, error_code::invalid_options);
}

TEST(shrink_on_load_denom, picks_coarsest_scale_with_headroom) {
  for (int region = 1; region <= 12000; ++region)
    for (double headroom : {1.0, 1.2, 1.5, 2.0}) {
      const int d = shrink_on_load_denom(region, 720, headroom);
      ASSERT_TRUE(d == 1 || d == 2 || d == 4 || d == 8);
      if (d > 1) EXPECT_GE((region + d - 1) / d, headroom * 720) << region;
      if (d < 8) {  // the next coarser scale would not leave enough headroom
        const int next = d * 2;
        EXPECT_LT((region + next - 1) / next, headroom * 720) << region << " d=" << d;
      }
    }
  EXPECT_EQ(shrink_on_load_denom(3024, 720, 1.5), 2);
  EXPECT_EQ(shrink_on_load_denom(3024, 720, 1.0), 4);
  EXPECT_EQ(shrink_on_load_denom(500, 720, 1.5), 1);
}

TEST(resize, exact_size_and_area_average_when_shrinking) {
  image src;
  src.width = 8;
  src.height = 4;
  src.channels = 1;
  src.pixels.resize(32);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 8; ++x) src.pixels[static_cast<std::size_t>(y * 8 + x)] = static_cast<std::uint8_t>((x % 2) * 200);
  image out = resize(src.view(), 4, 2);
  ASSERT_EQ(out.width, 4);
  ASSERT_EQ(out.height, 2);
  // 2x2 area average of columns 0 and 200 is 100 everywhere: no aliasing.
  for (auto v : out.pixels) EXPECT_EQ(v, 100);
}

TEST(resize, enlarging_keeps_flat_colour_and_size) {
  image src;
  src.width = 10;
  src.height = 6;
  src.channels = 3;
  src.pixels.assign(src.stride() * 6, 77);
  image out = resize(src.view(), 25, 15);
  ASSERT_EQ(out.pixels.size(), 25u * 15u * 3u);
  for (auto v : out.pixels) EXPECT_EQ(v, 77);
}

TEST(resize, area_filter_is_the_exact_area_mean) {
  // Non-integer ratios, as after DCT shrink-on-load; compare with a direct
  // computation of the exact area mean for a few pixels, and check the mean.
  image src;
  src.width = 871;
  src.height = 1163;
  src.channels = 3;
  src.pixels.resize(src.stride() * static_cast<std::size_t>(src.height));
  for (std::size_t i = 0; i < src.pixels.size(); ++i) src.pixels[i] = static_cast<std::uint8_t>((i * 2654435761u) >> 24);
  image out = resize(src.view(), 720, 960);
  ASSERT_EQ(out.width, 720);
  ASSERT_EQ(out.height, 960);
  const double sx = 871.0 / 720, sy = 1163.0 / 960;
  for (int y : {0, 1, 479, 958, 959})
    for (int x : {0, 1, 359, 718, 719})
      for (int c = 0; c < 3; ++c) {
        // Exact area mean of [x*sx, (x+1)*sx) x [y*sy, (y+1)*sy).
        double sum = 0, area = 0;
        for (int j = static_cast<int>(y * sy); j < std::min(1163, static_cast<int>(std::ceil((y + 1) * sy))); ++j)
          for (int i = static_cast<int>(x * sx); i < std::min(871, static_cast<int>(std::ceil((x + 1) * sx))); ++i) {
            const double wy = std::min<double>(j + 1, (y + 1) * sy) - std::max<double>(j, y * sy);
            const double wx = std::min<double>(i + 1, (x + 1) * sx) - std::max<double>(i, x * sx);
            sum += wx * wy * src.pixels[(static_cast<std::size_t>(j) * 871 + i) * 3 + c];
            area += wx * wy;
          }
        EXPECT_NEAR(out.pixels[(static_cast<std::size_t>(y) * 720 + x) * 3 + c], sum / area, 1.0) << x << "," << y;
      }
}
