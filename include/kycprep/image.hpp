// kycprep/image.hpp: the pixel buffer passed between stages.
//
// Interleaved 8-bit samples, rows `stride` bytes apart. Channels are 3 (RGB,
// sRGB-encoded) or 1 (gray). No OpenCV or libjpeg type leaks into the API.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace kycprep {

/// A non-owning view of 8-bit interleaved pixels.
struct image_view {
  const std::uint8_t* data = nullptr;
  int width = 0;
  int height = 0;
  int channels = 3;         ///< 1 (gray) or 3 (RGB)
  std::size_t stride = 0;   ///< bytes from one row to the next
  [[nodiscard]] const std::uint8_t* row(int y) const { return data + static_cast<std::size_t>(y) * stride; }
};

/// An owning, tightly packed 8-bit image.
struct image {
  int width = 0;
  int height = 0;
  int channels = 3;
  std::vector<std::uint8_t> pixels;  ///< width * height * channels bytes, rows packed

  [[nodiscard]] std::size_t stride() const { return static_cast<std::size_t>(width) * channels; }
  [[nodiscard]] image_view view() const { return {pixels.data(), width, height, channels, stride()}; }
  [[nodiscard]] bool empty() const { return width <= 0 || height <= 0; }
};

/// An axis-aligned rectangle in pixels, origin top-left.
struct rect {
  int x = 0;
  int y = 0;
  int w = 0;
  int h = 0;
  friend bool operator==(const rect&, const rect&) = default;
};

}  // namespace kycprep
