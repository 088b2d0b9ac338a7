// RFC 4648 base64.
//
// The encoder maps 12 input bits to two output characters with one lookup in
// a 4096-entry table, so each 3-byte group costs two loads and two 16-bit
// stores with no per-character branching. The main loop loads 8 bytes at a
// time (using 6) while at least 8 remain.
//
// The decoder is strict so that decode is the exact inverse of encode: only
// the standard alphabet, length a multiple of 4, '=' only as one or two final
// pad characters, and the unused low bits of the last data character zero
// (RFC 4648 section 3.5 lets a decoder reject non-canonical encodings).
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kycprep/base64.hpp"

namespace kycprep {
namespace {

constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// pair[v] holds the characters for the 12-bit value v, first character first
// in memory, so a memcpy of 2 bytes writes them in order on any endianness.
struct char_pair {
  char c[2];
};
constexpr std::array<char_pair, 4096> make_pairs() {
  std::array<char_pair, 4096> t{};
  for (int v = 0; v < 4096; ++v) t[v] = {{alphabet[v >> 6], alphabet[v & 63]}};
  return t;
}
constexpr std::array<char_pair, 4096> pair = make_pairs();

constexpr std::uint8_t invalid = 0xFF;
constexpr std::array<std::uint8_t, 256> make_values() {
  std::array<std::uint8_t, 256> t{};
  for (auto& v : t) v = invalid;
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(alphabet[i])] = static_cast<std::uint8_t>(i);
  return t;
}
constexpr std::array<std::uint8_t, 256> value_of = make_values();

inline void put_quad(char* d, std::uint32_t v24) noexcept {
  std::memcpy(d, pair[v24 >> 12].c, 2);
  std::memcpy(d + 2, pair[v24 & 0xFFF].c, 2);
}

inline std::uint32_t load24(const std::uint8_t* p) noexcept {
  return (std::uint32_t{p[0]} << 16) | (std::uint32_t{p[1]} << 8) | p[2];
}

result<std::vector<std::uint8_t>> corrupt(std::string msg) {
  return {error_code::corrupt, stage::base64, std::move(msg)};
}

}  // namespace

void base64_encode(std::span<const std::uint8_t> in, std::string& out) {
  const std::size_t n = in.size();
  out.resize(base64_encoded_size(n));
  const std::uint8_t* s = in.data();
  char* d = out.data();
  std::size_t i = 0;
  for (; i + 8 <= n; i += 6, s += 6, d += 8) {
    std::uint64_t w = 0;
    for (int k = 0; k < 8; ++k) w = (w << 8) | s[k];  // big-endian load; compiles to one bswap'd load
    put_quad(d, static_cast<std::uint32_t>(w >> 40));
    put_quad(d + 4, static_cast<std::uint32_t>(w >> 16) & 0xFFFFFF);
  }
  for (; i + 3 <= n; i += 3, s += 3, d += 4) put_quad(d, load24(s));
  const std::size_t rest = n - i;
  if (rest == 1) {
    const std::uint32_t v = std::uint32_t{s[0]} << 16;
    put_quad(d, v);
    d[2] = '=';
    d[3] = '=';
  } else if (rest == 2) {
    const std::uint32_t v = (std::uint32_t{s[0]} << 16) | (std::uint32_t{s[1]} << 8);
    put_quad(d, v);
    d[3] = '=';
  }
}

std::string base64_encode(std::span<const std::uint8_t> in) {
  std::string out;
  base64_encode(in, out);
  return out;
}

result<std::vector<std::uint8_t>> base64_decode(std::string_view in) {
  const std::size_t n = in.size();
  if (n % 4 != 0) return corrupt("base64 length " + std::to_string(n) + " is not a multiple of 4");
  std::vector<std::uint8_t> out;
  if (n == 0) return out;

  const auto* s = reinterpret_cast<const unsigned char*>(in.data());
  const std::size_t pad = s[n - 1] != '=' ? 0 : s[n - 2] != '=' ? 1 : 2;
  out.resize(n / 4 * 3 - pad);
  std::uint8_t* d = out.data();

  // Full quads before the last one: OR the four values so one test per quad
  // catches any character outside the alphabet (including '=').
  const std::size_t body = n - 4;
  for (std::size_t i = 0; i < body; i += 4, d += 3) {
    const std::uint32_t a = value_of[s[i]], b = value_of[s[i + 1]], c = value_of[s[i + 2]], e = value_of[s[i + 3]];
    if ((a | b | c | e) & 0x80) {
      std::size_t bad = i;
      while (value_of[s[bad]] != invalid) ++bad;
      return corrupt("invalid base64 character at offset " + std::to_string(bad));
    }
    const std::uint32_t v = (a << 18) | (b << 12) | (c << 6) | e;
    d[0] = static_cast<std::uint8_t>(v >> 16);
    d[1] = static_cast<std::uint8_t>(v >> 8);
    d[2] = static_cast<std::uint8_t>(v);
  }

  const unsigned char* q = s + body;
  const std::size_t data_chars = 4 - pad;
  std::uint32_t v = 0;
  for (std::size_t k = 0; k < data_chars; ++k) {
    const std::uint32_t x = value_of[q[k]];
    if (x == invalid) {
      return corrupt(q[k] == '=' ? "misplaced base64 padding at offset " + std::to_string(body + k)
                                 : "invalid base64 character at offset " + std::to_string(body + k));
    }
    v = (v << 6) | x;
  }
  if (pad == 2) {
    if (v & 0xF) return corrupt("non-zero bits in base64 padding");
    d[0] = static_cast<std::uint8_t>(v >> 4);
  } else if (pad == 1) {
    if (v & 0x3) return corrupt("non-zero bits in base64 padding");
    d[0] = static_cast<std::uint8_t>(v >> 10);
    d[1] = static_cast<std::uint8_t>(v >> 2);
  } else {
    d[0] = static_cast<std::uint8_t>(v >> 16);
    d[1] = static_cast<std::uint8_t>(v >> 8);
    d[2] = static_cast<std::uint8_t>(v);
  }
  return out;
}

}  // namespace kycprep
