// Area (box-average) downscaling: every output sample is the mean of the
// source area it covers, computed separably (vertical, then horizontal).
//
// Why not cv::INTER_AREA: for non-integer ratios (our usual 1.2x-3x after
// DCT shrink-on-load) OpenCV takes a generic path that measured 9-16 ms for
// a 720x960 output; this one takes about 1 ms with AVX2.
//
// Why integers: along an axis, output o covers [o*src, (o+1)*src) in units
// where source sample i covers [i*dst, (i+1)*dst), so every weight is a
// whole number (an overlap, at most dst) and the weights sum to src. The
// vertical sums are exact; they are rounded once to int16 with at least 6
// fractional bits (so that the horizontal pass can use 16-bit
// multiply-adds), and the division by the total weight is one float
// multiply and a rounding at the very end. The portable loops and the AVX2
// ones (chosen at run time) do the same integer arithmetic, so the bytes
// depend neither on the CPU nor on the thread count.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define KYCPREP_AREA_AVX2 1
#endif

#include "resize/area.hpp"

namespace kycprep::detail {

namespace {

// One axis: output o takes count[o] source samples from first[o], with
// whole-number weights weight[o * stride + j] that sum to src.
struct axis_taps {
  std::vector<int> first;
  std::vector<int> count;
  std::vector<std::int32_t> weight;
  int stride = 0;
};

axis_taps make_taps(int src, int dst) {
  axis_taps t;
  t.stride = (src + dst - 1) / dst + 1;  // an interval src/dst samples long touches at most this many
  t.first.resize(static_cast<std::size_t>(dst));
  t.count.resize(static_cast<std::size_t>(dst));
  t.weight.assign(static_cast<std::size_t>(dst) * static_cast<std::size_t>(t.stride), 0);
  for (int o = 0; o < dst; ++o) {
    const std::int64_t a = std::int64_t{o} * src, b = a + src;
    const int i0 = static_cast<int>(a / dst);
    const int i1 = static_cast<int>((b + dst - 1) / dst);
    std::int32_t* w = t.weight.data() + static_cast<std::size_t>(o) * static_cast<std::size_t>(t.stride);
    for (int i = i0; i < i1; ++i) {
      const std::int64_t overlap = std::min(b, std::int64_t{i + 1} * dst) - std::max(a, std::int64_t{i} * dst);
      w[i - i0] = static_cast<std::int32_t>(overlap);
    }
    t.first[static_cast<std::size_t>(o)] = i0;
    t.count[static_cast<std::size_t>(o)] = i1 - i0;
  }
  return t;
}

// The same taps, every output given the same count (the largest), padded
// with zero weights and shifted left at the right edge to stay inside the
// source. Output-dependent counts (2, 3, 2, 3, 3, ... for 1.5x) defeat the
// branch predictor in the per-pixel loop; zero weights add exactly nothing.
axis_taps fixed_count(axis_taps t, int src) {
  int n = 0;
  for (int c : t.count) n = std::max(n, c);
  for (std::size_t o = 0; o < t.first.size(); ++o) {
    const int shift = std::max(0, t.first[o] + n - src);
    if (shift > 0) {
      std::int32_t* w = t.weight.data() + o * static_cast<std::size_t>(t.stride);
      std::copy_backward(w, w + t.count[o], w + t.count[o] + shift);
      std::fill(w, w + shift, 0);
      t.first[o] -= shift;
    }
    t.count[o] = n;
  }
  return t;
}

// The vertical sums (at most 255 * src.height) are kept as
// (sum + half) >> shift, the shift being the smallest that brings
// src.height to at most 128: at most 255 * 128 = 32640 fits an int16, and
// a level is still more than 64 units.
int vertical_shift(int sh) {
  int s = 0;
  while (sh > (std::int64_t{128} << s)) ++s;
  return s;
}

// The portable vertical pass over samples [from, len) of output row y, into
// `acc` then `v`. Acc and W are int32 and int16 when the sums and weights
// fit (every real image: the loops then vectorise as 16-bit multiplies),
// int64 otherwise.
template <class Acc, class W>
void vertical_portable(image_view src, const axis_taps& tv, int y, int shift, std::size_t from, std::size_t len,
                       std::vector<Acc>& acc, std::int16_t* v) {
  const std::size_t o = static_cast<std::size_t>(y);
  const std::int32_t* w = tv.weight.data() + o * static_cast<std::size_t>(tv.stride);
  Acc* a = acc.data();
  const Acc half = shift > 0 ? Acc{1} << (shift - 1) : Acc{0};
  for (std::size_t i = from; i < len; ++i) a[i] = half;
  for (int k = 0; k < tv.count[o]; ++k) {
    const std::uint8_t* in = src.row(tv.first[o] + k);
    const W wk = static_cast<W>(w[k]);
    for (std::size_t i = from; i < len; ++i) a[i] += wk * static_cast<W>(in[i]);
  }
  for (std::size_t i = from; i < len; ++i) v[i] = static_cast<std::int16_t>(a[i] >> shift);
}

// The portable horizontal pass: one output row of C channels from the
// vertical sums `v`. Sum is int32 when 32640 * src.width fits in it.
template <class Sum, int C>
void horizontal_portable(const std::int16_t* v, const axis_taps& th, float scale, int dw, std::uint8_t* out) {
  // Locals: the byte stores below could otherwise alias every pointer in `th`.
  const int n = th.count[0];
  const int* first = th.first.data();
  const std::int32_t* w = th.weight.data();
  const std::size_t stride = static_cast<std::size_t>(th.stride);
  for (int x = 0; x < dw; ++x, out += C, w += stride) {
    const std::int16_t* in = v + static_cast<std::size_t>(first[x]) * static_cast<std::size_t>(C);
    Sum s[C] = {};
    for (int k = 0; k < n; ++k, in += C)
      for (int c = 0; c < C; ++c) s[c] += Sum{w[k]} * in[c];
    for (int c = 0; c < C; ++c) {
      // Two statements: a compiler allowed to contract x * scale + 0.5f into
      // one FMA would round differently from the AVX2 pass. + 0.5 and
      // truncation: round to nearest (the value is never negative).
      const float mean = static_cast<float>(s[c]) * scale;
      out[c] = static_cast<std::uint8_t>(std::min(255.0f, mean + 0.5f));
    }
  }
}

#if defined(KYCPREP_AREA_AVX2)

bool have_avx2() { return __builtin_cpu_supports("avx2") != 0; }

// The taps of one output row as the AVX2 vertical pass wants them: source
// rows two by two, each pair's weights packed in one int32 for
// _mm256_madd_epi16. An odd count gets a last pair with a zero weight.
struct row_pairs {
  std::vector<const std::uint8_t*> rows;
  std::vector<std::int32_t> weight;
  int pairs = 0;
};

void set_row_pairs(image_view src, const axis_taps& tv, int y, row_pairs& p) {
  const std::size_t o = static_cast<std::size_t>(y);
  const std::int32_t* w = tv.weight.data() + o * static_cast<std::size_t>(tv.stride);
  const int n = tv.count[o];
  p.pairs = (n + 1) / 2;
  for (int t = 0; t < p.pairs; ++t) {
    const std::size_t i = static_cast<std::size_t>(t);
    const int k = 2 * t;
    const std::int32_t w1 = k + 1 < n ? w[k + 1] : 0;
    p.rows[2 * i] = src.row(tv.first[o] + k);
    p.rows[2 * i + 1] = src.row(tv.first[o] + std::min(k + 1, n - 1));
    p.weight[i] = static_cast<std::int32_t>(static_cast<std::uint32_t>(w[k]) | static_cast<std::uint32_t>(w1) << 16);
  }
}

// The vertical pass over samples [0, len - len % 32); returns where it
// stopped. Two source rows at a time: their bytes interleaved and widened
// to int16 pairs, multiply-added with the pair of weights into int32.
// Pairs > 0: p.pairs known at compile time (unrolled, 5-15% faster than the
// loop that Pairs == 0 runs for the rarer larger ratios).
template <int Pairs>
[[gnu::target("avx2")]] std::size_t vertical_avx2(const row_pairs& p, int shift, std::size_t len, std::int16_t* v) {
  const int pairs = Pairs > 0 ? Pairs : p.pairs;
  const __m256i zero = _mm256_setzero_si256();
  const __m256i half = _mm256_set1_epi32(shift > 0 ? 1 << (shift - 1) : 0);
  const __m256i count = _mm256_set1_epi32(shift);  // vpsravd: one uop, a shift by an xmm count is two
  std::size_t i = 0;
  for (; i + 32 <= len; i += 32) {
    __m256i a0 = half, a1 = half, a2 = half, a3 = half;
    for (int t = 0; t < pairs; ++t) {
      const std::size_t k = static_cast<std::size_t>(t);
      const __m256i w = _mm256_set1_epi32(p.weight[k]);
      const __m256i r0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p.rows[2 * k] + i));
      const __m256i r1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p.rows[2 * k + 1] + i));
      const __m256i lo = _mm256_unpacklo_epi8(r0, r1), hi = _mm256_unpackhi_epi8(r0, r1);
      a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(_mm256_unpacklo_epi8(lo, zero), w));
      a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(_mm256_unpackhi_epi8(lo, zero), w));
      a2 = _mm256_add_epi32(a2, _mm256_madd_epi16(_mm256_unpacklo_epi8(hi, zero), w));
      a3 = _mm256_add_epi32(a3, _mm256_madd_epi16(_mm256_unpackhi_epi8(hi, zero), w));
    }
    // Unpacking stays within 128-bit lanes: lane 0 holds samples 0-15, lane 1 samples 16-31.
    const __m256i p01 = _mm256_packs_epi32(_mm256_srav_epi32(a0, count), _mm256_srav_epi32(a1, count));
    const __m256i p23 = _mm256_packs_epi32(_mm256_srav_epi32(a2, count), _mm256_srav_epi32(a3, count));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(v + i), _mm256_castsi256_si128(p01));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(v + i + 8), _mm256_castsi256_si128(p23));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(v + i + 16), _mm256_extracti128_si256(p01, 1));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(v + i + 24), _mm256_extracti128_si256(p23, 1));
  }
  return i;
}

