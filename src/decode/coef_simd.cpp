// Ported from libjpeg-turbo 2.1 (jidctint.c, jdsample.c, jdcolor.c and the
// SSE2 approach of simd/x86_64/jidctint-sse2.asm and jdcolext-sse2.asm;
// IJG/BSD-style licence).
#include "decode/coef_simd.hpp"

#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace kycprep::detail {

namespace {

constexpr int const_bits = 13;
constexpr int pass1_bits = 2;

// FIX(x) = round(x * 2^13), jidctint.c's constants.
constexpr int f0_298 = 2446, f0_390 = 3196, f0_541 = 4433, f0_765 = 6270, f0_899 = 7373, f1_175 = 9633,
              f1_501 = 12299, f1_847 = 15137, f1_961 = 16069, f2_053 = 16819, f2_562 = 20995, f3_072 = 25172;

// The headroom the SSE2 IDCT needs in both passes: its inputs are summed
// pairwise in 16-bit lanes.
constexpr int simd_limit = 16383;

}  // namespace

idct_quant make_idct_quant(const std::uint16_t* quantval) {
  idct_quant t;
  for (std::size_t k = 0; k < 64; ++k) {
    const int q = static_cast<std::int16_t>(quantval[k]);  // libjpeg-turbo's (ISLOW_MULT_TYPE) cast
    t.q[k] = static_cast<std::int16_t>(q);
    t.limit[k] = static_cast<std::int16_t>(q == 0 ? simd_limit : simd_limit / (q < 0 ? -q : q));
    t.limit2[k] = static_cast<std::int16_t>(2 * t.limit[k]);
  }
  return t;
}

// Each pass runs the same 1-D IDCT on 8 independent lanes, written as plain
// loops over the lane so that the compiler can vectorise them (this is what
// non-x86 targets run). The arithmetic is 32-bit with wrap-around, as in the
// header's contract.
void idct_islow_8x8_scalar(const std::int16_t* in, const idct_quant& quant, std::uint8_t* out, std::size_t stride) {
  using u32 = std::uint32_t;
  // One 1-D IDCT per lane: v[k][lane] in, r[k][lane] out (before descaling).
  auto one_d = [&](const u32* __restrict v, u32* __restrict r) {
    for (int l = 0; l < 8; ++l) {
      u32 z2 = v[2 * 8 + l], z3 = v[6 * 8 + l];
      u32 z1 = (z2 + z3) * f0_541;
      u32 tmp2 = z1 - z3 * f1_847;
      u32 tmp3 = z1 + z2 * f0_765;
      u32 tmp0 = (v[0 * 8 + l] + v[4 * 8 + l]) << const_bits;
      u32 tmp1 = (v[0 * 8 + l] - v[4 * 8 + l]) << const_bits;
      const u32 tmp10 = tmp0 + tmp3, tmp13 = tmp0 - tmp3, tmp11 = tmp1 + tmp2, tmp12 = tmp1 - tmp2;
      tmp0 = v[7 * 8 + l];
      tmp1 = v[5 * 8 + l];
      tmp2 = v[3 * 8 + l];
      tmp3 = v[1 * 8 + l];
      z1 = tmp0 + tmp3;
      z2 = tmp1 + tmp2;
      z3 = tmp0 + tmp2;
      u32 z4 = tmp1 + tmp3;
      const u32 z5 = (z3 + z4) * f1_175;
      tmp0 *= f0_298;
      tmp1 *= f2_053;
      tmp2 *= f3_072;
      tmp3 *= f1_501;
      z1 *= 0u - f0_899;
      z2 *= 0u - f2_562;
      z3 = z3 * (0u - f1_961) + z5;
      z4 = z4 * (0u - f0_390) + z5;
      tmp0 += z1 + z3;
      tmp1 += z2 + z4;
      tmp2 += z2 + z3;
      tmp3 += z1 + z4;
      r[0 * 8 + l] = tmp10 + tmp3;
      r[7 * 8 + l] = tmp10 - tmp3;
      r[1 * 8 + l] = tmp11 + tmp2;
      r[6 * 8 + l] = tmp11 - tmp2;
      r[2 * 8 + l] = tmp12 + tmp1;
      r[5 * 8 + l] = tmp12 - tmp1;
      r[3 * 8 + l] = tmp13 + tmp0;
      r[4 * 8 + l] = tmp13 - tmp0;
    }
  };
  // Pass 1: columns. v[row * 8 + column] = dequantised coefficient.
  alignas(64) u32 v[64], r[64];
  for (std::size_t k = 0; k < 64; ++k) v[k] = static_cast<u32>(std::int32_t{in[k]} * quant.q[k]);
  one_d(v, r);
  // Descale, and transpose so that pass 2 runs along rows: v[column * 8 + row].
  constexpr int sh1 = const_bits - pass1_bits;
  for (int k = 0; k < 64; ++k) r[k] = static_cast<u32>(static_cast<std::int32_t>(r[k] + (1u << (sh1 - 1))) >> sh1);
  for (int k = 0; k < 8; ++k)
    for (int l = 0; l < 8; ++l) v[l * 8 + k] = r[k * 8 + l];
  one_d(v, r);  // r[column * 8 + row]
  constexpr int sh2 = const_bits + pass1_bits + 3;
  alignas(64) std::uint8_t t[64];
  for (int k = 0; k < 64; ++k) {
    const std::int32_t x = static_cast<std::int32_t>(r[k] + (1u << (sh2 - 1))) >> sh2;
    const std::int32_t y = ((x + 512) & 1023) - 512 + 128;  // libjpeg's range_limit
    t[k] = static_cast<std::uint8_t>(y < 0 ? 0 : (y > 255 ? 255 : y));
  }
  std::uint8_t o[8][8];
  for (int k = 0; k < 8; ++k)
    for (int l = 0; l < 8; ++l) o[l][k] = t[k * 8 + l];
  for (int row = 0; row < 8; ++row) std::memcpy(out + static_cast<std::size_t>(row) * stride, o[row], 8);
}

