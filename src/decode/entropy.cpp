// Our own JPEG Huffman decoder (see entropy.hpp for the contract).
//
// The reference is libjpeg-turbo 2.1: jdmarker.c (marker syntax), jdinput.c
// (geometry), jdcoefct.c (storage), jdhuff.c (sequential scans) and
// jdphuff.c (progressive scans). Every rule below that is not in ITU T.81 is
// there because libjpeg behaves that way; where libjpeg would warn, error or
// silently do something odd (e.g. write a coefficient outside the spectral
// band), we decline instead, which is always allowed.
#include "decode/entropy.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace kycprep::detail {

namespace {

// jutils.c jpeg_natural_order: zigzag index -> natural (row-major) index.
constexpr std::uint8_t natural_order[64] = {
    0,  1,  8,  16, 9,  2,  3,  10, 17, 24, 32, 25, 18, 11, 4,  5,  12, 19, 26, 33, 40, 48,
    41, 34, 27, 20, 13, 6,  7,  14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23,
    30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63};

constexpr int fast_bits = 10;  // lookahead: most codes, and many code+value pairs, fit (9 and 11 measured slower)

// F.12 EXTEND: `x` is the s raw bits of a value of size category s >= 1.
inline int extend(int x, int s) { return x < (1 << (s - 1)) ? x + (-1 << s) + 1 : x; }

// One Huffman table: libjpeg's d_derived_tbl plus two lookahead tables.
struct huff_table {
  bool valid = false;              // defined, and jpeg_make_d_derived_tbl would accept it
  std::uint16_t fast[1 << fast_bits]{};     // (length << 8) | symbol for codes <= fast_bits; 0: longer or none
  std::int32_t fast_ac[1 << fast_bits]{};   // value << 16 | size << 8 | run << 4 | (length + size) when both fit; else 0
  std::int32_t maxcode[18]{};      // libjpeg's: largest code of length l, -1 if none
  std::int32_t valoffset[18]{};    // symbol index = code + valoffset[l]
  std::uint8_t vals[256]{};        // huffval, zero-filled as libjpeg's get_dht does
};

// jdhuff.c jpeg_make_d_derived_tbl, including its validation (C.1, C.2: the
// counts must form a prefix code with no all-ones code; DC symbols 0..15).
bool build_table(huff_table& t, const std::uint8_t (&bits)[17], const std::uint8_t* vals, int count, bool is_dc) {
  t = huff_table{};
  std::memcpy(t.vals, vals, static_cast<std::size_t>(count));
  std::uint8_t huffsize[257];
  int huffcode[257];
  int p = 0;
  for (int l = 1; l <= 16; ++l) {
    if (p + bits[l] > 256) return false;
    for (int i = 0; i < bits[l]; ++i) huffsize[p++] = static_cast<std::uint8_t>(l);
  }
  huffsize[p] = 0;
  const int numsymbols = p;
  int code = 0, si = huffsize[0];
  p = 0;
  while (huffsize[p]) {
    while (huffsize[p] == si) huffcode[p++] = code++;
    if (code >= (1 << si)) return false;
    code <<= 1;
    ++si;
  }
  if (is_dc)
    for (int i = 0; i < numsymbols; ++i)
      if (t.vals[i] > 15) return false;
  p = 0;
  for (int l = 1; l <= 16; ++l) {
    if (bits[l]) {
      t.valoffset[l] = p - huffcode[p];
      p += bits[l];
      t.maxcode[l] = huffcode[p - 1];
    } else {
      t.maxcode[l] = -1;
    }
  }
  for (int i = 0; i < numsymbols; ++i) {
    const int len = huffsize[i];
    if (len > fast_bits) continue;
    const int shift = fast_bits - len;
    const int sym = t.vals[i];
    const int r = sym >> 4, s = sym & 15;
    for (int j = huffcode[i] << shift; j < (huffcode[i] + 1) << shift; ++j) {
      t.fast[j] = static_cast<std::uint16_t>(len << 8 | sym);
      if (s != 0 && len + s <= fast_bits) {
        const int raw = (j >> (shift - s)) & ((1 << s) - 1);
        t.fast_ac[j] = extend(raw, s) * 65536 + (s << 8) + (r << 4) + len + s;
      }
    }
  }
  t.valid = true;
  return true;
}

// MSB-first bit buffer over the entropy-coded segment. Bits live in the top
// `bits` bits of `buf`. Refill loads 8 bytes at once when none is 0xFF (the
// usual case) and otherwise goes byte by byte, unstuffing FF00 and stopping
// at a marker (FF, any FF fill, then a non-zero byte: jdhuff.c
// jpeg_fill_bit_buffer). Past a marker or the end of the input it appends
// zero bits and counts them in `pad`: consuming any of them means the data
// ended early (libjpeg's JWRN_HIT_MARKER), which the callers check at every
// MCU row, restart and scan end. Below `bits` the buffer may hold copies of
// the next bytes from the 8-byte load; a later refill ORs in the same
// values, so they are harmless.
// The reader's place in the input, touched only by refills and checks; kept
// apart so that the bit buffer itself can live in registers.
struct byte_cursor {
  const std::uint8_t* p = nullptr;
  const std::uint8_t* end = nullptr;
  int pad = 0;
  bool hit = false;  // p is at the marker (or the end) that ends this segment
  bool bad = false;  // bad Huffman code, libjpeg warning, or data ran out
};

struct bit_buffer {
  std::uint64_t buf;
  int bits;
};

bit_buffer refill_slow(std::uint64_t buf, int bits, byte_cursor* c);

struct bit_reader {
  std::uint64_t buf = 0;
  int bits = 0;
  byte_cursor* cur = nullptr;

  void start(const std::uint8_t* from) {
    cur->p = from;
    cur->pad = 0;
    cur->hit = false;
    buf = 0;
    bits = 0;
  }

