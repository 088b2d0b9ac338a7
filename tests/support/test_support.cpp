#include "test_support.hpp"

#include <atomic>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <unistd.h>

namespace kycprep::test {

std::filesystem::path data_dir() { return KYCPREP_DATA_DIR; }
std::filesystem::path shared_dir() { return KYCPREP_SHARED_DIR; }

std::filesystem::path temp_dir(const std::string& tag) {
  static std::atomic<int> counter{0};
  auto p = std::filesystem::path(KYCPREP_BINARY_DIR) / "test-tmp" /
           (tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p;
}

std::vector<std::uint8_t> read_bytes(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  if (!f) throw std::runtime_error("cannot open " + p.string());
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::filesystem::path& p, const std::vector<std::uint8_t>& bytes) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!f) throw std::runtime_error("cannot write " + p.string());
}

namespace {
void put16(std::vector<std::uint8_t>& b, std::uint32_t v, bool be) {
  b.push_back(static_cast<std::uint8_t>(be ? v >> 8 : v));
  b.push_back(static_cast<std::uint8_t>(be ? v : v >> 8));
}
void put32(std::vector<std::uint8_t>& b, std::uint32_t v, bool be) {
  if (be) put16(b, v >> 16, be), put16(b, v & 0xFFFF, be);
  else put16(b, v & 0xFFFF, be), put16(b, v >> 16, be);
}
void entry(std::vector<std::uint8_t>& b, std::uint16_t tag, std::uint16_t type, std::uint32_t value, bool be) {
  put16(b, tag, be);
  put16(b, type, be);
  put32(b, 1, be);
  if (type == 3) put16(b, value, be), put16(b, 0, be);  // a SHORT sits first in the field
  else put32(b, value, be);
}
}  // namespace

std::vector<std::uint8_t> camera_exif(int orientation, std::span<const std::uint8_t> thumbnail, bool be) {
  std::vector<std::uint8_t> b(2, be ? 'M' : 'I');
  put16(b, 42, be);
  put32(b, 8, be);
  put16(b, 1, be);  // IFD0: one entry
  entry(b, 0x0112, 3, static_cast<std::uint32_t>(orientation), be);
  const std::uint32_t ifd1 = 8 + 2 + 12 + 4;
  put32(b, thumbnail.empty() ? 0 : ifd1, be);
  if (thumbnail.empty()) return b;
  const std::uint32_t data = ifd1 + 2 + 3 * 12 + 4;
  put16(b, 3, be);
  entry(b, 0x0103, 3, 6, be);  // Compression: JPEG
  entry(b, 0x0201, 4, data, be);
  entry(b, 0x0202, 4, static_cast<std::uint32_t>(thumbnail.size()), be);
  put32(b, 0, be);
  b.insert(b.end(), thumbnail.begin(), thumbnail.end());
  return b;
}

std::vector<std::uint8_t> with_exif(std::span<const std::uint8_t> jpeg, std::span<const std::uint8_t> tiff) {
  if (jpeg.size() < 2 || tiff.size() + 8 > 0xFFFF) throw std::runtime_error("with_exif: bad input");
  std::vector<std::uint8_t> out(jpeg.begin(), jpeg.begin() + 2);
  const std::size_t len = 2 + 6 + tiff.size();
  for (const int c : {0xFF, 0xE1, static_cast<int>(len >> 8), static_cast<int>(len & 0xFF), int{'E'}, int{'x'}, int{'i'}, int{'f'}, 0, 0})
    out.push_back(static_cast<std::uint8_t>(c));
  out.insert(out.end(), tiff.begin(), tiff.end());
  out.insert(out.end(), jpeg.begin() + 2, jpeg.end());
  return out;
}

}  // namespace kycprep::test
