// One entropy pass (jpeg_read_coefficients), then our own IDCT of a region.
//
// Error handling is jpeg_session.hpp's, as in jpeg_decode.cpp.
//
// The arithmetic below is ported from libjpeg-turbo 2.1 (jidctred.c,
// jdsample.c; IJG/BSD-style licence) so that the output matches libjpeg's
// ISLOW decode bit for bit; the 8x8 IDCT, the h2 upsampling filter and the
// colour conversion, the hot loops, are in coef_simd.hpp (scalar and SSE2).
#include "decode/coef_decode.hpp"

#include <algorithm>
#include <array>
#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <type_traits>

// jpeglib.h needs size_t and FILE declared first.
#include <jpeglib.h>
#include <jerror.h>

#include "decode/coef_simd.hpp"
#include "decode/decode_pvt.hpp"
#include "decode/entropy.hpp"
#include "decode/jpeg_session.hpp"

namespace kycprep::detail {

namespace {

// One component as decode_region sees it at a given scale.
struct component {
  int h = 1, v = 1;                       // sampling factors
  int width_in_blocks = 0, height_in_blocks = 0;
  idct_quant quant;                       // natural order
  std::vector<const JCOEF*> block_rows;   // first coefficient of each block row
};

}  // namespace

static_assert(sizeof(JCOEF) == sizeof(std::int16_t) && std::is_signed_v<JCOEF>, "coef_plane and JBLOCK share a layout");

struct coefficient_image::state : jpeg_session {
  coef_frame own;                     // filled by entropy_decode (our decoder), or
  jvirt_barray_ptr* arrays = nullptr; // by libjpeg's jpeg_read_coefficients
  int width = 0, height = 0, max_h = 1, max_v = 1, ncomp = 0;
  bool progressive = false;
  std::size_t bytes = 0;
  std::vector<component> comps;
  std::vector<std::string> warnings;
  std::vector<std::uint8_t> icc;
};

namespace {

using state = coefficient_image::state;

bool phase_read(state* s) {
  if (setjmp(s->jump)) return false;
  s->arrays = jpeg_read_coefficients(&s->cinfo);
  return true;
}

// The embedded ICC profile (reassembled from its APP2 chunks), if any.
bool phase_icc(state* s, JOCTET** data, unsigned int* len) {
  if (setjmp(s->jump)) return false;
  if (!jpeg_read_icc_profile(&s->cinfo, data, len)) *data = nullptr;
  return true;
}

// Every coefficient array is fully in memory (libjpeg-turbo has no backing
// store), so the row pointers stay valid until jpeg_destroy_decompress.
bool phase_rows(state* s, int ci, const JCOEF** rows, int n) {
  if (setjmp(s->jump)) return false;
  for (int r = 0; r < n; ++r) {
    JBLOCKARRAY a = (*s->cinfo.mem->access_virt_barray)(reinterpret_cast<j_common_ptr>(&s->cinfo), s->arrays[ci],
                                                        static_cast<JDIMENSION>(r), 1, FALSE);
    rows[r] = a[0][0];
  }
  return true;
}

// Whether our decoder's frame is the one libjpeg's header describes (it
// parses the markers itself; both must agree before its arrays are used).
bool same_layout(const coef_frame& f, const jpeg_decompress_struct& c) {
  if (f.width != static_cast<int>(c.image_width) || f.height != static_cast<int>(c.image_height) ||
      f.planes.size() != static_cast<std::size_t>(c.num_components) || f.progressive != (c.progressive_mode != 0))
    return false;
  for (int i = 0; i < c.num_components; ++i) {
    const coef_plane& p = f.planes[static_cast<std::size_t>(i)];
    const jpeg_component_info& info = c.comp_info[i];
    if (p.h != info.h_samp_factor || p.v != info.v_samp_factor || p.quant_table != info.quant_tbl_no ||
        p.width_in_blocks != static_cast<int>(info.width_in_blocks) ||
        p.height_in_blocks != static_cast<int>(info.height_in_blocks) || p.quant_table < 0 ||
        p.quant_table >= NUM_QUANT_TBLS || c.quant_tbl_ptrs[p.quant_table] == nullptr)
      return false;
  }
  return true;
}

// The layouts this path reproduces exactly; anything else goes to libjpeg.
const char* unsupported_reason(const jpeg_decompress_struct& c) {
  if (c.data_precision != 8) return "not 8-bit";
  if (c.num_components == 1) return c.jpeg_color_space == JCS_GRAYSCALE ? nullptr : "one component, not gray";
  if (c.num_components != 3 || c.jpeg_color_space != JCS_YCbCr) return "not YCbCr or gray";
  const auto& y = c.comp_info[0];
  if (y.h_samp_factor < 1 || y.h_samp_factor > 2 || y.v_samp_factor < 1 || y.v_samp_factor > 2)
    return "luma sampling other than 1 or 2";
  for (int ci = 1; ci < 3; ++ci)
    if (c.comp_info[ci].h_samp_factor != 1 || c.comp_info[ci].v_samp_factor != 1) return "chroma sampling other than 1x1";
  return nullptr;
}

// ---- IDCTs (libjpeg-turbo jidctint.c / jidctred.c, 8-bit samples) ---------

constexpr int const_bits = 13;
constexpr int pass1_bits = 2;

constexpr long descale(long x, int n) { return (x + (1L << (n - 1))) >> n; }

// libjpeg's IDCT range limit: the low 10 bits, sign-extended, plus 128, clamped.
inline std::uint8_t range_limit(long x) {
  const int v = static_cast<int>(((x + 512) & 1023) - 512) + 128;
  return static_cast<std::uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v));
}

