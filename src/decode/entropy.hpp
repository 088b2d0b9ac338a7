// Our own Huffman (entropy) decoder: every scan of a JPEG into quantised DCT
// coefficients, in one pass, faster than libjpeg-turbo's
// jpeg_read_coefficients (whose progressive decoder in particular is 3-4x
// slower per byte than its baseline one).
//
// It is strict on purpose. It decodes exactly what libjpeg-turbo 2.1 would
// produce, coefficient for coefficient, for the streams libjpeg decodes
// without a single warning, and *declines* everything else: arithmetic
// coding, lossless or 12-bit frames, DNL, any Huffman or marker error, a
// stream that ends early, a bogus progression, more scans than allowed. The
// caller then runs libjpeg, which produces the errors and warnings (and the
// tolerant decoding) that kycprep::decode documents. So a decline costs one
// aborted pass and never changes a result.
//
// Bounds: the caller checks the frame size against decode_limits before
// calling (the coefficient memory is 2 bytes per coefficient, about 37 MB
// for a 12 MP 4:2:0 file); this decoder reads only inside `jpeg`, and does a
// bounded amount of work per input byte and per scan, with at most
// `max_scans` scans.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace kycprep::detail {

class coef_pool;

/// A coefficient array, 64-byte aligned (one block is two cache lines) and
/// not zeroed when allocated: the decoder writes every block (see
/// entropy.cpp), so a zeroing pass would only cost memory bandwidth. One
/// taken from a coef_pool goes back to it when destroyed.
class coef_array {
 public:
  coef_array() = default;
  explicit coef_array(std::size_t n);
  coef_array(coef_array&& o) noexcept { swap(o); }
  coef_array& operator=(coef_array&& o) noexcept {
    coef_array(std::move(o)).swap(*this);
    return *this;
  }
  coef_array(const coef_array&) = delete;
  coef_array& operator=(const coef_array&) = delete;
  ~coef_array();

  [[nodiscard]] std::int16_t* data() noexcept { return p_; }
  [[nodiscard]] const std::int16_t* data() const noexcept { return p_; }
  [[nodiscard]] std::size_t size() const noexcept { return n_; }
  [[nodiscard]] bool empty() const noexcept { return n_ == 0; }
  std::int16_t& operator[](std::size_t i) noexcept { return p_[i]; }
  const std::int16_t& operator[](std::size_t i) const noexcept { return p_[i]; }
  friend bool operator==(const coef_array& a, const coef_array& b) noexcept {
    return a.n_ == b.n_ && (a.n_ == 0 || std::memcmp(a.p_, b.p_, a.n_ * sizeof(std::int16_t)) == 0);
  }

 private:
  friend class coef_pool;
  void swap(coef_array& o) noexcept {
    std::swap(p_, o.p_);
    std::swap(n_, o.n_);
    std::swap(capacity_, o.capacity_);
    std::swap(pool_, o.pool_);
  }
  std::int16_t* p_ = nullptr;
  std::size_t n_ = 0;
  std::size_t capacity_ = 0;
  coef_pool* pool_ = nullptr;
};

/// Keeps coefficient arrays between frames, so that a thread decoding one
/// photo after another reuses memory it has already touched instead of
/// taking a fresh ~37 MB at 12 MP (thousands of page faults whenever the
/// allocator has given the last one back to the system). At most 4 arrays
/// and `limit` bytes are kept; the largest win. Not thread-safe: one pool
/// per thread, and it must outlive every array taken from it.
class coef_pool {
 public:
  explicit coef_pool(std::size_t limit = 64u << 20);
  coef_pool(const coef_pool&) = delete;
  coef_pool& operator=(const coef_pool&) = delete;
  ~coef_pool();

