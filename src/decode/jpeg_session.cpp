#include "decode/jpeg_session.hpp"

#include <jerror.h>

namespace kycprep::detail {

namespace {

jpeg_session* session_of(j_common_ptr c) { return static_cast<jpeg_session*>(c->client_data); }

[[noreturn]] void on_error_exit(j_common_ptr c) {
  jpeg_session* s = session_of(c);
  (*c->err->format_message)(c, s->message);
  s->why = jpeg_failure::codec_error;
  std::longjmp(s->jump, 1);
}

// Warnings that say nothing about the image data being damaged.
bool benign_warning(int code) {
  return code == JWRN_ADOBE_XFORM || code == JWRN_BOGUS_ICC || code == JWRN_JFIF_MAJOR;
}

void on_emit_message(j_common_ptr c, int level) {
  if (level >= 0) return;  // trace messages
  jpeg_session* s = session_of(c);
  const int code = c->err->msg_code;
  if (code == JWRN_JPEG_EOF) s->hit_eof = true;
  if (s->warning_count++ == 0) (*c->err->format_message)(c, s->first_warning);
  if (benign_warning(code)) return;
  s->damaged = true;
  if (s->fail_on_corruption) {
    (*c->err->format_message)(c, s->message);
    s->why = jpeg_failure::corrupt_warning;
    std::longjmp(s->jump, 1);
  }
}

void on_progress(j_common_ptr c) {
  jpeg_session* s = session_of(c);
  if (!c->is_decompressor) return;
  auto* d = reinterpret_cast<j_decompress_ptr>(c);
  if (d->progressive_mode && static_cast<std::uint32_t>(d->input_scan_number) > s->max_scans) {
    std::snprintf(s->message, sizeof s->message, "progressive JPEG has more than %u scans (max_scans)",
                  static_cast<unsigned>(s->max_scans));
    s->why = jpeg_failure::too_many_scans;
    std::longjmp(s->jump, 1);
  }
}

}  // namespace

jpeg_session::jpeg_session() {
  cinfo.err = jpeg_std_error(&err);
  err.error_exit = on_error_exit;
  err.emit_message = on_emit_message;
  progress.progress_monitor = on_progress;
}

jpeg_session::~jpeg_session() {
  if (created) jpeg_destroy_decompress(&cinfo);
}

bool jpeg_session::read_header(std::span<const std::uint8_t> bytes, bool save_exif) {
  if (setjmp(jump)) return false;
  jpeg_create_decompress(&cinfo);
  created = true;
  cinfo.client_data = this;
  jpeg_mem_src(&cinfo, bytes.data(), static_cast<unsigned long>(bytes.size()));
  if (save_exif) jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xFFFF);  // EXIF / XMP
  jpeg_save_markers(&cinfo, JPEG_APP0 + 2, 0xFFFF);                 // ICC
  jpeg_read_header(&cinfo, TRUE);
  return true;
}

error jpeg_session::failure() const {
  switch (why) {
    case jpeg_failure::too_many_scans: return {error_code::too_many_scans, stage::decode, message};
    case jpeg_failure::corrupt_warning:
      return {hit_eof ? error_code::truncated : error_code::corrupt, stage::decode,
              std::string("jpeg: ") + message +
                  (hit_eof ? " (file is truncated)" : " (set tolerate_corruption to accept with a warning)")};
    case jpeg_failure::codec_error:
    case jpeg_failure::none: break;
  }
  return {hit_eof ? error_code::truncated : error_code::corrupt, stage::decode, std::string("jpeg: ") + message};
}

std::string jpeg_session::warning_summary() const {
  if (warning_count == 0) return {};
  return std::string(hit_eof ? "truncated: " : (damaged ? "corrupt: " : "")) + "jpeg: " + first_warning + " (" +
         std::to_string(warning_count) + " decoder warning(s)" + (damaged ? "; data was accepted)" : ")");
}

}  // namespace kycprep::detail