void idct_4x4(const JCOEF* in, const idct_quant& quant, std::uint8_t* out, std::size_t stride) {
  const std::int16_t* q = quant.q.data();
  constexpr long f0_211 = 1730, f0_509 = 4176, f0_601 = 4926, f0_765 = 6270, f0_899 = 7373, f1_061 = 8697,
                 f1_451 = 11893, f1_847 = 15137, f2_172 = 17799, f2_562 = 20995;
  int ws[32];
  for (int c = 0; c < 8; ++c) {
    if (c == 4) continue;  // the second pass does not use column 4
    const JCOEF* ip = in + c;
    const std::int16_t* qp = q + c;
    int* wp = ws + c;
    if (ip[8] == 0 && ip[16] == 0 && ip[24] == 0 && ip[40] == 0 && ip[48] == 0 && ip[56] == 0) {
      const int dc = static_cast<int>(static_cast<long>(ip[0]) * qp[0] * (1 << pass1_bits));
      for (int r = 0; r < 4; ++r) wp[r * 8] = dc;
      continue;
    }
    long tmp0 = (static_cast<long>(ip[0]) * qp[0]) * (1L << (const_bits + 1));
    const long z2e = static_cast<long>(ip[16]) * qp[16], z3e = static_cast<long>(ip[48]) * qp[48];
    long tmp2 = z2e * f1_847 + z3e * -f0_765;
    const long tmp10 = tmp0 + tmp2, tmp12 = tmp0 - tmp2;
    const long z1 = static_cast<long>(ip[56]) * qp[56], z2 = static_cast<long>(ip[40]) * qp[40], z3 = static_cast<long>(ip[24]) * qp[24], z4 = static_cast<long>(ip[8]) * qp[8];
    tmp0 = z1 * -f0_211 + z2 * f1_451 + z3 * -f2_172 + z4 * f1_061;
    tmp2 = z1 * -f0_509 + z2 * -f0_601 + z3 * f0_899 + z4 * f2_562;
    constexpr int sh = const_bits - pass1_bits + 1;
    wp[0] = static_cast<int>(descale(tmp10 + tmp2, sh));
    wp[24] = static_cast<int>(descale(tmp10 - tmp2, sh));
    wp[8] = static_cast<int>(descale(tmp12 + tmp0, sh));
    wp[16] = static_cast<int>(descale(tmp12 - tmp0, sh));
  }
  for (int r = 0; r < 4; ++r) {
    const int* wp = ws + r * 8;
    std::uint8_t* op = out + static_cast<std::size_t>(r) * stride;
    if (wp[1] == 0 && wp[2] == 0 && wp[3] == 0 && wp[5] == 0 && wp[6] == 0 && wp[7] == 0) {
      const std::uint8_t v = range_limit(descale(wp[0], pass1_bits + 3));
      std::memset(op, v, 4);
      continue;
    }
    long tmp0 = static_cast<long>(wp[0]) * (1L << (const_bits + 1));
    long tmp2 = static_cast<long>(wp[2]) * f1_847 + static_cast<long>(wp[6]) * -f0_765;
    const long tmp10 = tmp0 + tmp2, tmp12 = tmp0 - tmp2;
    const long z1 = wp[7], z2 = wp[5], z3 = wp[3], z4 = wp[1];
    tmp0 = z1 * -f0_211 + z2 * f1_451 + z3 * -f2_172 + z4 * f1_061;
    tmp2 = z1 * -f0_509 + z2 * -f0_601 + z3 * f0_899 + z4 * f2_562;
    constexpr int sh = const_bits + pass1_bits + 3 + 1;
    op[0] = range_limit(descale(tmp10 + tmp2, sh));
    op[3] = range_limit(descale(tmp10 - tmp2, sh));
    op[1] = range_limit(descale(tmp12 + tmp0, sh));
    op[2] = range_limit(descale(tmp12 - tmp0, sh));
  }
}

