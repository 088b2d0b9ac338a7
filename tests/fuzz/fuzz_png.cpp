// libFuzzer target: the PNG fast path (src/decode/png_fast.cpp, a
// hand-written chunk walk, unfilter and pixel map) against libpng's own row
// reader, on arbitrary bytes.
//
// Differential: detail::decode_png with the automatic reader (the fast path
// when the file is clean, else libpng from the first IDAT on) must give
// exactly what png_reader::libpng gives: the same success or the same error
// (code, stage, message), and on success the same pixels, warnings, region
// and source facts. Each input is decoded whole, with a region, and with
// tolerate_corruption, under small limits (4 MP).
//
// An input starting with 0xE6 (never a PNG) is instead read as parameters
// of a PNG that libpng then writes: size, colour type, tRNS, filter, zlib
// level and window, interlace, IDAT chunk size, then pixels; optionally one
// byte of the zlib stream changed with the chunk CRCs made right again, so
// that damage reaches the inflate and unfilter stages instead of stopping at
// a CRC. Random bytes rarely get past a CRC; this reaches deep into both
// readers.
#include <array>
#include <csetjmp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include <png.h>

#include "decode/png_fast.hpp"
#include "kycprep/decode.hpp"

namespace {

using kycprep::decode_options;
using kycprep::decode_request;
using kycprep::decoded;
using kycprep::result;
using kycprep::detail::png_reader;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "fuzz_png: %s\n", what.c_str());
  std::abort();
}

void same(const result<decoded>& a, const result<decoded>& b, const char* what) {
  if (a.ok() != b.ok())
    fail(std::string(what) + ": fast path " + (a.ok() ? "ok" : a.error().message) + " | libpng " +
         (b.ok() ? "ok" : b.error().message));
  if (!a.ok()) {
    if (a.error().code != b.error().code || a.error().where != b.error().where || a.error().message != b.error().message)
      fail(std::string(what) + ": errors differ: " + a.error().message + " | " + b.error().message);
    return;
  }
  if (a->pixels.width != b->pixels.width || a->pixels.height != b->pixels.height ||
      a->pixels.channels != b->pixels.channels || a->pixels.pixels != b->pixels.pixels)
    fail(std::string(what) + ": pixels differ");
  if (a->warnings != b->warnings) fail(std::string(what) + ": warnings differ");
  if (!(a->region == b->region) || a->scale_denom != b->scale_denom) fail(std::string(what) + ": region differs");
  const auto &s = a->source, &t = b->source;
  if (s.width != t.width || s.height != t.height || s.alpha != t.alpha || s.bit_depth != t.bit_depth ||
      s.orientation != t.orientation || s.icc != t.icc || s.color != t.color)
    fail(std::string(what) + ": source facts differ");
}

void compare(std::span<const std::uint8_t> bytes, std::uint8_t knobs) {
  decode_options opt;
  opt.limits.max_input_bytes = 4u << 20;
  opt.limits.max_pixels = 4'000'000;
  opt.limits.max_side = 4096;
  const decode_request whole;
  const auto a = kycprep::detail::decode_png(bytes, opt, whole, png_reader::automatic);
  same(a, kycprep::detail::decode_png(bytes, opt, whole, png_reader::libpng), "whole");

  // A region, placed from the knobs, when the size is known.
  if (a.ok() && a->source.width > 1 && a->source.height > 1) {
    decode_request req;
    const int w = a->source.width, h = a->source.height;
    req.region = {knobs % w, (knobs / 7) % h, 1 + (knobs * 5) % w, 1 + (knobs * 3) % h};
    same(kycprep::detail::decode_png(bytes, opt, req, png_reader::automatic),
         kycprep::detail::decode_png(bytes, opt, req, png_reader::libpng), "region");
  }
  if (!a.ok()) {
    opt.tolerate_corruption = true;
    same(kycprep::detail::decode_png(bytes, opt, whole, png_reader::automatic),
         kycprep::detail::decode_png(bytes, opt, whole, png_reader::libpng), "tolerated");
  }
}

// --- the generator ---------------------------------------------------------

std::uint32_t crc32(const std::uint8_t* p, std::size_t n) {
  static const auto table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  std::uint32_t c = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < n; ++i) c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

struct reader {
  const std::uint8_t* p;
  std::size_t n, at = 0;
  std::uint8_t byte() { return at < n ? p[at++] : 0; }
};

struct writer_state {
  std::vector<std::uint8_t> out;
  std::jmp_buf jump;
};

extern "C" void gen_write(png_structp png, png_bytep data, png_size_t len) {
  auto* s = static_cast<writer_state*>(png_get_io_ptr(png));
  s->out.insert(s->out.end(), data, data + len);
}
extern "C" void gen_flush(png_structp) {}
extern "C" void gen_error(png_structp png, png_const_charp) {
  std::longjmp(static_cast<writer_state*>(png_get_error_ptr(png))->jump, 1);
}
extern "C" void gen_warning(png_structp, png_const_charp) {}

struct params {
  int w = 1, h = 1, color = PNG_COLOR_TYPE_RGB, filter = PNG_FILTER_NONE, level = 6, window = 15;
  bool interlace = false, trns = false;
  std::size_t idat_chunk = 8192;
};

