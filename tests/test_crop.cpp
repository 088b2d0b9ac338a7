// Face-frame geometry (crop.hpp): invariants checked over a large grid of
// face boxes, image sizes and options, plus named edge cases.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "kycprep/crop.hpp"

namespace kycprep {
namespace {

face box(double x, double y, double w, double h) {
  return face{static_cast<float>(x), static_cast<float>(y), static_cast<float>(w), static_cast<float>(h), 1.0f};
}

bool inside_image(const rect& r, int w, int h) { return r.x >= 0 && r.y >= 0 && r.x + r.w <= w && r.y + r.h <= h; }

bool contains(const rect& r, const face& f, double tol = 1.0) {
  return f.x >= r.x - tol && f.y >= r.y - tol && f.x + f.w <= r.x + r.w + tol && f.y + f.h <= r.y + r.h + tol;
}

bool face_inside_image(const face& f, int w, int h) { return f.x >= 0 && f.y >= 0 && f.x + f.w <= w && f.y + f.h <= h; }

void expect_aspect(const rect& r, const frame_options& o) {
  // Exact to within one pixel of width for the frame's height.
  EXPECT_LE(std::abs(r.w - static_cast<double>(r.h) * o.aspect_w / o.aspect_h), 1.0) << r.w << "x" << r.h;
  EXPECT_LT(r.w, r.h) << "frame must be portrait";
  EXPECT_GT(r.w, 0);
}

TEST(PlanFaceFrame, CentredFaceInLargeImageMeetsEveryRule) {
  const face f = box(900, 800, 300, 400);
  auto r = plan_face_frame(f, 3000, 4000);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const rect fr = r->frame;
  expect_aspect(fr, {});
  EXPECT_TRUE(inside_image(fr, 3000, 4000));
  EXPECT_TRUE(contains(fr, f));
  EXPECT_FALSE(r->shrunk);
  EXPECT_FALSE(r->face_cut);
  EXPECT_TRUE(r->warnings.empty());
  // Face area / frame area ~ 0.60.
  EXPECT_NEAR(r->face_area_ratio, 0.60, 0.01);
  // Centred horizontally; face centre at 45% of the height.
  EXPECT_NEAR(fr.x + fr.w / 2.0, 1050.0, 1.0);
  EXPECT_NEAR((1000.0 - fr.y) / fr.h, 0.45, 0.01);
}

TEST(PlanFaceFrame, FaceSitsAboveCentreByDefault) {
  auto r = plan_face_frame(box(400, 400, 150, 200), 1200, 1200);
  ASSERT_TRUE(r.ok());
  const double face_cy = 500.0;
  EXPECT_LT(face_cy, r->frame.y + r->frame.h / 2.0);
}

TEST(PlanFaceFrame, ShiftsInsideInsteadOfShrinkingNearTheBorder) {
  // Face near the top-left corner: the frame keeps its size and moves.
  const face f = box(10, 5, 150, 200);
  auto far = plan_face_frame(box(500, 500, 150, 200), 2000, 2000);
  auto near = plan_face_frame(f, 2000, 2000);
  ASSERT_TRUE(far.ok() && near.ok());
  EXPECT_EQ(near->frame.w, far->frame.w);
  EXPECT_EQ(near->frame.h, far->frame.h);
  EXPECT_EQ(near->frame.x, 0);
  EXPECT_EQ(near->frame.y, 0);
  EXPECT_FALSE(near->shrunk);
  EXPECT_TRUE(contains(near->frame, f));
}

TEST(PlanFaceFrame, ShrinksKeepingAspectWhenTheImageIsTooSmall) {
  // The face fills most of a small landscape image.
  const face f = box(60, 20, 180, 200);
  auto r = plan_face_frame(f, 320, 240);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->shrunk);
  EXPECT_EQ(r->frame.h, 240);
  expect_aspect(r->frame, {});
  EXPECT_TRUE(inside_image(r->frame, 320, 240));
  EXPECT_FALSE(r->warnings.empty());
  EXPECT_GT(r->face_area_ratio, 0.60);
}

TEST(PlanFaceFrame, FaceCutByTheBorderIsReported) {
  const face f = box(-40, 100, 200, 260);  // left part outside the image
  auto r = plan_face_frame(f, 800, 1000);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->face_cut);
  EXPECT_EQ(r->frame.x, 0);
  EXPECT_TRUE(inside_image(r->frame, 800, 1000));
  ASSERT_FALSE(r->warnings.empty());
  EXPECT_NE(r->warnings.front().find("border"), std::string::npos);
}

