// Output-size planning (exhaustive, no images) and the resampler.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "kycprep/resize.hpp"
#include "resize/area.hpp"

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

// The area downscaler itself (resize/area.hpp), against an independent
// double-precision computation of the exact area mean.
namespace {

image noise(int w, int h, int channels, std::uint32_t seed) {
  image img;
  img.width = w;
  img.height = h;
  img.channels = channels;
  img.pixels.resize(img.stride() * static_cast<std::size_t>(h));
  std::uint32_t s = seed * 2654435761u + 1;
  for (auto& v : img.pixels) {
    s ^= s << 13;
    s ^= s >> 17;
    s ^= s << 5;
    v = static_cast<std::uint8_t>(s >> 24);
  }
  return img;
}

// Box weights along one axis: how much of [o*s, (o+1)*s) each source sample
// covers, over s (s = src / dst), from the real-number geometry.
std::vector<std::vector<std::pair<int, double>>> box_weights(int src, int dst) {
  std::vector<std::vector<std::pair<int, double>>> w(static_cast<std::size_t>(dst));
  const double s = static_cast<double>(src) / dst;
  for (int o = 0; o < dst; ++o) {
    const double a = o * s, b = std::min<double>(src, (o + 1) * s);
    for (int i = static_cast<int>(std::floor(a)); i < src && i < b; ++i) {
      const double cover = std::min<double>(i + 1, b) - std::max<double>(i, a);
      if (cover > 0) w[static_cast<std::size_t>(o)].emplace_back(i, cover / s);
    }
  }
  return w;
}

// The exact area mean of every output sample, separably in double.
std::vector<double> area_reference(const image& src, int dw, int dh) {
  const int C = src.channels;
  const auto wy = box_weights(src.height, dh), wx = box_weights(src.width, dw);
  std::vector<double> out(static_cast<std::size_t>(dw) * dh * C), row(src.stride());
  for (int y = 0; y < dh; ++y) {
    std::fill(row.begin(), row.end(), 0.0);
    for (auto [j, wj] : wy[static_cast<std::size_t>(y)]) {
      const std::uint8_t* in = src.pixels.data() + static_cast<std::size_t>(j) * src.stride();
      for (std::size_t i = 0; i < row.size(); ++i) row[i] += wj * in[i];
    }
    for (int x = 0; x < dw; ++x)
      for (int c = 0; c < C; ++c) {
        double sum = 0;
        for (auto [i, wi] : wx[static_cast<std::size_t>(x)]) sum += wi * row[static_cast<std::size_t>(i * C + c)];
        out[(static_cast<std::size_t>(y) * dw + x) * C + c] = sum;
      }
  }
  return out;
}

image downscale(const image& src, int dw, int dh, detail::area_isa isa) {
  image out;
  out.width = dw;
  out.height = dh;
  out.channels = src.channels;
  out.pixels.assign(out.stride() * static_cast<std::size_t>(dh), 0);
  detail::area_downscale(src.view(), out, isa);
  return out;
}

// Both builds of the loops give the same bytes, every one within 0.51 of the
// exact mean (area.hpp's promise: one rounding plus at most 1/128 of a level).
void expect_exact_area_mean(const image& src, int dw, int dh) {
  SCOPED_TRACE(std::to_string(src.width) + "x" + std::to_string(src.height) + "x" + std::to_string(src.channels) +
               " -> " + std::to_string(dw) + "x" + std::to_string(dh));
  const image best = downscale(src, dw, dh, detail::area_isa::best);
  const image portable = downscale(src, dw, dh, detail::area_isa::baseline);
  ASSERT_TRUE(best.pixels == portable.pixels) << "the SIMD and portable loops differ";
  const std::vector<double> ref = area_reference(src, dw, dh);
  double worst = 0;
  std::size_t at = 0;
  for (std::size_t i = 0; i < ref.size(); ++i)
    if (std::abs(best.pixels[i] - ref[i]) > worst) worst = std::abs(best.pixels[i] - ref[i]), at = i;
  EXPECT_LE(worst, 0.51) << "sample " << at << ": " << int{best.pixels[at]} << " for " << ref[at];
}

}  // namespace

TEST(area_downscale, every_pixel_of_real_crop_sizes_is_the_exact_area_mean) {
  // The usual crop (ratio ~1.21) and a ~3.15x one, in RGB and gray.
  for (int channels : {3, 1}) {
    expect_exact_area_mean(noise(871, 1163, channels, 1), 720, 960);
    expect_exact_area_mean(noise(2268, 3024, channels, 2), 720, 960);
  }
}

