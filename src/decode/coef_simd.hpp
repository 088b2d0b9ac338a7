// The per-block and per-row kernels of decode_region (coef_decode.cpp): the
// 8x8 ISLOW IDCT, jdsample.c's fancy h2 triangle filter and jdcolor.c's
// YCbCr->RGB, each bit-exact with libjpeg-turbo's C code.
//
// Each comes twice: a scalar version (the reference, and what runs on non-x86
// targets) and, when the compiler targets SSE2 (every x86-64 build), an SSE2
// version that gives the same bytes for every input. The plain names pick
// the SSE2 one when it is compiled in; the *_scalar names are always the
// scalar one, for tests that compare the two (tests/test_decode.cpp,
// CoefSimd.*).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace kycprep::detail {

// ---- IDCT -----------------------------------------------------------------

/// One component's quantisation table as the IDCTs use it. Build with
/// make_idct_quant.
struct idct_quant {
  /// The multipliers, natural order: libjpeg's quantval (UINT16) cast to
  /// short, as libjpeg-turbo's dct_table holds them (ISLOW_MULT_TYPE is
  /// short in its SIMD builds), so a 16-bit table entry above 32767 (which
  /// JPEG forbids for 8-bit data, and libjpeg accepts) multiplies as
  /// libjpeg-turbo's does: 65535 as -1.
  alignas(16) std::array<std::int16_t, 64> q{};
  /// For the SSE2 IDCT: per coefficient, the largest |coef| whose dequantised
  /// value stays within +-16383, and twice that.
  alignas(16) std::array<std::int16_t, 64> limit{}, limit2{};
};

idct_quant make_idct_quant(const std::uint16_t* quantval);

/// jidctint.c's jpeg_idct_islow: the 8x8 block `coef` (natural order),
/// dequantised by `quant`, into 8 rows of 8 samples at out + row * stride.
/// Arithmetic is 32-bit with wrap-around, so that the result is defined for
/// every input; for a valid JPEG no intermediate comes near the limit and it
/// is libjpeg's (jidctint.c's C in 64 bits, and its SIMD versions).
///
/// The SSE2 version computes in 16-bit lanes with 32-bit products, like
/// libjpeg-turbo's jidctint-sse2. That is exact only while the dequantised
/// coefficients and the first pass's outputs stay within +-16383; it checks
/// both per block and hands any other block to the scalar version, so the
/// output is always the scalar one's. Valid 8-bit JPEGs stay far inside
/// (dequantised values about +-1024; no block of the test fixtures, the
/// benchmark corpus or faces-dev falls back): the fallback is for hostile data.
void idct_islow_8x8(const std::int16_t* coef, const idct_quant& quant, std::uint8_t* out, std::size_t stride);
void idct_islow_8x8_scalar(const std::int16_t* coef, const idct_quant& quant, std::uint8_t* out, std::size_t stride);

// ---- upsampling (jdsample.c h2v1 / h2v2 fancy) --------------------------------

/// Column values for the h2 triangle filter: s[i] = 3 * near[i] + far[i]
/// (h2v2: the vertical 3:1 blend of the nearer and the farther chroma row),
/// or s[i] = near[i] when far is null (h2v1). i in [0, n).
void fancy_column_sums(const std::uint8_t* near, const std::uint8_t* far, int n, std::int16_t* s);
void fancy_column_sums_scalar(const std::uint8_t* near, const std::uint8_t* far, int n, std::int16_t* s);

/// The horizontal triangle filter over column values s[-1 .. pairs] (edges
/// already replicated by the caller): for k in [0, pairs),
///   out[2k]     = (3 s[k] + s[k-1] + 8) >> 4,  out[2k+1] = (3 s[k] + s[k+1] + 7) >> 4  (v2, h2v2)
///   out[2k]     = (3 s[k] + s[k-1] + 1) >> 2,  out[2k+1] = (3 s[k] + s[k+1] + 2) >> 2  (!v2, h2v1)
/// s values must be those fancy_column_sums gives (0 .. 1020).
void fancy_h2_pairs(const std::int16_t* s, int pairs, bool v2, std::uint8_t* out);
void fancy_h2_pairs_scalar(const std::int16_t* s, int pairs, bool v2, std::uint8_t* out);

// ---- colour (jdcolor.c: BT.601 full range, 16-bit fixed point) ---------------

/// jdcolor.c's tables: R = Y + cr_r[Cr], G = Y + ((cb_g[Cb] + cr_g[Cr]) >> 16),
/// B = Y + cb_b[Cb], with FIX(x) = round(x * 65536).
struct ycc_tables {
  std::array<int, 256> cr_r{}, cb_b{}, cr_g{}, cb_g{};
  constexpr ycc_tables() {
    constexpr int one_half = 1 << 15;
    for (std::size_t i = 0; i < 256; ++i) {
      const int x = static_cast<int>(i) - 128;
      cr_r[i] = (91881 * x + one_half) >> 16;
      cb_b[i] = (116130 * x + one_half) >> 16;
      cr_g[i] = -46802 * x;
      cb_g[i] = -22554 * x + one_half;
    }
  }
};
inline constexpr ycc_tables ycc{};

inline std::uint8_t clamp255(int v) { return static_cast<std::uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v)); }

/// One pixel of jdcolor.c's ycc_rgb_convert into out[0..2].
inline void ycc_to_rgb(int y, int cb, int cr, std::uint8_t* out) {
  out[0] = clamp255(y + ycc.cr_r[static_cast<std::size_t>(cr)]);
  out[1] = clamp255(y + ((ycc.cb_g[static_cast<std::size_t>(cb)] + ycc.cr_g[static_cast<std::size_t>(cr)]) >> 16));
  out[2] = clamp255(y + ycc.cb_b[static_cast<std::size_t>(cb)]);
}

/// ycc_to_rgb for n pixels: rgb[3i .. 3i+2] from y[i], cb[i], cr[i].
void ycc_to_rgb_row(const std::uint8_t* y, const std::uint8_t* cb, const std::uint8_t* cr, std::uint8_t* rgb, int n);
void ycc_to_rgb_row_scalar(const std::uint8_t* y, const std::uint8_t* cb, const std::uint8_t* cr, std::uint8_t* rgb,
                           int n);

}  // namespace kycprep::detail
