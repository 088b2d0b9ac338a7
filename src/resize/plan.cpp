// Output-size planning: pure functions of numbers (tests/test_resize.cpp
// checks them exhaustively).
#include <algorithm>
#include <cmath>
#include <string>

#include "kycprep/resize.hpp"

namespace kycprep {

namespace {
long round_div(long num, long den) { return (2 * num + den) / (2 * den); }
}  // namespace

result<output_plan> plan_output(rect crop, int short_side, const output_bounds& b) {
  if (crop.w <= 0 || crop.h <= 0)
    return error{error_code::invalid_options, stage::resize, "crop is empty"};
  if (short_side <= 0)
    return error{error_code::invalid_options, stage::resize, "short_side must be positive"};
  output_plan p;
  p.crop = crop;
  const bool portrait = crop.h >= crop.w;
  if (portrait) {
    p.out_w = short_side;
    long h = round_div(static_cast<long>(crop.h) * short_side, crop.w);
    if (h > b.max_h) {
      // Trim the crop's height (centred) so that it maps onto exactly max_h rows.
      const int keep = static_cast<int>(std::max(1L, round_div(static_cast<long>(b.max_h) * crop.w, short_side)));
      p.crop.y += (crop.h - keep) / 2;
      p.crop.h = keep;
      p.trimmed = true;
      h = b.max_h;
    }
    p.out_h = static_cast<int>(h);
  } else {
    p.out_h = short_side;
    long w = round_div(static_cast<long>(crop.w) * short_side, crop.h);
    if (w > b.max_w) {
      const int keep = static_cast<int>(std::max(1L, round_div(static_cast<long>(b.max_w) * crop.h, short_side)));
      p.crop.x += (crop.w - keep) / 2;
      p.crop.w = keep;
      p.trimmed = true;
      w = b.max_w;
    }
    p.out_w = static_cast<int>(w);
  }
  if (p.out_w < b.min_w || p.out_h < b.min_h || p.out_w > b.max_w || p.out_h > b.max_h)
    return error{error_code::invalid_options, stage::resize,
                 "short side " + std::to_string(short_side) + " gives " + std::to_string(p.out_h) + "x" +
                     std::to_string(p.out_w) + " (HxW), outside the API bounds " + std::to_string(b.min_h) + "x" +
                     std::to_string(b.min_w) + " .. " + std::to_string(b.max_h) + "x" + std::to_string(b.max_w)};
  return p;
}

int shrink_on_load_denom(int region_short, int target_short, double headroom) noexcept {
  for (int d : {8, 4, 2}) {
    const int scaled = (region_short + d - 1) / d;  // libjpeg rounds scaled sizes up
    if (static_cast<double>(scaled) >= headroom * target_short) return d;
  }
  return 1;
}

}  // namespace kycprep