void idct_2x2(const JCOEF* in, const idct_quant& quant, std::uint8_t* out, std::size_t stride) {
  const std::int16_t* q = quant.q.data();
  constexpr long f0_720 = 5906, f0_850 = 6967, f1_272 = 10426, f3_624 = 29692;
  int ws[16];
  for (int c = 0; c < 8; ++c) {
    if (c == 2 || c == 4 || c == 6) continue;  // unused by the second pass
    const JCOEF* ip = in + c;
    const std::int16_t* qp = q + c;
    int* wp = ws + c;
    if (ip[8] == 0 && ip[24] == 0 && ip[40] == 0 && ip[56] == 0) {
      const int dc = static_cast<int>(static_cast<long>(ip[0]) * qp[0] * (1 << pass1_bits));
      wp[0] = wp[8] = dc;
      continue;
    }
    const long tmp10 = (static_cast<long>(ip[0]) * qp[0]) * (1L << (const_bits + 2));
    const long tmp0 = (static_cast<long>(ip[56]) * qp[56]) * -f0_720 + (static_cast<long>(ip[40]) * qp[40]) * f0_850 +
                      (static_cast<long>(ip[24]) * qp[24]) * -f1_272 + (static_cast<long>(ip[8]) * qp[8]) * f3_624;
    constexpr int sh = const_bits - pass1_bits + 2;
    wp[0] = static_cast<int>(descale(tmp10 + tmp0, sh));
    wp[8] = static_cast<int>(descale(tmp10 - tmp0, sh));
  }
  for (int r = 0; r < 2; ++r) {
    const int* wp = ws + r * 8;
    std::uint8_t* op = out + static_cast<std::size_t>(r) * stride;
    if (wp[1] == 0 && wp[3] == 0 && wp[5] == 0 && wp[7] == 0) {
      op[0] = op[1] = range_limit(descale(wp[0], pass1_bits + 3));
      continue;
    }
    const long tmp10 = static_cast<long>(wp[0]) * (1L << (const_bits + 2));
    const long tmp0 = static_cast<long>(wp[7]) * -f0_720 + static_cast<long>(wp[5]) * f0_850 +
                      static_cast<long>(wp[3]) * -f1_272 + static_cast<long>(wp[1]) * f3_624;
    constexpr int sh = const_bits + pass1_bits + 3 + 2;
    op[0] = range_limit(descale(tmp10 + tmp0, sh));
    op[1] = range_limit(descale(tmp10 - tmp0, sh));
  }
}