  [[gnu::always_inline]] void refill() {
    const std::uint8_t* p = cur->p;
    if (cur->end - p >= 8) {
      std::uint64_t w;
      std::memcpy(&w, p, 8);
      w = __builtin_bswap64(w);
      constexpr std::uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
      if ((((~w) - ones) & w & highs) == 0) {  // no 0xFF byte (haszero(~w))
        buf |= w >> bits;
        cur->p = p + ((63 - bits) >> 3);
        bits |= 56;
        return;
      }
    }
    const bit_buffer b = refill_slow(buf, bits, cur);
    buf = b.buf;
    bits = b.bits;
  }
  [[gnu::always_inline]] void ensure(int n) {  // n <= 32
    if (bits < n) refill();
  }
  [[gnu::always_inline]] std::uint32_t peek(int n) const { return static_cast<std::uint32_t>(buf >> (64 - n)); }
  [[gnu::always_inline]] void skip(int n) {
    buf <<= n;
    bits -= n;
  }
  [[gnu::always_inline]] int get(int n) {  // 1 <= n <= 16, after ensure()
    const int v = static_cast<int>(buf >> (64 - n));
    skip(n);
    return v;
  }
  [[gnu::always_inline]] int get_bit() {
    if (bits < 1) refill();
    return get(1);
  }
  void fail() { cur->bad = true; }

  // One symbol (after ensure(16)). A bad code fails the reader and yields 0,
  // which every caller treats as a harmless end of block; the row check
  // declines.
  [[gnu::always_inline]] int decode(const huff_table& t) {
    const std::uint32_t f = t.fast[peek(fast_bits)];
    if (f != 0) {
      skip(static_cast<int>(f >> 8));
      return static_cast<int>(f & 255);
    }
    const std::uint32_t look = peek(16);
    for (int l = fast_bits + 1; l <= 16; ++l) {
      const auto code = static_cast<std::int32_t>(look >> (16 - l));
      if (code <= t.maxcode[l]) {
        skip(l);
        return t.vals[(code + t.valoffset[l]) & 255];
      }
    }
    fail();  // jdhuff.c: JWRN_HUFF_BAD_CODE
    return 0;
  }

