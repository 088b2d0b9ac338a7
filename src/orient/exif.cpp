// EXIF orientation and thumbnail from a TIFF-structured block.
//
// The orientation tag lives in IFD0 and the thumbnail in IFD1: at most the one
// link from IFD0 to IFD1 is followed, so no loop or depth bound is needed. Every read goes through
// tiff_reader, which checks offsets against the span with subtraction only
// (no `offset + n` that could wrap). Nothing is allocated from a count in
// the data; the only allocation is the warning text.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "kycprep/orient.hpp"

namespace kycprep {
namespace {

constexpr std::uint16_t tag_orientation = 0x0112;
constexpr std::uint16_t tag_thumbnail_offset = 0x0201;  // JPEGInterchangeFormat
constexpr std::uint16_t tag_thumbnail_length = 0x0202;  // JPEGInterchangeFormatLength
constexpr std::uint16_t type_short = 3;
constexpr std::uint16_t type_long = 4;
constexpr std::size_t tiff_header_size = 8;
constexpr std::size_t ifd_entry_size = 12;

class tiff_reader {
 public:
  tiff_reader(std::span<const std::uint8_t> bytes, bool big_endian) noexcept : b_(bytes), be_(big_endian) {}

  [[nodiscard]] bool has(std::size_t offset, std::size_t n) const noexcept {
    return offset <= b_.size() && n <= b_.size() - offset;
  }
  [[nodiscard]] std::optional<std::uint16_t> u16(std::size_t offset) const noexcept {
    if (!has(offset, 2)) return std::nullopt;
    const std::uint8_t* p = b_.data() + offset;
    return static_cast<std::uint16_t>(be_ ? (p[0] << 8) | p[1] : (p[1] << 8) | p[0]);
  }
  [[nodiscard]] std::optional<std::uint32_t> u32(std::size_t offset) const noexcept {
    if (!has(offset, 4)) return std::nullopt;
    const std::uint8_t* p = b_.data() + offset;
    const std::uint32_t b0 = p[0], b1 = p[1], b2 = p[2], b3 = p[3];
    return be_ ? (b0 << 24) | (b1 << 16) | (b2 << 8) | b3 : (b3 << 24) | (b2 << 16) | (b1 << 8) | b0;
  }
  [[nodiscard]] std::size_t size() const noexcept { return b_.size(); }