void fancy_column_sums_scalar(const std::uint8_t* near, const std::uint8_t* far, int n, std::int16_t* s) {
  if (far == nullptr) {
    for (int i = 0; i < n; ++i) s[i] = near[i];
    return;
  }
  for (int i = 0; i < n; ++i) s[i] = static_cast<std::int16_t>(3 * near[i] + far[i]);
}

void fancy_h2_pairs_scalar(const std::int16_t* s, int pairs, bool v2, std::uint8_t* out) {
  const int be = v2 ? 8 : 1, bo = v2 ? 7 : 2, sh = v2 ? 4 : 2;
  for (int k = 0; k < pairs; ++k) {
    const int t = 3 * s[k];
    out[2 * k] = static_cast<std::uint8_t>((t + s[k - 1] + be) >> sh);
    out[2 * k + 1] = static_cast<std::uint8_t>((t + s[k + 1] + bo) >> sh);
  }
}

void ycc_to_rgb_row_scalar(const std::uint8_t* y, const std::uint8_t* cb, const std::uint8_t* cr, std::uint8_t* rgb,
                           int n) {
  for (int i = 0; i < n; ++i, rgb += 3) ycc_to_rgb(y[i], cb[i], cr[i], rgb);
}

#if defined(__SSE2__)

namespace {

inline __m128i load(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }
inline void store(void* p, __m128i v) { _mm_storeu_si128(static_cast<__m128i*>(p), v); }

// A pmaddwd operand: a in the even 16-bit lanes, b in the odd ones, so that
// pmaddwd(unpack(x, y), pair(a, b)) = x * a + y * b in 32 bits.
inline __m128i pair(int a, int b) {
  return _mm_set1_epi32(static_cast<int>((static_cast<unsigned>(b) << 16) | (static_cast<unsigned>(a) & 0xffffu)));
}

// 8x8 transpose of 16-bit lanes: v[i] lane j <- v[j] lane i.
inline void transpose_8x8(__m128i v[8]) {
  const __m128i a0 = _mm_unpacklo_epi16(v[0], v[1]), a1 = _mm_unpackhi_epi16(v[0], v[1]);
  const __m128i a2 = _mm_unpacklo_epi16(v[2], v[3]), a3 = _mm_unpackhi_epi16(v[2], v[3]);
  const __m128i a4 = _mm_unpacklo_epi16(v[4], v[5]), a5 = _mm_unpackhi_epi16(v[4], v[5]);
  const __m128i a6 = _mm_unpacklo_epi16(v[6], v[7]), a7 = _mm_unpackhi_epi16(v[6], v[7]);
  const __m128i b0 = _mm_unpacklo_epi32(a0, a2), b1 = _mm_unpackhi_epi32(a0, a2);
  const __m128i b2 = _mm_unpacklo_epi32(a1, a3), b3 = _mm_unpackhi_epi32(a1, a3);
  const __m128i b4 = _mm_unpacklo_epi32(a4, a6), b5 = _mm_unpackhi_epi32(a4, a6);
  const __m128i b6 = _mm_unpacklo_epi32(a5, a7), b7 = _mm_unpackhi_epi32(a5, a7);
  v[0] = _mm_unpacklo_epi64(b0, b4);
  v[1] = _mm_unpackhi_epi64(b0, b4);
  v[2] = _mm_unpacklo_epi64(b1, b5);
  v[3] = _mm_unpackhi_epi64(b1, b5);
  v[4] = _mm_unpacklo_epi64(b2, b6);
  v[5] = _mm_unpackhi_epi64(b2, b6);
  v[6] = _mm_unpacklo_epi64(b3, b7);
  v[7] = _mm_unpackhi_epi64(b3, b7);
}

// The 1-D IDCT of 4 lanes (Hi picks lanes 4-7 of the 16-bit inputs) in 32
// bits, descaled by Shift with rounding. jidctint.c's products regrouped
// into pmaddwd pairs; equal to it modulo 2^32, i.e. exactly the scalar
// version, as long as the 16-bit sums below do not overflow.
template <bool Hi, int Shift>
inline void idct_1d_half(const __m128i in[8], const __m128i s04, const __m128i d04, const __m128i z3, const __m128i z4,
                         __m128i out[8]) {
  const auto unpack = [](__m128i a, __m128i b) { return Hi ? _mm_unpackhi_epi16(a, b) : _mm_unpacklo_epi16(a, b); };
  const __m128i zero = _mm_setzero_si128();
  // Even part: tmp3 = z1 + z2 * F0765, tmp2 = z1 - z3 * F1847, z1 = (z2 + z3) * F0541.
  const __m128i p26 = unpack(in[2], in[6]);
  const __m128i tmp3 = _mm_madd_epi16(p26, pair(f0_541 + f0_765, f0_541));
  const __m128i tmp2 = _mm_madd_epi16(p26, pair(f0_541, f0_541 - f1_847));
  // (in0 +- in4) << 13: the 16-bit sum in the high half of a 32-bit lane, shifted down 3.
  // The descaling's rounding is added here once instead of to every output.
  const __m128i round = _mm_set1_epi32(1 << (Shift - 1));
  const __m128i tmp0 = _mm_add_epi32(_mm_srai_epi32(unpack(zero, s04), 16 - const_bits), round);
  const __m128i tmp1 = _mm_add_epi32(_mm_srai_epi32(unpack(zero, d04), 16 - const_bits), round);
  const __m128i tmp10 = _mm_add_epi32(tmp0, tmp3), tmp13 = _mm_sub_epi32(tmp0, tmp3);
  const __m128i tmp11 = _mm_add_epi32(tmp1, tmp2), tmp12 = _mm_sub_epi32(tmp1, tmp2);
  // Odd part, with z5 = (z3 + z4) * F1175 folded into z3' and z4'.
  const __m128i p34 = unpack(z3, z4);
  const __m128i z3p = _mm_madd_epi16(p34, pair(f1_175 - f1_961, f1_175));
  const __m128i z4p = _mm_madd_epi16(p34, pair(f1_175, f1_175 - f0_390));
  const __m128i p71 = unpack(in[7], in[1]);
  const __m128i o0 = _mm_add_epi32(_mm_madd_epi16(p71, pair(f0_298 - f0_899, -f0_899)), z3p);
  const __m128i o3 = _mm_add_epi32(_mm_madd_epi16(p71, pair(-f0_899, f1_501 - f0_899)), z4p);
  const __m128i p53 = unpack(in[5], in[3]);
  const __m128i o1 = _mm_add_epi32(_mm_madd_epi16(p53, pair(f2_053 - f2_562, -f2_562)), z4p);
  const __m128i o2 = _mm_add_epi32(_mm_madd_epi16(p53, pair(-f2_562, f3_072 - f2_562)), z3p);
  const auto descale = [](__m128i x) { return _mm_srai_epi32(x, Shift); };
  out[0] = descale(_mm_add_epi32(tmp10, o3));
  out[7] = descale(_mm_sub_epi32(tmp10, o3));
  out[1] = descale(_mm_add_epi32(tmp11, o2));
  out[6] = descale(_mm_sub_epi32(tmp11, o2));
  out[2] = descale(_mm_add_epi32(tmp12, o1));
  out[5] = descale(_mm_sub_epi32(tmp12, o1));
  out[3] = descale(_mm_add_epi32(tmp13, o0));
  out[4] = descale(_mm_sub_epi32(tmp13, o0));
}

// The 1-D IDCT of 8 lanes of 16-bit inputs, descaled, packed back to 16 bits
// (with saturation, which the caller detects where it matters).
template <int Shift>
inline void idct_1d(const __m128i in[8], __m128i out[8]) {
  const __m128i s04 = _mm_add_epi16(in[0], in[4]), d04 = _mm_sub_epi16(in[0], in[4]);
  const __m128i z3 = _mm_add_epi16(in[7], in[3]), z4 = _mm_add_epi16(in[5], in[1]);
  __m128i lo[8], hi[8];
  idct_1d_half<false, Shift>(in, s04, d04, z3, z4, lo);
  idct_1d_half<true, Shift>(in, s04, d04, z3, z4, hi);
  for (int k = 0; k < 8; ++k) out[k] = _mm_packs_epi32(lo[k], hi[k]);
}

}  // namespace