void idct_1x1(const JCOEF* in, const idct_quant& quant, std::uint8_t* out, std::size_t) {
  out[0] = range_limit(descale(static_cast<long>(in[0]) * quant.q[0], 3));
}

using idct_fn = void (*)(const JCOEF*, const idct_quant&, std::uint8_t*, std::size_t);

idct_fn idct_for(int size) {
  switch (size) {
    case 8: return idct_islow_8x8;
    case 4: return idct_4x4;
    case 2: return idct_2x2;
    default: return idct_1x1;
  }
}

// ---- geometry of one component at a scale (jdmaster.c, jdsample.c) --------

struct plane {
  int ssize = 8;        // IDCT output size per block
  int dw = 0, dh = 0;   // the component's sample dimensions at this scale
  int uh = 1, uv = 1;   // upsampling factors to the output grid
  bool fancy = true;    // triangle filter; libjpeg replicates at scale 1/8
  int bx0 = 0, by0 = 0; // first block decoded
  int pw = 0, ph = 0;   // decoded window, in samples
  std::unique_ptr<std::uint8_t[]> px;  // pw * ph, every sample written by the IDCTs

  [[nodiscard]] const std::uint8_t* row(int y) const {  // y in component samples, clamped to the image
    y = std::clamp(y, 0, dh - 1) - by0 * ssize;
    return px.get() + static_cast<std::size_t>(y) * pw;
  }
  // Sample at column x (component samples, clamped to the image) of a row from row().
  [[nodiscard]] int at(const std::uint8_t* r, int x) const { return r[std::clamp(x, 0, dw - 1) - bx0 * ssize]; }
};

int div_up(long a, long b) { return static_cast<int>((a + b - 1) / b); }

// Decodes the blocks of component `c` covering output columns [x0, x1) and
// rows [y0, y1) plus the neighbours the upsampler needs.
void decode_plane(const state& s, const component& c, int min_size, int x0, int x1, int y0, int y1, plane& p) {
  // libjpeg widens the IDCT of subsampled components instead of upsampling
  // when the scale allows it (jpeg_core_output_dimensions).
  int ss = min_size;
  while (ss < 8 && (s.max_h * min_size) % (c.h * ss * 2) == 0 && (s.max_v * min_size) % (c.v * ss * 2) == 0) ss *= 2;
  p.ssize = ss;
  p.dw = div_up(static_cast<long>(s.width) * c.h * ss, static_cast<long>(s.max_h) * 8);
  p.dh = div_up(static_cast<long>(s.height) * c.v * ss, static_cast<long>(s.max_v) * 8);
  p.uh = (s.max_h * min_size) / (c.h * ss);
  p.uv = (s.max_v * min_size) / (c.v * ss);
  p.fancy = min_size > 1;  // jdsample.c: do_fancy needs _min_DCT_scaled_size > 1
  auto span_of = [](int a0, int a1, int u, int limit, int& lo, int& hi) {
    lo = u == 2 ? a0 / 2 - 1 : a0;
    hi = u == 2 ? (a1 - 1) / 2 + 2 : a1;
    lo = std::clamp(lo, 0, limit - 1);
    hi = std::clamp(hi, lo + 1, limit);
  };
  int cx0, cx1, cy0, cy1;
  span_of(x0, x1, p.uh, p.dw, cx0, cx1);
  span_of(y0, y1, p.uv, p.dh, cy0, cy1);
  p.bx0 = cx0 / ss;
  p.by0 = cy0 / ss;
  const int bx1 = std::min(c.width_in_blocks, div_up(cx1, ss));
  const int by1 = std::min(c.height_in_blocks, div_up(cy1, ss));
  p.pw = (bx1 - p.bx0) * ss;
  p.ph = (by1 - p.by0) * ss;
  p.px = std::make_unique_for_overwrite<std::uint8_t[]>(static_cast<std::size_t>(p.pw) * p.ph);
  const idct_fn idct = idct_for(ss);
  for (int by = p.by0; by < by1; ++by) {
    const JCOEF* blocks = c.block_rows[static_cast<std::size_t>(by)];
    std::uint8_t* dst = p.px.get() + static_cast<std::size_t>(by - p.by0) * ss * p.pw;
    for (int bx = p.bx0; bx < bx1; ++bx)
      idct(blocks + static_cast<std::size_t>(bx) * DCTSIZE2, c.quant, dst + (bx - p.bx0) * ss,
           static_cast<std::size_t>(p.pw));
  }
}

