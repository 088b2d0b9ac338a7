// PNG fast path (see png_fast.hpp): chunk walk, libdeflate, unfilter, map.
#include "decode/png_fast.hpp"

#include <libdeflate.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace kycprep::detail {

namespace {

std::uint32_t be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

bool is_idat(const std::uint8_t* type) { return std::memcmp(type, "IDAT", 4) == 0; }

// libpng 1.6.39 (png_check_chunk_length) rejects an IDAT longer than the
// larger of its chunk malloc limit (png_chunk_malloc_max, as decode_png sets
// it) and this estimate of the compressed size of the whole image.
std::uint64_t libpng_idat_limit(std::uint32_t width, std::uint32_t height, int bpp) {
  constexpr std::uint64_t uint31_max = 0x7fffffff;
  std::uint64_t row_factor = std::uint64_t{width} * static_cast<unsigned>(bpp) + 1;
  std::uint64_t limit = height > 0xffffffffu / row_factor ? uint31_max : height * row_factor;
  row_factor = std::min<std::uint64_t>(row_factor, 32566);
  limit += 6 + 5 * (limit / row_factor + 1);
  return std::max<std::uint64_t>(std::min(limit, uint31_max), png_chunk_malloc_max);
}

struct idat_run {
  std::size_t first = 0;  // offset of the first chunk's length field
  std::size_t count = 0;
  std::size_t payload = 0;  // sum of the chunk lengths
};

// Walks the consecutive IDAT chunks from `header`. The run ends at the first
// other chunk or where fewer than 8 bytes remain (libpng does not look past
// the end of the zlib stream either; a stream that needs more data fails to
// inflate and so gives up).
std::string walk_idats(std::span<const std::uint8_t> file, std::size_t header, std::uint64_t length_limit,
                       idat_run& run) {
  run = {header, 0, 0};
  std::size_t pos = header;
  while (file.size() - pos >= 8 && is_idat(file.data() + pos + 4)) {
    const std::uint32_t len = be32(file.data() + pos);
    if (len > 0x7fffffffu) return "IDAT length above 2^31-1";
    if (len > length_limit) return "IDAT chunk larger than libpng accepts";
    if (file.size() - pos - 8 < std::uint64_t{len} + 4) return "IDAT chunk runs past the end of the file";
    const std::uint8_t* type_and_data = file.data() + pos + 4;
    if (libdeflate_crc32(0, type_and_data, std::size_t{len} + 4) != be32(type_and_data + 4 + len))
      return "IDAT CRC mismatch";
    ++run.count;
    run.payload += len;
    pos += std::size_t{len} + 12;
  }
  return "";
}

struct decompressor_deleter {
  void operator()(libdeflate_decompressor* d) const { libdeflate_free_decompressor(d); }
};

// ---------------------------------------------------------------------------
// Unfiltering. Sub, Average and Paeth carry a dependency from each pixel to
// the next, so SIMD cannot work across pixels; for 3- and 4-byte pixels the
// SSE2 versions work on one whole pixel per step (16-bit lanes) instead of
// one byte, which is what makes Paeth (most rows of a photo) fast.

std::uint8_t paeth_predictor(int a, int b, int c) {
  // Ties resolved a, then b, then c (PNG spec 9.4), as libpng does.
  int pa = std::abs(b - c);
  const int pb = std::abs(a - c);
  const int pc = std::abs(a + b - 2 * c);
  if (pb < pa) {
    pa = pb;
    a = b;
  }
  return static_cast<std::uint8_t>(pc < pa ? c : a);
}

void unfilter_sub_scalar(std::uint8_t* row, std::size_t n, int bpp) {
  for (std::size_t i = static_cast<std::size_t>(bpp); i < n; ++i)
    row[i] = static_cast<std::uint8_t>(row[i] + row[i - bpp]);
}

void unfilter_avg_scalar(std::uint8_t* row, const std::uint8_t* prev, std::size_t n, int bpp) {
  const std::size_t first = std::min(n, static_cast<std::size_t>(bpp));
  for (std::size_t i = 0; i < first; ++i) row[i] = static_cast<std::uint8_t>(row[i] + (prev[i] >> 1));
  for (std::size_t i = first; i < n; ++i)
    row[i] = static_cast<std::uint8_t>(row[i] + ((unsigned{row[i - bpp]} + prev[i]) >> 1));
}

void unfilter_paeth_scalar(std::uint8_t* row, const std::uint8_t* prev, std::size_t n, int bpp) {
  const std::size_t first = std::min(n, static_cast<std::size_t>(bpp));
  for (std::size_t i = 0; i < first; ++i) row[i] = static_cast<std::uint8_t>(row[i] + prev[i]);
  for (std::size_t i = first; i < n; ++i)
    row[i] = static_cast<std::uint8_t>(row[i] + paeth_predictor(row[i - bpp], prev[i], prev[i - bpp]));
}

#if defined(__SSE2__)
// Exactly Bpp bytes (never past the row), assembled in a register: a
// 3-byte memcpy into a stack word stalls on store forwarding.
template <int Bpp>
__m128i load_pixel(const std::uint8_t* p) {
  std::uint32_t v = 0;
  if constexpr (Bpp == 4)
    std::memcpy(&v, p, 4);
  else
    v = std::uint32_t{p[0]} | (std::uint32_t{p[1]} << 8) | (std::uint32_t{p[2]} << 16);
  return _mm_unpacklo_epi8(_mm_cvtsi32_si128(static_cast<int>(v)), _mm_setzero_si128());
}

template <int Bpp>
void store_pixel(std::uint8_t* p, __m128i v16) {
  const auto v = static_cast<std::uint32_t>(_mm_cvtsi128_si32(_mm_packus_epi16(v16, v16)));
  if constexpr (Bpp == 4) {
    std::memcpy(p, &v, 4);
  } else {
    p[0] = static_cast<std::uint8_t>(v);
    p[1] = static_cast<std::uint8_t>(v >> 8);
    p[2] = static_cast<std::uint8_t>(v >> 16);
  }
}

__m128i abs16(__m128i v) { return _mm_max_epi16(v, _mm_sub_epi16(_mm_setzero_si128(), v)); }

__m128i select16(__m128i mask, __m128i if_set, __m128i if_clear) {
  return _mm_or_si128(_mm_and_si128(mask, if_set), _mm_andnot_si128(mask, if_clear));
}

// In the loops below the lanes hold 0..255; _mm_add_epi8 wraps the low byte
// of each 16-bit lane and leaves its zero high byte alone.
template <int Bpp>
void unfilter_sub_sse2(std::uint8_t* row, std::size_t n) {
  __m128i a = _mm_setzero_si128();
  for (std::size_t i = 0; i + Bpp <= n; i += Bpp) {
    a = _mm_add_epi8(load_pixel<Bpp>(row + i), a);
    store_pixel<Bpp>(row + i, a);
  }
}

template <int Bpp>
void unfilter_avg_sse2(std::uint8_t* row, const std::uint8_t* prev, std::size_t n) {
  __m128i a = _mm_setzero_si128();
  for (std::size_t i = 0; i + Bpp <= n; i += Bpp) {
    const __m128i b = load_pixel<Bpp>(prev + i);
    a = _mm_add_epi8(load_pixel<Bpp>(row + i), _mm_srli_epi16(_mm_add_epi16(a, b), 1));
    store_pixel<Bpp>(row + i, a);
  }
}

// The Paeth predictor of each lane (PNG spec 9.4: ties go to a, then b).
// Written with masks, so that the chain from one pixel's output `a` to the
// next is as short as SSE2 allows.
__m128i paeth_predict(__m128i a, __m128i b, __m128i c) {
  const __m128i b_minus_c = _mm_sub_epi16(b, c);
  const __m128i a_minus_c = _mm_sub_epi16(a, c);
  const __m128i pa = abs16(b_minus_c);
  const __m128i pb = abs16(a_minus_c);
  const __m128i pc = abs16(_mm_add_epi16(a_minus_c, b_minus_c));
  const __m128i b_or_c = _mm_xor_si128(b, _mm_and_si128(_mm_xor_si128(b, c), _mm_cmpgt_epi16(pb, pc)));
  const __m128i not_a = _mm_or_si128(_mm_cmpgt_epi16(pa, pb), _mm_cmpgt_epi16(pa, pc));
  return select16(not_a, b_or_c, a);
}

template <int Bpp>
void unfilter_paeth_sse2(std::uint8_t* row, const std::uint8_t* prev, std::size_t n) {
  // The first pixel has a = c = 0, for which the predictor is b (Up).
  __m128i a = _mm_setzero_si128(), c = _mm_setzero_si128();
  for (std::size_t i = 0; i + Bpp <= n; i += Bpp) {
    const __m128i b = load_pixel<Bpp>(prev + i);
    a = _mm_add_epi8(load_pixel<Bpp>(row + i), paeth_predict(a, b, c));
    store_pixel<Bpp>(row + i, a);
    c = b;
  }
}

// Two consecutive Paeth rows at once, `lower` one pixel behind `upper`: the
// low 64 bits of each register work on upper pixel i, the high 64 bits on
// lower pixel i - 1, whose b and c are upper pixels i - 1 and i - 2, just
// computed. Two independent dependency chains in one register: this is
// where most of a photo's unfiltering time goes.
template <int Bpp>
void unfilter_paeth_pair_sse2(std::uint8_t* upper, std::uint8_t* lower, const std::uint8_t* prev, std::size_t width) {
  unfilter_paeth_sse2<Bpp>(upper, prev, Bpp);  // upper pixel 0
  __m128i a = load_pixel<Bpp>(upper);           // [upper a | lower a = 0]
  __m128i c = load_pixel<Bpp>(prev);            // [upper c | lower c = 0]
  for (std::size_t i = 1; i < width; ++i) {
    const __m128i b = _mm_unpacklo_epi64(load_pixel<Bpp>(prev + i * Bpp), a);
    const __m128i x = _mm_unpacklo_epi64(load_pixel<Bpp>(upper + i * Bpp), load_pixel<Bpp>(lower + (i - 1) * Bpp));
    a = _mm_add_epi8(x, paeth_predict(a, b, c));
    store_pixel<Bpp>(upper + i * Bpp, a);
    store_pixel<Bpp>(lower + (i - 1) * Bpp, _mm_srli_si128(a, 8));
    c = b;
  }
  // Lower pixel width - 1: a = lower pixel width - 2, b and c from upper.
  const std::size_t last = (width - 1) * Bpp;
  for (std::size_t k = last; k < last + Bpp; ++k) {
    const int a_k = width > 1 ? lower[k - Bpp] : 0, c_k = width > 1 ? upper[k - Bpp] : 0;
    lower[k] = static_cast<std::uint8_t>(lower[k] + paeth_predictor(a_k, upper[k], c_k));
  }
}
#endif

void unfilter_sub(std::uint8_t* row, std::size_t n, int bpp) {
#if defined(__SSE2__)
  if (bpp == 3) return unfilter_sub_sse2<3>(row, n);
  if (bpp == 4) return unfilter_sub_sse2<4>(row, n);
#endif
  unfilter_sub_scalar(row, n, bpp);
}

void unfilter_avg(std::uint8_t* row, const std::uint8_t* prev, std::size_t n, int bpp) {
#if defined(__SSE2__)
  if (bpp == 3) return unfilter_avg_sse2<3>(row, prev, n);
  if (bpp == 4) return unfilter_avg_sse2<4>(row, prev, n);
#endif
  unfilter_avg_scalar(row, prev, n, bpp);
}

void unfilter_paeth(std::uint8_t* row, const std::uint8_t* prev, std::size_t n, int bpp) {
#if defined(__SSE2__)
  if (bpp == 3) return unfilter_paeth_sse2<3>(row, prev, n);
  if (bpp == 4) return unfilter_paeth_sse2<4>(row, prev, n);
#endif
  unfilter_paeth_scalar(row, prev, n, bpp);
}

// Two consecutive Paeth rows in one pass, where a kernel exists for `bpp`.
bool unfilter_paeth_pair([[maybe_unused]] std::uint8_t* upper, [[maybe_unused]] std::uint8_t* lower,
                         [[maybe_unused]] const std::uint8_t* prev, [[maybe_unused]] std::size_t width,
                         [[maybe_unused]] int bpp) {
#if defined(__SSE2__)
  if (bpp == 3) {
    unfilter_paeth_pair_sse2<3>(upper, lower, prev, width);
    return true;
  }
  if (bpp == 4) {
    unfilter_paeth_pair_sse2<4>(upper, lower, prev, width);
    return true;
  }
#endif
  return false;  // no kernel: the caller unfilters the rows one by one
}

// ---------------------------------------------------------------------------
// Stored pixels -> output RGB, for the region's columns of one row.

bool map_row(const png_pixel_map& map, const std::uint8_t* src, std::uint8_t* dst, std::size_t n) {
  using kind = png_pixel_map::kind;
  switch (map.how) {
    case kind::rgb:
      std::memmove(dst, src, n * 3);  // in place, dst may overlap src
      return true;
    case kind::rgba:
      for (std::size_t i = 0; i < n; ++i, src += 4, dst += 3) {
        dst[0] = png_over_white(src[0], src[3]);
        dst[1] = png_over_white(src[1], src[3]);
        dst[2] = png_over_white(src[2], src[3]);
      }
      return true;
    case kind::gray_alpha:
      for (std::size_t i = 0; i < n; ++i, src += 2, dst += 3) dst[0] = dst[1] = dst[2] = png_over_white(src[0], src[1]);
      return true;
    case kind::rgb_keyed:
      for (std::size_t i = 0; i < n; ++i, src += 3, dst += 3) {
        if (src[0] == map.key[0] && src[1] == map.key[1] && src[2] == map.key[2])
          dst[0] = dst[1] = dst[2] = 255;
        else
          std::memmove(dst, src, 3);
      }
      return true;
    case kind::indexed:
      for (std::size_t i = 0; i < n; ++i, dst += 3) {
        const unsigned v = src[i];
        if (v >= static_cast<unsigned>(map.lut_entries)) return false;
        std::memcpy(dst, map.lut.data() + 3 * v, 3);
      }
      return true;
  }
  return false;
}

}  // namespace

