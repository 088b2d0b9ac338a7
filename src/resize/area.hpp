// Area downscaling (private to the resize stage).
#pragma once

#include "kycprep/image.hpp"

namespace kycprep::detail {

/// Which build of the inner loops runs: the best the CPU has (AVX2 on x86-64
/// when present) or the portable one. The output is the same byte for byte
/// (tests run both).
enum class area_isa { best, baseline };

/// Exact area average of `src` into `dst` (already sized, 1 <= dst.width <=
/// src.width and 1 <= dst.height <= src.height, same channel count, 1 or 3;
/// a `dst` outside these sizes is left untouched). Every output sample is
/// within 0.51 of the exact mean of the source area it covers (exact integer
/// weights, one rounding of the vertical sums to 1/64 of a level or finer,
/// one final rounding), whatever the sizes and ratio. Thread-safe (no shared
/// state); the output depends neither on the thread count nor on `isa`.
void area_downscale(image_view src, image& dst, area_isa isa = area_isa::best);

}  // namespace kycprep::detail