// Row y (output grid) of component plane p, columns [x0, x1), into out.
// Reproduces jdsample.c: fancy triangle filters, plain replication when
// the component is at most 2 samples wide (h2v1/h2v2) or at scale 1/8.
// `sums` is scratch: the row's samples (or 3:1 column sums) over the columns
// needed, edges replicated, so the inner loops have no clamping.
void upsample_row(const plane& p, int y, int x0, int x1, std::uint8_t* out, std::vector<std::int16_t>& sums) {
  const int n = x1 - x0;
  const int off = p.bx0 * p.ssize;
  if (p.uh == 1 && p.uv == 1) {
    std::memcpy(out, p.row(y) + (x0 - off), static_cast<std::size_t>(n));
    return;
  }
  if (!p.fancy || (p.uh == 2 && p.dw <= 2)) {  // libjpeg's plain replication
    const std::uint8_t* r = p.row(y / p.uv);
    for (int i = 0; i < n; ++i) out[i] = static_cast<std::uint8_t>(p.at(r, (x0 + i) / p.uh));
    return;
  }
  if (p.uh == 1) {  // h1v2
    const int r = y / 2;
    const std::uint8_t* near = p.row(r) + (x0 - off);
    const std::uint8_t* far = p.row(y % 2 == 0 ? r - 1 : r + 1) + (x0 - off);
    const int bias = y % 2 == 0 ? 1 : 2;
    for (int i = 0; i < n; ++i) out[i] = static_cast<std::uint8_t>((3 * near[i] + far[i] + bias) >> 2);
    return;
  }
  // h2v1 / h2v2: sums[j] is column c_first + j, clamped to the image.
  const int c_first = x0 / 2 - 1, c_last = (x1 - 1) / 2 + 1;
  sums.resize(static_cast<std::size_t>(c_last - c_first + 1));
  const std::uint8_t* near = p.row(p.uv == 2 ? y / 2 : y);
  const std::uint8_t* far = p.uv == 2 ? p.row(y % 2 == 0 ? y / 2 - 1 : y / 2 + 1) : nullptr;
  std::int16_t* cs = sums.data() - c_first;  // cs[c] for c in [c_first, c_last]
  const int in0 = std::max(c_first, 0), in1 = std::min(c_last, p.dw - 1);  // columns inside the image
  fancy_column_sums(near + (in0 - off), far == nullptr ? nullptr : far + (in0 - off), in1 - in0 + 1, cs + in0);
  for (int c = c_first; c < in0; ++c) cs[c] = cs[in0];
  for (int c = in1 + 1; c <= c_last; ++c) cs[c] = cs[in1];
  // Even output column 2c: 3/4 of c + 1/4 of c-1; odd 2c+1: 3/4 of c + 1/4 of c+1.
  const bool v2 = far != nullptr;
  const int be = v2 ? 8 : 1, bo = v2 ? 7 : 2, sh = v2 ? 4 : 2;
  int x = x0;
  std::uint8_t* o = out;
  if (x & 1) {
    *o++ = static_cast<std::uint8_t>((3 * cs[x >> 1] + cs[(x >> 1) + 1] + bo) >> sh);
    ++x;
  }
  const int pairs = (x1 - x) / 2;
  fancy_h2_pairs(cs + (x >> 1), pairs, v2, o);
  x += 2 * pairs;
  if (x < x1) o[2 * pairs] = static_cast<std::uint8_t>((3 * cs[x >> 1] + cs[(x >> 1) - 1] + be) >> sh);
}

}  // namespace

