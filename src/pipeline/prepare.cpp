// The per-image pipeline. Geometry is planned from the header first, so the
// decoder only produces the pixels the output needs: the crop region, at the
// coarsest DCT scale that keeps resize_headroom over the output size, and
// orientation is applied to that reduced crop, never to the full frame.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>

#include "decode/coef_decode.hpp"
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
// so that orientation and resize touch the crop, never the full frame.
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

}  // namespace

result<prepared> prepare(std::span<const std::uint8_t> bytes, const prepare_options& opt) {
  if (auto e = validate(opt)) return std::move(*e);
  prepared out;
  stage_clock clock(out.timings);

  // 1. Header: format, size, orientation, limits. Nothing is allocated yet.
  auto header = read_header(bytes, opt.decode);
  if (!header) return std::move(header).error();
  out.source = header.value();
  const int W = out.source.width, H = out.source.height, o_exif = out.source.orientation;
  const size2 up_exif = upright_size(W, H, o_exif);
  const target_preset tp = preset(opt.target);

  // 2. The frame to keep, in upright pixels.
  int o = o_exif;
  size2 up = up_exif;
  rect frame{0, 0, up.w, up.h};
  std::optional<decoded> reuse;  // a full-resolution decode made for detection
  std::optional<detail::coefficient_image> coefs;  // progressive JPEG: read once
  if (opt.profile == profile::face) {
    std::shared_ptr<const face_detector> det = opt.detector;
    if (!det) {
      auto made = make_default_detector();
      if (!made) return std::move(made).error();
      det = std::move(made).value();
    }
    // The detection input: an upright copy about detect_input_long_side long.
    //  - Baseline JPEG: a draft DCT-scaled decode; the region decode below
    //    then reads only the rows down to the crop (two Huffman passes, ~1/8
    //    of the memory of one: docs/PERFORMANCE.md).
    //  - Progressive JPEG: every pass costs nearly a full decode (all scans),
    //    so the coefficients are read once; the proxy comes from their DC
    //    terms and the crop is decoded from them.
    //  - PNG (and progressive files the coefficient path refuses, e.g.
    //    CMYK): one full decode, kept for the crop.
    const bool progressive_jpeg = out.source.format == image_format::jpeg && out.source.progressive;
    if (progressive_jpeg) {
      auto c = detail::read_coefficients(bytes, opt.decode);
      if (c) coefs.emplace(std::move(c).value());
      else if (c.error().code != error_code::unsupported_format) return std::move(c).error();
    }
    const bool single_pass = out.source.format != image_format::jpeg || out.source.progressive;
    decode_request preq;
    if (!single_pass)
      for (int d : {8, 4, 2})
        if ((std::max(W, H) + d - 1) / d >= opt.detect_input_long_side) {
          preq.scale_denom = d;
          preq.draft = true;
          break;
        }
    result<decoded> proxy = coefs ? result<decoded>(decoded{}) : decode(bytes, opt.decode, preq);
    if (!proxy) return std::move(proxy).error();
    if (coefs) {
      proxy->pixels = detail::dc_proxy(*coefs);
      proxy->scale_denom = 8;
      proxy->warnings = coefs->warnings();
    }
    for (const auto& w : proxy->warnings) out.warnings.push_back(w);
    image small;  // stored orientation, reduced
    if (!preq.draft) {
      const int long_side = std::max(proxy->pixels.width, proxy->pixels.height);
      if (long_side > 2 * opt.detect_input_long_side) {
        const double f = static_cast<double>(opt.detect_input_long_side) / long_side;
        small = resize(proxy->pixels.view(), std::max(1, static_cast<int>(std::lround(proxy->pixels.width * f))),
                       std::max(1, static_cast<int>(std::lround(proxy->pixels.height * f))));
      }
    }
    const image& stored_small = small.empty() ? proxy->pixels : small;
    image proxy_up = o_exif == 1 ? image{} : apply_orientation(stored_small, o_exif);
    const image_view proxy_view = o_exif == 1 ? stored_small.view() : proxy_up.view();
    if (!preq.draft && !coefs) reuse = std::move(proxy).value();
    clock.lap(stage::decode);
    auto found = find_faces(proxy_view, *det, opt.face_search);
    clock.lap(stage::detect);
    if (!found) return std::move(found).error();
    const face_search& fs = found.value();
    if (fs.rotation_cw != 0) {
      o = rotate_orientation(o_exif, fs.rotation_cw);
      up = upright_size(W, H, o);
      out.extra_rotation_cw = fs.rotation_cw;
      out.warnings.push_back("detect: the face was found only after rotating the photo " +
                             std::to_string(fs.rotation_cw) + " degrees clockwise (pixel-rotated, no EXIF tag); "
                             "the output is turned upright");
    }
    for (const auto& w : fs.warnings) out.warnings.push_back("detect: " + w);
    // Boxes are in the (rotated) proxy; scale them to full-resolution upright pixels.
    const bool swap = fs.rotation_cw == 90 || fs.rotation_cw == 270;
    const double pw = swap ? proxy_view.height : proxy_view.width, ph = swap ? proxy_view.width : proxy_view.height;
    const double sx = up.w / pw, sy = up.h / ph;
    auto to_full = [sx, sy](const face& f) {
      return face{f.x * float(sx), f.y * float(sy), f.w * float(sx), f.h * float(sy), f.score};
    };
    for (const face& f : fs.faces) out.faces.push_back(to_full(f));
    out.chosen_face = to_full(*fs.chosen);
    auto ff = plan_face_frame(*out.chosen_face, up.w, up.h, opt.frame);
    if (!ff) return std::move(ff).error();
    for (const auto& w : ff->warnings) out.warnings.push_back("crop: " + w);
    frame = ff->frame;
  }
  out.upright_width = up.w;
  out.upright_height = up.h;
  auto plan = plan_output(frame, opt.short_side, tp.bounds);
  if (!plan) return std::move(plan).error();
  if (plan->trimmed)
    out.warnings.push_back("crop: long side trimmed to fit the API's maximum of " + std::to_string(tp.bounds.max_h) +
                           "x" + std::to_string(tp.bounds.max_w) + " (HxW)");
  if (opt.profile == profile::face && !plan->trimmed && plan->out_w == opt.short_side) {
    // The frame is aspect_w:aspect_h within a pixel of rounding; the output
    // is exactly that aspect (720x960 by default), not the rounding's.
    const long exact = std::lround(static_cast<double>(opt.short_side) * opt.frame.aspect_h / opt.frame.aspect_w);
    if (exact >= tp.bounds.min_h && exact <= tp.bounds.max_h) plan->out_h = static_cast<int>(exact);
  }
  out.crop = plan->crop;
  if (out.chosen_face) {
    const face& f = *out.chosen_face;
    const double ix = std::max(0.0, std::min<double>(f.x + f.w, out.crop.x + out.crop.w) - std::max<double>(f.x, out.crop.x));
    const double iy = std::max(0.0, std::min<double>(f.y + f.h, out.crop.y + out.crop.h) - std::max<double>(f.y, out.crop.y));
    out.face_area_ratio = ix * iy / (static_cast<double>(out.crop.w) * out.crop.h);
  }
  clock.lap(stage::crop);

  // 3. Decode only that region, at the coarsest DCT scale with headroom.
  decode_request req;
  const rect stored_region = upright_to_stored(out.crop, W, H, o);
  if (stored_region != rect{0, 0, W, H}) req.region = stored_region;
  if (out.source.format == image_format::jpeg)
    req.scale_denom = shrink_on_load_denom(std::min(out.crop.w, out.crop.h), opt.short_side, opt.resize_headroom);
  auto dec = reuse    ? result<decoded>(crop_decoded(std::move(*reuse), stored_region))
             : coefs ? decode_from_coefficients(*coefs, out.source, stored_region, req.scale_denom)
                     : decode(bytes, opt.decode, req);
  reuse.reset();
  coefs.reset();
  if (!dec) return std::move(dec).error();
  out.decode_scale_denom = dec->scale_denom;
  out.source.icc_converted = dec->source.icc_converted;
  for (auto& w : dec->warnings)  // the proxy decode may have reported the same already
    if (std::find(out.warnings.begin(), out.warnings.end(), w) == out.warnings.end()) out.warnings.push_back(std::move(w));
  clock.lap(stage::decode);

  // 4. Orientation, on the reduced crop only.
  image upright = o == 1 ? std::move(dec->pixels) : apply_orientation(dec->pixels, o);
  dec->pixels = image{};
  clock.lap(stage::orient);

  // 5. Resize the exact crop to the planned output size.
  const rect sub = to_decoded_grid(out.crop, dec->region, W, H, o, dec->scale_denom, upright.width, upright.height);
  image_view src = upright.view();
  src.data = upright.pixels.data() + static_cast<std::size_t>(sub.y) * upright.stride() +
             static_cast<std::size_t>(sub.x) * upright.channels;
  src.width = sub.w;
  src.height = sub.h;
  image sized = resize(src, plan->out_w, plan->out_h);
  upright = image{};
  clock.lap(stage::resize);

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
