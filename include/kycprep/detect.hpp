// kycprep/detect.hpp: stage 3, face detection.
//
// A face_detector finds candidate faces in one image; find_faces() turns
// that into a decision: it makes a reduced proxy of the upright image,
// detects, double-checks every candidate at a higher resolution (confirm),
// retries cheaply when nothing plausible was found (equalised contrast,
// another scale, 90/180/270 degree rotations) and chooses the largest true
// face. It never invents a region: no plausible face is error no_face.
//
// Box convention: every face box returned by kycprep is a "YuNet-style"
// box, from the top of the forehead (hairline) to the bottom of the chin and
// from cheek to cheek, about 0.75 as wide as tall. Detectors whose native
// box differs (the cascades' square brow-to-mouth box) are normalised to it,
// so that crop geometry (crop.hpp) behaves the same with every detector.
//
// Thread safety: detectors are immutable after construction and safe to
// call from many threads at once on one shared object (the OpenCV objects
// inside are not, so each detector keeps a small internal pool of them).
// Nothing here keeps global state.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kycprep/error.hpp"
#include "kycprep/export.hpp"
#include "kycprep/image.hpp"

namespace kycprep {

/// One detected face, in the pixel coordinates of the image passed in.
struct face {
  float x = 0, y = 0, w = 0, h = 0;
  float score = -1.0f;  ///< detector confidence in [0,1]; -1 when the detector has none
};

class KYCPREP_API face_detector {
 public:
  virtual ~face_detector();
  /// A short name for reports: "cascade", "yunet".
  [[nodiscard]] virtual std::string_view name() const noexcept = 0;
  /// Candidate faces in `img` (gray or RGB), in `img` pixels, in the box
  /// convention above. Candidates may include false positives; confirm()
  /// is the second opinion. Never throws.
  [[nodiscard]] virtual result<std::vector<face>> detect(image_view img) const = 0;
  /// False when the detector looks only at luma: callers may then pass it
  /// 1-channel images, which are cheaper to make (prepare() then detects on
  /// the luma DC terms alone). Default true.
  [[nodiscard]] virtual bool uses_colour() const noexcept { return true; }
  /// Second opinion on one candidate. `img` is the scene at the highest
  /// resolution available (usually larger than the image detect() saw) and
  /// `candidate` is in its pixels. Returns the candidate (score possibly
  /// refined) when it is a plausible human face, std::nullopt when not.
  /// The default accepts every candidate unchanged. Never throws.
  [[nodiscard]] virtual std::optional<face> confirm(image_view img, const face& candidate) const;
  /// The score a confirmed face needs when it was found only by a retry
  /// (equalised, rescaled, tilted, mirrored or rotated proxy). Each retry is
  /// one more chance for a false positive, so retries ask for stronger
  /// evidence than the first look. Default: no extra requirement.
  [[nodiscard]] virtual float retry_min_score() const noexcept { return 0.0f; }
};

/// Settings of the default detector: OpenCV cascades from Debian's
/// opencv-data package. Paths are tried as given (no search).
struct cascade_options {
  /// The candidate finder (fast LBP cascade).
  std::string face_cascade = "/usr/share/opencv4/lbpcascades/lbpcascade_frontalface.xml";
  /// Second-opinion face cascade, run in confirm() on a normalised crop
  /// around each candidate. Empty: skip this check.
  std::string confirm_cascade = "/usr/share/opencv4/haarcascades/haarcascade_frontalface_alt2.xml";
  /// Eye cascade, run in confirm() on the upper half of each candidate.
  /// Empty: skip this check.
  std::string eye_cascade = "/usr/share/opencv4/haarcascades/haarcascade_eye_tree_eyeglasses.xml";
  double scale_factor = 1.1;  ///< pyramid step of the candidate search (> 1)
  int min_neighbors = 3;      ///< overlapping hits needed for a candidate (>= 1)
  int min_face_px = 20;       ///< smallest face searched, in pixels of the image given to detect()
  /// confirm() keeps a candidate whose combined evidence reaches this:
  /// 0.4 (second face cascade agrees) + 0.2 (an eye) + 0.1 (a second eye)
  /// + 0.3 x (candidate hits / 20, capped at 1). 0.5 asks for two
  /// independent signs. The evidence is the face's reported score; the
  /// eye check only runs when the other signs fall short.
  double min_confirm_score = 0.5;
  /// retry_min_score(): evidence a face found only by a retry needs. The
  /// two-sign rule already holds the cascade to zero false positives on
  /// ~120 face-free Debian sample photos with every retry on, so retries
  /// ask for no more by default (docs/FACES.md).
  double retry_min_score = 0.5;
};

/// Settings of the YuNet detector (cv::FaceDetectorYN, OpenCV >= 4.5.4).
struct yunet_options {
  float score_threshold = 0.6f;  ///< candidates below this are dropped in detect()
  /// confirm() re-detects the candidate alone at a finer scale (its own
  /// resolution, 64-128 px tall) and keeps it when the mean of both scores
  /// reaches this (the re-detection must also reach 0.5). The mean is the
  /// face's reported score.
  float confirm_threshold = 0.85f;
  /// retry_min_score(): the combined score a face found only by a retry needs.
  float retry_threshold = 0.9f;
  float nms_threshold = 0.3f;
  int top_k = 50;
};

/// The default detector: OpenCV cascades (see cascade_options). Missing or
/// unreadable cascade file -> error_code::detector_unavailable (stage detect).
KYCPREP_API result<std::shared_ptr<const face_detector>> make_cascade_detector(const cascade_options& opt = {});

/// YuNet through cv::FaceDetectorYN. `model_path` is an ONNX model from the
/// OpenCV Zoo: face_detection_yunet_2022mar.onnx works with OpenCV 4.6 (the
/// 2023mar model needs OpenCV >= 4.8). Missing or unloadable model ->
/// error_code::detector_unavailable (stage detect).
KYCPREP_API result<std::shared_ptr<const face_detector>> make_yunet_detector(const std::string& model_path,
                                                                             const yunet_options& opt = {});

/// The detector used when the caller names none: make_cascade_detector().
KYCPREP_API result<std::shared_ptr<const face_detector>> make_default_detector();

/// How find_faces searches and chooses.
struct face_search_options {
  /// Long side of the detection proxy, in pixels. Images already smaller
  /// are used as they are (never upscaled for the first pass).
  int proxy_long_side = 240;
  bool try_equalize = true;   ///< retry on a histogram-equalised proxy
  bool try_rescale = true;    ///< retry on a proxy twice as large (small faces)
  bool try_rotations = true;  ///< retry rotated 90/180/270 degrees (pixel-rotated photos without EXIF)
  /// Retry on the proxy turned by +/- this many degrees (heads rolled
  /// sideways defeat the frontal detectors); 0 disables. In [0, 45).
  double tilt_deg = 20.0;
  /// Retry with the image extended by its mirror image at every border: a
  /// face cut in half by the border becomes whole again.
  bool try_mirror_border = true;
  /// Candidates narrower than this share of the image's short side are
  /// ignored (background faces, texture noise).
  double min_face_fraction = 0.04;
  /// Candidates scored below this by the detector (after confirm) are ignored.
  float min_score = 0.0f;
};

/// A candidate find_faces refused, for diagnostics.
struct rejected_face {
  face box;            ///< in the coordinates of the image as rotated by that pass
  int rotation_cw = 0;
  std::string pass;
  std::string reason;  ///< "size", "position", "confirm", "score"
};

/// What find_faces found.
struct face_search {
  std::vector<face> faces;     ///< every plausible face, largest first
  std::optional<face> chosen;  ///< the face to build the frame on (set on success)
  /// 0, 90, 180 or 270: the image had to be rotated clockwise by this for
  /// the face to be upright (a photo pixel-rotated without an EXIF tag).
  /// All boxes are then in the coordinates of that rotated image.
  int rotation_cw = 0;
  std::string pass;            ///< which pass found it: "proxy", "equalized", "rescaled", "tilted", "mirrored", "rotated"
  int proxy_width = 0;         ///< proxy size of the successful pass
  int proxy_height = 0;
  int candidates = 0;          ///< raw candidates seen over all passes (diagnostics)
  int rejected = 0;            ///< candidates refused by confirm() or the sanity checks
  std::vector<rejected_face> rejected_faces;  ///< those candidates (diagnostics)
  std::vector<std::string> warnings;
};

/// Finds the faces in `upright` (full resolution or an already reduced
/// image; boxes are returned in `upright`'s pixels, or the rotated image's
/// when rotation_cw != 0) and chooses the largest true face.
/// Errors (stage detect): no_face when nothing plausible was found after all
/// enabled retries; invalid_options for an empty image or options out of
/// range; internal when OpenCV fails.
KYCPREP_API result<face_search> find_faces(image_view upright, const face_detector& det,
                                           const face_search_options& opt = {});

}  // namespace kycprep