coefficient_image::coefficient_image(std::unique_ptr<state> s) : s_(std::move(s)) {}
coefficient_image::coefficient_image(coefficient_image&&) noexcept = default;
coefficient_image& coefficient_image::operator=(coefficient_image&&) noexcept = default;
coefficient_image::~coefficient_image() = default;
int coefficient_image::width() const { return s_->width; }
int coefficient_image::height() const { return s_->height; }
int coefficient_image::components() const { return s_->ncomp; }
bool coefficient_image::progressive() const { return s_->progressive; }
std::size_t coefficient_image::coefficient_bytes() const { return s_->bytes; }
bool coefficient_image::own_entropy_decoder() const { return !s_->own.planes.empty(); }
const std::vector<std::string>& coefficient_image::warnings() const { return s_->warnings; }
const std::vector<std::uint8_t>& coefficient_image::icc_profile() const { return s_->icc; }

result<coefficient_image> read_coefficients(std::span<const std::uint8_t> bytes, const decode_options& opt,
                                            coef_pool* pool) {
  if (bytes.empty()) return error{error_code::empty_input, stage::sniff, "input is empty (0 bytes)"};
  if (bytes.size() > opt.limits.max_input_bytes)
    return error{error_code::input_too_large, stage::read,
                 "input is " + std::to_string(bytes.size()) + " bytes, above max_input_bytes " +
                     std::to_string(opt.limits.max_input_bytes)};
  if (sniff_format(bytes) != image_format::jpeg)
    return error{error_code::unsupported_format, stage::sniff, "coefficient path: not a JPEG"};
  auto s = std::make_unique<state>();
  s->fail_on_corruption = !opt.tolerate_corruption;
  s->max_scans = opt.limits.max_scans;
  if (!s->read_header(bytes, false)) return s->failure();
  s->watch_scans();
  const auto& ci = s->cinfo;
  if (auto e = check_dimensions(ci.image_width, ci.image_height, bytes.size(), opt.limits)) return std::move(*e);
  if (const char* why = unsupported_reason(ci))
    return error{error_code::unsupported_format, stage::decode, std::string("coefficient path: ") + why};
  // Our entropy decoder first (faster, strict); libjpeg for everything it
  // declines, which then reports errors and warnings as kycprep::decode does.
  // Bounded by what libjpeg would allocate for the header it checked.
  std::size_t libjpeg_bytes = 0;
  for (int c = 0; c < ci.num_components; ++c)
    libjpeg_bytes += (static_cast<std::size_t>(ci.comp_info[c].width_in_blocks) + ci.comp_info[c].h_samp_factor) *
                     (static_cast<std::size_t>(ci.comp_info[c].height_in_blocks) + ci.comp_info[c].v_samp_factor) *
                     sizeof(JBLOCK);
  if (auto f = entropy_decode(bytes, static_cast<int>(std::min<std::uint32_t>(opt.limits.max_scans, 1u << 20)), nullptr,
                              libjpeg_bytes, entropy_isa::best, pool);
      f && same_layout(*f, ci)) {
    s->own = std::move(*f);
  } else if (!phase_read(s.get())) {
    return s->failure();
  }
  const bool own = !s->own.planes.empty();

  s->width = static_cast<int>(ci.image_width);
  s->height = static_cast<int>(ci.image_height);
  s->max_h = ci.max_h_samp_factor;
  s->max_v = ci.max_v_samp_factor;
  s->ncomp = ci.num_components;
  s->progressive = ci.progressive_mode != 0;
  s->comps.resize(static_cast<std::size_t>(s->ncomp));
  for (int c = 0; c < s->ncomp; ++c) {
    const jpeg_component_info& info = ci.comp_info[c];
    component& comp = s->comps[static_cast<std::size_t>(c)];
    // libjpeg latches a component's table at its first scan; ours are read
    // from the header, which is where our decoder requires them to be.
    const JQUANT_TBL* q = own ? ci.quant_tbl_ptrs[info.quant_tbl_no] : info.quant_table;
    if (q == nullptr) return error{error_code::corrupt, stage::decode, "jpeg: a component has no quantization table"};
    comp.h = info.h_samp_factor;
    comp.v = info.v_samp_factor;
    comp.width_in_blocks = static_cast<int>(info.width_in_blocks);
    comp.height_in_blocks = static_cast<int>(info.height_in_blocks);
    comp.quant = make_idct_quant(q->quantval);
    comp.block_rows.resize(static_cast<std::size_t>(comp.height_in_blocks));
    if (own) {
      const coef_plane& p = s->own.planes[static_cast<std::size_t>(c)];
      for (int r = 0; r < comp.height_in_blocks; ++r) comp.block_rows[static_cast<std::size_t>(r)] = p.block(0, r);
      s->bytes += p.coef.size() * sizeof(std::int16_t);
    } else {
      if (!phase_rows(s.get(), c, comp.block_rows.data(), comp.height_in_blocks)) return s->failure();
      s->bytes += static_cast<std::size_t>(info.height_in_blocks) * info.width_in_blocks * sizeof(JBLOCK);
    }
  }
  JOCTET* icc_data = nullptr;
  unsigned int icc_len = 0;
  if (!phase_icc(s.get(), &icc_data, &icc_len)) return s->failure();
  if (icc_data != nullptr) {
    s->icc.assign(icc_data, icc_data + icc_len);
    std::free(icc_data);
  }
  if (auto w = s->warning_summary(); !w.empty()) s->warnings.push_back(std::move(w));
  return coefficient_image(std::move(s));
}