std::size_t vertical_avx2(const row_pairs& p, int shift, std::size_t len, std::int16_t* v) {
  switch (p.pairs) {
    case 1: return vertical_avx2<1>(p, shift, len, v);
    case 2: return vertical_avx2<2>(p, shift, len, v);
    case 3: return vertical_avx2<3>(p, shift, len, v);
    default: return vertical_avx2<0>(p, shift, len, v);
  }
}

// The horizontal taps of an RGB row as the AVX2 pass wants them. Output
// pixels go eight at a time, pixels j and j + 4 of a group side by side in
// the two 128-bit lanes, so that packing four such vectors gives the pixels
// in order. Per tap pair, the 8 int16 from the pair's first pixel
// (R0 G0 B0 R1 G1 B1 R2 G2) are shuffled to R0 R1 G0 G1 B0 B1 0 0 and
// multiply-added with c0 c1 c0 c1 c0 c1 0 0: the R, G, B sums and a zero.
struct rgb_plan {
  int pairs = 0;
  std::vector<std::int32_t> offset;  // per group and j < 4: the first sample of pixels j and j + 4
  std::vector<std::int16_t> weight;  // per group, j < 4 and pair: 16 int16, lane 0 then lane 1
};

rgb_plan make_rgb_plan(const axis_taps& th, int dw) {
  rgb_plan p;
  const int n = th.count[0];
  p.pairs = (n + 1) / 2;
  const std::size_t pairs = static_cast<std::size_t>(p.pairs);
  const std::size_t groups = static_cast<std::size_t>(dw + 7) / 8;
  p.offset.assign(groups * 8, 0);  // pixels past dw read the row's start, with zero weights
  p.weight.assign(groups * 4 * pairs * 16, 0);
  for (int x = 0; x < dw; ++x) {
    const std::size_t slot = static_cast<std::size_t>(x / 8 * 4 + x % 4), lane = static_cast<std::size_t>(x % 8 / 4);
    p.offset[slot * 2 + lane] = th.first[static_cast<std::size_t>(x)] * 3;
    const std::int32_t* w = th.weight.data() + static_cast<std::size_t>(x) * static_cast<std::size_t>(th.stride);
    for (int k = 0; k < n; ++k) {
      std::int16_t* d = p.weight.data() + (slot * pairs + static_cast<std::size_t>(k / 2)) * 16 + lane * 8 +
                        static_cast<std::size_t>(k % 2);
      d[0] = d[2] = d[4] = static_cast<std::int16_t>(w[k]);
    }
  }
  return p;
}

