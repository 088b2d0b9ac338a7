// Hashing, HMAC, hex and RFC 3986 percent-encoding over OpenSSL: the
// primitives both signers are built from.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace kycprep::detail {

using digest256 = std::array<unsigned char, 32>;

digest256 sha256(std::string_view data);
digest256 hmac_sha256(std::string_view key, std::string_view data);
std::string to_hex(const unsigned char* p, std::size_t n);
inline std::string to_hex(const digest256& d) { return to_hex(d.data(), d.size()); }
inline std::string as_key(const digest256& d) {
  return {reinterpret_cast<const char*>(d.data()), d.size()};
}
std::string sha256_hex(std::string_view data);

/// RFC 3986 percent-encoding of the UTF-8 bytes: only A-Z a-z 0-9 - _ . ~
/// stay literal; every other byte becomes %XX (upper-case hex). Space is
/// %20 (never '+'), '*' is %2A, '+' is %2B.
std::string percent_encode(std::string_view s);
void percent_encode_append(std::string_view s, std::string& out);

/// 64 random bits: `random` when set, else OpenSSL RAND_bytes.
std::uint64_t random_u64(const std::function<std::uint64_t()>& random);
/// 32 lowercase hex characters (128 bits).
std::string random_hex128(const std::function<std::uint64_t()>& random);

}  // namespace kycprep::detail