bool png_unfilter_row(std::uint8_t filter, std::uint8_t* row, const std::uint8_t* prev, std::size_t row_bytes,
                      int bpp) {
  switch (filter) {
    case 0:
      return true;
    case 1:
      unfilter_sub(row, row_bytes, bpp);
      return true;
    case 2:
      for (std::size_t i = 0; i < row_bytes; ++i) row[i] = static_cast<std::uint8_t>(row[i] + prev[i]);
      return true;
    case 3:
      unfilter_avg(row, prev, row_bytes, bpp);
      return true;
    case 4:
      unfilter_paeth(row, prev, row_bytes, bpp);
      return true;
    default:
      return false;
  }
}

std::string png_fast_decode(std::span<const std::uint8_t> file, std::size_t idat_data, std::uint32_t width,
                            std::uint32_t height, const png_pixel_map& map, rect region, image& out) {
  const int bpp = map.stored_bytes();
  if (idat_data < 16 || idat_data > file.size() || !is_idat(file.data() + idat_data - 4))
    return "libpng did not stop at an IDAT header";
  if (region.w <= 0 || region.h <= 0 || region.x < 0 || region.y < 0 ||
      static_cast<std::uint64_t>(region.x) + region.w > width ||
      static_cast<std::uint64_t>(region.y) + region.h > height || out.channels != 3 || out.width != region.w ||
      out.height != region.h)
    return "region or output does not match the image";

  idat_run run;
  if (auto why = walk_idats(file, idat_data - 8, libpng_idat_limit(width, height, bpp), run); !why.empty()) return why;

  // Sizes: width and height are at most 2^31-1 (libpng checked), so a row
  // fits in 64 bits; the whole must fit in size_t.
  const std::uint64_t row_bytes = std::uint64_t{width} * static_cast<unsigned>(bpp);
  const std::uint64_t stride = row_bytes + 1;
  if (height > SIZE_MAX / stride) return "image too large to inflate in memory";
  const std::size_t raw_size = static_cast<std::size_t>(stride * height);
  // DEFLATE expands at most 1032:1; a stream too short to fill the image
  // fails without allocating for it.
  if (raw_size / 1032 > run.payload + 16) return "zlib stream too short for the image";

  const std::uint8_t* zdata = file.data() + idat_data;
  std::unique_ptr<std::uint8_t[]> joined;
  if (run.count > 1) {  // libdeflate needs the stream in one piece
    joined.reset(new (std::nothrow) std::uint8_t[run.payload]);
    if (!joined) return "out of memory";
    std::size_t at = 0;
    std::size_t pos = run.first;
    for (std::size_t i = 0; i < run.count; ++i) {
      const std::uint32_t len = be32(file.data() + pos);
      std::memcpy(joined.get() + at, file.data() + pos + 8, len);
      at += len;
      pos += std::size_t{len} + 12;
    }
    zdata = joined.get();
  }
  // CMF 0x78: deflate with a 32 KiB window. libpng's zlib honours a smaller
  // declared window and rejects distances beyond it; libdeflate does not.
  if (run.payload < 2 || zdata[0] != 0x78) return "zlib header is not deflate with a 32 KiB window";

  // RGB output of (nearly) the whole frame is inflated into the output
  // buffer itself and compacted row by row: a second image-sized buffer
  // would cost as much in page faults as the copy it saves.
  const std::size_t out_size = out.stride() * static_cast<std::size_t>(region.h);
  const bool in_place = bpp == 3 && raw_size - out_size <= out_size / 8;
  std::unique_ptr<std::uint8_t[]> separate;
  std::uint8_t* raw = nullptr;
  try {
    out.pixels.clear();
    out.pixels.resize(in_place ? raw_size : out_size);
  } catch (const std::bad_alloc&) {
    return "out of memory";
  }
  if (in_place) {
    raw = out.pixels.data();
  } else {
    separate.reset(new (std::nothrow) std::uint8_t[raw_size]);
    raw = separate.get();
  }
  std::unique_ptr<libdeflate_decompressor, decompressor_deleter> inflater(libdeflate_alloc_decompressor());
  if (!raw || !inflater) return "out of memory";
  std::size_t in_used = 0, out_used = 0;
  switch (libdeflate_zlib_decompress_ex(inflater.get(), zdata, run.payload, raw, raw_size, &in_used, &out_used)) {
    case LIBDEFLATE_SUCCESS: break;
    case LIBDEFLATE_INSUFFICIENT_SPACE: return "zlib stream longer than the image";
    default: return "zlib stream is corrupt";
  }
  if (out_used != raw_size) return "zlib stream shorter than the image";
  if (in_used != run.payload) return "data after the end of the zlib stream";
  joined.reset();

  // Row m is mapped to the output only once row m + 1 is unfiltered: in
  // place, its output overwrites its own stored bytes, which row m + 1 needs
  // as its previous row. Output row m ends at or before stored row m + 1
  // (3 * region.w <= row_bytes < stride), and within a row the output runs
  // behind the input, so nothing unread is overwritten.
  int mapped = 0;
  auto map_rows_below = [&](int limit) {
    for (; mapped < limit; ++mapped) {
      if (mapped < region.y) continue;
      const std::uint8_t* src =
          raw + static_cast<std::size_t>(mapped) * stride + 1 + static_cast<std::size_t>(region.x) * bpp;
      std::uint8_t* dst = out.pixels.data() + out.stride() * static_cast<std::size_t>(mapped - region.y);
      if (!map_row(map, src, dst, static_cast<std::size_t>(region.w))) return false;
    }
    return true;
  };
  const std::vector<std::uint8_t> zeros(static_cast<std::size_t>(row_bytes), 0);
  const int end = region.y + region.h;
  for (int y = 0; y < end;) {
    std::uint8_t* filtered = raw + static_cast<std::size_t>(y) * stride;
    std::uint8_t* row = filtered + 1;
    const std::uint8_t* prev = y == 0 ? zeros.data() : row - stride;
    if (y + 1 < end && filtered[0] == 4 && filtered[stride] == 4 &&
        unfilter_paeth_pair(row, row + stride, prev, width, bpp)) {
      y += 2;
    } else if (png_unfilter_row(filtered[0], row, prev, static_cast<std::size_t>(row_bytes), bpp)) {
      y += 1;
    } else {
      return "bad filter type " + std::to_string(filtered[0]) + " on row " + std::to_string(y);
    }
    if (!map_rows_below(y - 1)) return "palette index beyond the PLTE entries on row " + std::to_string(mapped);
  }
  if (!map_rows_below(end)) return "palette index beyond the PLTE entries on row " + std::to_string(mapped);
  out.pixels.resize(out_size);  // in place: drops the filter bytes' worth at the end
  return "";
}

}  // namespace kycprep::detail