// Pixels j and j + 4 of a group (lanes 0 and 1), as int32 R G B 0 rounded.
[[gnu::target("avx2")]] inline __m256i pixel_pair_avx2(const std::int16_t* a, const std::int16_t* b,
                                                       const std::int16_t* w, int pairs, __m256 scale) {
  const __m256i pick = _mm256_setr_epi8(0, 1, 6, 7, 2, 3, 8, 9, 4, 5, 10, 11, -1, -1, -1, -1,  //
                                        0, 1, 6, 7, 2, 3, 8, 9, 4, 5, 10, 11, -1, -1, -1, -1);
  __m256i s = _mm256_setzero_si256();
  for (int t = 0; t < pairs; ++t) {
    const __m256i in = _mm256_inserti128_si256(
        _mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + 6 * t))),
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + 6 * t)), 1);
    s = _mm256_add_epi32(s, _mm256_madd_epi16(_mm256_shuffle_epi8(in, pick),
                                              _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + 16 * t))));
  }
  // As the portable pass: a float multiply, + 0.5, truncation.
  return _mm256_cvttps_epi32(_mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(s), scale), _mm256_set1_ps(0.5f)));
}

// Pairs > 0: p.pairs known at compile time (unrolled: the whole resize took
// 25% less time at 1.2x-1.5x than with the loop that Pairs == 0 runs for
// the rarer larger ratios).
template <int Pairs>
[[gnu::target("avx2")]] void horizontal_rgb_avx2(const std::int16_t* v, const rgb_plan& p, float scale, int dw,
                                                 std::uint8_t* out) {
  const __m256i rgb = _mm256_setr_epi8(0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1,  //
                                       0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1);
  const __m256 k = _mm256_set1_ps(scale);
  const int pairs = Pairs > 0 ? Pairs : p.pairs;
  const std::int32_t* off = p.offset.data();
  const std::int16_t* wt = p.weight.data();
  for (int x = 0; x < dw; x += 8, out += 24, off += 8, wt += 4 * pairs * 16) {
    const __m256i q0 = pixel_pair_avx2(v + off[0], v + off[1], wt, pairs, k);
    const __m256i q1 = pixel_pair_avx2(v + off[2], v + off[3], wt + pairs * 16, pairs, k);
    const __m256i q2 = pixel_pair_avx2(v + off[4], v + off[5], wt + 2 * pairs * 16, pairs, k);
    const __m256i q3 = pixel_pair_avx2(v + off[6], v + off[7], wt + 3 * pairs * 16, pairs, k);
    // Lane 0: pixels 0-3 as R G B 0, lane 1: pixels 4-7; then 12 bytes each.
    const __m256i px =
        _mm256_shuffle_epi8(_mm256_packus_epi16(_mm256_packs_epi32(q0, q1), _mm256_packs_epi32(q2, q3)), rgb);
    if (x + 10 <= dw) {  // the 4 spare bytes of each store land on bytes written next
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm256_castsi256_si128(px));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 12), _mm256_extracti128_si256(px, 1));
    } else {
      alignas(32) std::uint8_t tmp[32];
      _mm256_store_si256(reinterpret_cast<__m256i*>(tmp), px);
      std::memmove(tmp + 12, tmp + 16, 12);
      std::memcpy(out, tmp, static_cast<std::size_t>(std::min(8, dw - x)) * 3);
    }
  }
}

