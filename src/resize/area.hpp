// Area downscaling (private to the resize stage).
#pragma once

#include "kycprep/image.hpp"

namespace kycprep::detail {

/// Exact area average of `src` into `dst` (already sized, dst.width <=
/// src.width and dst.height <= src.height, same channel count).
void area_downscale(image_view src, image& dst);

}  // namespace kycprep::detail
