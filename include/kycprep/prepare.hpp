// kycprep/prepare.hpp: the whole per-image pipeline.
//
//   decode -> orient -> detect -> crop -> resize -> encode -> base64
//
// The face profile (the default) finds the largest plausible face and keeps
// a portrait frame around it; no face gives error_code::no_face. The
// document profile keeps the whole frame.
//
// prepare() is a pure function of (bytes, options): it keeps no global
// state, is safe to call concurrently from many threads, and returns every
// per-image failure as an error value. A thread that prepares one photo
// after another passes its own `workspace` to reuse the large buffers.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kycprep/crop.hpp"
#include "kycprep/decode.hpp"
#include "kycprep/detect.hpp"
#include "kycprep/error.hpp"
#include "kycprep/export.hpp"
#include "kycprep/image.hpp"
#include "kycprep/resize.hpp"

namespace kycprep {

/// What to keep of the frame.
enum class profile : std::uint8_t {
  document,  ///< the whole frame (ID-card photos)
  face,      ///< a portrait frame around the largest face
};

/// Which API the payload is for; sets the byte budget.
enum class target : std::uint8_t {
  alibaba,  ///< EkycVerify: raw JPEG <= 600,000 bytes so that base64 < 1 MB
  tencent,  ///< FaceID: base64 <= 8,000,000 bytes
};

/// What the face search ran on (face profile), fastest first.
enum class detect_input : std::uint8_t {
  none,             ///< no search (document profile)
  exif_thumbnail,   ///< the JPEG's EXIF thumbnail, then confirmed on the decoded crop region
  dct_scaled,       ///< a draft DCT-scaled decode of the whole photo (baseline JPEG above max_coefficient_bytes)
  dc_coefficients,  ///< the coefficients, read once: their DC terms (1/8; luma only for a detector that ignores colour), or a 1/4 or 1/2 IDCT of smaller photos (other JPEGs)
  full_decode,      ///< a full decode, reduced (PNG; JPEGs the other paths refuse)
};

KYCPREP_API std::string_view to_string(profile p) noexcept;
KYCPREP_API std::string_view to_string(detect_input d) noexcept;
KYCPREP_API std::string_view to_string(target t) noexcept;

struct target_preset {
  std::size_t max_jpeg_bytes = 0;
  std::size_t max_base64_bytes = 0;
  output_bounds bounds;
};
KYCPREP_API target_preset preset(target t) noexcept;

struct prepare_options {
  kycprep::profile profile = kycprep::profile::face;
  kycprep::target target = kycprep::target::alibaba;
  int short_side = 720;          ///< output short side in pixels
  int quality = 92;              ///< JPEG quality tried first (91..100)
  int min_quality = 91;          ///< never encode below this (>= 91)
  decode_options decode;         ///< limits and corruption policy
  /// Minimum ratio of decoded pixels to output pixels (per axis) when
  /// choosing a JPEG shrink-on-load scale: the final filtered resize always
  /// starts from at least this much more resolution than it produces.
  double resize_headroom = 1.5;
  bool want_base64 = true;       ///< also produce the base64 text
  /// face profile: the detector to use (shared, immutable, thread-safe).
  /// When null, prepare() loads make_default_detector() for that one call,
  /// which costs tens of milliseconds: callers that prepare more than one
  /// image should create a detector once and set it here.
  std::shared_ptr<const face_detector> detector;
  /// face profile: the long side of the image handed to find_faces(),
  /// decoded with DCT scaling (the smallest JPEG scale at least this long).
  /// find_faces() detects on its own, smaller proxy of it and uses this
  /// resolution to confirm candidates.
  int detect_input_long_side = 480;
  /// face profile, baseline JPEG: when the file carries an EXIF thumbnail of
  /// the same frame (most camera and phone photos), search the face on it,
  /// decode only the crop plus a 15% margin, and search again there to
  /// confirm it (a thumbnail can be stale after an edit). The photo is then
  /// entropy-decoded once, and only down to the crop. When the thumbnail
  /// shows no face or the region does not confirm it, the whole-photo search
  /// runs as without this option; results then equal that path's.
  bool use_exif_thumbnail = true;
  /// face profile, baseline JPEG searched on the whole photo: read the DCT
  /// coefficients once (one entropy pass; the detection proxy comes from
  /// their DC terms and only the crop is transformed) when they take at most
  /// this many bytes (2 per coefficient: ~37 MB at 12 MP 4:2:0). Larger
  /// files, and 0, use two passes (a draft 1/8 decode, then the crop region)
  /// that hold about 1/8 of that. Progressive files always read coefficients
  /// once (any decode of them holds all of them).
  std::size_t max_coefficient_bytes = 64u << 20;
  face_search_options face_search;  ///< face profile: detection passes and sanity checks
  frame_options frame;              ///< face profile: the portrait frame (3:4, face ~60% of it)
};

/// Per-stage wall time in milliseconds, indexed by kycprep::stage.
struct stage_timings {
  std::array<double, 10> ms{};
  double& operator[](stage s) { return ms[static_cast<std::size_t>(s)]; }
  double operator[](stage s) const { return ms[static_cast<std::size_t>(s)]; }
  [[nodiscard]] double total() const;
};

struct prepared {
  std::vector<std::uint8_t> jpeg;  ///< the upload JPEG (no metadata segments)
  std::string base64;              ///< RFC 4648 of jpeg (empty unless want_base64)
  int width = 0;                   ///< output width
  int height = 0;                  ///< output height
  int quality = 0;                 ///< JPEG quality used
  source_info source;              ///< what the decoder found
  int upright_width = 0;           ///< input size after orientation
  int upright_height = 0;
  rect crop;                       ///< output frame, in upright input pixels
  int decode_scale_denom = 1;      ///< DCT scale used (1, 2, 4, 8)
  std::vector<face> faces;         ///< face profile: all faces, upright input pixels
  std::optional<face> chosen_face; ///< face profile: the face the frame is built on
  /// face profile: 0/90/180/270 when the photo was found pixel-rotated
  /// without an EXIF tag and was turned upright by this many degrees
  /// clockwise; crop and boxes are then in that upright frame.
  int extra_rotation_cw = 0;
  double face_area_ratio = 0.0;    ///< chosen face area / crop area
  kycprep::detect_input detected_on = detect_input::none;  ///< face profile: what the search ran on
  stage_timings timings;
  std::vector<std::string> warnings;
};

/// Runs the pipeline on encoded bytes.
KYCPREP_API result<prepared> prepare(std::span<const std::uint8_t> bytes, const prepare_options& opt = {});

class workspace;

/// The same, reusing the large buffers `ws` kept from earlier calls (today
/// the DCT coefficient arrays of the one-pass JPEG route, ~37 MB at 12 MP).
/// Same result, byte for byte, as prepare(bytes, opt).
KYCPREP_API result<prepared> prepare(std::span<const std::uint8_t> bytes, const prepare_options& opt, workspace& ws);

/// Memory one thread reuses from one prepare() call to the next. Without it
/// each call takes its buffers afresh, and whenever the allocator has given
/// the last ones back to the system (which other work in the process makes
/// likely) touching them again costs thousands of page faults: 10-20 ms on a
/// stripped 12 MP JPEG (docs/PERFORMANCE.md). Keep one per worker thread
/// (the batch engine and `kycprep bench` do); it holds at most
/// prepare_options::max_coefficient_bytes between calls. Not thread-safe:
/// one call at a time per workspace. Movable, not copyable.
class KYCPREP_API workspace {
 public:
  workspace();
  ~workspace();
  workspace(workspace&&) noexcept;
  workspace& operator=(workspace&&) noexcept;
  workspace(const workspace&) = delete;
  workspace& operator=(const workspace&) = delete;

  /// Bytes kept for the next call.
  [[nodiscard]] std::size_t retained_bytes() const noexcept;
  /// Gives them back (the next call allocates afresh).
  void release() noexcept;

 private:
  friend KYCPREP_API result<prepared> prepare(std::span<const std::uint8_t> bytes, const prepare_options& opt,
                                              workspace& ws);
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Reads a file (bounded by opt.decode.limits.max_input_bytes) and prepares it.
KYCPREP_API result<prepared> prepare_file(const std::string& path, const prepare_options& opt = {});

/// Reads a whole file, refusing files larger than max_bytes (error input_too_large).
KYCPREP_API result<std::vector<std::uint8_t>> read_file(const std::string& path, std::uint64_t max_bytes);

}  // namespace kycprep
