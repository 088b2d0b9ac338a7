// kycprep/resize.hpp: output-size planning (pure) and the resampler.
//
// The eKYC APIs want the short side at 720 px and the result within
// 640x480 .. 1920x1080 (height x width). plan_output() turns an upright crop
// into an exact output size, trimming the long axis (centred) only when the
// API's maximum would otherwise be exceeded.
#pragma once

#include <string>

#include "kycprep/error.hpp"
#include "kycprep/export.hpp"
#include "kycprep/image.hpp"

namespace kycprep {

/// Inclusive output bounds, in output pixels.
struct output_bounds {
  int min_h = 640;
  int min_w = 480;
  int max_h = 1920;
  int max_w = 1080;
};

struct output_plan {
  rect crop;            ///< the (possibly trimmed) crop, in the same coordinates as the input crop
  int out_w = 0;        ///< output width
  int out_h = 0;        ///< output height
  bool trimmed = false; ///< the long axis was trimmed to meet output_bounds
};

/// Plans the output for an upright crop: the short side becomes exactly
/// `short_side`; if the long side would exceed the bounds, the crop's long
/// axis is trimmed symmetrically so that it fits. Errors (invalid_options)
/// when no size with that short side satisfies the bounds.
KYCPREP_API result<output_plan> plan_output(rect crop, int short_side, const output_bounds& b = {});

/// The coarsest JPEG DCT scale 1/d, d in {1,2,4,8}, such that a region whose
/// short side is `region_short` (full-resolution pixels) still has at least
/// `headroom` x `target_short` pixels after scaling. Pure.
KYCPREP_API int shrink_on_load_denom(int region_short, int target_short, double headroom) noexcept;

/// Resamples to exactly w x h: an area (box-average) filter when shrinking,
/// bicubic when enlarging. Deterministic for a given build.
KYCPREP_API image resize(image_view src, int w, int h);

}  // namespace kycprep