void idct_islow_8x8(const std::int16_t* coef, const idct_quant& quant, std::uint8_t* out, std::size_t stride) {
  // Dequantise, checking |coef| <= limit (so |coef * q| <= 16383) with one
  // unsigned saturating subtraction: coef + limit lies in [0, 2 limit] then.
  __m128i v[8], bad = _mm_setzero_si128();
  for (int k = 0; k < 8; ++k) {
    const __m128i c = load(coef + 8 * k);
    bad = _mm_or_si128(bad, _mm_subs_epu16(_mm_add_epi16(c, load(quant.limit.data() + 8 * k)),
                                           load(quant.limit2.data() + 8 * k)));
    v[k] = _mm_mullo_epi16(c, load(quant.q.data() + 8 * k));
  }
  __m128i w[8];
  idct_1d<const_bits - pass1_bits>(v, w);  // pass 1: columns (lanes), rows k
  // The first pass's outputs feed pass 2's 16-bit sums: they must be within
  // +-16383 too (packs saturation, if any, also falls outside).
  __m128i mx = w[0], mn = w[0];
  for (int k = 1; k < 8; ++k) {
    mx = _mm_max_epi16(mx, w[k]);
    mn = _mm_min_epi16(mn, w[k]);
  }
  bad = _mm_or_si128(bad, _mm_or_si128(_mm_cmpgt_epi16(mx, _mm_set1_epi16(simd_limit)),
                                       _mm_cmplt_epi16(mn, _mm_set1_epi16(-simd_limit))));
  if (_mm_movemask_epi8(bad) != 0) return idct_islow_8x8_scalar(coef, quant, out, stride);
  transpose_8x8(w);                           // w[k] = column k, lanes = rows
  idct_1d<const_bits + pass1_bits + 3>(w, v);  // pass 2: v[k] = output column k, lanes = rows
  // libjpeg's range_limit: the low 10 bits, sign-extended, plus 128, clamped
  // (by packus below).
  const __m128i c512 = _mm_set1_epi16(512), m1023 = _mm_set1_epi16(1023), c384 = _mm_set1_epi16(384);
  for (int k = 0; k < 8; ++k) v[k] = _mm_sub_epi16(_mm_and_si128(_mm_add_epi16(v[k], c512), m1023), c384);
  // Transpose as bytes: p[k] = columns k and k + 4, then rows two by two.
  __m128i p[4], q[4];
  for (int k = 0; k < 4; ++k) p[k] = _mm_packus_epi16(v[k], v[k + 4]);
  q[0] = _mm_unpacklo_epi8(p[0], p[1]);  // (c0 c1) of rows 0..7
  q[1] = _mm_unpackhi_epi8(p[0], p[1]);  // (c4 c5)
  q[2] = _mm_unpacklo_epi8(p[2], p[3]);  // (c2 c3)
  q[3] = _mm_unpackhi_epi8(p[2], p[3]);  // (c6 c7)
  p[0] = _mm_unpacklo_epi16(q[0], q[2]);  // c0..c3 of rows 0..3
  p[1] = _mm_unpackhi_epi16(q[0], q[2]);  // c0..c3 of rows 4..7
  p[2] = _mm_unpacklo_epi16(q[1], q[3]);  // c4..c7 of rows 0..3
  p[3] = _mm_unpackhi_epi16(q[1], q[3]);  // c4..c7 of rows 4..7
  q[0] = _mm_unpacklo_epi32(p[0], p[2]);  // rows 0, 1
  q[1] = _mm_unpackhi_epi32(p[0], p[2]);  // rows 2, 3
  q[2] = _mm_unpacklo_epi32(p[1], p[3]);  // rows 4, 5
  q[3] = _mm_unpackhi_epi32(p[1], p[3]);  // rows 6, 7
  for (int k = 0; k < 4; ++k) {
    _mm_storel_epi64(reinterpret_cast<__m128i*>(out + static_cast<std::size_t>(2 * k) * stride), q[k]);
    _mm_storel_epi64(reinterpret_cast<__m128i*>(out + static_cast<std::size_t>(2 * k + 1) * stride),
                     _mm_unpackhi_epi64(q[k], q[k]));
  }
}