// libpng writes the file; a setjmp phase with trivially destructible
// locals only (the vectors live in the caller).
bool write_png(const params& pr, const std::vector<std::uint8_t>& pixels, const std::vector<png_color>& palette,
               writer_state& s) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &s, gen_error, gen_warning);
  if (!png) return false;
  png_infop info = png_create_info_struct(png);
  if (!info || setjmp(s.jump)) {
    png_destroy_write_struct(&png, info ? &info : nullptr);
    return false;
  }
  png_set_write_fn(png, &s, gen_write, gen_flush);
  png_set_IHDR(png, info, static_cast<png_uint_32>(pr.w), static_cast<png_uint_32>(pr.h), 8, pr.color,
               pr.interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  if (pr.color == PNG_COLOR_TYPE_PALETTE)
    png_set_PLTE(png, info, palette.data(), static_cast<int>(palette.size()));
  png_byte alpha[16];
  png_color_16 key{};
  if (pr.trns) {
    if (pr.color == PNG_COLOR_TYPE_PALETTE) {
      for (int i = 0; i < 16; ++i) alpha[i] = static_cast<png_byte>(i * 17);
      png_set_tRNS(png, info, alpha, std::min<int>(16, static_cast<int>(palette.size())), nullptr);
    } else if (pr.color == PNG_COLOR_TYPE_GRAY || pr.color == PNG_COLOR_TYPE_RGB) {
      key.gray = pixels.empty() ? 0 : pixels[0];
      key.red = key.gray;
      key.green = pixels.size() > 1 ? pixels[1] : 0;
      key.blue = pixels.size() > 2 ? pixels[2] : 0;
      png_set_tRNS(png, info, nullptr, 0, &key);
    }
  }
  png_set_filter(png, PNG_FILTER_TYPE_BASE, pr.filter);
  png_set_compression_level(png, pr.level);
  png_set_compression_window_bits(png, pr.window);
  png_set_compression_buffer_size(png, pr.idat_chunk);
  png_write_info(png, info);
  const int passes = pr.interlace ? png_set_interlace_handling(png) : 1;
  const std::size_t row = png_get_rowbytes(png, info);
  for (int pass = 0; pass < passes; ++pass)
    for (int y = 0; y < pr.h; ++y)
      png_write_row(png, const_cast<png_bytep>(pixels.data()) + row * static_cast<std::size_t>(y));
  png_write_end(png, info);
  png_destroy_write_struct(&png, &info);
  return true;
}

// Changes one byte of the first IDAT's data and rewrites that chunk's CRC.
void damage_idat(std::vector<std::uint8_t>& f, std::size_t offset, std::uint8_t x) {
  for (std::size_t at = 8; at + 12 <= f.size();) {
    const std::size_t len = std::size_t{f[at]} << 24 | std::size_t{f[at + 1]} << 16 | std::size_t{f[at + 2]} << 8 | f[at + 3];
    if (at + 12 + len > f.size()) return;
    if (std::memcmp(&f[at + 4], "IDAT", 4) == 0 && len > 0) {
      f[at + 8 + offset % len] ^= x;
      const std::uint32_t c = crc32(&f[at + 4], len + 4);
      f[at + 8 + len] = static_cast<std::uint8_t>(c >> 24);
      f[at + 9 + len] = static_cast<std::uint8_t>(c >> 16);
      f[at + 10 + len] = static_cast<std::uint8_t>(c >> 8);
      f[at + 11 + len] = static_cast<std::uint8_t>(c);
      return;
    }
    at += 12 + len;
  }
}

void generated(const std::uint8_t* data, std::size_t size) {
  reader r{data, size};
  params pr;
  pr.w = 1 + r.byte() % 96;
  pr.h = 1 + r.byte() % 96;
  static constexpr int colors[] = {PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_PALETTE,
                                   PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB_ALPHA};
  const std::uint8_t c = r.byte();
  pr.color = colors[c % 5];
  pr.trns = (c & 0x80) != 0;
  static constexpr int filters[] = {PNG_FILTER_NONE, PNG_FILTER_SUB, PNG_FILTER_UP, PNG_FILTER_AVG, PNG_FILTER_PAETH,
                                    PNG_ALL_FILTERS};
  pr.filter = filters[r.byte() % 6];
  const std::uint8_t z = r.byte();
  pr.level = z % 10;
  pr.window = 8 + (z / 10) % 8;
  pr.interlace = (r.byte() & 1) != 0;
  pr.idat_chunk = 1 + r.byte() * 64u;
  const std::uint8_t damage = r.byte(), damage_at = r.byte(), knobs = r.byte();

  const int ch = pr.color == PNG_COLOR_TYPE_GRAY || pr.color == PNG_COLOR_TYPE_PALETTE ? 1
                 : pr.color == PNG_COLOR_TYPE_GRAY_ALPHA                              ? 2
                 : pr.color == PNG_COLOR_TYPE_RGB                                     ? 3
                                                                                      : 4;
  std::vector<png_color> palette(1 + r.byte() % 256);
  for (auto& p : palette) p = {r.byte(), r.byte(), r.byte()};
  std::vector<std::uint8_t> pixels(static_cast<std::size_t>(pr.w) * pr.h * ch);
  // The rest of the input as pixels, repeated (smooth and noisy parts both
  // come up); palette indices may point past the palette.
  const std::size_t left = size > r.at ? size - r.at : 0;
  for (std::size_t i = 0; i < pixels.size(); ++i) pixels[i] = left ? data[r.at + i % left] : static_cast<std::uint8_t>(i);
  if (pr.color == PNG_COLOR_TYPE_PALETTE && (knobs & 1))
    for (auto& v : pixels) v = static_cast<std::uint8_t>(v % palette.size());  // mostly valid indices

  writer_state s;
  if (!write_png(pr, pixels, palette, s)) return;  // libpng refused the parameters
  if (damage != 0) damage_idat(s.out, damage_at * 37u, damage);
  compare(s.out, knobs);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 0 && data[0] == 0xE6) {
    generated(data + 1, size - 1);
    return 0;
  }
  compare(std::span<const std::uint8_t>(data, size), size ? data[size - 1] : 0);
  return 0;
}
