// libFuzzer target: our Huffman decoder (detail::entropy_decode,
// src/decode/entropy.hpp) against libjpeg-turbo on arbitrary bytes.
//
// Differential: whenever entropy_decode accepts, libjpeg must read the same
// bytes (jpeg_read_header + jpeg_read_coefficients) without an error or a
// single warning and give the same geometry and the same coefficients in
// every block inside width_in_blocks x height_in_blocks; otherwise abort. A
// decline must give a reason. Frames over 4 MP are skipped before decoding,
// as the library's callers do from decode_limits.
//
// An input starting with 0xE5 (never a JPEG) is instead read as encoder
// parameters: size, sampling, quality, restart interval, optimised tables
// and a scan script (sequential or progressive, any spectral selection and
// successive approximation libjpeg's encoder accepts), then pixels. The
// file libjpeg writes from them must be accepted and decode identically:
// this reaches deep into valid progressions, which random bytes rarely do.
#include <csetjmp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <vector>
#include <algorithm>

#include <jpeglib.h>

#include "decode/entropy.hpp"

namespace {

struct fuzz_jerr {
  jpeg_error_mgr pub;
  std::jmp_buf jump;
};

extern "C" void fuzz_error_exit(j_common_ptr c) { std::longjmp(reinterpret_cast<fuzz_jerr*>(c->err)->jump, 1); }
extern "C" void fuzz_silent(j_common_ptr) {}

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_entropy: %s\n", what);
  std::abort();
}

// Every FF C0/C1/C2 that could be the frame header: the largest size any of
// them declares (the decoder allocates from one of them).
bool frame_small_enough(const std::uint8_t* d, std::size_t n) {
  for (std::size_t i = 0; i + 9 <= n; ++i)
    if (d[i] == 0xFF && d[i + 1] >= 0xC0 && d[i + 1] <= 0xC2) {
      const long h = d[i + 5] << 8 | d[i + 6], w = d[i + 7] << 8 | d[i + 8];
      if (w * h > 4'000'000L) return false;
    }
  return true;
}

// libjpeg's verdict and, when clean, the comparison. A setjmp phase with
// trivially destructible locals only.
bool compare_with_libjpeg(jpeg_decompress_struct* d, fuzz_jerr* err, const std::uint8_t* data, std::size_t size,
                          const kycprep::detail::coef_frame* f) {
  if (setjmp(err->jump)) return false;
  jpeg_create_decompress(d);
  jpeg_mem_src(d, data, static_cast<unsigned long>(size));
  jpeg_read_header(d, TRUE);
  jvirt_barray_ptr* arrays = jpeg_read_coefficients(d);
  if (err->pub.num_warnings != 0) fail("accepted, but libjpeg warns");
  if (static_cast<int>(d->image_width) != f->width || static_cast<int>(d->image_height) != f->height ||
      d->num_components != static_cast<int>(f->planes.size()) || (d->progressive_mode != 0) != f->progressive ||
      d->max_h_samp_factor != f->max_h || d->max_v_samp_factor != f->max_v)
    fail("frame differs from libjpeg's");
  for (int ci = 0; ci < d->num_components; ++ci) {
    const jpeg_component_info& c = d->comp_info[ci];
    const kycprep::detail::coef_plane& p = f->planes[static_cast<std::size_t>(ci)];
    if (p.id != c.component_id || p.h != c.h_samp_factor || p.v != c.v_samp_factor ||
        p.quant_table != c.quant_tbl_no || p.width_in_blocks != static_cast<int>(c.width_in_blocks) ||
        p.height_in_blocks != static_cast<int>(c.height_in_blocks))
      fail("component differs from libjpeg's");
    if (p.stride_blocks < p.width_in_blocks || p.rows_blocks < p.height_in_blocks ||
        p.coef.size() != static_cast<std::size_t>(p.stride_blocks) * static_cast<std::size_t>(p.rows_blocks) * 64)
      fail("bad plane storage");
    for (int by = 0; by < p.height_in_blocks; ++by) {
      JBLOCKARRAY row = (*d->mem->access_virt_barray)(reinterpret_cast<j_common_ptr>(d), arrays[ci],
                                                       static_cast<JDIMENSION>(by), 1, FALSE);
      for (int bx = 0; bx < p.width_in_blocks; ++bx)
        if (std::memcmp(p.block(bx, by), row[0][bx], 64 * sizeof(JCOEF)) != 0) fail("coefficients differ from libjpeg's");
    }
  }
  return true;
}

// ---- generator mode -------------------------------------------------------

extern "C" void fuzz_dest_init(j_compress_ptr) {}