void fancy_column_sums(const std::uint8_t* near, const std::uint8_t* far, int n, std::int16_t* s) {
  const __m128i zero = _mm_setzero_si128();
  int i = 0;
  if (far == nullptr) {
    for (; i + 16 <= n; i += 16) {
      const __m128i a = load(near + i);
      store(s + i, _mm_unpacklo_epi8(a, zero));
      store(s + i + 8, _mm_unpackhi_epi8(a, zero));
    }
  } else {
    for (; i + 16 <= n; i += 16) {
      const __m128i a = load(near + i), b = load(far + i);
      const __m128i alo = _mm_unpacklo_epi8(a, zero), ahi = _mm_unpackhi_epi8(a, zero);
      store(s + i, _mm_add_epi16(_mm_add_epi16(alo, _mm_add_epi16(alo, alo)), _mm_unpacklo_epi8(b, zero)));
      store(s + i + 8, _mm_add_epi16(_mm_add_epi16(ahi, _mm_add_epi16(ahi, ahi)), _mm_unpackhi_epi8(b, zero)));
    }
  }
  fancy_column_sums_scalar(near + i, far == nullptr ? nullptr : far + i, n - i, s + i);
}

void fancy_h2_pairs(const std::int16_t* s, int pairs, bool v2, std::uint8_t* out) {
  const __m128i be = _mm_set1_epi16(v2 ? 8 : 1), bo = _mm_set1_epi16(v2 ? 7 : 2);
  const __m128i sh = _mm_cvtsi32_si128(v2 ? 4 : 2);
  int k = 0;
  for (; k + 8 <= pairs; k += 8) {
    const __m128i c = load(s + k);
    const __m128i t = _mm_add_epi16(c, _mm_add_epi16(c, c));
    const __m128i even = _mm_srl_epi16(_mm_add_epi16(_mm_add_epi16(t, load(s + k - 1)), be), sh);
    const __m128i odd = _mm_srl_epi16(_mm_add_epi16(_mm_add_epi16(t, load(s + k + 1)), bo), sh);
    store(out + 2 * k, _mm_or_si128(even, _mm_slli_epi16(odd, 8)));  // both are 0..255
  }
  fancy_h2_pairs_scalar(s + k, pairs - k, v2, out + 2 * k);
}

