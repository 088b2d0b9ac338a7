// libFuzzer target: the strict base64 decoder, and the encoder round trip.
//
// Checks: decoding arbitrary text never crashes; whatever the decoder accepts
// re-encodes to exactly the same text (strictness makes decode a bijection
// onto canonical encodings); every error is corrupt/base64; and encoding the
// raw input then decoding it gives the input back.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>

#include "kycprep/base64.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto decoded = kycprep::base64_decode(text);
  if (decoded.ok()) {
    if (kycprep::base64_encode(*decoded) != text) std::abort();
  } else if (decoded.error().code != kycprep::error_code::corrupt ||
             decoded.error().where != kycprep::stage::base64 || decoded.error().message.empty()) {
    std::abort();
  }

  std::string encoded;
  kycprep::base64_encode(std::span(data, size), encoded);
  if (encoded.size() != kycprep::base64_encoded_size(size)) std::abort();
  const auto back = kycprep::base64_decode(encoded);
  if (!back.ok() || back->size() != size) std::abort();
  for (std::size_t i = 0; i < size; ++i) {
    if ((*back)[i] != data[i]) std::abort();
  }
  return 0;
}
