// libFuzzer target: parse_exif_orientation and parse_exif_thumbnail on arbitrary bytes (a TIFF block
// as found after "Exif\0\0" in APP1 or in a PNG eXIf chunk).
//
// Beyond "no crash, no out-of-bounds read" it checks the contract: the value
// is always 1..8, a value other than 1 never carries a warning, and the rect
// mapping for that value is an exact inverse. It also runs apply_orientation
// on a small image sized from the input, so ASan watches the transpose
// kernels' edge handling (their 4-byte moves near the buffer's end).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "kycprep/orient.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const kycprep::exif_orientation r = kycprep::parse_exif_orientation(std::span(data, size));
  // The thumbnail range, when found, lies inside the block and starts at an SOI.
  if (const auto t = kycprep::parse_exif_thumbnail(std::span(data, size))) {
    if (t->offset > size || t->size > size - t->offset || t->size < 4) std::abort();
    if (data[t->offset] != 0xFF || data[t->offset + 1] != 0xD8) std::abort();
  }
  if (r.value < 1 || r.value > 8) std::abort();
  if (r.value != 1 && !r.warning.empty()) std::abort();

  const int w = 7 + static_cast<int>(size % 5);
  const int h = 3 + static_cast<int>(size % 11);
  const kycprep::rect stored{1, 2, w - 3, h - 2};
  const kycprep::rect up = kycprep::stored_to_upright(stored, w, h, r.value);
  if (kycprep::upright_to_stored(up, w, h, r.value) != stored) std::abort();

  if (size >= 3) {
    // Orientation and size from the first bytes, independent of the parse.
    const int o = data[0] % 10;  // 0 and 9 must behave as 1
    kycprep::image img;
    img.width = 1 + data[1] % 70;
    img.height = 1 + data[2] % 70;
    img.channels = (data[0] / 10) % 2 ? 3 : 1;
    img.pixels.assign(static_cast<std::size_t>(img.width) * img.height * img.channels, 0);
    for (std::size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = data[i % size];
    const kycprep::image u = kycprep::apply_orientation(img, o);
    const int inv = o == 6 ? 8 : o == 8 ? 6 : o;
    const kycprep::image back = kycprep::apply_orientation(u, inv);
    if (back.width != img.width || back.height != img.height || back.pixels != img.pixels) std::abort();
  }
  return 0;
}
