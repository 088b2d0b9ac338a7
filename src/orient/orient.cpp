// Orientation geometry and pixel transforms.
//
// Stored pixel (x, y) of a W x H image lands at these upright coordinates:
//   1 (x, y)            2 (W-1-x, y)        3 (W-1-x, H-1-y)    4 (x, H-1-y)
//   5 (y, x)            6 (H-1-y, x)        7 (H-1-y, W-1-x)    8 (y, W-1-x)
// Every orientation is its own inverse except 6 and 8, which invert each other.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kycprep/orient.hpp"

namespace kycprep {
namespace {

int normalized(int o) noexcept { return o >= 1 && o <= 8 ? o : 1; }

int inverse(int o) noexcept {
  o = normalized(o);
  return o == 6 ? 8 : o == 8 ? 6 : o;
}

// A stored row written right to left (orientations 2 and 3).
template <int C>
void reverse_row(const std::uint8_t* src, std::uint8_t* dst, int w) noexcept {
  const std::uint8_t* s = src + static_cast<std::size_t>(w - 1) * C;
  for (int x = 0; x < w; ++x, s -= C, dst += C) {
    for (int c = 0; c < C; ++c) dst[c] = s[c];
  }
}

void reverse_row_any(const std::uint8_t* src, std::uint8_t* dst, int w, int channels) noexcept {
  switch (channels) {
    case 1: reverse_row<1>(src, dst, w); break;
    case 3: reverse_row<3>(src, dst, w); break;
    case 4: reverse_row<4>(src, dst, w); break;
    default: {
      const auto c = static_cast<std::size_t>(channels);
      for (int x = 0; x < w; ++x) std::memcpy(dst + x * c, src + static_cast<std::size_t>(w - 1 - x) * c, c);
    }
  }
}

// Transposing orientations (5-8): upright pixel (ux, uy) reads the stored
// pixel at origin + ux * step_x + uy * step_y, where one step moves along a
// stored row and the other along a stored column. Walking it in tiles keeps
// the few dozen stored rows a tile touches in L1, so the column-wise reads
// hit cache instead of striding through memory once per pixel.
constexpr int tile = 32;

template <int C>
void copy_run(const std::uint8_t* s, std::ptrdiff_t step, std::uint8_t* d, int n) noexcept {
  for (int i = 0; i < n; ++i, s += step, d += C) {
    for (int c = 0; c < C; ++c) d[c] = s[c];
  }
}

// 3-byte pixels moved as 4-byte words: each store's spare byte is rewritten
// by the next pixel, and the run's last pixel is copied exactly. The caller
// guarantees every 4-byte load stays inside the source buffer.
void copy_run_rgb_wide(const std::uint8_t* s, std::ptrdiff_t step, std::uint8_t* d, int n) noexcept {
  for (int i = 0; i + 1 < n; ++i, s += step, d += 3) {
    std::uint32_t v;
    std::memcpy(&v, s, 4);
    std::memcpy(d, &v, 4);
  }
  if (n > 0) copy_run<3>(s, step, d, 1);
}

template <int C>
void transpose_tiles(const std::uint8_t* origin, std::ptrdiff_t step_x, std::ptrdiff_t step_y, std::uint8_t* dst,
                     int uw, int uh, const std::uint8_t* src_end) noexcept {
  const std::size_t dst_stride = static_cast<std::size_t>(uw) * C;
  for (int ty = 0; ty < uh; ty += tile) {
    const int ty_end = std::min(ty + tile, uh);
    for (int tx = 0; tx < uw; tx += tile) {
      const int n = std::min(tile, uw - tx);
      for (int uy = ty; uy < ty_end; ++uy) {
        const std::uint8_t* s = origin + uy * step_y + tx * step_x;
        std::uint8_t* d = dst + uy * dst_stride + static_cast<std::size_t>(tx) * C;
        if constexpr (C == 3) {
          const std::uint8_t* last = s + (n - 1) * step_x;
          if (src_end - std::max(s, last) >= 4) {
            copy_run_rgb_wide(s, step_x, d, n);
            continue;
          }
        }
        copy_run<C>(s, step_x, d, n);
      }
    }
  }
}

void transpose_any(const std::uint8_t* origin, std::ptrdiff_t step_x, std::ptrdiff_t step_y, std::uint8_t* dst,
                   int uw, int uh, int channels, const std::uint8_t* src_end) noexcept {
  switch (channels) {
    case 1: transpose_tiles<1>(origin, step_x, step_y, dst, uw, uh, src_end); break;
    case 3: transpose_tiles<3>(origin, step_x, step_y, dst, uw, uh, src_end); break;
    case 4: transpose_tiles<4>(origin, step_x, step_y, dst, uw, uh, src_end); break;
    default: {
      const auto c = static_cast<std::size_t>(channels);
      for (int uy = 0; uy < uh; ++uy) {
        for (int ux = 0; ux < uw; ++ux) {
          std::memcpy(dst + (static_cast<std::size_t>(uy) * uw + ux) * c, origin + ux * step_x + uy * step_y, c);
        }
      }
    }
  }
}

}  // namespace

rect stored_to_upright(rect r, int stored_w, int stored_h, int orientation) noexcept {
  const int W = stored_w;
  const int H = stored_h;
  switch (normalized(orientation)) {
    case 2: return {W - r.x - r.w, r.y, r.w, r.h};
    case 3: return {W - r.x - r.w, H - r.y - r.h, r.w, r.h};
    case 4: return {r.x, H - r.y - r.h, r.w, r.h};
    case 5: return {r.y, r.x, r.h, r.w};
    case 6: return {H - r.y - r.h, r.x, r.h, r.w};
    case 7: return {H - r.y - r.h, W - r.x - r.w, r.h, r.w};
    case 8: return {r.y, W - r.x - r.w, r.h, r.w};
    default: return r;
  }
}

rect upright_to_stored(rect r, int stored_w, int stored_h, int orientation) noexcept {
  // The stored image is the upright image viewed with the inverse orientation.
  const size2 up = upright_size(stored_w, stored_h, normalized(orientation));
  return stored_to_upright(r, up.w, up.h, inverse(orientation));
}

image apply_orientation(const image& stored, int orientation) {
  const int o = normalized(orientation);
  const int W = stored.width;
  const int H = stored.height;
  const int C = stored.channels;
  if (W < 0 || H < 0 || C <= 0 ||
      stored.pixels.size() != static_cast<std::size_t>(W) * static_cast<std::size_t>(H) * static_cast<std::size_t>(C)) {
    return {};
  }
  if (o == 1) return stored;

  const size2 up = upright_size(W, H, o);
  image out;
  out.width = up.w;
  out.height = up.h;
  out.channels = C;
  out.pixels.resize(stored.pixels.size());
  if (stored.pixels.empty()) return out;

  const std::uint8_t* src = stored.pixels.data();
  const std::uint8_t* src_end = src + stored.pixels.size();
  std::uint8_t* dst = out.pixels.data();
  const std::size_t row = stored.stride();
  const auto srow = [&](int y) { return src + static_cast<std::size_t>(y) * row; };
  const auto drow = [&](int y) { return dst + static_cast<std::size_t>(y) * row; };

  const auto pixel = static_cast<std::ptrdiff_t>(C);
  const auto line = static_cast<std::ptrdiff_t>(row);
  switch (o) {
    case 2:
      for (int y = 0; y < H; ++y) reverse_row_any(srow(y), drow(y), W, C);
      break;
    case 3:
      for (int y = 0; y < H; ++y) reverse_row_any(srow(H - 1 - y), drow(y), W, C);
      break;
    case 4:
      for (int y = 0; y < H; ++y) std::memcpy(drow(y), srow(H - 1 - y), row);
      break;
    // Upright (ux, uy) reads stored (sx, sy); the comments give sx and sy.
    case 5:  // sx = uy, sy = ux
      transpose_any(src, line, pixel, dst, up.w, up.h, C, src_end);
      break;
    case 6:  // sx = uy, sy = H-1-ux
      transpose_any(srow(H - 1), -line, pixel, dst, up.w, up.h, C, src_end);
      break;
    case 7:  // sx = W-1-uy, sy = H-1-ux
      transpose_any(srow(H - 1) + (W - 1) * pixel, -line, -pixel, dst, up.w, up.h, C, src_end);
      break;
    case 8:  // sx = W-1-uy, sy = ux
      transpose_any(src + (W - 1) * pixel, line, -pixel, dst, up.w, up.h, C, src_end);
      break;
    default: break;
  }
  return out;
}

}  // namespace kycprep