bool encode_phase(jpeg_compress_struct* c, fuzz_jerr* err, const std::uint8_t* in, std::size_t n,
                  const std::uint8_t* px, unsigned char** out, unsigned long* out_size) {
  if (setjmp(err->jump)) return false;
  jpeg_create_compress(c);
  jpeg_mem_dest(c, out, out_size);
  const int w = 1 + ((in[1] | (in[2] & 1) << 8) % 160), h = 1 + ((in[3] | (in[2] & 2) << 7) % 160);
  const int layout = in[4] % 7;
  c->image_width = static_cast<JDIMENSION>(w);
  c->image_height = static_cast<JDIMENSION>(h);
  c->input_components = layout == 6 ? 1 : 3;
  c->in_color_space = layout == 6 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(c);
  jpeg_set_quality(c, 1 + in[5] % 100, TRUE);
  static const int samp[6][3][2] = {{{2, 2}, {1, 1}, {1, 1}}, {{2, 1}, {1, 1}, {1, 1}}, {{1, 1}, {1, 1}, {1, 1}},
                                    {{1, 2}, {1, 1}, {1, 1}}, {{4, 1}, {1, 1}, {1, 1}}, {{1, 2}, {2, 1}, {1, 1}}};
  if (layout < 6)
    for (int ci = 0; ci < 3; ++ci) {
      c->comp_info[ci].h_samp_factor = samp[layout][ci][0];
      c->comp_info[ci].v_samp_factor = samp[layout][ci][1];
    }
  c->restart_interval = (in[6] & 3) == 0 ? 0u : static_cast<unsigned>(in[6] >> 2);
  c->optimize_coding = (in[7] & 1) != 0 ? TRUE : FALSE;
  // Scan script: in[8] scans of 4 bytes each (0: libjpeg's default script).
  jpeg_scan_info scans[16];
  const int nscans = std::min<int>(in[8] & 15, static_cast<int>((n - 9) / 4));
  if ((in[8] & 0x10) != 0) {
    jpeg_simple_progression(c);
  } else if (nscans > 0) {
    for (int i = 0; i < nscans; ++i) {
      const std::uint8_t* q = in + 9 + 4 * i;
      jpeg_scan_info& sc = scans[i];
      sc = jpeg_scan_info{};
      const int nc = c->num_components;
      const int mask = (q[0] & 7) % (1 << nc) == 0 ? 1 : (q[0] & 7) % (1 << nc);  // which components
      sc.comps_in_scan = 0;
      for (int ci = 0; ci < nc; ++ci)
        if ((mask >> ci) & 1) sc.component_index[sc.comps_in_scan++] = ci;
      sc.Ss = q[1] % 64;
      sc.Se = q[2] % 64;
      sc.Ah = (q[3] >> 4) % 14;
      sc.Al = (q[3] & 15) % 14;
    }
    c->scan_info = scans;
    c->num_scans = nscans;
  }
  jpeg_start_compress(c, TRUE);
  const int stride = w * c->input_components;
  while (c->next_scanline < c->image_height) {
    JSAMPROW row = const_cast<JSAMPROW>(px + static_cast<std::size_t>(c->next_scanline) * static_cast<std::size_t>(stride));
    jpeg_write_scanlines(c, &row, 1);
  }
  jpeg_finish_compress(c);
  return true;
}

void generated(const std::uint8_t* data, std::size_t size);

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size >= 9 && data[0] == 0xE5) {
    generated(data, size);
    return 0;
  }
  if (!frame_small_enough(data, size)) return 0;
  std::string why;
  const auto f = kycprep::detail::entropy_decode(std::span<const std::uint8_t>(data, size), 64, &why);
  if (!f) {
    if (why.empty()) fail("declined without a reason");
    return 0;
  }
  if (f->scans < 1 || f->scans > 64) fail("scan count out of range");
  jpeg_decompress_struct d{};
  fuzz_jerr err{};
  d.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = fuzz_error_exit;
  err.pub.output_message = fuzz_silent;
  const bool ok = compare_with_libjpeg(&d, &err, data, size, &*f);
  jpeg_destroy_decompress(&d);
  if (!ok) fail("accepted, but libjpeg fails");
  return 0;
}

namespace {

void generated(const std::uint8_t* data, std::size_t size) {
  // Pixels: the bytes after the header, repeated, over a gradient.
  std::vector<std::uint8_t> px(160u * 160u * 3u);
  const std::size_t m = size - 9;
  for (std::size_t i = 0; i < px.size(); ++i)
    px[i] = static_cast<std::uint8_t>((m != 0 ? data[9 + i % m] : 0) + (i % 97) * 2);
  jpeg_compress_struct c{};
  fuzz_jerr err{};
  c.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = fuzz_error_exit;
  err.pub.output_message = fuzz_silent;
  unsigned char* out = nullptr;
  unsigned long out_size = 0;
  const bool ok = encode_phase(&c, &err, data, size, px.data(), &out, &out_size);
  jpeg_destroy_compress(&c);
  if (ok && out != nullptr) {
    std::string why;
    const auto f = kycprep::detail::entropy_decode(std::span<const std::uint8_t>(out, out_size), 64, &why);
    if (!f) {
      std::fprintf(stderr, "declined a libjpeg-written file: %s\n", why.c_str());
      fail("declined a file libjpeg wrote");
    }
    jpeg_decompress_struct d{};
    fuzz_jerr derr{};
    d.err = jpeg_std_error(&derr.pub);
    derr.pub.error_exit = fuzz_error_exit;
    derr.pub.output_message = fuzz_silent;
    const bool same = compare_with_libjpeg(&d, &derr, out, out_size, &*f);
    jpeg_destroy_decompress(&d);
    if (!same) fail("accepted, but libjpeg fails");
  }
  std::free(out);
}

}  // namespace
