// kycprep/crop.hpp: stage 4, the portrait frame around the chosen face.
//
// Pure geometry on numbers: no pixels, no state, no allocation beyond the
// warnings. The verification APIs compare the face in the upload with an ID
// photo and ask for a portrait frame in which the face covers more than
// ~60% of the area, the face a little above centre as in an ID photo.
#pragma once

#include <string>
#include <vector>

#include "kycprep/detect.hpp"
#include "kycprep/error.hpp"
#include "kycprep/export.hpp"
#include "kycprep/image.hpp"

namespace kycprep {

struct frame_options {
  /// Face box area / frame area wanted, in (0, 1]. The face box is in the
  /// detect.hpp convention (forehead to chin).
  double face_area_ratio = 0.60;
  /// Frame aspect, width:height; must be portrait (aspect_w < aspect_h).
  int aspect_w = 3;
  int aspect_h = 4;
  /// Where the face centre sits, as a share of the frame height from the
  /// top, in (0, 1). 0.5 is dead centre; ID photos put the face higher.
  double face_center_y = 0.45;
  /// When the image is too small for the wanted frame: false (default)
  /// shrinks the frame (keeping the aspect) to fit the image; true keeps the
  /// wanted size and lets the frame extend past the image (the caller pads).
  bool allow_padding = false;
};

struct face_frame {
  /// The frame in image pixels. Inside the image unless allow_padding; its
  /// width:height equals aspect_w:aspect_h within one pixel; always
  /// strictly taller than wide.
  rect frame;
  bool face_cut = false;  ///< the face box reaches past the image or frame edge (still usable)
  bool shrunk = false;    ///< the image was too small: the frame is smaller than wanted
  bool padded = false;    ///< allow_padding: the frame extends past the image
  double face_area_ratio = 0.0;  ///< visible face area / frame area actually achieved
  std::vector<std::string> warnings;
};

/// Plans the portrait frame for `chosen` (in pixels of an image_w x
/// image_h image): centred horizontally on the face, the face centre at
/// face_center_y of the frame height, sized so the face box covers
/// face_area_ratio of the frame, then shifted (never resized) to stay inside
/// the image; shrunk (same aspect, as large as fits, still containing as
/// much of the face as it can) only when the image is too small.
/// Errors (stage crop): invalid_options for out-of-range options, an empty
/// image or a face box that is empty or entirely outside the image.
KYCPREP_API result<face_frame> plan_face_frame(const face& chosen, int image_w, int image_h,
                                               const frame_options& opt = {});

}  // namespace kycprep