namespace {

// Block row y of the luma plane at 1/8 (libjpeg's 1x1 IDCT: the DC term),
// w samples into o; from our entropy decoder's compact DC copy when it has
// one (2 bytes per block instead of a cache line).
void luma_dc_row(const state& s, int y, int w, std::uint8_t* o) {
  const long q0 = s.comps[0].quant.q[0];
  if (!s.own.planes.empty() && !s.own.planes[0].dc.empty()) {
    const coef_plane& p = s.own.planes[0];
    const std::int16_t* dc = p.dc.data() + static_cast<std::size_t>(y) * static_cast<std::size_t>(p.stride_blocks);
    for (int bx = 0; bx < w; ++bx) o[bx] = range_limit(descale(dc[bx] * q0, 3));
    return;
  }
  const JCOEF* blocks = s.comps[0].block_rows[static_cast<std::size_t>(y)];
  for (int bx = 0; bx < w; ++bx) o[bx] = range_limit(descale(blocks[static_cast<std::size_t>(bx) * DCTSIZE2] * q0, 3));
}

}  // namespace

image dc_proxy(const coefficient_image& img) {
  // At 1/8 libjpeg's IDCT of a luma block is its DC term alone, and that of
  // 2x-subsampled chroma a 2x2 IDCT (five coefficients): the whole-image
  // region decode at 1/8 is that and nothing more. 4:2:0, the phone case,
  // gets a direct loop without the intermediate planes.
  const state& s = img.get();
  if (s.ncomp != 3 || s.max_h != 2 || s.max_v != 2) {
    auto r = decode_region(img, {0, 0, s.width, s.height}, 8);
    return r.ok() ? std::move(r).value() : image{};
  }
  const int w = div_up(s.width, 8), h = div_up(s.height, 8), cw = (w + 1) / 2;
  image out{w, h, 3, std::vector<std::uint8_t>(static_cast<std::size_t>(w) * h * 3)};
  std::vector<std::uint8_t> luma(static_cast<std::size_t>(w));  // one row of 1/8 luma
  const std::size_t cstride = static_cast<std::size_t>(cw) * 2;
  std::vector<std::uint8_t> chroma(cstride * 4);  // Cb then Cr: two rows each
  for (int cy = 0; cy < (h + 1) / 2; ++cy) {
    for (int k = 0; k < 2; ++k) {
      const component& c = s.comps[static_cast<std::size_t>(k + 1)];
      const JCOEF* blocks = c.block_rows[static_cast<std::size_t>(cy)];
      std::uint8_t* dst = chroma.data() + static_cast<std::size_t>(k) * 2 * cstride;
      for (int bx = 0; bx < cw; ++bx) idct_2x2(blocks + static_cast<std::size_t>(bx) * DCTSIZE2, c.quant, dst + 2 * bx, cstride);
    }
    for (int r = 0; r < 2 && 2 * cy + r < h; ++r) {
      const int y = 2 * cy + r;
      luma_dc_row(s, y, w, luma.data());
      const std::uint8_t* cb = chroma.data() + static_cast<std::size_t>(r) * cstride;
      const std::uint8_t* cr = cb + 2 * cstride;
      ycc_to_rgb_row(luma.data(), cb, cr, out.pixels.data() + static_cast<std::size_t>(y) * w * 3, w);
    }
  }
  return out;
}