  [[nodiscard]] bool overran() const { return cur->bad || bits < cur->pad; }
};

// The byte-wise refill (see bit_reader).
[[gnu::noinline]] bit_buffer refill_slow(std::uint64_t buf, int bits, byte_cursor* c) {
  while (bits <= 56) {
    if (c->hit) {
      bits += 8;
      c->pad += 8;
      if (c->pad > 128) c->bad = true;  // more than a buffer's worth consumed past the end
      continue;
    }
    if (c->p >= c->end) {
      c->hit = c->bad = true;  // no marker at all: libjpeg would warn (JWRN_JPEG_EOF)
      continue;
    }
    const std::uint8_t b = *c->p;
    if (b != 0xFF) {
      buf |= static_cast<std::uint64_t>(b) << (56 - bits);
      bits += 8;
      ++c->p;
      continue;
    }
    const std::uint8_t* q = c->p + 1;
    while (q < c->end && *q == 0xFF) ++q;  // fill bytes, also before a stuffed zero
    if (q < c->end && *q == 0) {
      buf |= std::uint64_t{0xFF} << (56 - bits);
      bits += 8;
      c->p = q + 1;
      continue;
    }
    c->hit = true;  // a marker (or FFs up to the end): stay on its first FF
  }
  return {buf, bits};
}

struct component {
  int id = 0, h = 1, v = 1, tq = 0;
  bool scanned = false;
};

// The components of one scan, with their MCU shape and tables.
struct scan_comp {
  coef_plane* plane = nullptr;
  int index = 0;  // the plane's index in frame.planes
  int mcu_w = 1, mcu_h = 1;
  const huff_table* dc = nullptr;
  const huff_table* ac = nullptr;
};

struct scan_setup {
  std::array<scan_comp, 4> comps{};
  int n = 0;
  int mcus_x = 0, mcus_y = 0;
  int restart_interval = 0;
  int Ss = 0, Se = 63, Ah = 0, Al = 0;
};

// Per-segment decoder state that a restart resets (jdhuff.c/jdphuff.c
// process_restart: DC predictions and EOBRUN).
struct seg_state {
  std::int64_t pred[4] = {0, 0, 0, 0};
  unsigned eobrun = 0;
};

// At a restart marker or the end of a scan: every needed bit was real, and
// less than a byte of padding is left before the marker (libjpeg counts whole
// leftover bytes as "extraneous data" and warns). Returns the marker byte and
// leaves `at` on the marker's first FF; -1 otherwise.
int segment_end(const bit_reader& br, const std::uint8_t*& at) {
  if (br.overran() || br.bits - br.cur->pad >= 8) return -1;
  const std::uint8_t* q = br.cur->p;
  const std::uint8_t* end = br.cur->end;
  if (q >= end || *q != 0xFF) return -1;
  at = q;
  while (q < end && *q == 0xFF) ++q;
  if (q >= end || *q == 0) return -1;  // FF00 here would be one more data byte
  return *q;
}

// Runs `block(comp_index, block_index)` over every block of the scan in MCU
// order (jdcoefct.c consume_data), handling restart intervals; block_index
// counts blocks in the component's (MCU-padded) storage. Checked after each
// MCU row so that garbage past the data costs at most one row.
// `row_done(my)` follows each MCU row.
template <class Block, class RowDone>
[[gnu::always_inline]] inline bool run_scan(const scan_setup& sc, bit_reader& br, seg_state& st, Block&& block, RowDone&& row_done) {
  int togo = sc.restart_interval;
  int next_rst = 0;
  auto restart = [&]() {
    const std::uint8_t* at = nullptr;
    if (segment_end(br, at) != 0xD0 + next_rst) return false;  // else libjpeg resyncs with a warning
    next_rst = (next_rst + 1) & 7;
    while (*at == 0xFF) ++at;
    br.start(at + 1);
    st = seg_state{};
    togo = sc.restart_interval;
    return true;
  };
  if (sc.n == 1) {  // non-interleaved: one block per MCU, row by row
    const auto stride = static_cast<std::size_t>(sc.comps[0].plane->stride_blocks);
    for (int my = 0; my < sc.mcus_y; ++my) {
      std::size_t idx = static_cast<std::size_t>(my) * stride;
      for (int mx = 0; mx < sc.mcus_x; ++mx, ++idx) {
        if (sc.restart_interval != 0) {
          if (togo == 0 && !restart()) return false;
          --togo;
        }
        block(0, idx);
      }
      if (br.overran()) return false;
      row_done(my);
    }
    return true;
  }
  for (int my = 0; my < sc.mcus_y; ++my) {
    for (int mx = 0; mx < sc.mcus_x; ++mx) {
      if (sc.restart_interval != 0) {
        if (togo == 0 && !restart()) return false;
        --togo;
      }
      for (int c = 0; c < sc.n; ++c) {
        const scan_comp& sc_c = sc.comps[c];
        const auto stride = static_cast<std::size_t>(sc_c.plane->stride_blocks);
        const std::size_t base = static_cast<std::size_t>(my) * static_cast<std::size_t>(sc_c.mcu_h) * stride +
                                 static_cast<std::size_t>(mx) * static_cast<std::size_t>(sc_c.mcu_w);
        for (int by = 0; by < sc_c.mcu_h; ++by)
          for (int bx = 0; bx < sc_c.mcu_w; ++bx) block(c, base + static_cast<std::size_t>(by) * stride + static_cast<std::size_t>(bx));
      }
    }
    if (br.overran()) return false;
    row_done(my);
  }
  return true;
}

// jdhuff.c decode_mcu: one sequential block. The DC prediction wraps like
// libjpeg's int and is stored truncated to 16 bits as libjpeg does.
[[gnu::always_inline]] inline void block_sequential(bit_reader& br, const scan_comp& c, std::int64_t& pred, std::int16_t* blk) {
  br.ensure(32);
  int s = br.decode(*c.dc);
  if (s != 0) s = extend(br.get(s), s);
  const std::uint32_t dc = static_cast<std::uint32_t>(pred) + static_cast<std::uint32_t>(s);
  pred = static_cast<std::int32_t>(dc);
  blk[0] = static_cast<std::int16_t>(dc);
  const huff_table& ac = *c.ac;
  for (int k = 1; k < 64;) {
    br.ensure(32);
    const std::int32_t e = ac.fast_ac[br.peek(fast_bits)];
    if (e != 0) {  // code and value both in the lookahead
      k += (e >> 4) & 15;
      if (k > 63) {  // libjpeg would silently store at position 63
        br.fail();
        return;
      }
      blk[natural_order[k++]] = static_cast<std::int16_t>(e >> 16);
      br.skip(e & 15);
      continue;
    }
    const int sym = br.decode(ac);
    const int r = sym >> 4, sz = sym & 15;
    if (sz != 0) {
      k += r;
      if (k > 63) {
        br.fail();
        return;
      }
      blk[natural_order[k++]] = static_cast<std::int16_t>(extend(br.get(sz), sz));
    } else if (r == 15) {
      k += 16;  // ZRL; running past 63 just ends the block, as in libjpeg
    } else {
      return;  // EOB (jdhuff.c treats every size-0 non-ZRL symbol so)
    }
  }
}

// Progressive scans keep, per block, a mask of its non-zero AC coefficients
// in zigzag order (bit k: coefficient natural_order[k] != 0). AC refinement
// then finds zero runs and the coefficients owed a correction bit with bit
// operations instead of walking the band coefficient by coefficient, and
// blocks inside an EOB run touch 8 bytes instead of 128. Only AC scans
// change which coefficients are non-zero (a correction never makes one zero),
// so the mask is exact.
[[gnu::always_inline]] inline std::uint64_t band_from(int k, int Se) {  // bits k..Se, 1 <= k <= 63
  const std::uint64_t upto = Se == 63 ? ~std::uint64_t{0} : (std::uint64_t{1} << (Se + 1)) - 1;
  return upto & (~std::uint64_t{0} << k);
}

// jdphuff.c decode_mcu_AC_first, one block.
[[gnu::always_inline]] inline void block_ac_first(bit_reader& br, const huff_table& ac, int Ss, int Se, int Al, unsigned& eobrun,
                           std::int16_t* blk, std::uint64_t& nzmask) {
  if (eobrun > 0) {
    --eobrun;
    return;
  }
  std::uint64_t nz = nzmask;
  auto put = [&](int k, std::uint32_t v) {
    const auto c = static_cast<std::int16_t>(v << Al);  // libjpeg: (JCOEF)LEFT_SHIFT(s, Al)
    blk[natural_order[k]] = c;
    nz = (nz & ~(std::uint64_t{1} << k)) | (static_cast<std::uint64_t>(c != 0) << k);
  };
  for (int k = Ss; k <= Se;) {
    br.ensure(32);
    const std::int32_t e = ac.fast_ac[br.peek(fast_bits)];
    if (e != 0) {
      k += (e >> 4) & 15;
      if (k > Se) {  // libjpeg would store outside the band
        br.fail();
        break;
      }
      put(k++, static_cast<std::uint32_t>(e >> 16));
      br.skip(e & 15);
      continue;
    }
    const int sym = br.decode(ac);
    const int r = sym >> 4, s = sym & 15;
    if (s != 0) {
      k += r;
      if (k > Se) {
        br.fail();
        break;
      }
      put(k++, static_cast<std::uint32_t>(extend(br.get(s), s)));
    } else if (r == 15) {
      k += 16;
    } else {
      eobrun = 1u << r;
      if (r != 0) eobrun += static_cast<unsigned>(br.get(r));
      --eobrun;
      break;
    }
  }
  nzmask = nz;
}

[[gnu::always_inline]] inline int popcount64(std::uint64_t x) {
#if defined(__POPCNT__)
  return __builtin_popcountll(x);
#else  // libgcc's __popcountdi2 is a call and a table; this is a dozen ALU ops
  x = x - ((x >> 1) & 0x5555555555555555ull);
  x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
  x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0Full;
  return static_cast<int>((x * 0x0101010101010101ull) >> 56);
#endif
}

// select_in_byte[b][r]: position of the r-th (from 0) set bit of byte b.
constexpr auto select_in_byte = [] {
  std::array<std::array<std::uint8_t, 8>, 256> t{};
  for (int b = 0; b < 256; ++b) {
    int r = 0;
    for (int i = 0; i < 8; ++i)
      if ((b >> i) & 1) t[static_cast<std::size_t>(b)][static_cast<std::size_t>(r++)] = static_cast<std::uint8_t>(i);
  }
  return t;
}();

// Position of the r-th (from 0) set bit of x, or 64 when x has at most r set
// bits. Small r (most runs) by clearing low bits without branches; larger by
// broadword select (Vigna, "Broadword implementation of rank/select
// queries", 2008): byte-wise prefix popcounts, then a table.
[[gnu::always_inline]] inline int select_bit(std::uint64_t x, int r) {
  if (r < 4) {  // z & (z - 1) clears the lowest set bit; z & z keeps it
    x &= x - static_cast<std::uint64_t>(r > 0);
    x &= x - static_cast<std::uint64_t>(r > 1);
    x &= x - static_cast<std::uint64_t>(r > 2);
    return x != 0 ? __builtin_ctzll(x) : 64;
  }
  constexpr std::uint64_t l8 = 0x0101010101010101ull, h8 = 0x8080808080808080ull;
  std::uint64_t s = x - ((x >> 1) & 0x5555555555555555ull);
  s = (s & 0x3333333333333333ull) + ((s >> 2) & 0x3333333333333333ull);
  s = ((s + (s >> 4)) & 0x0F0F0F0F0F0F0F0Full) * l8;  // byte i: set bits in bytes 0..i
  if (static_cast<int>(s >> 56) <= r) return 64;
  const std::uint64_t le = ((static_cast<std::uint64_t>(r) * l8 | h8) - s) & h8;  // bytes whose prefix count <= r
  const int place = static_cast<int>(((le >> 7) * l8) >> 56) * 8;
  const int before = static_cast<int>(((s << 8) >> place) & 0xFF);
  return place + select_in_byte[(x >> place) & 0xFF][static_cast<std::size_t>(r - before)];
}

// The next n (0..63) bits.
[[gnu::always_inline]] inline std::uint64_t take_bits(bit_reader& br, int n) {
  std::uint64_t v = 0;
  if (n > 24) {  // rare: a long run of coefficients owed a correction bit
    br.ensure(32);
    v = br.buf >> 40;
    br.skip(24);
    n -= 24;
    if (n > 24) {
      br.ensure(32);
      v = v << 24 | br.buf >> 40;
      br.skip(24);
      n -= 24;
    }
  }
  if (br.bits < n) br.refill();
  v = v << n | (br.buf >> (63 - n)) >> 1;  // two shifts: n may be 0
  br.skip(n);
  return v;
}

// jdphuff.c decode_mcu_AC_refine, one block. Every coefficient that was
// non-zero before this scan gets exactly one correction bit, in zigzag order
// (G.1.2.3): those passed over by a zero run right after that run's symbol,
// the rest after the block's EOB. So the bits only need counting while
// decoding (the run's end is found from the mask); they are collected in
// stream order and applied once per block (libjpeg: only if that bit of the
// coefficient is not already set).
[[gnu::always_inline]] inline void block_ac_refine(bit_reader& br, const huff_table& ac, int Ss, int Se, int Al, unsigned& eobrun,
                            std::int16_t* blk, std::uint64_t& nzmask) {
  const int p1 = 1 << Al;
  const int m1 = -p1;
  const std::uint64_t old = nzmask & band_from(Ss, Se);  // owed a correction bit each
  std::uint64_t nz = nzmask;
  std::uint64_t bits = 0;  // correction bits in stream order
  int k = Ss;
  if (eobrun == 0) {
    while (k <= Se) {
      br.ensure(32);
      int r = 0, value = 0;
      const std::int32_t e = ac.fast_ac[br.peek(fast_bits)];
      if (e != 0 && ((e >> 8) & 15) == 1) {  // run, size 1 and sign bit in the lookahead
        r = (e >> 4) & 15;
        value = e < 0 ? m1 : p1;
        br.skip(e & 15);
      } else {
        const int sym = br.decode(ac);
        r = sym >> 4;
        const int s = sym & 15;
        if (s != 0) {
          if (s != 1) br.fail();  // libjpeg: JWRN_HUFF_BAD_CODE
          value = br.get(1) ? p1 : m1;
        } else if (r != 15) {
          eobrun = 1u << r;
          if (r != 0) eobrun += static_cast<unsigned>(br.get(r));
          break;
        }
      }
      // Skip r zero coefficients (16 for ZRL); the next zero is where a new
      // coefficient goes. The non-zero ones passed on the way are all old
      // (this block's new ones lie before k), so there are target - k - r.
      const std::uint64_t band = band_from(k, Se);
      const int target = select_bit(~nz & band, r);
      if (target > Se) {  // the band ends first
        if (value != 0) {  // libjpeg would store it past the band
          br.fail();
          break;
        }
        const int n = popcount64(old & band);
        bits = bits << n | take_bits(br, n);
        k = Se + 1;
        break;
      }
      const int n = target - k - r;
      bits = bits << n | take_bits(br, n);
      if (value != 0) {
        blk[natural_order[target]] = static_cast<std::int16_t>(value);
        nz |= std::uint64_t{1} << target;
      }
      k = target + 1;
    }
  }
  if (eobrun > 0) {
    if (k <= Se) {
      const int n = popcount64(old & band_from(k, Se));
      bits = bits << n | take_bits(br, n);
    }
    --eobrun;
  }
  nzmask = nz;
  if (bits == 0) return;  // no correction is a 1
  int i = popcount64(old);
  for (std::uint64_t o = old; o != 0; o &= o - 1) {  // branch-free: the bits are close to random
    --i;
    std::int16_t& c = blk[natural_order[__builtin_ctzll(o)]];
    const int sign = c >> 15;                      // 0 or -1
    const int step = (p1 ^ sign) - sign;           // p1 for c >= 0, m1 = -p1 below
    const int apply = static_cast<int>((bits >> i) & 1) & static_cast<int>((c & p1) == 0);
    c = static_cast<std::int16_t>(c + (step & -apply));
  }
}

// Writes a decoded 128-byte block to `to` (64-byte aligned) with streaming
// stores, then zeroes it for the next block.
[[gnu::always_inline]] inline void stream_block(std::int16_t* to, std::int16_t* blk) {
#if defined(__SSE2__)
  auto* d = reinterpret_cast<__m128i*>(to);
  auto* b = reinterpret_cast<__m128i*>(blk);
  for (int k = 0; k < 8; ++k) {
    _mm_stream_si128(d + k, _mm_load_si128(b + k));
    _mm_store_si128(b + k, _mm_setzero_si128());
  }
#else
  std::memcpy(to, blk, 64 * sizeof(std::int16_t));
  std::memset(blk, 0, 64 * sizeof(std::int16_t));
#endif
}

// Orders the streaming stores before anything that follows.
inline void stream_done() {
#if defined(__SSE2__)
  _mm_sfence();
#endif
}

enum class scan_kind { sequential, dc_first, dc_refine, ac_first, ac_refine };

// One scan of one kind, from `data` to the marker that follows (`next`, its
// first FF). Instantiated once per kind (decode_scan below), each with its
// own bit reader in registers: a single function holding every kind's loop
// spills it.
template <scan_kind kind>
[[gnu::always_inline]] inline bool decode_scan_body(const scan_setup& sc, std::uint64_t* nz, const std::uint8_t* data,
                                                    const std::uint8_t* end, const std::uint8_t*& next) {
  byte_cursor cur;
  cur.end = end;
  bit_reader br;
  br.cur = &cur;
  br.start(data);
  seg_state st;
  const int Ss = sc.Ss, Se = sc.Se, Al = sc.Al;
  std::int16_t* coef[4] = {};
  for (int c = 0; c < sc.n; ++c) coef[c] = sc.comps[c].plane->coef.data();
  bool ok = false;
  const auto nothing = [](int) {};
  if constexpr (kind == scan_kind::sequential) {
    // Each block is decoded into a zeroed scratch block in L1, then written
    // out whole with streaming stores (and its DC term into the plane's dc
    // array). So the ~37 MB coefficient array is never zeroed and never
    // read for ownership (docs/PERFORMANCE.md: 1-2 ms at 12 MP).
    alignas(64) std::int16_t blk[64] = {};
    std::int16_t* dc[4] = {};
    for (int c = 0; c < sc.n; ++c) dc[c] = sc.comps[c].plane->dc.data();
    ok = run_scan(
        sc, br, st,
        [&](int c, std::size_t i) __attribute__((always_inline)) {
          block_sequential(br, sc.comps[c], st.pred[c], blk);
          dc[c][i] = blk[0];
          stream_block(coef[c] + i * 64, blk);
        },
        nothing);
    stream_done();
    // Blocks no scan codes (a non-interleaved scan covers only
    // width_in_blocks x height_in_blocks of the MCU-padded array) are zero.
    if (sc.n == 1) {
      const coef_plane& pl = *sc.comps[0].plane;
      const std::size_t stride = static_cast<std::size_t>(pl.stride_blocks);
      const std::size_t wib = static_cast<std::size_t>(pl.width_in_blocks);
      if (wib < stride)
        for (int by = 0; by < pl.height_in_blocks; ++by)
          std::memset(coef[0] + (static_cast<std::size_t>(by) * stride + wib) * 64, 0, (stride - wib) * 64 * sizeof(std::int16_t));
      std::memset(coef[0] + static_cast<std::size_t>(pl.height_in_blocks) * stride * 64, 0,
                  static_cast<std::size_t>(pl.rows_blocks - pl.height_in_blocks) * stride * 64 * sizeof(std::int16_t));
    }
  } else if constexpr (kind == scan_kind::dc_first) {  // jdphuff.c decode_mcu_DC_first
    ok = run_scan(sc, br, st, [&](int c, std::size_t i) __attribute__((always_inline)) {
      br.ensure(32);
      int s = br.decode(*sc.comps[c].dc);
      if (s != 0) s = extend(br.get(s), s);
      const std::int64_t v = st.pred[c] + s;
      if (v > INT32_MAX || v < INT32_MIN) br.fail();  // libjpeg: JERR_BAD_DCT_COEF
      st.pred[c] = v;
      coef[c][i * 64] = static_cast<std::int16_t>(static_cast<std::uint32_t>(v) << Al);
    }, nothing);
  } else if constexpr (kind == scan_kind::dc_refine) {  // decode_mcu_DC_refine
    const int p1 = 1 << Al;
    ok = run_scan(sc, br, st, [&](int c, std::size_t i) __attribute__((always_inline)) {
      if (br.get_bit()) coef[c][i * 64] = static_cast<std::int16_t>(coef[c][i * 64] | p1);
    }, nothing);
  } else if constexpr (kind == scan_kind::ac_first) {
    const huff_table& ac = *sc.comps[0].ac;
    ok = run_scan(sc, br, st, [&](int, std::size_t i) __attribute__((always_inline)) { block_ac_first(br, ac, Ss, Se, Al, st.eobrun, coef[0] + i * 64, nz[i]); }, nothing);
  } else {
    const huff_table& ac = *sc.comps[0].ac;
    ok = run_scan(sc, br, st, [&](int, std::size_t i) __attribute__((always_inline)) { block_ac_refine(br, ac, Ss, Se, Al, st.eobrun, coef[0] + i * 64, nz[i]); }, nothing);
  }
  return ok && segment_end(br, next) >= 0;
}

using scan_fn = bool (*)(const scan_setup&, std::uint64_t*, const std::uint8_t*, const std::uint8_t*, const std::uint8_t*&);

template <scan_kind kind>
[[gnu::noinline]] bool decode_scan(const scan_setup& sc, std::uint64_t* nz, const std::uint8_t* data,
                                   const std::uint8_t* end, const std::uint8_t*& next) {
  return decode_scan_body<kind>(sc, nz, data, end, next);
}

#if defined(__x86_64__) && defined(__GNUC__)
// The same, compiled for BMI2 (shlx/shrx: a one-cycle variable shift with no
// flags, on the bit reader's critical path): 2-3% less time for a 12 MP
// baseline or progressive pass (bm_entropy_ours, docs/PERFORMANCE.md).
// Chosen at run time.
template <scan_kind kind>
[[gnu::noinline, gnu::target("bmi,bmi2")]] bool decode_scan_bmi2(const scan_setup& sc, std::uint64_t* nz,
                                                                 const std::uint8_t* data, const std::uint8_t* end,
                                                                 const std::uint8_t*& next) {
  return decode_scan_body<kind>(sc, nz, data, end, next);
}
bool have_bmi2() { return __builtin_cpu_supports("bmi2") != 0; }
#else
template <scan_kind kind>
constexpr scan_fn decode_scan_bmi2 = decode_scan<kind>;
bool have_bmi2() { return false; }
#endif

template <scan_kind kind>
scan_fn pick(bool bmi2) {
  return bmi2 ? static_cast<scan_fn>(decode_scan_bmi2<kind>) : static_cast<scan_fn>(decode_scan<kind>);
}

bool decode_any_scan(const scan_setup& sc, bool progressive, std::vector<std::vector<std::uint64_t>>& masks,
                     const std::uint8_t* data, const std::uint8_t* end, const std::uint8_t*& next, bool bmi2) {
  if (!progressive) return pick<scan_kind::sequential>(bmi2)(sc, nullptr, data, end, next);
  if (sc.Ss == 0)
    return (sc.Ah == 0 ? pick<scan_kind::dc_first>(bmi2) : pick<scan_kind::dc_refine>(bmi2))(sc, nullptr, data, end, next);
  std::uint64_t* nz = masks[static_cast<std::size_t>(sc.comps[0].index)].data();
  return (sc.Ah == 0 ? pick<scan_kind::ac_first>(bmi2) : pick<scan_kind::ac_refine>(bmi2))(sc, nz, data, end, next);
}

std::uint16_t be16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }

std::int16_t* allocate_coefficients(std::size_t n) {
  return static_cast<std::int16_t*>(::operator new(n * sizeof(std::int16_t), std::align_val_t{64}));
}
void free_coefficients(std::int16_t* p) noexcept { ::operator delete(p, std::align_val_t{64}); }
}  // namespace

coef_array::coef_array(std::size_t n) : p_(allocate_coefficients(n)), n_(n), capacity_(n) {}

coef_array::~coef_array() {
  if (p_ == nullptr) return;
  if (pool_ != nullptr) pool_->give(p_, capacity_);
  else free_coefficients(p_);
}

coef_pool::coef_pool(std::size_t limit) : limit_(limit) {}
coef_pool::~coef_pool() { clear(); }

coef_array coef_pool::take(std::size_t n) {
  std::size_t best = count_;
  for (std::size_t i = 0; i < count_; ++i)
    if (free_[i].capacity >= n && (best == count_ || free_[i].capacity < free_[best].capacity)) best = i;
  coef_array a;
  if (best < count_) {
    a.p_ = free_[best].p;
    a.capacity_ = free_[best].capacity;
    retained_ -= a.capacity_ * sizeof(std::int16_t);
    free_[best] = free_[--count_];
  } else {
    a.p_ = allocate_coefficients(n);
    a.capacity_ = n;
  }
  a.n_ = n;
  a.pool_ = this;
  return a;
}

