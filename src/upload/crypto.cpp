#include "crypto.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <stdexcept>

namespace kycprep::detail {

digest256 sha256(std::string_view data) {
  digest256 out{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr) != 1 ||
      len != out.size()) {
    throw std::runtime_error("SHA-256 failed");
  }
  return out;
}

digest256 hmac_sha256(std::string_view key, std::string_view data) {
  digest256 out{};
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(),
           &len) == nullptr ||
      len != out.size()) {
    throw std::runtime_error("HMAC-SHA256 failed");
  }
  return out;
}

std::string to_hex(const unsigned char* p, std::size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s(n * 2, '\0');
  for (std::size_t i = 0; i < n; ++i) {
    s[2 * i] = digits[p[i] >> 4];
    s[2 * i + 1] = digits[p[i] & 0xF];
  }
  return s;
}

std::string sha256_hex(std::string_view data) { return to_hex(sha256(data)); }

void percent_encode_append(std::string_view s, std::string& out) {
  static constexpr char digits[] = "0123456789ABCDEF";
  for (unsigned char c : s) {
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~';
    if (unreserved) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(digits[c >> 4]);
      out.push_back(digits[c & 0xF]);
    }
  }
}

std::string percent_encode(std::string_view s) {
  std::string out;
  out.reserve(s.size() * 3 / 2 + 8);
  percent_encode_append(s, out);
  return out;
}

std::uint64_t random_u64(const std::function<std::uint64_t()>& random) {
  if (random) return random();
  std::uint64_t v = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&v), sizeof v) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  return v;
}

std::string random_hex128(const std::function<std::uint64_t()>& random) {
  std::array<unsigned char, 16> b{};
  for (int half = 0; half < 2; ++half) {
    std::uint64_t v = random_u64(random);
    for (int i = 0; i < 8; ++i) b[half * 8 + i] = static_cast<unsigned char>(v >> (8 * i));
  }
  return to_hex(b.data(), b.size());
}

}  // namespace kycprep::detail
