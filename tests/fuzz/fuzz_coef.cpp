// libFuzzer target: the experimental one-entropy-pass path
// (detail::read_coefficients + dc_proxy + decode_region) on arbitrary bytes
// with small limits. On success: the proxy is ceil(w/8) x ceil(h/8) RGB, and
// a small region decodes at every scale to exactly the size its contract
// gives. On a corruption error, again with corruption tolerated.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "decode/coef_decode.hpp"

namespace {

void exercise(const kycprep::detail::coefficient_image& c, std::uint8_t seed) {
  const int W = c.width(), H = c.height();
  const kycprep::image proxy = kycprep::detail::dc_proxy(c);
  if (proxy.width != (W + 7) / 8 || proxy.height != (H + 7) / 8 || proxy.channels != 3 ||
      proxy.pixels.size() != static_cast<std::size_t>(proxy.width) * proxy.height * 3)
    std::abort();
  const kycprep::rect r{(W * (seed & 7)) / 8, (H * ((seed >> 3) & 7)) / 8, 1 + W / 5, 1 + H / 7};
  for (int d : {1, 2, 4, 8}) {
    auto img = kycprep::detail::decode_region(c, r, d);
    if (!img.ok()) std::abort();  // the region always overlaps the image
    const int x1 = std::min((W + d - 1) / d, (std::min(W, r.x + r.w) + d - 1) / d);
    const int y1 = std::min((H + d - 1) / d, (std::min(H, r.y + r.h) + d - 1) / d);
    if (img->width != x1 - r.x / d || img->height != y1 - r.y / d) std::abort();
    if (img->pixels.size() != static_cast<std::size_t>(img->width) * img->height * 3) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  kycprep::decode_options opt;
  opt.limits.max_input_bytes = 4u << 20;
  opt.limits.max_pixels = 4'000'000;
  opt.limits.max_side = 4096;
  opt.limits.max_scans = 64;
  const std::uint8_t seed = size > 0 ? data[size / 2] : 0;

  auto c = kycprep::detail::read_coefficients(bytes, opt);
  if (c.ok()) {
    exercise(*c, seed);
  } else {
    if (c.error().message.empty()) std::abort();
    if (c.error().code == kycprep::error_code::truncated || c.error().code == kycprep::error_code::corrupt) {
      opt.tolerate_corruption = true;
      auto t = kycprep::detail::read_coefficients(bytes, opt);
      if (t.ok()) exercise(*t, seed);
    }
  }
  return 0;
}
