// libFuzzer target: kycprep::decode on arbitrary bytes with small limits, so
// that the fuzzer explores header checks and codec error paths instead of
// spending its time on large legitimate images.
//
// Each input is decoded as the pipeline does: header first, then a full
// decode; when that succeeds, the fast path (scaled, gray, region) too; when
// it fails on corruption, again with corruption tolerated. Checks that a
// successful result is self-consistent.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "kycprep/decode.hpp"

namespace {

void check(const kycprep::result<kycprep::decoded>& r, const kycprep::decode_options& opt) {
  if (!r.ok()) {
    if (r.error().message.empty()) std::abort();
    return;
  }
  const kycprep::image& px = r->pixels;
  if (px.width <= 0 || px.height <= 0) return;
  if (px.channels != 1 && px.channels != 3) std::abort();
  if (px.pixels.size() != static_cast<std::size_t>(px.width) * px.height * px.channels) std::abort();
  if (static_cast<std::uint64_t>(px.width) * px.height > opt.limits.max_pixels) std::abort();
  if (r->source.orientation < 1 || r->source.orientation > 8) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  kycprep::decode_options opt;
  opt.limits.max_input_bytes = 4u << 20;
  opt.limits.max_pixels = 4'000'000;
  opt.limits.max_side = 4096;

  const auto header = kycprep::read_header(bytes, opt);
  if (header.ok() && (header->orientation < 1 || header->orientation > 8)) std::abort();

  const auto full = kycprep::decode(bytes, opt);
  check(full, opt);
  if (full.ok()) {
    const kycprep::source_info& s = full->source;
    kycprep::decode_request req;
    req.scale_denom = 2;
    req.gray = true;
    req.region = kycprep::rect{s.width / 4, s.height / 4, (s.width + 1) / 2, (s.height + 1) / 2};
    check(kycprep::decode(bytes, opt, req), opt);
  } else if (full.error().code == kycprep::error_code::truncated ||
             full.error().code == kycprep::error_code::corrupt) {
    opt.tolerate_corruption = true;
    check(kycprep::decode(bytes, opt), opt);
  }
  return 0;
}
