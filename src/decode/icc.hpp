// Colour management: embedded ICC profiles -> sRGB (private to decode).
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "kycprep/image.hpp"

namespace kycprep::detail {

enum class icc_result { converted, already_srgb, not_applicable, unusable };

/// Converts 3-channel `img` in place from the colour space described by the
/// ICC profile `profile` to sRGB (perceptual intent; lcms2). RGB profiles
/// only; an sRGB profile (by its description) is left alone. On
/// `unusable`, `why` says what was wrong and the pixels are unchanged.
icc_result convert_to_srgb(image& img, std::span<const std::uint8_t> profile, std::string& why);

}  // namespace kycprep::detail