std::size_t coef_pool::smallest() const noexcept {
  std::size_t s = 0;
  for (std::size_t i = 1; i < count_; ++i)
    if (free_[i].capacity < free_[s].capacity) s = i;
  return s;
}

void coef_pool::drop_smallest() noexcept {
  const std::size_t s = smallest();
  retained_ -= free_[s].capacity * sizeof(std::int16_t);
  free_coefficients(free_[s].p);
  free_[s] = free_[--count_];
}

// Keeps the largest arrays within the limits (a larger photo's arrays
// serve a smaller one too, not the other way round).
void coef_pool::give(std::int16_t* p, std::size_t capacity) noexcept {
  const std::size_t bytes = capacity * sizeof(std::int16_t);
  while (count_ == max_buffers || retained_ + bytes > limit_) {
    // Make room only by dropping smaller arrays than this one.
    if (count_ == 0 || bytes > limit_ || free_[smallest()].capacity >= capacity) {
      free_coefficients(p);
      return;
    }
    drop_smallest();
  }
  free_[count_++] = {p, capacity};
  retained_ += bytes;
}

void coef_pool::set_limit(std::size_t limit) noexcept {
  limit_ = limit;
  while (count_ > 0 && retained_ > limit_) drop_smallest();
}

void coef_pool::clear() noexcept {
  while (count_ > 0) drop_smallest();
}