namespace {

// 16 pixels of ycc_to_rgb, as jdcolext-sse2.asm computes them, on the even
// and the odd pixels apart (16-bit lanes):
//   R - Y = 0.40200 Cr + Cr,  B - Y = -0.22800 Cb + 2 Cb   (pmulhw of 2x, then rounded halving)
//   G - Y = -0.34414 Cb + 0.28586 Cr - Cr                   (pmaddwd, + 1/2, >> 16)
// which are jdcolor.c's table entries exactly: floor((floor(2x F / 2^16) + 1) / 2)
// = floor((x F + 2^15) / 2^16), and adding x or 2x to it adds 2^16 x or
// 2^17 x to F (F = FIX(1.40200) - 2^16, FIX(1.77200) - 2^17; -FIX(0.71414)
// + 2^16 for G).
inline void ycc16(const std::uint8_t* y, const std::uint8_t* cb, const std::uint8_t* cr, std::uint8_t* rgb) {
  const __m128i low_bytes = _mm_set1_epi16(0x00ff), c128 = _mm_set1_epi16(128), one = _mm_set1_epi16(1);
  const __m128i f_r = _mm_set1_epi16(91881 - 65536), f_b = _mm_set1_epi16(116130 - 131072);
  const __m128i f_g = pair(-22554, 65536 - 46802), half = _mm_set1_epi32(1 << 15);
  const __m128i yv = load(y), cbv = load(cb), crv = load(cr);
  const __m128i ys[2] = {_mm_and_si128(yv, low_bytes), _mm_srli_epi16(yv, 8)};  // even, odd pixels
  const __m128i cbs[2] = {_mm_sub_epi16(_mm_and_si128(cbv, low_bytes), c128), _mm_sub_epi16(_mm_srli_epi16(cbv, 8), c128)};
  const __m128i crs[2] = {_mm_sub_epi16(_mm_and_si128(crv, low_bytes), c128), _mm_sub_epi16(_mm_srli_epi16(crv, 8), c128)};
  __m128i r[2], g[2], b[2];  // 8 bytes each (the low half): even, odd pixels
  for (int h = 0; h < 2; ++h) {
    const __m128i Y = ys[h], Cb = cbs[h], Cr = crs[h];
    const __m128i ry = _mm_add_epi16(
        _mm_srai_epi16(_mm_add_epi16(_mm_mulhi_epi16(_mm_add_epi16(Cr, Cr), f_r), one), 1), Cr);
    const __m128i by = _mm_add_epi16(
        _mm_srai_epi16(_mm_add_epi16(_mm_mulhi_epi16(_mm_add_epi16(Cb, Cb), f_b), one), 1), _mm_add_epi16(Cb, Cb));
    const __m128i glo = _mm_srai_epi32(_mm_add_epi32(_mm_madd_epi16(_mm_unpacklo_epi16(Cb, Cr), f_g), half), 16);
    const __m128i ghi = _mm_srai_epi32(_mm_add_epi32(_mm_madd_epi16(_mm_unpackhi_epi16(Cb, Cr), f_g), half), 16);
    const __m128i gy = _mm_sub_epi16(_mm_packs_epi32(glo, ghi), Cr);
    const __m128i rr = _mm_add_epi16(Y, ry), gg = _mm_add_epi16(Y, gy), bb = _mm_add_epi16(Y, by);
    r[h] = _mm_packus_epi16(rr, rr);
    g[h] = _mm_packus_epi16(gg, gg);
    b[h] = _mm_packus_epi16(bb, bb);
  }
  // jdcolext-sse2.asm's RGB_PIXELSIZE == 3 interleave. "cp": component c
  // (0 R, 1 G, 2 B) of pixel p (hex); "--" is don't care.
  const __m128i a0 = _mm_unpacklo_epi8(r[0], g[0]);  // 00 10 02 12 04 14 06 16 08 18 0A 1A 0C 1C 0E 1E
  const __m128i e0 = _mm_unpacklo_epi8(b[0], r[1]);  // 20 01 22 03 24 05 26 07 28 09 2A 0B 2C 0D 2E 0F
  const __m128i d0 = _mm_unpacklo_epi8(g[1], b[1]);  // 11 21 13 23 15 25 17 27 19 29 1B 2B 1D 2D 1F 2F
  const __m128i a1 = _mm_unpacklo_epi16(a0, e0);     // 00 10 20 01 02 12 22 03 04 14 24 05 06 16 26 07
  const __m128i g1 = _mm_unpackhi_epi16(a0, e0);     // 08 18 28 09 0A 1A 2A 0B 0C 1C 2C 0D 0E 1E 2E 0F
  const __m128i h1 = _mm_srli_si128(a0, 2);          // 02 12 04 14 06 16 08 18 0A 1A 0C 1C 0E 1E -- --
  const __m128i e1 = _mm_srli_si128(e0, 2);          // 22 03 24 05 26 07 28 09 2A 0B 2C 0D 2E 0F -- --
  const __m128i d1 = _mm_unpacklo_epi16(d0, h1);     // 11 21 02 12 13 23 04 14 15 25 06 16 17 27 08 18
  const __m128i c1 = _mm_unpackhi_epi16(d0, h1);     // 19 29 0A 1A 1B 2B 0C 1C 1D 2D 0E 1E 1F 2F -- --
  const __m128i b1 = _mm_srli_si128(d0, 2);          // 13 23 15 25 17 27 19 29 1B 2B 1D 2D 1F 2F -- --
  const __m128i e2 = _mm_unpacklo_epi16(e1, b1);     // 22 03 13 23 24 05 15 25 26 07 17 27 28 09 19 29
  const __m128i f2 = _mm_unpackhi_epi16(e1, b1);     // 2A 0B 1B 2B 2C 0D 1D 2D 2E 0F 1F 2F -- -- -- --
  const __m128i h2 = _mm_shuffle_epi32(a1, 0x4E);    // 04 14 24 05 06 16 26 07 00 10 20 01 02 12 22 03
  const __m128i a2 = _mm_unpacklo_epi32(a1, d1);     // 00 10 20 01 11 21 02 12 02 12 22 03 13 23 04 14
  const __m128i e3 = _mm_unpacklo_epi32(e2, h2);     // 22 03 13 23 04 14 24 05 24 05 15 25 06 16 26 07
  const __m128i d2 = _mm_unpackhi_epi32(d1, e2);     // 15 25 06 16 26 07 17 27 17 27 08 18 28 09 19 29
  const __m128i h3 = _mm_shuffle_epi32(g1, 0x4E);    // 0C 1C 2C 0D 0E 1E 2E 0F 08 18 28 09 0A 1A 2A 0B
  const __m128i g2 = _mm_unpacklo_epi32(g1, c1);     // 08 18 28 09 19 29 0A 1A 0A 1A 2A 0B 1B 2B 0C 1C
  const __m128i f3 = _mm_unpacklo_epi32(f2, h3);     // 2A 0B 1B 2B 0C 1C 2C 0D 2C 0D 1D 2D 0E 1E 2E 0F
  const __m128i c2 = _mm_unpackhi_epi32(c1, f2);     // 1D 2D 0E 1E 2E 0F 1F 2F 1F 2F -- -- -- -- -- --
  store(rgb, _mm_unpacklo_epi64(a2, e3));            // 00 10 20 01 11 21 02 12 22 03 13 23 04 14 24 05
  store(rgb + 16, _mm_unpacklo_epi64(d2, g2));       // 15 25 06 16 26 07 17 27 08 18 28 09 19 29 0A 1A
  store(rgb + 32, _mm_unpacklo_epi64(f3, c2));       // 2A 0B 1B 2B 0C 1C 2C 0D 1D 2D 0E 1E 2E 0F 1F 2F
}

}  // namespace