TEST(area_downscale, edge_sizes_and_ratios) {
  struct sizes {
    int sw, sh, dw, dh;
  };
  const sizes cases[] = {
      // width or height 1; dst == src in one dimension or both
      {1, 1, 1, 1}, {5, 1, 1, 1}, {1, 7, 1, 3}, {7, 5, 7, 2}, {9, 9, 4, 9}, {33, 17, 33, 17}, {64, 3, 64, 1},
      {3, 64, 1, 64},
      // ratio just above 1
      {721, 961, 720, 960}, {17, 13, 16, 12}, {1001, 3, 1000, 2}, {3, 1001, 2, 1000},
      // odd sizes, widths not a multiple of 8, everything into one sample
      {37, 29, 5, 3}, {23, 41, 9, 10}, {31, 33, 10, 11}, {100, 100, 1, 1}, {2000, 2, 3, 1}, {2, 2000, 1, 3},
      // large ratios (the detection input is ~8x)
      {1000, 800, 97, 71}, {641, 479, 11, 9},
  };
  for (const auto& c : cases)
    for (int channels : {3, 1})
      expect_exact_area_mean(noise(c.sw, c.sh, channels, static_cast<std::uint32_t>(c.sw * 7 + c.sh)), c.dw, c.dh);
}

TEST(area_downscale, leaves_an_empty_or_larger_destination_untouched) {
  const image src = noise(10, 8, 3, 9);
  for (auto [w, h] : {std::pair{0, 4}, std::pair{4, 0}, std::pair{11, 4}, std::pair{4, 9}}) {
    image out;
    out.width = w;
    out.height = h;
    out.pixels.assign(out.stride() * static_cast<std::size_t>(h), 7);
    detail::area_downscale(src.view(), out);
    EXPECT_TRUE(std::all_of(out.pixels.begin(), out.pixels.end(), [](std::uint8_t v) { return v == 7; }))
        << w << "x" << h;
  }
}

TEST(area_downscale, random_small_sizes) {
  std::uint32_t s = 12345;
  auto next = [&](int n) {
    s = s * 1103515245u + 12345u;
    return 1 + static_cast<int>((s >> 8) % static_cast<std::uint32_t>(n));
  };
  for (int round = 0; round < 150; ++round) {
    const int sw = next(70), sh = next(70);
    const image src = noise(sw, sh, round % 2 == 0 ? 3 : 1, static_cast<std::uint32_t>(round));
    expect_exact_area_mean(src, next(sw), next(sh));
  }
}

TEST(area_downscale, sizes_past_the_16_bit_paths) {
  // Wider than the int32 horizontal sums allow (32640 * width), and more
  // output rows than an int16 weight holds: the int64 loops.
  expect_exact_area_mean(noise(70000, 2, 1, 3), 3, 1);
  expect_exact_area_mean(noise(66000, 2, 3, 4), 7, 1);
  expect_exact_area_mean(noise(1, 40000, 1, 5), 1, 33000);
}

TEST(area_downscale, flat_colours_stay_exact) {
  for (int level : {0, 1, 127, 128, 254, 255})
    for (auto [sw, sh, dw, dh] :
         {std::array{871, 1163, 720, 960}, std::array{2268, 3024, 720, 960}, std::array{9, 7, 2, 3}})
      for (auto isa : {detail::area_isa::best, detail::area_isa::baseline}) {
        image src;
        src.width = sw;
        src.height = sh;
        src.pixels.assign(src.stride() * static_cast<std::size_t>(sh), static_cast<std::uint8_t>(level));
        const image out = downscale(src, dw, dh, isa);
        EXPECT_TRUE(std::all_of(out.pixels.begin(), out.pixels.end(), [&](std::uint8_t v) { return v == level; }))
            << level << " " << sw << "x" << sh;
      }
}

TEST(area_downscale, known_values) {
  // 0 90 180 over two outputs: [0, 1.5) -> (0 + 90 / 2) / 1.5 = 30, [1.5, 3) -> (90 / 2 + 180) / 1.5 = 150.
  image src;
  src.width = 3;
  src.height = 1;
  src.channels = 1;
  src.pixels = {0, 90, 180};
  for (auto isa : {detail::area_isa::best, detail::area_isa::baseline})
    EXPECT_EQ(downscale(src, 2, 1, isa).pixels, (std::vector<std::uint8_t>{30, 150}));
  // The same, vertically and in RGB (one channel per ramp direction).
  src.width = 1;
  src.height = 3;
  src.channels = 3;
  src.pixels = {0, 180, 9, 90, 90, 9, 180, 0, 9};
  for (auto isa : {detail::area_isa::best, detail::area_isa::baseline})
    EXPECT_EQ(downscale(src, 1, 2, isa).pixels, (std::vector<std::uint8_t>{30, 150, 9, 150, 30, 9}));
}

TEST(area_downscale, concurrent_calls_give_the_serial_bytes) {
  const image src = noise(871, 1163, 3, 6);
  const image serial = downscale(src, 720, 960, detail::area_isa::best);
  std::vector<image> outs(4);
  std::vector<std::thread> threads;
  for (auto& o : outs) threads.emplace_back([&] { o = downscale(src, 720, 960, detail::area_isa::best); });
  for (auto& t : threads) t.join();
  for (const auto& o : outs) EXPECT_TRUE(o.pixels == serial.pixels);
}