std::optional<coef_frame> entropy_decode(std::span<const std::uint8_t> jpeg, int max_scans, std::string* why,
                                         std::size_t max_coefficient_bytes, entropy_isa isa, coef_pool* pool) {
  const bool bmi2 = isa == entropy_isa::best && have_bmi2();
  auto decline = [&](const char* reason) -> std::optional<coef_frame> {
    if (why != nullptr) *why = reason;
    return std::nullopt;
  };
  const std::uint8_t* const begin = jpeg.data();
  const std::uint8_t* const end = begin + jpeg.size();
  // jdmarker.c first_marker: exactly FF D8 at the start.
  if (jpeg.size() < 4 || begin[0] != 0xFF || begin[1] != 0xD8) return decline("no SOI");

  std::array<huff_table, 8> tables{};  // DC 0..3, AC 0..3
  bool quant_defined[4] = {false, false, false, false};
  std::vector<component> comps;
  coef_frame frame;
  bool saw_sof = false, saw_sos = false;
  bool saw_jfif = false, saw_adobe = false;
  int adobe_transform = 0;
  int restart_interval = 0;
  // jdphuff.c coef_bits: per component and coefficient, the Al of the last
  // scan that coded it, -1 before any.
  std::vector<std::array<int, 64>> coef_bits;
  std::vector<std::vector<std::uint64_t>> nz_masks;  // progressive only, see block_ac_refine

  const std::uint8_t* pos = begin + 2;
  for (;;) {
    // jdmarker.c next_marker: FF, optional FF fill, then the code. Anything
    // else between segments is "extraneous data" (a warning): decline.
    if (pos >= end) return decline("data ends before EOI");
    if (*pos != 0xFF) return decline("extraneous bytes between markers");
    while (pos < end && *pos == 0xFF) ++pos;
    if (pos >= end) return decline("data ends before EOI");
    const int m = *pos++;
    if (m == 0) return decline("extraneous bytes between markers");
    if (m == 0xD9) break;  // EOI
    if ((m >= 0xD0 && m <= 0xD7) || m == 0x01) continue;  // RSTn, TEM: parameterless, ignored by libjpeg
    if (m == 0xD8) return decline("second SOI");
    if (end - pos < 2) return decline("truncated marker segment");
    const int len = be16(pos);
    if (len < 2 || len > end - pos) return decline("bad marker segment length");
    const std::uint8_t* seg = pos + 2;
    const int n = len - 2;
    pos += len;

    if (m >= 0xE0 && m <= 0xEF) {
      // jdmarker.c examine_app0 / examine_app14 (on the first 14 bytes).
      if (m == 0xE0 && n >= 14 && std::memcmp(seg, "JFIF", 5) == 0) {
        if (seg[5] != 1) return decline("JFIF major version not 1");  // JWRN_JFIF_MAJOR
        if (!saw_sos) saw_jfif = true;
      }
      if (m == 0xEE && n >= 12 && std::memcmp(seg, "Adobe", 5) == 0 && !saw_sos) {
        saw_adobe = true;
        adobe_transform = seg[11];
      }
      continue;
    }
    switch (m) {
      case 0xFE:  // COM
        continue;
      case 0xDB: {  // DQT: parsed only to validate (the caller takes the tables from libjpeg)
        if (saw_sos) return decline("DQT after the first scan");
        int i = 0;
        while (i < n) {
          const int pq = seg[i] >> 4, tq = seg[i] & 15;
          if (pq > 1 || tq > 3) return decline("bad DQT");
          const int size = 1 + 64 * (pq + 1);
          if (n - i < size) return decline("bad DQT length");
          quant_defined[tq] = true;
          i += size;
        }
        continue;
      }
      case 0xC4: {  // DHT (jdmarker.c get_dht); validated when a scan uses it, as libjpeg does
        int i = 0;
        while (n - i > 16) {
          const int index = seg[i];
          std::uint8_t bits[17] = {0};
          int count = 0;
          for (int l = 1; l <= 16; ++l) count += bits[l] = seg[i + l];
          i += 17;
          if (count > 256 || count > n - i) return decline("bad DHT");
          const bool ac = (index & 0x10) != 0;
          const int slot = index & ~0x10;
          if (slot > 3) return decline("bad DHT index");
          std::uint8_t vals[256] = {0};
          std::memcpy(vals, seg + i, static_cast<std::size_t>(count));
          i += count;
          huff_table& t = tables[(ac ? 4 : 0) + slot];
          build_table(t, bits, vals, count, !ac);
        }
        if (i != n) return decline("bad DHT length");
        continue;
      }
      case 0xDD:  // DRI
        if (n != 2) return decline("bad DRI");
        restart_interval = be16(seg);
        continue;
      case 0xC0:
      case 0xC1:
      case 0xC2: {  // SOF0/1/2, Huffman
        if (saw_sof) return decline("second SOF");
        saw_sof = true;
        if (n < 6) return decline("bad SOF");
        if (seg[0] != 8) return decline("not 8-bit");
        frame.height = be16(seg + 1);
        frame.width = be16(seg + 3);
        const int nc = seg[5];
        if (frame.width == 0 || frame.height == 0) return decline("empty image or DNL");
        if (frame.width > 65500 || frame.height > 65500) return decline("image too big");
        if (nc < 1 || nc > 4) return decline("component count");
        if (n != 6 + 3 * nc) return decline("bad SOF length");
        frame.progressive = m == 0xC2;
        for (int c = 0; c < nc; ++c) {
          component cp;
          cp.id = seg[6 + 3 * c];
          cp.h = seg[7 + 3 * c] >> 4;
          cp.v = seg[7 + 3 * c] & 15;
          cp.tq = seg[8 + 3 * c];
          if (cp.h < 1 || cp.h > 4 || cp.v < 1 || cp.v > 4) return decline("bad sampling factors");
          if (cp.tq > 3) return decline("bad quant table index");
          for (const component& o : comps)
            if (o.id == cp.id) return decline("duplicate component id");
          frame.max_h = std::max(frame.max_h, cp.h);
          frame.max_v = std::max(frame.max_v, cp.v);
          comps.push_back(cp);
        }
        continue;
      }
      case 0xDA: {  // SOS
        if (!saw_sof) return decline("SOS before SOF");
        const int ns = n >= 1 ? seg[0] : 0;
        if (ns < 1 || ns > 4 || n != 4 + 2 * ns) return decline("bad SOS");
        if (++frame.scans > max_scans) return decline("too many scans");
        const int nc = static_cast<int>(comps.size());
        if (!saw_sos) {
          saw_sos = true;
          // jdapimin.c default_decompress_parms warns about these Adobe transforms.
          if (nc == 3 && !saw_jfif && saw_adobe && adobe_transform > 1) return decline("unknown Adobe transform");
          if (nc == 4 && saw_adobe && adobe_transform != 0 && adobe_transform != 2)
            return decline("unknown Adobe transform");
          // jdinput.c initial_setup and jdcoefct.c's MCU-padded arrays, zeroed.
          std::size_t total = 0;  // the coefficient bytes this frame needs, checked before any allocation
          for (const component& cp : comps) {
            const std::size_t wb = (static_cast<std::size_t>(frame.width) * cp.h + frame.max_h * 8 - 1) / (frame.max_h * 8);
            const std::size_t hb = (static_cast<std::size_t>(frame.height) * cp.v + frame.max_v * 8 - 1) / (frame.max_v * 8);
            total += (wb + cp.h) * (hb + cp.v) * 64 * sizeof(std::int16_t);
          }
          if (total > max_coefficient_bytes) return decline("frame larger than the caller allows");
          for (const component& cp : comps) {
            coef_plane pl;
            pl.id = cp.id;
            pl.h = cp.h;
            pl.v = cp.v;
            pl.quant_table = cp.tq;
            pl.width_in_blocks = static_cast<int>((static_cast<long>(frame.width) * cp.h + frame.max_h * 8 - 1) / (frame.max_h * 8));
            pl.height_in_blocks = static_cast<int>((static_cast<long>(frame.height) * cp.v + frame.max_v * 8 - 1) / (frame.max_v * 8));
            pl.stride_blocks = (pl.width_in_blocks + cp.h - 1) / cp.h * cp.h;
            pl.rows_blocks = (pl.height_in_blocks + cp.v - 1) / cp.v * cp.v;
            // A sequential scan writes every block of its components (each
            // component is in exactly one); progressive scans accumulate.
            const std::size_t n = static_cast<std::size_t>(pl.stride_blocks) * static_cast<std::size_t>(pl.rows_blocks) * 64;
            pl.coef = pool != nullptr ? pool->take(n) : coef_array(n);
            if (frame.progressive) std::memset(pl.coef.data(), 0, pl.coef.size() * sizeof(std::int16_t));
            if (!frame.progressive)
              pl.dc.assign(static_cast<std::size_t>(pl.stride_blocks) * static_cast<std::size_t>(pl.rows_blocks), 0);
            frame.planes.push_back(std::move(pl));
          }
          coef_bits.assign(comps.size(), {});
          for (auto& cb : coef_bits) cb.fill(-1);
          if (frame.progressive)
            for (const coef_plane& pl : frame.planes)
              nz_masks.emplace_back(static_cast<std::size_t>(pl.stride_blocks) * static_cast<std::size_t>(pl.rows_blocks), 0);
        }
        scan_setup sc;
        sc.n = ns;
        std::array<int, 4> ci{};
        for (int i = 0; i < ns; ++i) {
          const int id = seg[1 + 2 * i], td = seg[2 + 2 * i] >> 4, ta = seg[2 + 2 * i] & 15;
          int found = -1;
          for (int c = 0; c < nc; ++c)
            if (comps[c].id == id) found = c;
          if (found < 0) return decline("unknown component in SOS");
          for (int j = 0; j < i; ++j)
            if (ci[j] == found) return decline("component twice in SOS");
          if (td > 3 || ta > 3) return decline("bad table index");
          ci[i] = found;
          sc.comps[i].plane = &frame.planes[found];
          sc.comps[i].index = found;
          sc.comps[i].dc = &tables[td];
          sc.comps[i].ac = &tables[4 + ta];
        }
        sc.Ss = seg[1 + 2 * ns];
        sc.Se = seg[2 + 2 * ns];
        sc.Ah = seg[3 + 2 * ns] >> 4;
        sc.Al = seg[3 + 2 * ns] & 15;
        sc.restart_interval = restart_interval;

        bool need_dc = true, need_ac = true;
        if (!frame.progressive) {
          // jdhuff.c start_pass_huff_decoder warns (JWRN_NOT_SEQUENTIAL).
          if (sc.Ss != 0 || sc.Se != 63 || sc.Ah != 0 || sc.Al != 0) return decline("bad sequential scan parameters");
          for (int i = 0; i < ns; ++i)  // a second sequential scan of a component would mix with the first
            if (comps[ci[i]].scanned) return decline("component in two sequential scans");
        } else {
          // jdphuff.c start_pass_phuff_decoder: errors, then JWRN_BOGUS_PROGRESSION.
          const bool dc_band = sc.Ss == 0;
          if (dc_band ? sc.Se != 0 : (sc.Ss > sc.Se || sc.Se > 63 || ns != 1)) return decline("bad progression");
          if (sc.Ah != 0 && sc.Al != sc.Ah - 1) return decline("bad progression");
          if (sc.Al > 13) return decline("bad progression");
          for (int i = 0; i < ns; ++i) {
            auto& cb = coef_bits[ci[i]];
            if (!dc_band && cb[0] < 0) return decline("AC scan before DC scan");
            for (int k = sc.Ss; k <= sc.Se; ++k) {
              if (sc.Ah != std::max(cb[k], 0)) return decline("bogus progression");
              cb[k] = sc.Al;
            }
          }
          need_dc = dc_band && sc.Ah == 0;
          need_ac = !dc_band;
        }
        for (int i = 0; i < ns; ++i) {
          // jdinput.c latch_quant_tables (a component's first scan), then the Huffman tables.
          component& cp = comps[ci[i]];
          if (!cp.scanned && !quant_defined[cp.tq]) return decline("missing quantisation table");
          cp.scanned = true;
          if (need_dc && !sc.comps[i].dc->valid) return decline("missing or bad DC Huffman table");
          if (need_ac && !sc.comps[i].ac->valid) return decline("missing or bad AC Huffman table");
        }
        // jdinput.c per_scan_setup.
        if (ns == 1) {
          sc.mcus_x = sc.comps[0].plane->width_in_blocks;
          sc.mcus_y = sc.comps[0].plane->height_in_blocks;
        } else {
          int blocks = 0;
          for (int i = 0; i < ns; ++i) {
            sc.comps[i].mcu_w = sc.comps[i].plane->h;
            sc.comps[i].mcu_h = sc.comps[i].plane->v;
            blocks += sc.comps[i].mcu_w * sc.comps[i].mcu_h;
          }
          if (blocks > 10) return decline("MCU has more than 10 blocks");
          sc.mcus_x = (frame.width + frame.max_h * 8 - 1) / (frame.max_h * 8);
          sc.mcus_y = (frame.height + frame.max_v * 8 - 1) / (frame.max_v * 8);
        }
        const std::uint8_t* next = nullptr;
        if (!decode_any_scan(sc, frame.progressive, nz_masks, pos, end, next, bmi2)) return decline("corrupt or truncated entropy data");
        pos = next;
        continue;
      }
      default:
        // SOF3/5-15 (lossless, hierarchical, arithmetic), DAC, DNL, DHP, EXP,
        // JPGn and reserved codes: libjpeg errors out or this decoder does not
        // handle them.
        return decline("unsupported marker");
    }
  }
  if (!saw_sos) return decline("no scan");
  for (const component& cp : comps)
    if (!cp.scanned) return decline("component not in any scan");
  return frame;
}

}  // namespace kycprep::detail
