// JPEG decoding with the libjpeg API of libjpeg-turbo. Errors are handled
// as described in jpeg_session.hpp (setjmp only in small phase functions).
#include <algorithm>
#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

// jpeglib.h needs size_t and FILE declared first.
#include <jpeglib.h>
#include <jerror.h>

#include "decode/decode_pvt.hpp"
#include "decode/icc.hpp"
#include "decode/jpeg_session.hpp"
#include "kycprep/orient.hpp"

namespace kycprep::detail {

namespace {

using jpeg_state = jpeg_session;

// ---- phases: each returns false after a longjmp, with s->why set ----------

bool phase_start(jpeg_state* s, int denom, J_COLOR_SPACE out_space, bool draft, JDIMENSION* crop_x,
                 JDIMENSION* crop_w, JDIMENSION skip_rows) {
  if (setjmp(s->jump)) return false;
  s->cinfo.out_color_space = out_space;
  s->cinfo.scale_num = 1;
  s->cinfo.scale_denom = static_cast<unsigned>(denom);
  s->cinfo.dct_method = draft ? JDCT_IFAST : JDCT_ISLOW;
  if (draft) s->cinfo.do_fancy_upsampling = FALSE;
  jpeg_start_decompress(&s->cinfo);
  if (*crop_w < s->cinfo.output_width) jpeg_crop_scanline(&s->cinfo, crop_x, crop_w);
  if (skip_rows > 0) jpeg_skip_scanlines(&s->cinfo, skip_rows);
  return true;
}

// Reads `rows` scanlines; each is handed to `sink(row_index, row_ptr)`.
// A plain function pointer + context keeps this frame trivially destructible.
using row_sink = void (*)(void* ctx, int row, const std::uint8_t* samples);
bool phase_read(jpeg_state* s, int rows, std::uint8_t* row_buf, row_sink sink, void* ctx, int* rows_done) {
  if (setjmp(s->jump)) return false;
  JSAMPROW rp[1] = {row_buf};
  while (*rows_done < rows) {
    if (jpeg_read_scanlines(&s->cinfo, rp, 1) != 1) {
      std::snprintf(s->message, sizeof s->message, "decoder produced no more rows");
      s->why = jpeg_failure::codec_error;
      return false;
    }
    sink(ctx, *rows_done, row_buf);
    ++*rows_done;
  }
  return true;
}

// Copies the embedded ICC profile (APP2 chunks reassembled by libjpeg).
bool phase_icc(jpeg_state* s, std::vector<std::uint8_t>* out) {
  if (setjmp(s->jump)) return false;
  JOCTET* data = nullptr;
  unsigned int len = 0;
  if (jpeg_read_icc_profile(&s->cinfo, &data, &len) && data) {
    out->assign(data, data + len);
    std::free(data);
  }
  return true;
}

// Reads to EOI so that damage after the last row (bad codes in the final
// MCUs, missing EOI) is reported too.
bool phase_finish(jpeg_state* s) {
  if (setjmp(s->jump)) return false;
  jpeg_finish_decompress(&s->cinfo);
  return true;
}

// Reads `rows` scanlines straight into the caller's row pointers.
bool phase_read_rows(jpeg_state* s, JSAMPROW* rows, int count, int* rows_done) {
  if (setjmp(s->jump)) return false;
  while (*rows_done < count) {
    const JDIMENSION n = jpeg_read_scanlines(&s->cinfo, rows + *rows_done, static_cast<JDIMENSION>(count - *rows_done));
    if (n == 0) {
      std::snprintf(s->message, sizeof s->message, "decoder produced no more rows");
      s->why = jpeg_failure::codec_error;
      return false;
    }
    *rows_done += static_cast<int>(n);
  }
  return true;
}

std::string subsampling_of(const jpeg_decompress_struct& c) {
  if (c.num_components == 1) return "gray";
  if (c.num_components < 3) return "other";
  const auto& y = c.comp_info[0];
  const auto& cb = c.comp_info[1];
  const auto& cr = c.comp_info[2];
  if (cb.h_samp_factor != cr.h_samp_factor || cb.v_samp_factor != cr.v_samp_factor) return "other";
  if (cb.h_samp_factor != 1 || cb.v_samp_factor != 1) return "other";
  const int h = y.h_samp_factor, v = y.v_samp_factor;
  if (h == 1 && v == 1) return "4:4:4";
  if (h == 2 && v == 2) return "4:2:0";
  if (h == 2 && v == 1) return "4:2:2";
  if (h == 1 && v == 2) return "4:4:0";
  if (h == 4 && v == 1) return "4:1:1";
  return "other";
}

// The TIFF block of the first APP1 "Exif\0\0" segment, located in the input
// itself: libjpeg's saved markers are copies, and the thumbnail is reported
// as a range of the input. Each step moves forward, within the input.
std::span<const std::uint8_t> exif_block_in(std::span<const std::uint8_t> b) {
  std::size_t p = 2;  // after SOI
  while (p + 4 <= b.size()) {
    if (b[p] != 0xFF) return {};
    const std::uint8_t m = b[p + 1];
    if (m == 0xFF) {  // fill byte
      ++p;
      continue;
    }
    if (m == 0xDA || m == 0xD9) return {};  // SOS or EOI: the header segments are over
    const std::size_t len = (std::size_t{b[p + 2]} << 8) | b[p + 3];
    if (len < 2 || len > b.size() - p - 2) return {};
    if (m == 0xE1 && len >= 8 && std::memcmp(b.data() + p + 4, "Exif\0\0", 6) == 0) return b.subspan(p + 10, len - 8);
    p += 2 + len;
  }
  return {};
}

void fill_source_info(std::span<const std::uint8_t> bytes, const jpeg_decompress_struct& c, source_info& si,
                      std::vector<std::string>& warnings) {
  si.format = image_format::jpeg;
  si.width = static_cast<int>(c.image_width);
  si.height = static_cast<int>(c.image_height);
  si.progressive = c.progressive_mode != 0;
  si.subsampling = subsampling_of(c);
  si.bit_depth = c.data_precision;
  switch (c.jpeg_color_space) {
    case JCS_GRAYSCALE: si.color = "gray"; break;
    case JCS_CMYK: si.color = "cmyk"; break;
    case JCS_YCCK: si.color = "ycck"; break;
    default: si.color = "rgb"; break;
  }
  si.cmyk = c.jpeg_color_space == JCS_CMYK || c.jpeg_color_space == JCS_YCCK;
  si.adobe_inverted = si.cmyk && c.saw_Adobe_marker;
  bool exif_seen = false;
  for (jpeg_saved_marker_ptr m = c.marker_list; m; m = m->next) {
    if (m->marker == JPEG_APP0 + 2 && m->data_length >= 12 && std::memcmp(m->data, "ICC_PROFILE\0", 12) == 0)
      si.icc = true;
    if (m->marker == JPEG_APP0 + 1 && !exif_seen && m->data_length >= 6 && std::memcmp(m->data, "Exif\0\0", 6) == 0) {
      exif_seen = true;
      const exif_orientation eo = parse_exif_orientation({m->data + 6, m->data_length - 6});
      si.orientation = eo.value;
      if (!eo.warning.empty()) warnings.push_back("exif: " + eo.warning);
    }
  }
  if (exif_seen) {
    const auto tiff = exif_block_in(bytes);
    if (const auto t = parse_exif_thumbnail(tiff)) {
      si.exif_thumbnail_offset = static_cast<std::size_t>(tiff.data() - bytes.data()) + t->offset;
      si.exif_thumbnail_size = t->size;
    }
  }
}

// CMYK -> RGB. Adobe (Photoshop) writes inverted samples: 255 = no ink.
void cmyk_row_to_rgb(const std::uint8_t* in, std::uint8_t* out, int n, bool inverted) {
  for (int i = 0; i < n; ++i, in += 4, out += 3) {
    unsigned c = in[0], m = in[1], y = in[2], k = in[3];
    if (!inverted) c = 255 - c, m = 255 - m, y = 255 - y, k = 255 - k;
    out[0] = static_cast<std::uint8_t>((c * k + 127) / 255);
    out[1] = static_cast<std::uint8_t>((m * k + 127) / 255);
    out[2] = static_cast<std::uint8_t>((y * k + 127) / 255);
  }
}

void rgb_row_to_gray(const std::uint8_t* in, std::uint8_t* out, int n) {
  for (int i = 0; i < n; ++i, in += 3)  // BT.601 luma, as libjpeg computes Y
    out[i] = static_cast<std::uint8_t>((19595u * in[0] + 38470u * in[1] + 7471u * in[2] + 32768u) >> 16);
}

struct copy_ctx {
  std::uint8_t* dst;
  std::size_t dst_stride;
  int src_offset;   // in pixels, from the start of the decoded row
  int width;        // pixels to keep
  int in_channels;  // 1, 3 or 4 (CMYK)
  int out_channels; // 1 or 3
  bool inverted;
  std::vector<std::uint8_t>* scratch;
};

void copy_row(void* vctx, int row, const std::uint8_t* samples) {
  auto* c = static_cast<copy_ctx*>(vctx);
  std::uint8_t* dst = c->dst + static_cast<std::size_t>(row) * c->dst_stride;
  const std::uint8_t* src = samples + static_cast<std::size_t>(c->src_offset) * c->in_channels;
  if (c->in_channels == 4) {
    if (c->out_channels == 3) {
      cmyk_row_to_rgb(src, dst, c->width, c->inverted);
    } else {
      cmyk_row_to_rgb(src, c->scratch->data(), c->width, c->inverted);
      rgb_row_to_gray(c->scratch->data(), dst, c->width);
    }
  } else {
    std::memcpy(dst, src, static_cast<std::size_t>(c->width) * c->in_channels);
  }
}

}  // namespace

result<source_info> read_jpeg_header(std::span<const std::uint8_t> bytes, const decode_options& opt) {
  auto s = std::make_unique<jpeg_state>();
  s->fail_on_corruption = false;  // the header alone cannot be judged for corruption
  if (!s->read_header(bytes, true)) return s->failure();
  source_info si;
  std::vector<std::string> ignored;
  fill_source_info(bytes, s->cinfo, si, ignored);
  if (auto e = check_dimensions(s->cinfo.image_width, s->cinfo.image_height, bytes.size(), opt.limits))
    return std::move(*e);
  return si;
}

namespace {

// Where the first scan's entropy-coded data ends: the first marker after
// `scan_start` that is neither a stuffed 0xFF00 nor a restart marker.
std::size_t end_of_scan(std::span<const std::uint8_t> b, std::size_t scan_start) {
  for (std::size_t i = scan_start; i + 1 < b.size(); ++i)
    if (b[i] == 0xFF && b[i + 1] != 0x00 && !(b[i + 1] >= 0xD0 && b[i + 1] <= 0xD7) && b[i + 1] != 0xFF) return i;
  return b.size();
}

// True when the first scan of a progressive JPEG carries the DC
// coefficients of every component (libjpeg's and mozjpeg's default scripts).
bool first_scan_has_all_dc(const jpeg_decompress_struct& c) {
  return c.progressive_mode && c.Ss == 0 && c.Se == 0 && c.Ah == 0 && c.comps_in_scan == c.num_components;
}

result<decoded> decode_jpeg_impl(std::span<const std::uint8_t> bytes, const decode_options& opt,
                                 const decode_request& req, bool allow_first_scan);

}  // namespace

result<decoded> decode_jpeg(std::span<const std::uint8_t> bytes, const decode_options& opt, const decode_request& req) {
  return decode_jpeg_impl(bytes, opt, req, req.draft);
}

namespace {

result<decoded> decode_jpeg_impl(std::span<const std::uint8_t> bytes, const decode_options& opt,
                                 const decode_request& req, bool allow_first_scan) {
  auto s = std::make_unique<jpeg_state>();
  s->fail_on_corruption = !opt.tolerate_corruption;
  s->max_scans = opt.limits.max_scans;

  decoded out;
  if (!s->read_header(bytes, true)) return s->failure();
  s->watch_scans();
  fill_source_info(bytes, s->cinfo, out.source, out.warnings);
  const int W = static_cast<int>(s->cinfo.image_width), H = static_cast<int>(s->cinfo.image_height);
  if (auto e = check_dimensions(static_cast<std::uint64_t>(W), static_cast<std::uint64_t>(H), bytes.size(), opt.limits))
    return std::move(*e);
  if (allow_first_scan && first_scan_has_all_dc(s->cinfo)) {
    // Decode a copy that ends after the first (DC) scan: the header, the
    // scan, then EOI. Its size limits stay those of the whole file.
    const std::size_t scan_start = bytes.size() - s->cinfo.src->bytes_in_buffer;
    const std::size_t end = end_of_scan(bytes, scan_start);
    std::vector<std::uint8_t> head(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(end));
    head.push_back(0xFF);
    head.push_back(0xD9);
    decode_options o = opt;
    o.limits.max_pixels_per_byte = opt.limits.max_pixels_per_byte * static_cast<double>(bytes.size()) / head.size();
    auto r = decode_jpeg_impl(head, o, req, false);
    if (r) {
      r->source = out.source;  // facts of the whole file (progressive, orientation, ...)
      r->warnings = std::move(out.warnings);
    }
    return r;
  }

  // Region in stored full-resolution pixels -> decoded (scaled) pixels.
  const rect region = clamp_region(req.region, W, H);
  if (region.w <= 0) return error{error_code::invalid_options, stage::decode, "decode region lies outside the image"};
  const int d = req.scale_denom;
  const int sw = (W + d - 1) / d, sh = (H + d - 1) / d;
  const int x0 = region.x / d, y0 = region.y / d;
  const int x1 = std::min(sw, (region.x + region.w + d - 1) / d);
  const int y1 = std::min(sh, (region.y + region.h + d - 1) / d);
  const int out_w = std::max(1, x1 - x0), out_h = std::max(1, y1 - y0);

  const bool cmyk = out.source.cmyk;
  const J_COLOR_SPACE space = cmyk ? JCS_CMYK : (req.gray ? JCS_GRAYSCALE : JCS_RGB);
  JDIMENSION crop_x = static_cast<JDIMENSION>(x0), crop_w = static_cast<JDIMENSION>(out_w);
  if (out_w == sw) crop_x = 0, crop_w = static_cast<JDIMENSION>(sw);  // no horizontal crop
  if (!phase_start(s.get(), d, space, req.draft, &crop_x, &crop_w, static_cast<JDIMENSION>(y0)))
    return s->failure();
  if (static_cast<int>(s->cinfo.output_height) != sh)
    return error{error_code::internal, stage::decode, "unexpected scaled height from libjpeg"};

  out.scale_denom = d;
  int rows_done = 0;
  if (!cmyk) {
    // Decode straight into the result: its rows are the decoder's output
    // rows (jpeg_crop_scanline may have widened the region to iMCU bounds).
    const int dw = static_cast<int>(s->cinfo.output_width), dx = static_cast<int>(crop_x);
    out.region = {dx * d, y0 * d, std::min(W, (dx + dw) * d) - dx * d, std::min(H, y1 * d) - y0 * d};
    out.pixels.width = dw;
    out.pixels.height = out_h;
    out.pixels.channels = req.gray ? 1 : 3;
    out.pixels.pixels.resize(out.pixels.stride() * static_cast<std::size_t>(out_h));
    std::vector<JSAMPROW> rows(static_cast<std::size_t>(out_h));
    for (int y = 0; y < out_h; ++y) rows[static_cast<std::size_t>(y)] = out.pixels.pixels.data() + out.pixels.stride() * static_cast<std::size_t>(y);
    if (!phase_read_rows(s.get(), rows.data(), out_h, &rows_done)) return s->failure();
  } else {
    // CMYK/YCCK: convert each row, keeping exactly the requested columns.
    out.region = {x0 * d, y0 * d, std::min(W, x1 * d) - x0 * d, std::min(H, y1 * d) - y0 * d};
    out.pixels.width = out_w;
    out.pixels.height = out_h;
    out.pixels.channels = req.gray ? 1 : 3;
    out.pixels.pixels.resize(out.pixels.stride() * static_cast<std::size_t>(out_h));
    const int in_channels = s->cinfo.output_components;
    std::vector<std::uint8_t> row(static_cast<std::size_t>(s->cinfo.output_width) * in_channels);
    std::vector<std::uint8_t> scratch(static_cast<std::size_t>(out_w) * 3);
    copy_ctx ctx{out.pixels.pixels.data(), out.pixels.stride(), x0 - static_cast<int>(crop_x), out_w, in_channels,
                 out.pixels.channels, out.source.adobe_inverted, &scratch};
    if (!phase_read(s.get(), out_h, row.data(), copy_row, &ctx, &rows_done)) return s->failure();
  }
  if (out.source.icc && !cmyk && !req.gray && !req.draft) {
    std::vector<std::uint8_t> profile;
    if (!phase_icc(s.get(), &profile)) return s->failure();
    std::string why;
    const icc_result r = convert_to_srgb(out.pixels, profile, why);
    out.source.icc_converted = r == icc_result::converted;
    if (r == icc_result::unusable) out.warnings.push_back("icc: " + why);
  }
  if (y1 == sh && !phase_finish(s.get())) return s->failure();
  if (auto w = s->warning_summary(); !w.empty()) out.warnings.push_back(std::move(w));
  // When the region ends above the bottom, the rows below are never read:
  // jpeg_state's destructor aborts the decompressor.
  return out;
}

}  // namespace

}  // namespace kycprep::detail