void horizontal_rgb_avx2(const std::int16_t* v, const rgb_plan& p, float scale, int dw, std::uint8_t* out) {
  switch (p.pairs) {
    case 1: return horizontal_rgb_avx2<1>(v, p, scale, dw, out);
    case 2: return horizontal_rgb_avx2<2>(v, p, scale, dw, out);
    case 3: return horizontal_rgb_avx2<3>(v, p, scale, dw, out);
    default: return horizontal_rgb_avx2<0>(v, p, scale, dw, out);
  }
}

#endif

}  // namespace

void area_downscale(image_view src, image& dst, area_isa isa) {
  const int C = src.channels;
  const int sw = src.width, sh = src.height, dw = dst.width, dh = dst.height;
  if (dw <= 0 || dh <= 0 || sw < dw || sh < dh) return;  // nothing to write, or outside the contract
  const axis_taps tv = make_taps(sh, dh);
  const axis_taps th = fixed_count(make_taps(sw, dw), sw);
  const int shift = vertical_shift(sh);
  const float scale = static_cast<float>(std::ldexp(1.0, shift) / (static_cast<double>(sh) * sw));
  const std::size_t len = static_cast<std::size_t>(sw) * static_cast<std::size_t>(C);
  const bool wide_columns = std::int64_t{255} * sh > INT32_MAX || dh > INT16_MAX;
  const bool wide_rows = std::int64_t{32640} * sw > INT32_MAX;
  // +16: the AVX2 horizontal pass loads 8 int16 from a tap pair's first
  // pixel, which (with a zero weight) may be the one past the row.
  std::vector<std::int16_t> v(len + 16, 0);
  std::vector<std::int32_t> acc32(wide_columns ? 0 : len);
  std::vector<std::int64_t> acc64(wide_columns ? len : 0);

#if defined(KYCPREP_AREA_AVX2)
  // int16 weights (each at most dst), int32 sums.
  const bool avx2 = isa == area_isa::best && !wide_columns && !wide_rows && dw <= INT16_MAX && have_avx2();
  row_pairs pairs;
  pairs.rows.resize(static_cast<std::size_t>(tv.stride) + 1);
  pairs.weight.resize(pairs.rows.size() / 2);
  rgb_plan plan;
  if (avx2 && C == 3) plan = make_rgb_plan(th, dw);
#else
  (void)isa;
#endif

  for (int y = 0; y < dh; ++y) {
    std::size_t done = 0;
#if defined(KYCPREP_AREA_AVX2)
    if (avx2) {
      set_row_pairs(src, tv, y, pairs);
      done = vertical_avx2(pairs, shift, len, v.data());
    }
#endif
    if (wide_columns) vertical_portable<std::int64_t, std::int64_t>(src, tv, y, shift, done, len, acc64, v.data());
    else vertical_portable<std::int32_t, std::int16_t>(src, tv, y, shift, done, len, acc32, v.data());

    std::uint8_t* out = dst.pixels.data() + dst.stride() * static_cast<std::size_t>(y);
#if defined(KYCPREP_AREA_AVX2)
    if (avx2 && C == 3) {
      horizontal_rgb_avx2(v.data(), plan, scale, dw, out);
      continue;
    }
#endif
    if (C == 3) {
      if (wide_rows) horizontal_portable<std::int64_t, 3>(v.data(), th, scale, dw, out);
      else horizontal_portable<std::int32_t, 3>(v.data(), th, scale, dw, out);
    } else {
      if (wide_rows) horizontal_portable<std::int64_t, 1>(v.data(), th, scale, dw, out);
      else horizontal_portable<std::int32_t, 1>(v.data(), th, scale, dw, out);
    }
  }
}

}  // namespace kycprep::detail
