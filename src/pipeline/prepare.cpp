// The per-image pipeline. Geometry is planned from the header first, so the
// decoder only produces the pixels the output needs: the crop region, at the
// coarsest DCT scale that keeps resize_headroom over the output size, which
// is resized as stored; orientation is applied to the output alone.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>

#include "decode/coef_decode.hpp"
#include "decode/entropy.hpp"
#include "decode/icc.hpp"
#include "kycprep/base64.hpp"
#include "kycprep/crop.hpp"
#include "kycprep/detect.hpp"
#include "kycprep/encode.hpp"
#include "kycprep/orient.hpp"
#include "kycprep/prepare.hpp"

namespace kycprep {

std::string_view to_string(profile p) noexcept { return p == profile::face ? "face" : "document"; }
std::string_view to_string(target t) noexcept { return t == target::tencent ? "tencent" : "alibaba"; }

target_preset preset(target t) noexcept {
  target_preset p;
  if (t == target::tencent) {
    p.max_base64_bytes = 8'000'000;              // CompareImageBase64 <= 8 MB
    p.max_jpeg_bytes = 8'000'000 / 4 * 3;        // whose decoded size is 6,000,000
  } else {
    p.max_jpeg_bytes = 600'000;                  // "original image <= 0.6 MB"
    p.max_base64_bytes = base64_encoded_size(600'000);  // 800,000 < 1 MB
  }
  return p;
}

double stage_timings::total() const {
  double t = 0;
  for (double v : ms) t += v;
  return t;
}

namespace {

using clock_type = std::chrono::steady_clock;

class stage_clock {
 public:
  explicit stage_clock(stage_timings& t) : t_(t), start_(clock_type::now()) {}
  // Charges the time since the last lap to stage s.
  void lap(stage s) {
    const auto now = clock_type::now();
    t_[s] += std::chrono::duration<double, std::milli>(now - start_).count();
    start_ = now;
  }

 private:
  stage_timings& t_;
  clock_type::time_point start_;
};

// What the coefficient arrays of a JPEG take (2 bytes per coefficient,
// luma plus two chroma planes subsampled as the header says), rounded up.
std::size_t coefficient_bytes(const source_info& s) {
  const double luma = static_cast<double>(s.width) * s.height;
  const double chroma = s.subsampling == "gray"    ? 0.0
                        : s.subsampling == "4:2:0" ? 0.5
                        : s.subsampling == "4:2:2" || s.subsampling == "4:4:0" ? 1.0
                        : s.subsampling == "4:1:1" ? 0.5
                                                   : 2.0;  // 4:4:4 and anything else: the most
  return static_cast<std::size_t>(luma * (1.0 + chroma) * 2.0 * 1.05);
}

std::optional<error> validate(const prepare_options& o) {
  auto bad = [](std::string m) { return error{error_code::invalid_options, stage::read, std::move(m)}; };
  if (o.min_quality < 91 || o.quality > 100 || o.quality < o.min_quality)
    return bad("quality must satisfy 91 <= min_quality <= quality <= 100");
  if (o.short_side < 16 || o.short_side > 4096) return bad("short_side must be within 16..4096");
  if (!(o.resize_headroom >= 1.0) || o.resize_headroom > 8.0) return bad("resize_headroom must be within 1..8");
  return std::nullopt;
}

// Maps an upright full-resolution rect into the pixel grid of an image that
// was decoded from `decoded_region` (stored coords) at 1/d and then oriented.
// EXIF orientations as (mirror, clockwise rotation): display = rotate(mirror_h(stored)).
struct orientation_parts {
  bool mirror;
  int rotation_cw;
};
constexpr orientation_parts parts_of[9] = {{false, 0},  {false, 0}, {true, 0},  {false, 180}, {true, 180},
                                           {true, 270}, {false, 90}, {true, 90}, {false, 270}};

// The orientation that displays like `o` followed by a clockwise rotation.
int rotate_orientation(int o, int rotation_cw) {
  const orientation_parts p = parts_of[o];
  const int r = (p.rotation_cw + rotation_cw) % 360;
  for (int v = 1; v <= 8; ++v)
    if (parts_of[v].mirror == p.mirror && parts_of[v].rotation_cw == r) return v;
  return o;
}

rect to_decoded_grid(rect upright, rect decoded_region, int W, int H, int o, int d, int img_w, int img_h) {
  const rect origin = stored_to_upright(decoded_region, W, H, o);
  auto scale = [d](int v) { return static_cast<int>(std::lround(static_cast<double>(v) / d)); };
  rect r{scale(upright.x - origin.x), scale(upright.y - origin.y), std::max(1, scale(upright.w)),
         std::max(1, scale(upright.h))};
  r.x = std::clamp(r.x, 0, img_w - 1);
  r.y = std::clamp(r.y, 0, img_h - 1);
  r.w = std::min(r.w, img_w - r.x);
  r.h = std::min(r.h, img_h - r.y);
  return r;
}

// Keeps only `region` (stored, full-resolution pixels) of a scale-1 decode,
// so that the resize touches the crop, never the full frame.
decoded crop_decoded(decoded&& full, rect region) {
  if (full.scale_denom != 1 || region == full.region) return std::move(full);
  const image& src = full.pixels;
  const int x = region.x - full.region.x, y = region.y - full.region.y;
  image out;
  out.width = region.w;
  out.height = region.h;
  out.channels = src.channels;
  out.pixels.resize(out.stride() * static_cast<std::size_t>(region.h));
  for (int r = 0; r < region.h; ++r)
    std::memcpy(out.pixels.data() + out.stride() * static_cast<std::size_t>(r),
                src.pixels.data() + src.stride() * static_cast<std::size_t>(y + r) + static_cast<std::size_t>(x) * src.channels,
                out.stride());
  full.pixels = std::move(out);
  full.region = region;
  return std::move(full);
}

// The crop region from coefficients already read, as decode() would give
// it (including the ICC conversion to sRGB).
result<decoded> decode_from_coefficients(const detail::coefficient_image& c, const source_info& src, rect region,
                                         int d) {
  auto px = detail::decode_region(c, region, d);
  if (!px) return std::move(px).error();
  decoded out;
  out.source = src;
  out.scale_denom = d;
  const int x0 = region.x / d, y0 = region.y / d;
  const int x1 = (region.x + region.w + d - 1) / d, y1 = (region.y + region.h + d - 1) / d;
  out.region = {x0 * d, y0 * d, std::min(c.width(), x1 * d) - x0 * d, std::min(c.height(), y1 * d) - y0 * d};
  out.pixels = std::move(px).value();
  if (!c.icc_profile().empty()) {
    std::string why;
    const auto r = detail::convert_to_srgb(out.pixels, c.icc_profile(), why);
    out.source.icc_converted = r == detail::icc_result::converted;
    if (r == detail::icc_result::unusable) out.warnings.push_back("icc: " + why);
  }
  return out;
}

// The detection proxy from coefficients read once: the whole photo at 1/d
// (the DC terms alone at 1/8; of luma alone when the detector ignores
// colour, which skips the chroma IDCTs and the colour conversion).
result<decoded> coefficient_proxy(const detail::coefficient_image& c, int d, bool colour) {
  decoded out;
  out.scale_denom = d;
  out.region = {0, 0, c.width(), c.height()};
  out.warnings = c.warnings();
  if (d == 8) {
    out.pixels = colour ? detail::dc_proxy(c) : detail::dc_luma_proxy(c);
  } else {
    auto px = detail::decode_region(c, out.region, d);
    if (!px) return std::move(px).error();
    out.pixels = std::move(px).value();
  }
  return out;
}

// Where the face is and the frame around it, in full-resolution pixels of
// the photo displayed with orientation `o` (the EXIF one, turned further
// when the face was found only on a rotated copy).
struct face_geometry {
  int o = 1;
  size2 up;
  int extra_rotation_cw = 0;
  std::vector<face> faces;
  std::size_t chosen_index = 0;  ///< faces[chosen_index] is the face the frame is built on
  rect frame;
  std::vector<std::string> detect_warnings;  ///< "detect: ..."
  std::vector<std::string> frame_warnings;   ///< "crop: ..." (plan_face_frame's, for this frame)

  [[nodiscard]] const face& chosen() const { return faces[chosen_index]; }

  // Builds the frame around faces[chosen_index].
  std::optional<error> plan_frame(const frame_options& fo) {
    auto ff = plan_face_frame(chosen(), up.w, up.h, fo);
    if (!ff) return std::move(ff).error();
    frame = ff->frame;
    frame_warnings.clear();
    for (const auto& w : ff->warnings) frame_warnings.push_back("crop: " + w);
    return std::nullopt;
  }
};

// Searches `proxy` (the whole photo, upright for o_exif, reduced) and plans
// the portrait frame around the chosen face.
result<face_geometry> locate_face(image_view proxy, const face_detector& det, const face_search_options& search,
                                  const frame_options& fo, int W, int H, int o_exif) {
  auto found = find_faces(proxy, det, search);
  if (!found) return std::move(found).error();
  const face_search& fs = found.value();
  face_geometry g;
  g.o = o_exif;
  g.up = upright_size(W, H, o_exif);
  if (fs.rotation_cw != 0) {
    g.o = rotate_orientation(o_exif, fs.rotation_cw);
    g.up = upright_size(W, H, g.o);
    g.extra_rotation_cw = fs.rotation_cw;
    g.detect_warnings.push_back("detect: the face was found only after rotating the photo " +
                                std::to_string(fs.rotation_cw) + " degrees clockwise (pixel-rotated, no EXIF tag); "
                                "the output is turned upright");
  }
  for (const auto& w : fs.warnings) g.detect_warnings.push_back("detect: " + w);
  // Boxes are in the (rotated) proxy; scale them to full-resolution upright pixels.
  const bool swap = fs.rotation_cw == 90 || fs.rotation_cw == 270;
  const double pw = swap ? proxy.height : proxy.width, ph = swap ? proxy.width : proxy.height;
  const double sx = g.up.w / pw, sy = g.up.h / ph;
  auto to_full = [sx, sy](const face& f) {
    return face{f.x * float(sx), f.y * float(sy), f.w * float(sx), f.h * float(sy), f.score};
  };
  g.chosen_index = fs.faces.size();
  for (std::size_t i = 0; i < fs.faces.size(); ++i) {
    const face& f = fs.faces[i];
    if (f.x == fs.chosen->x && f.y == fs.chosen->y && f.w == fs.chosen->w && f.h == fs.chosen->h) g.chosen_index = i;
    g.faces.push_back(to_full(f));
  }
  if (g.chosen_index == g.faces.size()) g.faces.push_back(to_full(*fs.chosen));  // not listed: keep it anyway
  if (auto e = g.plan_frame(fo)) return std::move(*e);
  return g;
}

// The output plan for a frame; in the face profile the output is exactly the
// frame's aspect (720x960 by default), not its rounding's.
result<output_plan> plan_frame_output(rect frame, const prepare_options& opt, const target_preset& tp) {
  auto plan = plan_output(frame, opt.short_side, tp.bounds);
  if (!plan) return plan;
  if (opt.profile == profile::face && !plan->trimmed && plan->out_w == opt.short_side) {
    const long exact = std::lround(static_cast<double>(opt.short_side) * opt.frame.aspect_h / opt.frame.aspect_w);
    if (exact >= tp.bounds.min_h && exact <= tp.bounds.max_h) plan->out_h = static_cast<int>(exact);
  }
  return plan;
}

// The detection input: `stored` shrunk to about `long_side` (only when it is
// more than twice that; never when long_side is 0) and turned upright.
// Returns a view of `stored` itself when neither is needed, else of `keep`.
image_view detection_input(const image& stored, int long_side, int orientation, image& keep) {
  const int have = std::max(stored.width, stored.height);
  if (long_side > 0 && have > 2 * long_side) {
    const double f = static_cast<double>(long_side) / have;
    keep = resize(stored.view(), std::max(1, static_cast<int>(std::lround(stored.width * f))),
                  std::max(1, static_cast<int>(std::lround(stored.height * f))));
    if (orientation != 1) keep = apply_orientation(keep, orientation);
    return keep.view();
  }
  if (orientation == 1) return stored.view();
  keep = apply_orientation(stored, orientation);
  return keep.view();
}

// The EXIF thumbnail as a detection proxy (stored orientation), when it
// decodes cleanly and shows the whole frame of the photo: the same aspect
// within 2% (letterboxed or cropped thumbnails are refused), at least 96
// pixels long and at most half the photo's size.
std::optional<image> thumbnail_proxy(std::span<const std::uint8_t> bytes, const source_info& s,
                                     const decode_options& dopt) {
  if (s.exif_thumbnail_size == 0 || s.exif_thumbnail_offset >= bytes.size() ||
      s.exif_thumbnail_size > bytes.size() - s.exif_thumbnail_offset)
    return std::nullopt;
  decode_options o = dopt;
  o.tolerate_corruption = false;
  auto t = decode(bytes.subspan(s.exif_thumbnail_offset, s.exif_thumbnail_size), o);
  if (!t) return std::nullopt;
  const int tw = t->pixels.width, th = t->pixels.height;
  const double ratio = (static_cast<double>(tw) / th) / (static_cast<double>(s.width) / s.height);
  if (std::abs(ratio - 1.0) > 0.02 || std::max(tw, th) < 96 || 2 * std::max(tw, th) > std::max(s.width, s.height))
    return std::nullopt;
  return std::move(t->pixels);
}

// Area shared by two boxes given as x, y, w, h.
double overlap(double ax, double ay, double aw, double ah, double bx, double by, double bw, double bh) {
  const double ix = std::max(0.0, std::min(ax + aw, bx + bw) - std::max(ax, bx));
  const double iy = std::max(0.0, std::min(ay + ah, by + bh) - std::max(ay, by));
  return ix * iy;
}

double iou(const face& a, const face& b) {
  const double inter = overlap(a.x, a.y, a.w, a.h, b.x, b.y, b.w, b.h);
  const double uni = static_cast<double>(a.w) * a.h + static_cast<double>(b.w) * b.h - inter;
  return uni > 0 ? inter / uni : 0.0;
}

// A thumbnail can be stale (edited photos keep the camera's), so the face it
// showed is searched again in the decoded region. `region_up` holds the
// upright pixels of `region_full` (full-resolution upright coordinates) at
// reduced scale. The face's size is known, so the search runs on a proxy
// where it is about twice the detector's window, and without the retry
// passes (a miss falls back to the whole-photo search, which has them).
// Returns the matching face, in full-resolution upright pixels at the
// region's (finer) resolution, or nothing.
std::optional<face> confirm_in_region(const image& region_stored, int o, rect region_full, const face& expected,
                                      const face_detector& det, const prepare_options& opt) {
  face_search_options so = opt.face_search;
  so.try_equalize = so.try_rescale = so.try_rotations = so.try_mirror_border = false;
  so.tilt_deg = 0.0;
  const double face_share = std::max(expected.w / region_full.w, expected.h / region_full.h);
  const int region_long = std::max(region_stored.width, region_stored.height);
  so.proxy_long_side = std::clamp(static_cast<int>(std::lround(48.0 / std::max(face_share, 0.05))), 96,
                                  opt.face_search.proxy_long_side);
  image keep;
  // Twice the proxy: the resolution find_faces confirms candidates at; only
  // that reduced copy is turned upright.
  const image_view input = detection_input(region_stored, std::min(region_long, 2 * so.proxy_long_side), o, keep);
  auto found = find_faces(input, det, so);
  if (!found || found->rotation_cw != 0) return std::nullopt;
  const double sx = static_cast<double>(region_full.w) / input.width;
  const double sy = static_cast<double>(region_full.h) / input.height;
  std::optional<face> best;
  double best_iou = 0.4;  // thumbnail boxes are coarse; a different face overlaps far less
  for (const face& f : found->faces) {
    const face full{static_cast<float>(region_full.x + f.x * sx), static_cast<float>(region_full.y + f.y * sy),
                    static_cast<float>(f.w * sx), static_cast<float>(f.h * sy), f.score};
    const double v = iou(full, expected);
    if (v >= best_iou) best_iou = v, best = full;
  }
  return best;
}

bool contains(rect outer, rect inner) {
  return inner.x >= outer.x && inner.y >= outer.y && inner.x + inner.w <= outer.x + outer.w &&
         inner.y + inner.h <= outer.y + outer.h;
}

// The region decoded for a thumbnail-planned crop: the crop with a margin of
// 15% of its size on each side, so that the box found again at full
// resolution can move the frame a little without a second decode.
rect with_margin(rect crop, size2 up) {
  const int mx = crop.w * 15 / 100, my = crop.h * 15 / 100;
  const int x0 = std::max(0, crop.x - mx), y0 = std::max(0, crop.y - my);
  const int x1 = std::min(up.w, crop.x + crop.w + mx), y1 = std::min(up.h, crop.y + crop.h + my);
  return {x0, y0, x1 - x0, y1 - y0};
}

// What step 2a hands on: where the face is, the output plan, and the crop's
// region already decoded and upright.
struct thumbnail_path {
  face_geometry g;
  output_plan plan;
  decoded region;  ///< pixels and region in stored orientation (g.o is applied after the resize)
};

// Step 2a (baseline JPEG with an EXIF thumbnail, as most camera and phone
// photos are): search the thumbnail, decode only the crop and a margin, and
// confirm the face there. The photo's entropy-coded data is then read once,
// and only down to the crop's last row. Returns nothing when any step does
// not hold (the caller then runs the whole-photo search), an error only when
// the photo itself does not decode.
result<std::optional<thumbnail_path>> via_exif_thumbnail(std::span<const std::uint8_t> bytes, const source_info& src,
                                                         const prepare_options& opt, const target_preset& tp,
                                                         const face_detector& det, stage_clock& clock) {
  const int W = src.width, H = src.height;
  std::optional<image> thumb = thumbnail_proxy(bytes, src, opt.decode);
  clock.lap(stage::decode);
  if (!thumb) return std::optional<thumbnail_path>{};
  // A first look: the first pass only, no retries. Small, tilted or rotated
  // faces are left to the whole-photo search, which has them all.
  face_search_options quick = opt.face_search;
  quick.try_equalize = quick.try_rescale = quick.try_rotations = quick.try_mirror_border = false;
  quick.tilt_deg = 0.0;
  const int input_long = 2 * quick.proxy_long_side;  // find_faces confirms candidates at this resolution
  if (std::max(thumb->width, thumb->height) < input_long) {
    // Thumbnails are small (160x120 is common): enlarged, so that the
    // confirmation sees the face at its usual resolution.
    const double f = static_cast<double>(input_long) / std::max(thumb->width, thumb->height);
    *thumb = resize(thumb->view(), static_cast<int>(std::lround(thumb->width * f)),
                    static_cast<int>(std::lround(thumb->height * f)));
  }
  image keep;
  const image_view thumb_up = detection_input(*thumb, input_long, src.orientation, keep);
  clock.lap(stage::decode);
  auto found = locate_face(thumb_up, det, quick, opt.frame, W, H, src.orientation);
  clock.lap(stage::detect);
  if (!found) return std::optional<thumbnail_path>{};
  face_geometry g = std::move(found).value();
  auto plan = plan_frame_output(g.frame, opt, tp);
  if (!plan) return std::optional<thumbnail_path>{};

  decode_request req;
  req.region = upright_to_stored(with_margin(plan->crop, g.up), W, H, g.o);
  req.scale_denom = shrink_on_load_denom(std::min(plan->crop.w, plan->crop.h), opt.short_side, opt.resize_headroom);
  auto dec = decode(bytes, opt.decode, req);
  if (!dec) return std::move(dec).error();  // the photo itself is broken: the whole-photo path would fail alike
  const rect decoded_up = stored_to_upright(dec->region, W, H, g.o);
  clock.lap(stage::decode);
  const std::optional<face> confirmed = confirm_in_region(dec->pixels, g.o, decoded_up, g.chosen(), det, opt);
  clock.lap(stage::detect);
  if (!confirmed) return std::optional<thumbnail_path>{};

  // Re-plan on the finer box when the decoded pixels still cover its frame
  // at the scale they were decoded at; else keep the thumbnail's frame.
  face_geometry fine = g;
  fine.faces[fine.chosen_index] = *confirmed;
  if (!fine.plan_frame(opt.frame)) {
    auto fine_plan = plan_frame_output(fine.frame, opt, tp);
    if (fine_plan && contains(decoded_up, fine_plan->crop) &&
        shrink_on_load_denom(std::min(fine_plan->crop.w, fine_plan->crop.h), opt.short_side, opt.resize_headroom) >=
            dec->scale_denom) {
      g = std::move(fine);
      plan = std::move(fine_plan);
    }
  }
  return std::optional<thumbnail_path>(thumbnail_path{std::move(g), std::move(plan).value(), std::move(dec).value()});
}

}  // namespace

std::string_view to_string(detect_input d) noexcept {
  switch (d) {
    case detect_input::exif_thumbnail: return "exif_thumbnail";
    case detect_input::dct_scaled: return "dct_scaled";
    case detect_input::dc_coefficients: return "dc_coefficients";
    case detect_input::full_decode: return "full_decode";
    default: return "none";
  }
}

struct workspace::impl {
  detail::coef_pool coefficients;
};

workspace::workspace() : impl_(std::make_unique<impl>()) {}
workspace::~workspace() = default;
workspace::workspace(workspace&&) noexcept = default;
workspace& workspace::operator=(workspace&&) noexcept = default;
std::size_t workspace::retained_bytes() const noexcept { return impl_ ? impl_->coefficients.retained_bytes() : 0; }
void workspace::release() noexcept {
  if (impl_) impl_->coefficients.clear();
}

namespace {
result<prepared> prepare_with(std::span<const std::uint8_t> bytes, const prepare_options& opt, detail::coef_pool* pool);
}  // namespace

result<prepared> prepare(std::span<const std::uint8_t> bytes, const prepare_options& opt) {
  return prepare_with(bytes, opt, nullptr);
}

result<prepared> prepare(std::span<const std::uint8_t> bytes, const prepare_options& opt, workspace& ws) {
  if (!ws.impl_) ws.impl_ = std::make_unique<workspace::impl>();  // a moved-from workspace works again
  ws.impl_->coefficients.set_limit(opt.max_coefficient_bytes);
  return prepare_with(bytes, opt, &ws.impl_->coefficients);
}

namespace {
result<prepared> prepare_with(std::span<const std::uint8_t> bytes, const prepare_options& opt, detail::coef_pool* pool) {
  if (auto e = validate(opt)) return std::move(*e);
  prepared out;
  stage_clock clock(out.timings);

  // 1. Header: format, size, orientation, limits. Nothing is allocated yet.
  auto header = read_header(bytes, opt.decode);
  if (!header) return std::move(header).error();
  out.source = header.value();
  const int W = out.source.width, H = out.source.height, o_exif = out.source.orientation;
  const target_preset tp = preset(opt.target);
  const bool jpeg = out.source.format == image_format::jpeg;

  // 2. The frame to keep, in upright pixels, and its output plan.
  face_geometry g;
  g.o = o_exif;
  g.up = upright_size(W, H, o_exif);
  g.frame = {0, 0, g.up.w, g.up.h};
  std::optional<output_plan> plan;
  std::optional<decoded> reuse;         // 2b: a full-resolution decode made for detection
  std::optional<decoded> region_ready;  // 2a: the crop's region, decoded and already upright
  std::optional<detail::coefficient_image> coefs;  // progressive JPEG: read once
  if (opt.profile == profile::face) {
    std::shared_ptr<const face_detector> det = opt.detector;
    if (!det) {
      auto made = make_default_detector();
      if (!made) return std::move(made).error();
      det = std::move(made).value();
    }

    // 2a. The EXIF thumbnail first (via_exif_thumbnail).
    if (opt.use_exif_thumbnail && jpeg && !out.source.progressive && out.source.exif_thumbnail_size > 0) {
      auto t = via_exif_thumbnail(bytes, out.source, opt, tp, *det, clock);
      if (!t) return std::move(t).error();
      if (t->has_value()) {
        thumbnail_path& path = **t;
        g = std::move(path.g);
        plan = path.plan;
        for (auto& w : path.region.warnings) out.warnings.push_back(std::move(w));
        region_ready = std::move(path.region);
        out.detected_on = detect_input::exif_thumbnail;
      }
    }

    // 2b. Otherwise the detection input is an upright copy about
    // detect_input_long_side long:
    //  - JPEG: the coefficients are read once (one entropy pass); the proxy
    //    comes from their DC terms and the crop is decoded from them. For a
    //    progressive file any other way costs a full decode per pass.
    //  - Baseline JPEG whose coefficients exceed max_coefficient_bytes: a
    //    draft DCT-scaled decode; the region decode below then reads only
    //    the rows down to the crop (two entropy passes, ~1/8 of the memory).
    //  - PNG (and progressive files the coefficient path refuses, e.g.
    //    CMYK): one full decode, kept for the crop.
    if (!plan) {
      // The proxy's DCT scale: the coarsest one still detect_input_long_side
      // long; 1 (a full decode, kept for the crop) when the photo is smaller.
      int proxy_d = 1;
      if (jpeg)
        for (int d : {8, 4, 2})
          if ((std::max(W, H) + d - 1) / d >= opt.detect_input_long_side) {
            proxy_d = d;
            break;
          }
      if (proxy_d > 1 &&
          (out.source.progressive || coefficient_bytes(out.source) <= opt.max_coefficient_bytes)) {
        auto c = detail::read_coefficients(bytes, opt.decode, pool);
        if (c) coefs.emplace(std::move(c).value());
        else if (c.error().code != error_code::unsupported_format) return std::move(c).error();
      }
      decode_request preq;
      if (!coefs && proxy_d > 1 && !out.source.progressive) {
        preq.scale_denom = proxy_d;
        preq.draft = true;
        preq.gray = !det->uses_colour();  // no chroma IDCT, upsampling or colour conversion
      }
      result<decoded> proxy = coefs ? coefficient_proxy(*coefs, proxy_d, det->uses_colour()) : decode(bytes, opt.decode, preq);
      if (!proxy) return std::move(proxy).error();
      for (const auto& w : proxy->warnings) out.warnings.push_back(w);
      image keep;  // a DCT-scaled proxy is already about the right size: no shrink
      const image_view input_view =
          detection_input(proxy->pixels, proxy->scale_denom > 1 ? 0 : opt.detect_input_long_side, o_exif, keep);
      out.detected_on = coefs ? detect_input::dc_coefficients
                        : preq.draft ? detect_input::dct_scaled
                                     : detect_input::full_decode;
      clock.lap(stage::decode);
      auto found = locate_face(input_view, *det, opt.face_search, opt.frame, W, H, o_exif);
      clock.lap(stage::detect);
      if (!found) return std::move(found).error();
      g = std::move(found).value();
      if (proxy->scale_denom == 1) reuse = std::move(proxy).value();
    }
    for (auto& w : g.detect_warnings) out.warnings.push_back(std::move(w));
    for (auto& w : g.frame_warnings) out.warnings.push_back(std::move(w));
    out.chosen_face = g.chosen();
    out.faces = std::move(g.faces);
    out.extra_rotation_cw = g.extra_rotation_cw;
  }
  const int o = g.o;
  const size2 up = g.up;
  out.upright_width = up.w;
  out.upright_height = up.h;
  if (!plan) {
    auto p = plan_frame_output(g.frame, opt, tp);
    if (!p) return std::move(p).error();
    plan = std::move(p).value();
  }
  if (plan->trimmed)
    out.warnings.push_back("crop: long side trimmed to fit the API's maximum of " + std::to_string(tp.bounds.max_h) +
                           "x" + std::to_string(tp.bounds.max_w) + " (HxW)");
  out.crop = plan->crop;
  if (out.chosen_face) {
    const face& f = *out.chosen_face;
    const rect& c = out.crop;
    out.face_area_ratio = overlap(f.x, f.y, f.w, f.h, c.x, c.y, c.w, c.h) / (static_cast<double>(c.w) * c.h);
  }
  clock.lap(stage::crop);

  // 3. Decode only that region, at the coarsest DCT scale with headroom,
  // unless 2a already decoded it.
  image stored;         // the decoded region, stored orientation
  rect decoded_region;  // stored, full-resolution pixels
  int scale_denom = 1;
  if (region_ready) {
    stored = std::move(region_ready->pixels);
    decoded_region = region_ready->region;
    scale_denom = region_ready->scale_denom;
    out.source.icc_converted = region_ready->source.icc_converted;
    region_ready.reset();
  } else {
    decode_request req;
    const rect stored_region = upright_to_stored(out.crop, W, H, o);
    if (stored_region != rect{0, 0, W, H}) req.region = stored_region;
    if (jpeg)
      req.scale_denom = shrink_on_load_denom(std::min(out.crop.w, out.crop.h), opt.short_side, opt.resize_headroom);
    auto dec = reuse   ? result<decoded>(crop_decoded(std::move(*reuse), stored_region))
               : coefs ? decode_from_coefficients(*coefs, out.source, stored_region, req.scale_denom)
                       : decode(bytes, opt.decode, req);
    reuse.reset();
    coefs.reset();
    if (!dec) return std::move(dec).error();
    out.source.icc_converted = dec->source.icc_converted;
    for (auto& w : dec->warnings)  // the proxy decode may have reported the same already
      if (std::find(out.warnings.begin(), out.warnings.end(), w) == out.warnings.end()) out.warnings.push_back(std::move(w));
    decoded_region = dec->region;
    scale_denom = dec->scale_denom;
    stored = std::move(dec->pixels);
    clock.lap(stage::decode);
  }
  out.decode_scale_denom = scale_denom;

  // 4. Resize the exact crop to the planned output size, still in stored
  // orientation (both filters, area and bicubic, are separable and mirror-
  // symmetric, so they commute with the eight orientations up to rounding),
  // and 5. turn only the output upright: 720x960, not the decoded region.
  const size2 stored_up = upright_size(stored.width, stored.height, o);
  const rect sub_up = to_decoded_grid(out.crop, decoded_region, W, H, o, scale_denom, stored_up.w, stored_up.h);
  const rect sub = upright_to_stored(sub_up, stored.width, stored.height, o);
  image_view src = stored.view();
  src.data = stored.pixels.data() + static_cast<std::size_t>(sub.y) * stored.stride() +
             static_cast<std::size_t>(sub.x) * stored.channels;
  src.width = sub.w;
  src.height = sub.h;
  const size2 out_stored = upright_size(plan->out_w, plan->out_h, o);  // transposing twice is the identity
  image sized = resize(src, out_stored.w, out_stored.h);
  stored = image{};
  clock.lap(stage::resize);
  if (o != 1) sized = apply_orientation(sized, o);
  clock.lap(stage::orient);

  // 6. Encode within the target's byte budget (raw and base64 limits both).
  encode_options eo;
  eo.quality = opt.quality;
  eo.min_quality = opt.min_quality;
  eo.max_bytes = std::min(tp.max_jpeg_bytes, tp.max_base64_bytes / 4 * 3);
  auto enc = encode_jpeg(sized.view(), eo);
  if (!enc) return std::move(enc).error();
  out.jpeg = std::move(enc->jpeg);
  out.quality = enc->quality;
  out.width = sized.width;
  out.height = sized.height;
  clock.lap(stage::encode);

  // 7. Base64.
  if (opt.want_base64) base64_encode(out.jpeg, out.base64);
  clock.lap(stage::base64);
  return out;
}
}  // namespace

result<std::vector<std::uint8_t>> read_file(const std::string& path, std::uint64_t max_bytes) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) return error{error_code::io_error, stage::read, "cannot open " + path};
  std::vector<std::uint8_t> data;
  // Read in chunks rather than trusting the file size (pipes, growing files).
  std::size_t chunk = 1 << 16;
  for (;;) {
    const std::size_t old = data.size();
    if (old > max_bytes)
      return error{error_code::input_too_large, stage::read,
                   path + " is larger than max_input_bytes " + std::to_string(max_bytes)};
    data.resize(old + chunk);
    const std::size_t n = std::fread(data.data() + old, 1, chunk, f.get());
    data.resize(old + n);
    if (n < chunk) break;
    chunk = std::min<std::size_t>(chunk * 2, 8u << 20);
  }
  if (std::ferror(f.get())) return error{error_code::io_error, stage::read, "read error on " + path};
  if (data.size() > max_bytes)
    return error{error_code::input_too_large, stage::read,
                 path + " is larger than max_input_bytes " + std::to_string(max_bytes)};
  return data;
}

result<prepared> prepare_file(const std::string& path, const prepare_options& opt) {
  const auto t0 = clock_type::now();
  auto bytes = read_file(path, opt.decode.limits.max_input_bytes);
  if (!bytes) return std::move(bytes).error();
  const double read_ms = std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
  auto r = prepare(bytes.value(), opt);
  if (r) r->timings[stage::read] += read_ms;
  return r;
}

}  // namespace kycprep
