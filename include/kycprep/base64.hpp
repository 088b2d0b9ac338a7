// kycprep/base64.hpp: stage 7, RFC 4648 base64 with padding, no line breaks,
// no "data:" prefix.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kycprep/error.hpp"
#include "kycprep/export.hpp"

namespace kycprep {

/// Length of the encoding of n bytes: 4 * ceil(n / 3).
constexpr std::size_t base64_encoded_size(std::size_t n) noexcept { return (n + 2) / 3 * 4; }

/// Encodes `in`, replacing the contents of `out` (its capacity is reused).
KYCPREP_API void base64_encode(std::span<const std::uint8_t> in, std::string& out);
KYCPREP_API std::string base64_encode(std::span<const std::uint8_t> in);

/// Strict decoder: standard alphabet, padding required, no whitespace.
/// Errors with code corrupt on any deviation.
KYCPREP_API result<std::vector<std::uint8_t>> base64_decode(std::string_view in);

}  // namespace kycprep
