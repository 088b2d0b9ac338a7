// JPEG encoding with the libjpeg API (libjpeg-turbo): baseline, 4:2:0,
// ISLOW integer DCT, standard or optimised Huffman tables, and no marker but
// JFIF's APP0. Same setjmp discipline as the decoders.
#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include <jpeglib.h>

#include "kycprep/encode.hpp"

namespace kycprep {

namespace {

struct encoder_state {
  jpeg_compress_struct cinfo{};
  jpeg_error_mgr err{};
  std::jmp_buf jump{};
  bool created = false;
  unsigned char* out = nullptr;
  unsigned long out_size = 0;
  char message[JMSG_LENGTH_MAX]{};

  ~encoder_state() {
    if (created) jpeg_destroy_compress(&cinfo);
    std::free(out);
  }
};

[[noreturn]] void on_error_exit(j_common_ptr c) {
  auto* s = static_cast<encoder_state*>(c->client_data);
  (*c->err->format_message)(c, s->message);
  std::longjmp(s->jump, 1);
}

void on_emit_message(j_common_ptr, int) {}

bool phase_encode(encoder_state* s, const image_view* px, int quality, bool optimize) {
  if (setjmp(s->jump)) return false;
  if (!s->created) {
    jpeg_create_compress(&s->cinfo);
    s->created = true;
    s->cinfo.client_data = s;
  }
  std::free(s->out);
  s->out = nullptr;
  s->out_size = 0;
  jpeg_mem_dest(&s->cinfo, &s->out, &s->out_size);
  s->cinfo.image_width = static_cast<JDIMENSION>(px->width);
  s->cinfo.image_height = static_cast<JDIMENSION>(px->height);
  s->cinfo.input_components = px->channels;
  s->cinfo.in_color_space = px->channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&s->cinfo);
  if (px->channels == 3) {
    // 4:2:0 explicitly, whatever the library default.
    s->cinfo.comp_info[0].h_samp_factor = 2;
    s->cinfo.comp_info[0].v_samp_factor = 2;
    for (int c = 1; c < 3; ++c) s->cinfo.comp_info[c].h_samp_factor = s->cinfo.comp_info[c].v_samp_factor = 1;
  }
  jpeg_set_quality(&s->cinfo, quality, TRUE);
  s->cinfo.dct_method = JDCT_ISLOW;
  s->cinfo.optimize_coding = optimize ? TRUE : FALSE;
  s->cinfo.write_JFIF_header = TRUE;
  s->cinfo.write_Adobe_marker = FALSE;
  jpeg_start_compress(&s->cinfo, TRUE);
  while (s->cinfo.next_scanline < s->cinfo.image_height) {
    JSAMPROW row = const_cast<JSAMPROW>(px->row(static_cast<int>(s->cinfo.next_scanline)));
    jpeg_write_scanlines(&s->cinfo, &row, 1);
  }
  jpeg_finish_compress(&s->cinfo);
  return true;
}

}  // namespace

result<encoded> encode_jpeg(image_view px, const encode_options& opt) {
  if (opt.min_quality < 91 || opt.quality > 100 || opt.quality < opt.min_quality)
    return error{error_code::invalid_options, stage::encode,
                 "quality must satisfy 91 <= min_quality <= quality <= 100 (got quality " +
                     std::to_string(opt.quality) + ", min_quality " + std::to_string(opt.min_quality) + ")"};
  if (px.width <= 0 || px.height <= 0 || (px.channels != 1 && px.channels != 3) || !px.data)
    return error{error_code::invalid_options, stage::encode, "encoder needs a non-empty 1- or 3-channel image"};
  auto s = std::make_unique<encoder_state>();
  s->cinfo.err = jpeg_std_error(&s->err);
  s->err.error_exit = on_error_exit;
  s->err.emit_message = on_emit_message;
  std::size_t smallest = 0;
  for (int q = opt.quality; q >= opt.min_quality; --q) {
    // Standard tables first (one pass); the optimised ones (a second pass
    // over the coefficients) only when they may rescue this quality.
    for (bool optimize : {opt.optimize_huffman, true}) {
      if (!phase_encode(s.get(), &px, q, optimize))
        return error{error_code::encode_failed, stage::encode, std::string("jpeg: ") + s->message};
      if (opt.max_bytes == 0 || s->out_size <= opt.max_bytes) {
        encoded e;
        e.jpeg.assign(s->out, s->out + s->out_size);
        e.quality = q;
        e.optimized_huffman = optimize;
        return e;
      }
      smallest = s->out_size;
      if (optimize) break;
    }
  }
  return error{error_code::over_budget, stage::encode,
               "JPEG is " + std::to_string(smallest) + " bytes at quality " + std::to_string(opt.min_quality) +
                   ", above the budget of " + std::to_string(opt.max_bytes) + " bytes"};
}

}  // namespace kycprep
