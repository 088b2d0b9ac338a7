// A tiny JPEG marker walker for tests: which segments does a file carry?
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

namespace kycprep::test {

struct marker_summary {
  bool valid = false;      ///< SOI ... SOS found with consistent segment lengths
  bool has_exif = false;   ///< APP1 "Exif"
  bool has_xmp = false;    ///< APP1 XMP
  bool has_icc = false;    ///< APP2 ICC_PROFILE
  bool has_comment = false;
  bool has_other_app = false;  ///< any APPn other than JFIF APP0
  int sof = 0;             ///< 0xC0 baseline, 0xC2 progressive, ...
};

inline marker_summary jpeg_markers(const std::vector<std::uint8_t>& j) {
  marker_summary s;
  if (j.size() < 4 || j[0] != 0xFF || j[1] != 0xD8) return s;
  std::size_t p = 2;
  while (p + 4 <= j.size()) {
    if (j[p] != 0xFF) return s;
    const int m = j[p + 1];
    const std::size_t len = (static_cast<std::size_t>(j[p + 2]) << 8) | j[p + 3];
    if (len < 2 || p + 2 + len > j.size()) return s;
    const std::uint8_t* d = j.data() + p + 4;
    const std::size_t n = len - 2;
    if (m == 0xDA) {
      s.valid = true;
      return s;
    }
    if (m == 0xFE) s.has_comment = true;
    if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) s.sof = m;
    if (m == 0xE1 && n >= 4 && std::memcmp(d, "Exif", 4) == 0) s.has_exif = true;
    else if (m == 0xE1 && n >= 4 && std::memcmp(d, "http", 4) == 0) s.has_xmp = true;
    if (m == 0xE2 && n >= 11 && std::memcmp(d, "ICC_PROFILE", 11) == 0) s.has_icc = true;
    if (m >= 0xE1 && m <= 0xEF) s.has_other_app = true;
    p += 2 + len;
  }
  return s;
}

}  // namespace kycprep::test