void ycc_to_rgb_row(const std::uint8_t* y, const std::uint8_t* cb, const std::uint8_t* cr, std::uint8_t* rgb, int n) {
  int i = 0;
  for (; i + 16 <= n; i += 16) ycc16(y + i, cb + i, cr + i, rgb + 3 * i);
  if (i == n) return;
  // The last 1..15 pixels through the same code, via padded copies.
  alignas(16) std::uint8_t ty[16] = {}, tcb[16] = {}, tcr[16] = {}, trgb[48];
  const auto m = static_cast<std::size_t>(n - i);
  std::memcpy(ty, y + i, m);
  std::memcpy(tcb, cb + i, m);
  std::memcpy(tcr, cr + i, m);
  ycc16(ty, tcb, tcr, trgb);
  std::memcpy(rgb + 3 * i, trgb, 3 * m);
}

#else  // no SSE2: the scalar kernels

void idct_islow_8x8(const std::int16_t* coef, const idct_quant& quant, std::uint8_t* out, std::size_t stride) {
  idct_islow_8x8_scalar(coef, quant, out, stride);
}
void fancy_column_sums(const std::uint8_t* near, const std::uint8_t* far, int n, std::int16_t* s) {
  fancy_column_sums_scalar(near, far, n, s);
}
void fancy_h2_pairs(const std::int16_t* s, int pairs, bool v2, std::uint8_t* out) {
  fancy_h2_pairs_scalar(s, pairs, v2, out);
}
void ycc_to_rgb_row(const std::uint8_t* y, const std::uint8_t* cb, const std::uint8_t* cr, std::uint8_t* rgb, int n) {
  ycc_to_rgb_row_scalar(y, cb, cr, rgb, n);
}

#endif

}  // namespace kycprep::detail
