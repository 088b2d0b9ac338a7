// PNG decoding with libpng: every variant is normalised to 8-bit RGB (or
// gray), alpha composited over white. Same setjmp discipline as the JPEG
// decoder: setjmp only in small functions with trivially destructible locals.
// 8-bit non-interlaced files normally skip libpng's row reader for the fast
// path of png_fast.hpp, which hands back to it on anything unclean.
#include <png.h>

#include <algorithm>
#include <csetjmp>
#include <cstring>
#include <memory>

#include "decode/decode_pvt.hpp"
#include "decode/icc.hpp"
#include "decode/png_fast.hpp"
#include "kycprep/orient.hpp"

namespace kycprep::detail {

namespace {

struct png_state {
  png_structp png = nullptr;
  png_infop info = nullptr;
  const std::uint8_t* data = nullptr;
  std::size_t size = 0;
  std::size_t pos = 0;
  bool hit_eof = false;
  int warnings = 0;
  char message[256]{};
  char first_warning[256]{};

  ~png_state() {
    if (png) png_destroy_read_struct(&png, info ? &info : nullptr, nullptr);
  }
};

void on_png_error(png_structp png, png_const_charp msg) {
  auto* s = static_cast<png_state*>(png_get_error_ptr(png));
  std::snprintf(s->message, sizeof s->message, "%s", msg);
  png_longjmp(png, 1);
}

void on_png_warning(png_structp png, png_const_charp msg) {
  auto* s = static_cast<png_state*>(png_get_error_ptr(png));
  if (s->warnings++ == 0) std::snprintf(s->first_warning, sizeof s->first_warning, "%s", msg);
}

void on_png_read(png_structp png, png_bytep out, png_size_t n) {
  auto* s = static_cast<png_state*>(png_get_io_ptr(png));
  if (n > s->size - s->pos) {
    s->hit_eof = true;
    png_error(png, "unexpected end of file");
  }
  std::memcpy(out, s->data + s->pos, n);
  s->pos += n;
}

bool phase_create(png_state* s) {
  s->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, s, on_png_error, on_png_warning);
  if (!s->png) return false;
  s->info = png_create_info_struct(s->png);
  if (!s->info) return false;
  if (setjmp(png_jmpbuf(s->png))) return false;
  png_set_read_fn(s->png, s, on_png_read);
  // Dimensions are checked by us against decode_limits right after the
  // header; libpng's own cap would only turn them into a generic error.
  png_set_user_limits(s->png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
  png_set_chunk_cache_max(s->png, 1000);          // bound ancillary chunk count
  png_set_chunk_malloc_max(s->png, png_chunk_malloc_max);  // and each chunk's size
  png_read_info(s->png, s->info);
  return true;
}

// Sets transforms for 8-bit RGB(A)/gray(A) output; returns channels via *ch.
bool phase_transforms(png_state* s, bool keep_alpha, int* ch, int* passes) {
  if (setjmp(png_jmpbuf(s->png))) return false;
  png_set_expand(s->png);       // palette -> RGB, gray < 8 bit -> 8 bit, tRNS -> alpha
  png_set_scale_16(s->png);     // 16 -> 8 bit with rounding
  png_set_gray_to_rgb(s->png);
  if (!keep_alpha) png_set_strip_alpha(s->png);
  *passes = png_set_interlace_handling(s->png);
  png_read_update_info(s->png, s->info);
  *ch = png_get_channels(s->png, s->info);
  return true;
}

bool phase_rows(png_state* s, png_bytepp rows, int height, int passes, int* rows_done) {
  if (setjmp(png_jmpbuf(s->png))) return false;
  for (int p = 0; p < passes; ++p)
    for (int y = 0; y < height; ++y) {
      png_read_row(s->png, rows[y], nullptr);
      if (p == passes - 1) *rows_done = y + 1;
    }
  return true;
}

error png_failure(const png_state& s) {
  return {s.hit_eof ? error_code::truncated : error_code::corrupt, stage::decode, std::string("png: ") + s.message};
}

void fill_source_info(png_state* s, source_info& si, std::vector<std::string>& warnings) {
  png_uint_32 w = 0, h = 0;
  int depth = 0, color = 0, interlace = 0;
  png_get_IHDR(s->png, s->info, &w, &h, &depth, &color, &interlace, nullptr, nullptr);
  si.format = image_format::png;
  si.width = static_cast<int>(std::min<png_uint_32>(w, 0x7fffffff));
  si.height = static_cast<int>(std::min<png_uint_32>(h, 0x7fffffff));
  si.bit_depth = depth;
  si.progressive = interlace != PNG_INTERLACE_NONE;
  const bool trns = png_get_valid(s->png, s->info, PNG_INFO_tRNS) != 0;
  switch (color) {
    case PNG_COLOR_TYPE_GRAY: si.color = "gray"; break;
    case PNG_COLOR_TYPE_GRAY_ALPHA: si.color = "gray+alpha"; break;
    case PNG_COLOR_TYPE_PALETTE: si.color = "palette"; break;
    case PNG_COLOR_TYPE_RGB_ALPHA: si.color = "rgb+alpha"; break;
    default: si.color = "rgb"; break;
  }
  si.alpha = (color & PNG_COLOR_MASK_ALPHA) != 0 || trns;
  si.icc = png_get_valid(s->png, s->info, PNG_INFO_iCCP) != 0;
#ifdef PNG_eXIf_SUPPORTED
  png_uint_32 exif_len = 0;
  png_bytep exif = nullptr;
  if (png_get_eXIf_1(s->png, s->info, &exif_len, &exif) != 0 && exif && exif_len > 0) {
    const exif_orientation eo = parse_exif_orientation({exif, exif_len});
    si.orientation = eo.value;
    if (!eo.warning.empty()) warnings.push_back("exif: " + eo.warning);
  }
#endif
}

// Composites RGBA/GA over white in place, leaving 3 or 1 channels packed.
void composite_over_white(std::uint8_t* px, std::size_t n, int ch) {
  const int colour = ch - 1;
  const std::uint8_t* in = px;
  std::uint8_t* out = px;
  for (std::size_t i = 0; i < n; ++i, in += ch, out += colour) {
    const unsigned a = in[colour];
    for (int c = 0; c < colour; ++c) out[c] = png_over_white(in[c], a);
  }
}

// The fast path's pixel map for what libpng's transforms (phase_transforms)
// will output, or why this file is left to libpng; *channels is what libpng
// should then report. Called before the transforms, which rewrite the IHDR
// and tRNS facts in png_info. tRNS samples out of the 8-bit range are left
// to libpng too.
std::string fast_path_map(png_state* s, png_pixel_map& map, int* channels) {
  png_uint_32 w = 0, h = 0;
  int depth = 0, color = 0, interlace = 0, compression = 0, filter = 0;
  png_get_IHDR(s->png, s->info, &w, &h, &depth, &color, &interlace, &compression, &filter);
  if (depth != 8) return "bit depth " + std::to_string(depth);
  if (interlace != PNG_INTERLACE_NONE) return "interlaced";
  if (compression != PNG_COMPRESSION_TYPE_BASE || filter != PNG_FILTER_TYPE_BASE) return "non-standard method";
  const bool trns = png_get_valid(s->png, s->info, PNG_INFO_tRNS) != 0;
  png_bytep trans_alpha = nullptr;
  int num_trans = 0;
  png_color_16p trans_color = nullptr;
  if (trns) png_get_tRNS(s->png, s->info, &trans_alpha, &num_trans, &trans_color);
  *channels = (color & PNG_COLOR_MASK_ALPHA) != 0 || trns ? 4 : 3;
  using kind = png_pixel_map::kind;
  switch (color) {
    case PNG_COLOR_TYPE_RGB:
      if (!trns) {
        map.how = kind::rgb;
        return "";
      }
      if (!trans_color || trans_color->red > 255 || trans_color->green > 255 || trans_color->blue > 255)
        return "tRNS colour out of range";
      map.how = kind::rgb_keyed;
      map.key = {static_cast<std::uint8_t>(trans_color->red), static_cast<std::uint8_t>(trans_color->green),
                 static_cast<std::uint8_t>(trans_color->blue)};
      return "";
    case PNG_COLOR_TYPE_RGB_ALPHA:
      map.how = kind::rgba;
      return "";
    case PNG_COLOR_TYPE_GRAY_ALPHA:
      map.how = kind::gray_alpha;
      return "";
    case PNG_COLOR_TYPE_GRAY: {
      if (trns && (!trans_color || trans_color->gray > 255)) return "tRNS gray out of range";
      map.how = kind::indexed;
      map.lut_entries = 256;
      for (unsigned v = 0; v < 256; ++v) {
        const unsigned a = trns && v == trans_color->gray ? 0 : 255;
        map.lut[3 * v] = map.lut[3 * v + 1] = map.lut[3 * v + 2] = png_over_white(v, a);
      }
      return "";
    }
    case PNG_COLOR_TYPE_PALETTE: {
      png_colorp palette = nullptr;
      int entries = 0;
      if (png_get_PLTE(s->png, s->info, &palette, &entries) == 0 || !palette || entries <= 0 || entries > 256)
        return "no usable PLTE";
      map.how = kind::indexed;
      map.lut_entries = entries;
      for (int i = 0; i < entries; ++i) {
        const unsigned a = trns && trans_alpha && i < num_trans ? trans_alpha[i] : 255;
        map.lut[3 * static_cast<std::size_t>(i)] = png_over_white(palette[i].red, a);
        map.lut[3 * static_cast<std::size_t>(i) + 1] = png_over_white(palette[i].green, a);
        map.lut[3 * static_cast<std::size_t>(i) + 2] = png_over_white(palette[i].blue, a);
      }
      return "";
    }
    default:
      return "colour type " + std::to_string(color);
  }
}

}  // namespace

result<source_info> read_png_header(std::span<const std::uint8_t> bytes, const decode_options& opt) {
  auto s = std::make_unique<png_state>();
  s->data = bytes.data();
  s->size = bytes.size();
  if (!phase_create(s.get())) return png_failure(*s);
  source_info si;
  std::vector<std::string> ignored;
  fill_source_info(s.get(), si, ignored);
  if (auto e = check_dimensions(static_cast<std::uint64_t>(png_get_image_width(s->png, s->info)),
                                png_get_image_height(s->png, s->info), bytes.size(), opt.limits))
    return std::move(*e);
  return si;
}

result<decoded> decode_png(std::span<const std::uint8_t> bytes, const decode_options& opt, const decode_request& req) {
  return decode_png(bytes, opt, req, png_reader::automatic);
}

result<decoded> decode_png(std::span<const std::uint8_t> bytes, const decode_options& opt, const decode_request& req,
                           png_reader reader) {
  auto s = std::make_unique<png_state>();
  s->data = bytes.data();
  s->size = bytes.size();
  decoded out;
  if (!phase_create(s.get())) return png_failure(*s);
  fill_source_info(s.get(), out.source, out.warnings);
  const std::uint64_t W = png_get_image_width(s->png, s->info), H = png_get_image_height(s->png, s->info);
  if (auto e = check_dimensions(W, H, bytes.size(), opt.limits)) return std::move(*e);

  png_pixel_map map;
  int map_ch = 0;
  std::string why = reader == png_reader::libpng ? "libpng reader asked for" : fast_path_map(s.get(), map, &map_ch);
  int ch = 0, passes = 1;
  if (!phase_transforms(s.get(), out.source.alpha, &ch, &passes)) return png_failure(*s);
  if (why.empty() && ch != map_ch) why = "libpng outputs " + std::to_string(ch) + " channels";
  const int w = static_cast<int>(W), h = static_cast<int>(H);
  const rect region = clamp_region(req.region, w, h);
  if (region.w <= 0) return error{error_code::invalid_options, stage::decode, "decode region lies outside the image"};

  // PNG has no cheap partial decode: non-interlaced files stream rows and
  // keep only the region; interlaced files need the whole frame.
  const std::size_t row_bytes = static_cast<std::size_t>(w) * ch;
  const bool whole = passes > 1;
  const int keep_h = whole ? h : region.y + region.h;  // rows we must read
  image& img = out.pixels;
  img.width = region.w;
  img.height = region.h;
  img.channels = 3;

  // libpng has read up to the first IDAT's data (s->pos); either reader goes on from there.
  if (why.empty())
    why = png_fast_decode(bytes, s->pos, static_cast<std::uint32_t>(W), static_cast<std::uint32_t>(H), map, region,
                          img);
  const bool fast = why.empty();
  if (!fast && reader == png_reader::fast_only)
    return error{error_code::internal, stage::decode, "png fast path not taken: " + why};
  if (!fast) img.pixels.assign(img.stride() * static_cast<std::size_t>(region.h), 128);  // gray where data is missing

  int rows_done = 0;
  bool ok = true;
  std::vector<std::uint8_t> buf;
  if (!fast) buf.resize(row_bytes * static_cast<std::size_t>(whole ? h : 1));
  if (!fast && whole) {
    std::vector<png_bytep> rows(static_cast<std::size_t>(h));
    for (int y = 0; y < h; ++y) rows[static_cast<std::size_t>(y)] = buf.data() + row_bytes * static_cast<std::size_t>(y);
    ok = phase_rows(s.get(), rows.data(), h, passes, &rows_done);
  } else if (!fast) {
    // Read one row at a time through a one-row buffer.
    for (int y = 0; y < keep_h && ok; ++y) {
      png_bytep rp = buf.data();
      int one = 0;
      ok = phase_rows(s.get(), &rp, 1, 1, &one);
      if (!ok) break;
      rows_done = y + 1;
      if (y >= region.y) {
        std::uint8_t* dst = img.pixels.data() + img.stride() * static_cast<std::size_t>(y - region.y);
        std::uint8_t* src = buf.data() + static_cast<std::size_t>(region.x) * ch;
        if (ch == 4) composite_over_white(src, static_cast<std::size_t>(region.w), 4);  // in place
        std::memcpy(dst, src, static_cast<std::size_t>(region.w) * 3);
      }
    }
  }
  if (!ok) {
    if (!opt.tolerate_corruption) return png_failure(*s);
    out.warnings.push_back(std::string(s->hit_eof ? "truncated: " : "corrupt: ") + "png: " + s->message + " (" +
                           std::to_string(rows_done) + " of " + std::to_string(h) + " rows decoded; rest filled gray)");
  }
  if (!fast && whole && (ok || opt.tolerate_corruption)) {
    for (int y = 0; y < region.h; ++y) {
      std::uint8_t* src = buf.data() + row_bytes * static_cast<std::size_t>(region.y + y) + static_cast<std::size_t>(region.x) * ch;
      if (ch == 4) composite_over_white(src, static_cast<std::size_t>(region.w), 4);
      std::memcpy(img.pixels.data() + img.stride() * static_cast<std::size_t>(y), src, static_cast<std::size_t>(region.w) * 3);
    }
  }
  if (s->warnings > 0) out.warnings.push_back(std::string("png: ") + s->first_warning);
  if (out.source.icc && !req.gray) {
    png_charp name = nullptr;
    int compression = 0;
    png_bytep profile = nullptr;
    png_uint_32 len = 0;
    if (png_get_iCCP(s->png, s->info, &name, &compression, &profile, &len) && profile && len > 0) {
      std::string why;
      const icc_result r = convert_to_srgb(out.pixels, {profile, len}, why);
      out.source.icc_converted = r == icc_result::converted;
      if (r == icc_result::unusable) out.warnings.push_back("icc: " + why);
    }
  }
  out.region = region;
  out.scale_denom = 1;
  if (req.gray) {
    image g;
    g.width = img.width;
    g.height = img.height;
    g.channels = 1;
    g.pixels.resize(static_cast<std::size_t>(g.width) * g.height);
    const std::uint8_t* p = img.pixels.data();
    for (std::size_t i = 0; i < g.pixels.size(); ++i, p += 3)
      g.pixels[i] = static_cast<std::uint8_t>((19595u * p[0] + 38470u * p[1] + 7471u * p[2] + 32768u) >> 16);
    out.pixels = std::move(g);
  }
  return out;
}

}  // namespace kycprep::detail