 private:
  std::span<const std::uint8_t> b_;
  bool be_;
};

exif_orientation malformed(std::string why) {
  exif_orientation r;
  r.warning = "EXIF orientation ignored: " + std::move(why);
  return r;
}

exif_orientation parse(std::span<const std::uint8_t> tiff) {
  if (tiff.empty()) return malformed("empty EXIF block");
  if (tiff.size() < tiff_header_size) {
    return malformed("TIFF header truncated (" + std::to_string(tiff.size()) + " of 8 bytes)");
  }
  bool big_endian = false;
  if (tiff[0] == 'I' && tiff[1] == 'I') {
    big_endian = false;
  } else if (tiff[0] == 'M' && tiff[1] == 'M') {
    big_endian = true;
  } else {
    return malformed("unknown TIFF byte order");
  }
  const tiff_reader rd(tiff, big_endian);
  if (*rd.u16(2) != 42) return malformed("bad TIFF magic " + std::to_string(*rd.u16(2)));

  const std::uint32_t ifd0 = *rd.u32(4);
  // IFD0 cannot overlap the header; an offset below 8 is how a self-referencing
  // or zeroed link shows up.
  if (ifd0 < tiff_header_size) return malformed("IFD0 offset " + std::to_string(ifd0) + " inside the TIFF header");
  const auto count = rd.u16(ifd0);
  if (!count) {
    return malformed("IFD0 offset " + std::to_string(ifd0) + " past the end (" + std::to_string(rd.size()) +
                     " bytes)");
  }
  const std::size_t first_entry = std::size_t{ifd0} + 2;
  if (!rd.has(first_entry, std::size_t{*count} * ifd_entry_size)) {
    return malformed("IFD0 declares " + std::to_string(*count) + " entries, past the end of the block");
  }

  for (std::size_t i = 0; i < *count; ++i) {
    const std::size_t e = first_entry + i * ifd_entry_size;
    if (*rd.u16(e) != tag_orientation) continue;
    const std::uint16_t type = *rd.u16(e + 2);
    const std::uint32_t n = *rd.u32(e + 4);
    if (type != type_short && type != type_long) {
      return malformed("orientation tag has type " + std::to_string(type) + ", expected SHORT");
    }
    if (n != 1) return malformed("orientation tag has count " + std::to_string(n) + ", expected 1");
    // A single SHORT sits left-justified in the 4-byte value field, so it is
    // read at the field's start in either byte order.
    const std::uint32_t v = type == type_short ? std::uint32_t{*rd.u16(e + 8)} : *rd.u32(e + 8);
    if (v < 1 || v > 8) return malformed("orientation value " + std::to_string(v) + " outside 1..8");
    exif_orientation r;
    r.value = static_cast<int>(v);
    return r;
  }
  return {};
}

// The value of `tag` when it is a LONG (or SHORT) of count 1, in the IFD whose
// entries start at first_entry.
std::optional<std::uint32_t> single_value(const tiff_reader& rd, std::size_t first_entry, std::size_t count,
                                          std::uint16_t tag) {
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t e = first_entry + i * ifd_entry_size;
    if (*rd.u16(e) != tag) continue;
    const std::uint16_t type = *rd.u16(e + 2);
    if (*rd.u32(e + 4) != 1) return std::nullopt;
    if (type == type_long) return *rd.u32(e + 8);
    if (type == type_short) return std::uint32_t{*rd.u16(e + 8)};
    return std::nullopt;
  }
  return std::nullopt;
}

// Offset of the first entry of the IFD at `offset`, and its entry count, when
// the whole entry table lies inside the block.
struct ifd_table {
  std::size_t first;  // offset of entry 0
  std::size_t count;
};
std::optional<ifd_table> ifd_at(const tiff_reader& rd, std::uint32_t offset) {
  if (offset < tiff_header_size) return std::nullopt;
  const auto count = rd.u16(offset);
  if (!count) return std::nullopt;
  const std::size_t first = std::size_t{offset} + 2;
  if (!rd.has(first, std::size_t{*count} * ifd_entry_size)) return std::nullopt;
  return ifd_table{first, std::size_t{*count}};
}

std::optional<exif_thumbnail> thumbnail(std::span<const std::uint8_t> tiff) {
  if (tiff.size() < tiff_header_size) return std::nullopt;
  bool big_endian = false;
  if (tiff[0] == 'M' && tiff[1] == 'M') big_endian = true;
  else if (tiff[0] != 'I' || tiff[1] != 'I') return std::nullopt;
  const tiff_reader rd(tiff, big_endian);
  if (*rd.u16(2) != 42) return std::nullopt;
  const std::uint32_t ifd0_offset = *rd.u32(4);
  const auto ifd0 = ifd_at(rd, ifd0_offset);
  if (!ifd0) return std::nullopt;
  // The link to IFD1 follows IFD0's entries.
  const auto link = rd.u32(ifd0->first + ifd0->count * ifd_entry_size);
  if (!link || *link == ifd0_offset) return std::nullopt;
  const auto ifd1 = ifd_at(rd, *link);
  if (!ifd1) return std::nullopt;
  const auto offset = single_value(rd, ifd1->first, ifd1->count, tag_thumbnail_offset);
  const auto length = single_value(rd, ifd1->first, ifd1->count, tag_thumbnail_length);
  if (!offset || !length || *offset < tiff_header_size || *length < 4 || !rd.has(*offset, *length)) return std::nullopt;
  if (tiff[*offset] != 0xFF || tiff[*offset + 1] != 0xD8) return std::nullopt;  // not a JPEG
  return exif_thumbnail{*offset, *length};
}

}  // namespace

std::optional<exif_thumbnail> parse_exif_thumbnail(std::span<const std::uint8_t> tiff) noexcept {
  return thumbnail(tiff);
}

exif_orientation parse_exif_orientation(std::span<const std::uint8_t> tiff) noexcept {
  try {
    return parse(tiff);
  } catch (...) {
    // Only the warning string can throw (out of memory): fall back to upright.
    return {};
  }
}

}  // namespace kycprep
