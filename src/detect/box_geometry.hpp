// Pure box geometry shared by the detectors (no OpenCV). Private to src/detect.
#pragma once

#include "kycprep/detect.hpp"

namespace kycprep::detail {

// Maps a box in an image rotated clockwise by `degrees` (0/90/180/270) back
// to the unrotated w x h image, and the other way round. Exact inverses.
face unrotate_box(const face& f, int degrees, int w, int h);
face rotate_box(const face& f, int degrees, int w, int h);

// Intersection over union of two boxes (0 when either is empty).
double iou(const face& a, const face& b);

}  // namespace kycprep::detail
