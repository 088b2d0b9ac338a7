// Format sniffing from magic bytes.
#include <cstring>

#include "kycprep/decode.hpp"

namespace kycprep {

std::string_view to_string(image_format f) noexcept {
  switch (f) {
    case image_format::jpeg: return "jpeg";
    case image_format::png: return "png";
    case image_format::gif: return "gif";
    case image_format::webp: return "webp";
    case image_format::heic: return "heic";
    case image_format::avif: return "avif";
    case image_format::bmp: return "bmp";
    case image_format::tiff: return "tiff";
    case image_format::jpeg2000: return "jpeg2000";
    case image_format::jpegxl: return "jpegxl";
    case image_format::pdf: return "pdf";
    case image_format::unknown: break;
  }
  return "unknown";
}

namespace {
bool starts_with(std::span<const std::uint8_t> b, std::size_t at, const char* magic, std::size_t n) {
  return b.size() >= at + n && std::memcmp(b.data() + at, magic, n) == 0;
}
}  // namespace

image_format sniff_format(std::span<const std::uint8_t> b) noexcept {
  if (b.size() >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return image_format::jpeg;
  if (starts_with(b, 0, "\x89PNG\r\n\x1a\n", 8)) return image_format::png;
  if (starts_with(b, 0, "GIF87a", 6) || starts_with(b, 0, "GIF89a", 6)) return image_format::gif;
  if (starts_with(b, 0, "RIFF", 4) && starts_with(b, 8, "WEBP", 4)) return image_format::webp;
  if (starts_with(b, 4, "ftyp", 4) && b.size() >= 12) {
    // ISO-BMFF: the major brand tells HEIF/HEIC from AVIF.
    if (starts_with(b, 8, "avif", 4) || starts_with(b, 8, "avis", 4)) return image_format::avif;
    static const char* heif_brands[] = {"heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1"};
    for (const char* brand : heif_brands)
      if (starts_with(b, 8, brand, 4)) return image_format::heic;
  }
  if (starts_with(b, 0, "BM", 2) && b.size() >= 14) return image_format::bmp;
  if (starts_with(b, 0, "II*\0", 4) || starts_with(b, 0, "MM\0*", 4)) return image_format::tiff;
  if (starts_with(b, 0, "\0\0\0\x0cjP  \r\n\x87\n", 12) || starts_with(b, 0, "\xff\x4f\xff\x51", 4))
    return image_format::jpeg2000;
  if (starts_with(b, 0, "\xff\x0a", 2) || starts_with(b, 0, "\0\0\0\x0cJXL \r\n\x87\n", 12)) return image_format::jpegxl;
  if (starts_with(b, 0, "%PDF", 4)) return image_format::pdf;
  return image_format::unknown;
}

}  // namespace kycprep
