// kycprep/error.hpp: per-image errors as values.
//
// Every fallible kycprep call returns kycprep::result<T>: either a T or an
// kycprep::error {code, stage, message}. Nothing in the per-image path throws
// for bad input; one broken file never aborts a batch.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "kycprep/export.hpp"

namespace kycprep {

/// What went wrong. Values are stable: they are printed by the CLI and
/// written to batch records by name (see to_string).
enum class error_code : std::uint8_t {
  io_error = 1,          ///< the input could not be read (missing file, permission)
  empty_input,           ///< zero bytes
  unsupported_format,    ///< not JPEG or PNG; the message names what was found
  input_too_large,       ///< more bytes than decode_limits::max_input_bytes
  too_many_pixels,       ///< declared width*height above decode_limits::max_pixels
  side_too_large,        ///< declared width or height above decode_limits::max_side
  implausible_size,      ///< declared pixels per input byte above decode_limits::max_pixels_per_byte
  too_many_scans,        ///< progressive JPEG with more scans than decode_limits::max_scans
  truncated,             ///< data ends early (an error unless corruption is tolerated)
  corrupt,               ///< the codec rejected the data
  invalid_options,       ///< the options passed are out of range
  no_face,               ///< face profile: no plausible human face was found
  over_budget,           ///< the JPEG does not fit the byte budget at the minimum quality
  encode_failed,         ///< the JPEG encoder failed
  detector_unavailable,  ///< the face detector could not be loaded (missing cascade or model)
  internal,              ///< a bug or resource failure (e.g. out of memory)
};

/// The pipeline stage an error (or a timing) belongs to.
enum class stage : std::uint8_t {
  read,
  sniff,
  decode,
  orient,
  detect,
  crop,
  resize,
  encode,
  base64,
  upload,
};

KYCPREP_API std::string_view to_string(error_code c) noexcept;
KYCPREP_API std::string_view to_string(stage s) noexcept;

/// An error value. `message` is for humans; match on `code`.
struct error {
  error_code code = error_code::internal;
  kycprep::stage where = kycprep::stage::read;
  std::string message;
};

/// Either a value or an error. Cheap to move; check ok() before value().
template <class T>
class [[nodiscard]] result {
 public:
  result(T value) : v_(std::move(value)) {}                // NOLINT(google-explicit-constructor)
  result(kycprep::error e) : v_(std::move(e)) {}           // NOLINT(google-explicit-constructor)
  result(error_code c, kycprep::stage s, std::string msg)  //
      : v_(kycprep::error{c, s, std::move(msg)}) {}

  [[nodiscard]] bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const kycprep::error& error() const& { return std::get<1>(v_); }
  kycprep::error&& error() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, kycprep::error> v_;
};

}  // namespace kycprep
