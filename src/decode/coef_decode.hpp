// The one-Huffman-pass JPEG path: read the DCT coefficients once (with our
// entropy decoder, decode/entropy.hpp, or libjpeg's when ours declines),
// then build the detection proxy from the DC terms and run the IDCT, chroma
// upsampling and colour conversion only for the blocks of a crop region.
//
// prepare() uses it for the face profile's whole-photo search on JPEGs whose
// arrays fit prepare_options::max_coefficient_bytes (and on every
// progressive one). The alternative decodes twice (a draft 1/8 decode for
// detection, then a region decode), paying the entropy decoding twice. Here
// it is paid once, for the memory of the whole coefficient array (2 bytes per
// coefficient: about 37 MB for a 12 MP 4:2:0 file, held while the image is
// processed).
//
// decode_region reproduces libjpeg-turbo's JDCT_ISLOW output with fancy
// upsampling (the kycprep::decode default) on the *full* frame: the same
// integer IDCTs (jidctint.c 8x8, jidctred.c 4x4/2x2/1x1 for scales 1/2..1/8,
// with libjpeg's choice of a larger chroma IDCT instead of upsampling when
// scaling), the same triangle upsampling (h2v1, h1v2, h2v2) with libjpeg's
// edge rules, and the same BT.601 full-range YCbCr->RGB constants.
// kycprep::decode with a region differs from both at the region's left and
// right edges, where jpeg_crop_scanline restarts the upsampler.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "kycprep/decode.hpp"

namespace kycprep::detail {

class coef_pool;  // decode/entropy.hpp

/// The quantised DCT coefficients of a whole JPEG, read by one entropy
/// decoding pass. Move-only; owns the libjpeg decompressor that owns the
/// coefficient arrays. Reading it (dc_proxy, decode_region) is thread-safe.
class coefficient_image {
 public:
  struct state;  // private; defined in coef_decode.cpp

  coefficient_image(coefficient_image&&) noexcept;
  coefficient_image& operator=(coefficient_image&&) noexcept;
  coefficient_image(const coefficient_image&) = delete;
  coefficient_image& operator=(const coefficient_image&) = delete;
  ~coefficient_image();

  [[nodiscard]] int width() const;        ///< stored width in pixels
  [[nodiscard]] int height() const;       ///< stored height in pixels
  [[nodiscard]] int components() const;   ///< 1 (gray) or 3 (YCbCr)
  [[nodiscard]] bool progressive() const;
  /// Bytes held by the coefficient arrays (the memory cost of this path).
  [[nodiscard]] std::size_t coefficient_bytes() const;
  /// True when our entropy decoder (decode/entropy.hpp) read the file; false
  /// when it declined and libjpeg's jpeg_read_coefficients did.
  [[nodiscard]] bool own_entropy_decoder() const;
  /// Decoder warnings accepted under tolerate_corruption (same wording as decode()).
  [[nodiscard]] const std::vector<std::string>& warnings() const;
  /// The embedded ICC profile, empty when none. decode_region does NOT apply
  /// it (kycprep::decode converts to sRGB via decode/icc.hpp): a caller that
  /// integrates this path must run convert_to_srgb on the region, or fall back.
  [[nodiscard]] const std::vector<std::uint8_t>& icc_profile() const;

  explicit coefficient_image(std::unique_ptr<state> s);
  [[nodiscard]] const state& get() const { return *s_; }

 private:
  std::unique_ptr<state> s_;
};

/// Reads the header, checks decode_options::limits (before any allocation),
/// then entropy-decodes every scan into coefficient arrays. Errors as
/// kycprep::decode: input_too_large, too_many_pixels, side_too_large,
/// implausible_size, too_many_scans, truncated / corrupt (unless
/// opt.tolerate_corruption, which turns damage into a warning).
///
/// Returns unsupported_format for a JPEG this path does not handle, *from the
/// header*, before the entropy pass, so the caller can fall back to
/// kycprep::decode at little cost: anything but 8-bit gray or 8-bit YCbCr with
/// luma sampling 1x1, 2x1, 1x2 or 2x2 and chroma 1x1 (so 4:1:1, CMYK, YCCK,
/// RGB-coded and 12-bit files are refused).
///
/// The coefficient arrays come from `pool` when given (one per thread; it
/// must outlive the coefficient_image), else from the heap.
result<coefficient_image> read_coefficients(std::span<const std::uint8_t> bytes, const decode_options& opt,
                                            coef_pool* pool = nullptr);

/// The 1/8-scale RGB image (ceil(width/8) x ceil(height/8)) for face
/// detection, equal to libjpeg's ISLOW decode at scale 1/8: luma from the DC
/// coefficients alone ((DC*q0 + 4) >> 3, plus 128), 2x-subsampled chroma from
/// a 2x2 IDCT (libjpeg's choice at this scale), chroma of 4:2:2 / 4:4:0
/// replicated. Gray files give R = G = B.
image dc_proxy(const coefficient_image& c);

/// The luma channel of dc_proxy alone, as one 8-bit channel: the Y plane
/// of libjpeg's 1/8 decode, (DC*q0 + 4) >> 3 plus 128, clamped. For a
/// detector that looks only at luma it is dc_proxy's image at a fraction of
/// the cost: one coefficient per luma block, no chroma IDCT, no colour
/// conversion (about 1 ms instead of 6 at 12 MP, docs/PERFORMANCE.md).
image dc_luma_proxy(const coefficient_image& c);

/// Decodes `region_stored` (stored, full-resolution pixels; clamped to the
/// image) at 1/scale_denom (1, 2, 4 or 8). Like kycprep::decode, the result
/// covers the scaled pixels x in [region.x / d, ceil((region.x + region.w) / d)),
/// and likewise for y; that is the stored rect {x0*d, y0*d, min(W, x1*d) - x0*d,
/// min(H, y1*d) - y0*d}. Output is RGB (3 channels) even for gray files.
/// Errors: invalid_options for a bad scale or a region outside the image.
result<image> decode_region(const coefficient_image& c, rect region_stored, int scale_denom);

}  // namespace kycprep::detail