  /// An array of n coefficients: the smallest kept one that is large
  /// enough, else a new one.
  coef_array take(std::size_t n);
  /// Bytes kept for reuse (not counting arrays taken and still alive).
  [[nodiscard]] std::size_t retained_bytes() const noexcept { return retained_; }
  /// A new limit; arrays beyond it are freed (the smallest first).
  void set_limit(std::size_t limit) noexcept;
  void clear() noexcept;

 private:
  friend class coef_array;
  struct buffer {
    std::int16_t* p;
    std::size_t capacity;  // coefficients
  };
  static constexpr std::size_t max_buffers = 4;
  void give(std::int16_t* p, std::size_t capacity) noexcept;
  [[nodiscard]] std::size_t smallest() const noexcept;  // index of the smallest kept array (count_ > 0)
  void drop_smallest() noexcept;
  std::array<buffer, max_buffers> free_{};
  std::size_t count_ = 0;
  std::size_t retained_ = 0;  // bytes
  std::size_t limit_;
};

/// One component's coefficients. Blocks are stored row by row, 64
/// coefficients each in natural (row-major) order, as libjpeg's JBLOCK.
struct coef_plane {
  int id = 0;                 ///< component id from SOF
  int h = 1, v = 1;           ///< sampling factors
  int quant_table = 0;        ///< quantisation table slot from SOF (0..3)
  int width_in_blocks = 0;    ///< libjpeg's: ceil(image_width * h / (max_h * 8))
  int height_in_blocks = 0;   ///< likewise for height
  int stride_blocks = 0;      ///< blocks per stored row (>= width_in_blocks; MCU-padded)
  int rows_blocks = 0;        ///< stored block rows (>= height_in_blocks; MCU-padded)
  coef_array coef;  ///< stride_blocks * rows_blocks * 64, all zero where no scan wrote
  /// Sequential frames: each block's DC term again, stride_blocks per row,
  /// written as each block is decoded (a 1/8 luma proxy reads 2 bytes per
  /// block from here instead of a cache line from `coef`). Empty for
  /// progressive frames.
  std::vector<std::int16_t> dc;

  [[nodiscard]] const std::int16_t* block(int bx, int by) const {
    return coef.data() + (static_cast<std::size_t>(by) * static_cast<std::size_t>(stride_blocks) + static_cast<std::size_t>(bx)) * 64;
  }
};

struct coef_frame {
  int width = 0, height = 0;
  int max_h = 1, max_v = 1;
  bool progressive = false;
  int scans = 0;                     ///< scans decoded
  std::vector<coef_plane> planes;    ///< in SOF order
};

/// Which build of the scan loops runs: the best the CPU has (BMI2 on x86-64
/// when present) or the baseline one; the output is the same (tests run both).
enum class entropy_isa { best, baseline };

/// Decodes every scan of `jpeg` (a whole file from SOI). Returns nullopt when
/// it declines (see above); `why`, when given, then says why in a few words.
///
/// Besides what libjpeg rejects or warns about, it also declines some legal
/// but rare streams, to stay simple: a DQT after the first SOS (the caller's
/// quantisation tables come from libjpeg's header), a scan using a Huffman
/// table the file never defined (libjpeg would substitute the standard
/// Motion-JPEG tables), a component in two sequential scans, a component in
/// no scan, and whole bytes of entropy data left over before a marker.
/// `max_scans` counts every scan, sequential ones too. A frame whose
/// coefficient arrays (MCU-padded, 2 bytes per coefficient) would exceed
/// `max_coefficient_bytes` is declined before anything is allocated (the
/// sequential frames' dc copies add 1/64 to that). The arrays come from
/// `pool` when given (see coef_pool), else from the heap. Thread-safe (no
/// shared state) when each thread has its own pool.
std::optional<coef_frame> entropy_decode(std::span<const std::uint8_t> jpeg, int max_scans,
                                         std::string* why = nullptr,
                                         std::size_t max_coefficient_bytes = std::size_t{1} << 32,
                                         entropy_isa isa = entropy_isa::best, coef_pool* pool = nullptr);

}  // namespace kycprep::detail