TEST(PlanFaceFrame, PaddingIsOptInAndLeavesTheFrameUnshrunk) {
  const face f = box(60, 20, 180, 200);
  frame_options o;
  o.allow_padding = true;
  auto padded = plan_face_frame(f, 320, 240, o);
  auto shrunk = plan_face_frame(f, 320, 240);
  ASSERT_TRUE(padded.ok() && shrunk.ok());
  EXPECT_FALSE(padded->shrunk);
  EXPECT_TRUE(padded->padded);
  EXPECT_GT(padded->frame.h, 240);
  EXPECT_NEAR(padded->face_area_ratio, 0.60, 0.01);
  EXPECT_TRUE(contains(padded->frame, f));
  EXPECT_FALSE(shrunk->padded);
}

TEST(PlanFaceFrame, RatioAndAspectAreConfigurable) {
  frame_options o;
  o.face_area_ratio = 0.40;
  o.aspect_w = 2;
  o.aspect_h = 3;
  o.face_center_y = 0.5;
  const face f = box(1000, 1000, 300, 400);
  auto r = plan_face_frame(f, 4000, 4000, o);
  ASSERT_TRUE(r.ok());
  expect_aspect(r->frame, o);
  EXPECT_NEAR(r->face_area_ratio, 0.40, 0.01);
  EXPECT_NEAR(r->frame.y + r->frame.h / 2.0, 1200.0, 1.0);
}

TEST(PlanFaceFrame, RejectsInvalidOptionsAndInputs) {
  const face f = box(10, 10, 50, 60);
  const auto code = [](const result<face_frame>& r) { return r.ok() ? error_code::internal : r.error().code; };
  frame_options o;
  o.aspect_w = 4;
  o.aspect_h = 3;  // landscape
  EXPECT_EQ(code(plan_face_frame(f, 100, 100, o)), error_code::invalid_options);
  o = {};
  o.aspect_w = 3;
  o.aspect_h = 3;  // square is not portrait
  EXPECT_EQ(code(plan_face_frame(f, 100, 100, o)), error_code::invalid_options);
  o = {};
  o.aspect_w = 0;
  EXPECT_EQ(code(plan_face_frame(f, 100, 100, o)), error_code::invalid_options);
  for (double bad : {0.0, -0.1, 1.01, std::nan("")}) {
    o = {};
    o.face_area_ratio = bad;
    EXPECT_EQ(code(plan_face_frame(f, 100, 100, o)), error_code::invalid_options) << bad;
  }
  for (double bad : {0.0, 1.0, -1.0}) {
    o = {};
    o.face_center_y = bad;
    EXPECT_EQ(code(plan_face_frame(f, 100, 100, o)), error_code::invalid_options) << bad;
  }
  EXPECT_EQ(code(plan_face_frame(f, 0, 100)), error_code::invalid_options);
  EXPECT_EQ(code(plan_face_frame(f, 100, -1)), error_code::invalid_options);
  EXPECT_EQ(code(plan_face_frame(box(10, 10, 0, 60), 100, 100)), error_code::invalid_options);
  EXPECT_EQ(code(plan_face_frame(box(200, 10, 50, 60), 100, 100)), error_code::invalid_options);  // outside
  EXPECT_EQ(code(plan_face_frame(box(10, 10, std::nanf(""), 60), 100, 100)), error_code::invalid_options);
  auto r = plan_face_frame(f, 100, 100);
  ASSERT_FALSE(code(r) == error_code::invalid_options);
  EXPECT_EQ(plan_face_frame(f, 0, 100).error().where, stage::crop);
}