image dc_luma_proxy(const coefficient_image& img) {
  const state& s = img.get();
  const int w = div_up(s.width, 8), h = div_up(s.height, 8);
  image out{w, h, 1, std::vector<std::uint8_t>(static_cast<std::size_t>(w) * h)};
  for (int y = 0; y < h; ++y) luma_dc_row(s, y, w, out.pixels.data() + static_cast<std::size_t>(y) * w);
  return out;
}

result<image> decode_region(const coefficient_image& img, rect region_stored, int d) {
  if (d != 1 && d != 2 && d != 4 && d != 8)
    return error{error_code::invalid_options, stage::decode, "scale_denom must be 1, 2, 4 or 8"};
  const state& s = img.get();
  const rect region = clamp_region(region_stored, s.width, s.height);
  if (region.w <= 0) return error{error_code::invalid_options, stage::decode, "decode region lies outside the image"};
  const int sw = div_up(s.width, d), sh = div_up(s.height, d);
  const int x0 = region.x / d, y0 = region.y / d;
  const int x1 = std::min(sw, div_up(region.x + region.w, d)), y1 = std::min(sh, div_up(region.y + region.h, d));
  const int ow = std::max(1, x1 - x0), oh = std::max(1, y1 - y0);
  const int min_size = 8 / d;

  std::array<plane, 3> planes;
  for (int c = 0; c < s.ncomp; ++c)
    decode_plane(s, s.comps[static_cast<std::size_t>(c)], min_size, x0, x0 + ow, y0, y0 + oh, planes[static_cast<std::size_t>(c)]);

  image out{ow, oh, 3, std::vector<std::uint8_t>(static_cast<std::size_t>(ow) * oh * 3)};
  std::vector<std::uint8_t> rows(static_cast<std::size_t>(ow) * 3);
  std::vector<std::int16_t> sums;
  std::uint8_t* ry = rows.data();
  std::uint8_t* rcb = ry + ow;
  std::uint8_t* rcr = rcb + ow;
  for (int y = y0; y < y0 + oh; ++y) {
    std::uint8_t* o = out.pixels.data() + static_cast<std::size_t>(y - y0) * ow * 3;
    upsample_row(planes[0], y, x0, x0 + ow, ry, sums);
    if (s.ncomp == 1) {
      for (int i = 0; i < ow; ++i, o += 3) o[0] = o[1] = o[2] = ry[i];
      continue;
    }
    upsample_row(planes[1], y, x0, x0 + ow, rcb, sums);
    upsample_row(planes[2], y, x0, x0 + ow, rcr, sums);
    ycc_to_rgb_row(ry, rcb, rcr, o, ow);
  }
  return out;
}

}  // namespace kycprep::detail
