// A libjpeg decompressor and what its callbacks found: shared by the
// decoder (jpeg_decode.cpp) and the coefficient path (coef_decode.cpp).
//
// libjpeg reports errors by calling error_exit, which must not return; we
// longjmp out. To keep that well defined, every setjmp lives in a small
// "phase" function whose locals are trivially destructible, and all state
// that must survive a longjmp sits in a heap-allocated jpeg_session (or a
// struct derived from it).
#pragma once

#include <csetjmp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>

// jpeglib.h needs size_t and FILE declared first.
#include <jpeglib.h>

#include "kycprep/error.hpp"

namespace kycprep::detail {

enum class jpeg_failure : int { none = 0, codec_error, corrupt_warning, too_many_scans };

struct jpeg_session {
  jpeg_decompress_struct cinfo{};
  jpeg_error_mgr err{};
  jpeg_progress_mgr progress{};
  std::jmp_buf jump{};
  bool created = false;

  // policy (set before the first phase)
  bool fail_on_corruption = true;  ///< longjmp on the first non-benign warning
  std::uint32_t max_scans = 0;     ///< with watch_scans(): progressive scan limit

  // findings (written from libjpeg callbacks)
  jpeg_failure why = jpeg_failure::none;
  bool hit_eof = false;
  int warning_count = 0;
  bool damaged = false;  ///< a warning other than the benign ones was seen
  char message[JMSG_LENGTH_MAX]{};
  char first_warning[JMSG_LENGTH_MAX]{};

  jpeg_session();  ///< installs the error, warning and progress callbacks
  ~jpeg_session();
  jpeg_session(const jpeg_session&) = delete;
  jpeg_session& operator=(const jpeg_session&) = delete;

  /// Phase: creates the decompressor on `bytes` and reads the header,
  /// saving APP2 (ICC) and, with `save_exif`, APP1 (EXIF/XMP) markers.
  /// False after a libjpeg error (see failure()).
  bool read_header(std::span<const std::uint8_t> bytes, bool save_exif);
  /// Enforces max_scans from now on (call after read_header).
  void watch_scans() { cinfo.progress = &progress; }

  /// The error for a phase that returned false.
  [[nodiscard]] error failure() const;
  /// The warning to report for accepted damage; empty when there was none.
  [[nodiscard]] std::string warning_summary() const;
};

}  // namespace kycprep::detail