TEST(PlanFaceFrame, TinyImagesStillGiveAPortraitFrame) {
  for (int w = 1; w <= 12; ++w)
    for (int h = 2; h <= 12; ++h) {
      auto r = plan_face_frame(box(0, 0, w, h), w, h);
      ASSERT_TRUE(r.ok()) << w << "x" << h;
      EXPECT_LT(r->frame.w, r->frame.h);
      EXPECT_TRUE(inside_image(r->frame, w, h)) << w << "x" << h;
    }
  EXPECT_FALSE(plan_face_frame(box(0, 0, 5, 1), 5, 1).ok());  // one row cannot be portrait
}

// The exhaustive part: thousands of (image, face, options) combinations.
struct grid_case {
  int iw, ih;
  face f;
  frame_options o;
};

std::vector<grid_case> grid() {
  std::vector<grid_case> out;
  const std::vector<std::pair<int, int>> sizes{{320, 240}, {240, 320}, {640, 480}, {1000, 1000}, {4000, 3000},
                                               {3000, 4000}, {1920, 1080}, {427, 240}, {97, 131}, {8000, 600}};
  const std::vector<std::pair<int, int>> aspects{{3, 4}, {2, 3}, {7, 9}, {35, 45}, {1, 2}};
  for (auto [iw, ih] : sizes)
    for (double fs : {0.05, 0.1, 0.2, 0.35, 0.5, 0.8, 1.0})
      for (double fa : {0.6, 0.78, 1.0, 1.3})  // face box w/h
        for (double px : {-0.2, 0.0, 0.1, 0.5, 0.9, 1.0})
          for (double py : {0.0, 0.3, 0.5, 0.95})
            for (std::size_t a = 0; a < aspects.size(); a += 2) {
              const double fh = fs * std::min(iw, ih), fw = fh * fa;
              // px, py place the face centre as a share of the image.
              const face f = box(px * iw - fw / 2, py * ih - fh / 2, fw, fh);
              frame_options o;
              o.aspect_w = aspects[a].first;
              o.aspect_h = aspects[a].second;
              o.face_area_ratio = (a == 2) ? 0.5 : 0.6;
              out.push_back({iw, ih, f, o});
            }
  return out;
}

TEST(PlanFaceFrame, InvariantsHoldOverTheGrid) {
  int checked = 0, unshrunk = 0;
  for (const auto& c : grid()) {
    // Faces whose box lies entirely outside are an error by contract.
    const bool overlaps = c.f.x < c.iw && c.f.y < c.ih && c.f.x + c.f.w > 0 && c.f.y + c.f.h > 0;
    auto r = plan_face_frame(c.f, c.iw, c.ih, c.o);
    if (!overlaps) {
      EXPECT_FALSE(r.ok());
      continue;
    }
    ASSERT_TRUE(r.ok()) << r.error().message;
    const rect fr = r->frame;
    SCOPED_TRACE(::testing::Message() << c.iw << "x" << c.ih << " face " << c.f.x << "," << c.f.y << " " << c.f.w
                                      << "x" << c.f.h << " frame " << fr.x << "," << fr.y << " " << fr.w << "x" << fr.h);
    ++checked;
    expect_aspect(fr, c.o);
    EXPECT_TRUE(inside_image(fr, c.iw, c.ih));
    EXPECT_FALSE(r->padded);
    const double ratio_wanted = c.o.face_area_ratio;
    if (!r->shrunk) {
      ++unshrunk;
      // Never a smaller face share than wanted is lost: the frame either
      // hits the ratio or is larger only to hold the whole face.
      // Whole pixels: a frame h tall is off by up to a pixel in each side.
      const double tol = ratio_wanted * (2.0 / fr.h + 1.0 / fr.w) + 0.005;
      if (face_inside_image(c.f, c.iw, c.ih)) {
        EXPECT_TRUE(contains(fr, c.f));
        EXPECT_LE(r->face_area_ratio, ratio_wanted + tol);
        const bool ratio_fits = c.f.w <= fr.w && c.f.h <= fr.h;
        if (ratio_fits && r->face_area_ratio < ratio_wanted - tol) {
          // Larger than the ratio asks: only when the ratio frame could not
          // hold the face at the requested height placement.
          const double h_ratio = std::sqrt(c.f.w * c.f.h / ratio_wanted * c.o.aspect_h / c.o.aspect_w);
          EXPECT_TRUE(c.f.h > 2 * std::min(c.o.face_center_y, 1 - c.o.face_center_y) * h_ratio - 1 ||
                      c.f.w > h_ratio * c.o.aspect_w / c.o.aspect_h - 1);
        }
      }
    } else {
      // Shrunk: as large as the image allows in one dimension.
      EXPECT_TRUE(fr.h == c.ih || fr.w >= c.iw - 1) << "shrunk frame is not maximal";
      EXPECT_FALSE(r->warnings.empty());
    }
    // The face is cut exactly when it is not fully in the frame or image.
    const bool whole = face_inside_image(c.f, c.iw, c.ih) && contains(fr, c.f, 0.0);
    EXPECT_EQ(r->face_cut, !whole);
    // Centring: unless pushed by a border, the frame is centred on the face.
    const double fcx = c.f.x + c.f.w / 2.0, fcy = c.f.y + c.f.h / 2.0;
    if (fr.x > 0 && fr.x + fr.w < c.iw) EXPECT_NEAR(fr.x + fr.w / 2.0, fcx, 1.0);
    if (fr.y > 0 && fr.y + fr.h < c.ih) EXPECT_NEAR(fcy - fr.y, c.o.face_center_y * fr.h, 1.0);
    // The frame overlaps the visible face as much as a frame of its size can
    // (the face centre is inside the frame whenever it is in the image).
    if (fcx >= 0 && fcx < c.iw && fcy >= 0 && fcy < c.ih) {
      EXPECT_GE(fcx, fr.x - 0.5);
      EXPECT_LE(fcx, fr.x + fr.w + 0.5);
    }
  }
  EXPECT_GT(checked, 3000);
  EXPECT_GT(unshrunk, 1000);
}

TEST(PlanFaceFrame, BiggerFacesNeverGetSmallerFrames) {
  for (int iw : {640, 1000, 4000})
    for (double cx : {0.1, 0.5, 0.8}) {
      int last_h = 0;
      for (double fh = 10; fh < iw; fh *= 1.07) {
        const double fw = fh * 0.78;
        auto r = plan_face_frame(box(cx * iw - fw / 2, iw * 0.5 - fh / 2, fw, fh), iw, iw);
        ASSERT_TRUE(r.ok());
        EXPECT_GE(r->frame.h, last_h) << "face " << fh;
        last_h = r->frame.h;
      }
    }
}

TEST(PlanFaceFrame, LargerRatioNeverGivesALargerFrame) {
  const face f = box(1500, 1500, 300, 390);
  int last_h = 1 << 30;
  for (double ratio = 0.2; ratio <= 1.0; ratio += 0.05) {
    frame_options o;
    o.face_area_ratio = ratio;
    auto r = plan_face_frame(f, 4000, 4000, o);
    ASSERT_TRUE(r.ok());
    EXPECT_LE(r->frame.h, last_h);
    last_h = r->frame.h;
  }
}

TEST(PlanFaceFrame, MovingTheFaceMovesTheFrameMonotonically) {
  int last_x = -1;
  for (int fx = 0; fx + 200 <= 1600; fx += 13) {
    auto r = plan_face_frame(box(fx, 300, 200, 260), 1600, 1200);
    ASSERT_TRUE(r.ok());
    EXPECT_GE(r->frame.x, last_x);
    last_x = r->frame.x;
  }
}

TEST(PlanFaceFrame, IsDeterministic) {
  for (const auto& c : grid()) {
    auto a = plan_face_frame(c.f, c.iw, c.ih, c.o);
    auto b = plan_face_frame(c.f, c.iw, c.ih, c.o);
    ASSERT_EQ(a.ok(), b.ok());
    if (a.ok()) EXPECT_EQ(a->frame, b->frame);
  }
}

}  // namespace
}  // namespace kycprep
