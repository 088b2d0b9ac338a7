// Stage 2: EXIF orientation parsing, pixel transforms, rect mapping.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <random>
#include <span>
#include <vector>

#include "kycprep/orient.hpp"
#include "test_support.hpp"

namespace kycprep {
namespace {

// ---------------------------------------------------------------------------
// Hand-built TIFF blobs.

struct ifd_entry {
  std::uint16_t tag = 0;
  std::uint16_t type = 0;
  std::uint32_t count = 0;
  std::uint8_t value[4] = {0, 0, 0, 0};  // raw value field, already in file byte order
};

class tiff_writer {
 public:
  explicit tiff_writer(bool big_endian) : be_(big_endian) {}

  void u16(std::vector<std::uint8_t>& b, std::uint16_t v) const {
    if (be_) {
      b.push_back(static_cast<std::uint8_t>(v >> 8));
      b.push_back(static_cast<std::uint8_t>(v));
    } else {
      b.push_back(static_cast<std::uint8_t>(v));
      b.push_back(static_cast<std::uint8_t>(v >> 8));
    }
  }
  void u32(std::vector<std::uint8_t>& b, std::uint32_t v) const {
    if (be_) {
      u16(b, static_cast<std::uint16_t>(v >> 16));
      u16(b, static_cast<std::uint16_t>(v));
    } else {
      u16(b, static_cast<std::uint16_t>(v));
      u16(b, static_cast<std::uint16_t>(v >> 16));
    }
  }
  // A SHORT value sits in the first two bytes of the field in either order.
  ifd_entry short_entry(std::uint16_t tag, std::uint16_t v, std::uint32_t count = 1) const {
    ifd_entry e{tag, 3, count, {}};
    std::vector<std::uint8_t> b;
    u16(b, v);
    e.value[0] = b[0];
    e.value[1] = b[1];
    return e;
  }
  ifd_entry long_entry(std::uint16_t tag, std::uint32_t v) const {
    ifd_entry e{tag, 4, 1, {}};
    std::vector<std::uint8_t> b;
    u32(b, v);
    for (int i = 0; i < 4; ++i) e.value[i] = b[i];
    return e;
  }

  /// Header + IFD0 at `ifd_offset` (zero-filled gap) + next-IFD link.
  std::vector<std::uint8_t> build(const std::vector<ifd_entry>& entries, std::uint32_t ifd_offset = 8,
                                  std::uint32_t next_ifd = 0, std::uint16_t magic = 42) const {
    std::vector<std::uint8_t> b;
    b.push_back(be_ ? 'M' : 'I');
    b.push_back(be_ ? 'M' : 'I');
    u16(b, magic);
    u32(b, ifd_offset);
    b.resize(ifd_offset, 0);
    u16(b, static_cast<std::uint16_t>(entries.size()));
    for (const auto& e : entries) {
      u16(b, e.tag);
      u16(b, e.type);
      u32(b, e.count);
      b.insert(b.end(), e.value, e.value + 4);
    }
    u32(b, next_ifd);
    return b;
  }

 private:
  bool be_;
};

exif_orientation parse(const std::vector<std::uint8_t>& b) { return parse_exif_orientation(std::span(b)); }

void expect_malformed(const std::vector<std::uint8_t>& b, const char* what) {
  const exif_orientation r = parse(b);
  EXPECT_EQ(r.value, 1) << what;
  EXPECT_FALSE(r.warning.empty()) << what;
}

class exif_both_orders : public ::testing::TestWithParam<bool> {
 protected:
  tiff_writer w{GetParam()};
};

TEST_P(exif_both_orders, every_valid_orientation_as_short) {
  for (std::uint16_t v = 1; v <= 8; ++v) {
    // Surround the tag with others so the scan, not position, finds it.
    const auto blob = w.build({w.short_entry(0x010F, 0x4142), w.short_entry(0x0112, v), w.long_entry(0x8769, 0)});
    const exif_orientation r = parse(blob);
    EXPECT_EQ(r.value, v);
    EXPECT_TRUE(r.warning.empty()) << r.warning;
  }
}

TEST_P(exif_both_orders, long_type_is_tolerated) {
  for (std::uint32_t v = 1; v <= 8; ++v) {
    const exif_orientation r = parse(w.build({w.long_entry(0x0112, v)}));
    EXPECT_EQ(r.value, static_cast<int>(v));
    EXPECT_TRUE(r.warning.empty()) << r.warning;
  }
  // A LONG whose low 16 bits are in range is still out of range as a whole.
  expect_malformed(w.build({w.long_entry(0x0112, 0x10006)}), "LONG 0x10006");
}

TEST_P(exif_both_orders, ifd0_after_a_gap_and_garbage_in_unused_value_bytes) {
  auto e = w.short_entry(0x0112, 6);
  e.value[2] = 0xAB;  // the unused half of the value field must not leak into the SHORT
  e.value[3] = 0xCD;
  const exif_orientation r = parse(w.build({e}, 40));
  EXPECT_EQ(r.value, 6);
  EXPECT_TRUE(r.warning.empty()) << r.warning;
}

TEST_P(exif_both_orders, absent_tag_is_upright_without_warning) {
  for (const auto& blob : {w.build({}), w.build({w.short_entry(0x0110, 6), w.short_entry(0x0113, 6)})}) {
    const exif_orientation r = parse(blob);
    EXPECT_EQ(r.value, 1);
    EXPECT_TRUE(r.warning.empty()) << r.warning;
  }
}

TEST_P(exif_both_orders, out_of_range_values) {
  for (std::uint16_t v : {0, 9, 255, 0xFFFF}) {
    expect_malformed(w.build({w.short_entry(0x0112, v)}), "value out of 1..8");
  }
}

TEST_P(exif_both_orders, wrong_type_or_count) {
  for (std::uint16_t type : {1, 2, 5, 7, 8, 9, 0, 0xFFFF}) {  // BYTE ASCII RATIONAL UNDEFINED SSHORT SLONG ...
    auto e = w.short_entry(0x0112, 6);
    e.type = type;
    expect_malformed(w.build({e}), "wrong type");
  }
  expect_malformed(w.build({w.short_entry(0x0112, 6, 0)}), "count 0");
  expect_malformed(w.build({w.short_entry(0x0112, 6, 2)}), "count 2");
  expect_malformed(w.build({w.short_entry(0x0112, 6, 0xFFFFFFFF)}), "count 2^32-1");
}

TEST_P(exif_both_orders, truncation_at_every_length) {
  const auto full = w.build({w.short_entry(0x010F, 1), w.short_entry(0x0112, 6)});
  const std::size_t ifd_end = 8 + 2 + 2 * 12;  // the next-IFD link is not needed
  for (std::size_t n = 0; n <= full.size(); ++n) {
    const std::vector<std::uint8_t> cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    const exif_orientation r = parse(cut);
    if (n < ifd_end) {
      EXPECT_EQ(r.value, 1) << n;
      EXPECT_FALSE(r.warning.empty()) << n;
    } else {
      EXPECT_EQ(r.value, 6) << n;
      EXPECT_TRUE(r.warning.empty()) << n << ": " << r.warning;
    }
  }
}

TEST_P(exif_both_orders, bad_header_fields) {
  auto bad_order = w.build({w.short_entry(0x0112, 6)});
  bad_order[1] = bad_order[0] == 'I' ? 'M' : 'I';
  expect_malformed(bad_order, "mixed byte order");
  expect_malformed(w.build({w.short_entry(0x0112, 6)}, 8, 0, 43), "magic 43");
  expect_malformed(w.build({w.short_entry(0x0112, 6)}, 8, 0, 0x2A00), "magic byte-swapped");
}

TEST_P(exif_both_orders, ifd_offsets_out_of_range) {
  auto blob = w.build({w.short_entry(0x0112, 6)});
  const auto with_ifd0 = [&](std::uint32_t off) {
    auto b = blob;
    std::vector<std::uint8_t> o;
    w.u32(o, off);
    std::copy(o.begin(), o.end(), b.begin() + 4);
    return b;
  };
  expect_malformed(with_ifd0(static_cast<std::uint32_t>(blob.size())), "IFD0 at end");
  expect_malformed(with_ifd0(static_cast<std::uint32_t>(blob.size() - 1)), "IFD0 count cut");
  expect_malformed(with_ifd0(0xFFFFFFFF), "IFD0 at 2^32-1");
  expect_malformed(with_ifd0(0xFFFFFFFE), "IFD0 at 2^32-2");
  expect_malformed(with_ifd0(0), "IFD0 at the header");
  expect_malformed(with_ifd0(4), "IFD0 pointing at its own offset field");
  expect_malformed(with_ifd0(7), "IFD0 overlapping the header");
}

TEST_P(exif_both_orders, entry_count_past_end) {
  auto blob = w.build({w.short_entry(0x0112, 6)});
  for (std::uint16_t count : {2, 3, 0x7FFF, 0xFFFF}) {
    auto b = blob;
    std::vector<std::uint8_t> c;
    w.u16(c, count);
    b[8] = c[0];
    b[9] = c[1];
    expect_malformed(b, "entry count past end");
  }
}

TEST_P(exif_both_orders, self_linked_ifd_does_not_loop) {
  // Only IFD0 is read, so a next-IFD link back to IFD0 is simply not followed.
  const exif_orientation r = parse(w.build({w.short_entry(0x0112, 3)}, 8, 8));
  EXPECT_EQ(r.value, 3);
  EXPECT_TRUE(r.warning.empty());
}

INSTANTIATE_TEST_SUITE_P(byte_order, exif_both_orders, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "MM" : "II"; });

TEST(exif, empty_and_tiny_inputs) {
  expect_malformed({}, "empty");
  expect_malformed({'I'}, "1 byte");
  expect_malformed({'M', 'M', 0, 42}, "4 bytes");
}

TEST(exif, known_big_endian_bytes) {
  // Bytes as a camera writes them: MM, 42, IFD0 at 8, one entry 0112 SHORT 1 = 6.
  const std::vector<std::uint8_t> b = {'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0,
                                       0, 0, 0, 0};
  EXPECT_EQ(parse(b).value, 6);
  const std::vector<std::uint8_t> l = {'I', 'I', 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 8, 0, 0, 0,
                                       0, 0, 0, 0};
  EXPECT_EQ(parse(l).value, 8);
}

TEST(exif, random_and_mutated_blobs_stay_in_range) {
  std::mt19937 rng(1234);
  const tiff_writer w(false);
  const auto valid = w.build({w.short_entry(0x010F, 1), w.short_entry(0x0112, 5), w.long_entry(0x8769, 40)});
  for (int i = 0; i < 20000; ++i) {
    auto b = valid;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) b[rng() % b.size()] = static_cast<std::uint8_t>(rng());
    b.resize(rng() % (b.size() + 1));
    const exif_orientation r = parse(b);
    ASSERT_GE(r.value, 1);
    ASSERT_LE(r.value, 8);
    if (r.value != 1) {
      ASSERT_TRUE(r.warning.empty());
    }
  }
}

// ---------------------------------------------------------------------------
// The EXIF fixtures in data/: the TIFF block is cut out of the file here with a
// minimal marker/chunk walk, so the parser is tested on the bytes real writers
// (and the hostile-fixture generator) produced, independently of the decoder.

std::vector<std::uint8_t> tiff_block_of(const std::vector<std::uint8_t>& f) {
  const auto be16 = [&](std::size_t i) { return static_cast<std::size_t>(f[i] << 8 | f[i + 1]); };
  if (f.size() > 4 && f[0] == 0xFF && f[1] == 0xD8) {
    std::size_t i = 2;
    while (i + 4 <= f.size() && f[i] == 0xFF && f[i + 1] != 0xDA) {
      const std::size_t len = be16(i + 2);
      const std::size_t payload = i + 4;
      if (len < 2 || payload + len - 2 > f.size()) break;
      if (f[i + 1] == 0xE1 && len - 2 >= 6 && std::equal(f.begin() + payload, f.begin() + payload + 6, "Exif\0\0")) {
        return {f.begin() + payload + 6, f.begin() + payload + len - 2};
      }
      i = payload + len - 2;
    }
  } else if (f.size() > 8 && f[1] == 'P' && f[2] == 'N' && f[3] == 'G') {
    std::size_t i = 8;
    while (i + 12 <= f.size()) {
      const std::size_t len = be16(i) << 16 | be16(i + 2);
      if (len > f.size() - i - 12) break;
      if (std::equal(f.begin() + i + 4, f.begin() + i + 8, "eXIf")) return {f.begin() + i + 8, f.begin() + i + 8 + len};
      i += 12 + len;
    }
  }
  ADD_FAILURE() << "no EXIF block found";
  return {};
}

TEST(exif, data_fixtures) {
  const auto dir = test::data_dir();
  struct expect {
    const char* file;
    int value;
    bool warning;
  };
  const expect cases[] = {
      {"fixtures/orientation/orient_1.jpg", 1, false}, {"fixtures/orientation/orient_2.jpg", 2, false},
      {"fixtures/orientation/orient_3.jpg", 3, false}, {"fixtures/orientation/orient_4.jpg", 4, false},
      {"fixtures/orientation/orient_5.jpg", 5, false}, {"fixtures/orientation/orient_6.jpg", 6, false},
      {"fixtures/orientation/orient_7.jpg", 7, false}, {"fixtures/orientation/orient_8.jpg", 8, false},
      {"fixtures/orientation/orient_6.png", 6, false}, {"fixtures/jpeg/metadata_all.jpg", 1, false},
      {"samples/astronaut_exif6.jpg", 6, false},       {"hostile/exif_ifd_chain_loop.jpg", 3, false},
      {"hostile/exif_ifd_offset_oor.jpg", 1, true},    {"hostile/exif_ifd_selfref.jpg", 1, true},
      {"hostile/exif_truncated.jpg", 1, true},         {"hostile/exif_orientation_9.jpg", 1, true},
      {"hostile/exif_orientation_0.jpg", 1, true},     {"hostile/garbage_exif.png", 1, true},
  };
  for (const auto& c : cases) {
    if (!std::filesystem::exists(dir / c.file)) {
      ADD_FAILURE() << "missing fixture " << c.file;
      continue;
    }
    const exif_orientation r = parse(tiff_block_of(test::read_bytes(dir / c.file)));
    EXPECT_EQ(r.value, c.value) << c.file;
    EXPECT_EQ(!r.warning.empty(), c.warning) << c.file << ": " << r.warning;
  }
}

// ---------------------------------------------------------------------------
// The EXIF thumbnail (IFD1).

const std::vector<std::uint8_t> kThumb = {0xFF, 0xD8, 0xFF, 0xDB, 1, 2, 3, 4, 5, 0xFF, 0xD9};

// Reads a 32-bit value at `at` in the block's byte order and writes `v` there.
void poke32(std::vector<std::uint8_t>& b, std::size_t at, std::uint32_t v) {
  const bool be = b[0] == 'M';
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<std::uint8_t>(be ? v >> (24 - 8 * i) : v >> (8 * i));
}

TEST(exif_thumbnail, found_in_both_byte_orders_with_the_orientation_still_read) {
  for (bool be : {false, true}) {
    const auto b = test::camera_exif(6, kThumb, be);
    const auto t = parse_exif_thumbnail(b);
    ASSERT_TRUE(t.has_value()) << be;
    EXPECT_EQ(t->size, kThumb.size());
    ASSERT_LE(t->offset + t->size, b.size());
    EXPECT_TRUE(std::equal(kThumb.begin(), kThumb.end(), b.begin() + static_cast<std::ptrdiff_t>(t->offset)));
    EXPECT_EQ(parse_exif_orientation(b).value, 6);
  }
}

TEST(exif_thumbnail, absent_without_ifd1) {
  EXPECT_FALSE(parse_exif_thumbnail(test::camera_exif(1, {}, false)).has_value());
  EXPECT_FALSE(parse_exif_thumbnail({}).has_value());
}

TEST(exif_thumbnail, malformed_links_and_ranges_give_none) {
  // Layout of camera_exif: IFD0 at 8 (one entry), link at 22, IFD1 at 26,
  // its entries at 28 (+12 each: compression, offset, length), data at 68.
  const auto good = test::camera_exif(1, kThumb, false);
  ASSERT_TRUE(parse_exif_thumbnail(good).has_value());
  auto with = [&](std::size_t at, std::uint32_t v) {
    auto b = good;
    poke32(b, at, v);
    return parse_exif_thumbnail(b);
  };
  EXPECT_FALSE(with(22, 8).has_value());            // IFD1 link back to IFD0
  EXPECT_FALSE(with(22, 4).has_value());            // link into the header
  EXPECT_FALSE(with(22, 0xFFFFFFF0u).has_value());  // link past the end
  EXPECT_FALSE(with(28 + 12 + 8, 0xFFFFFFFFu).has_value());                           // data offset past the end
  EXPECT_FALSE(with(28 + 24 + 8, static_cast<std::uint32_t>(good.size())).has_value());  // length past the end
  EXPECT_FALSE(with(28 + 24 + 8, 0xFFFFFFFFu).has_value());                           // length that would wrap
  EXPECT_FALSE(with(28 + 24 + 8, 2).has_value());                                     // too short for a JPEG
  auto no_soi = good;
  no_soi[68] = 0x00;  // the data does not start with an SOI marker
  EXPECT_FALSE(parse_exif_thumbnail(no_soi).has_value());
  auto count2 = good;
  poke32(count2, 28 + 12 + 4, 2);  // offset tag with count 2
  EXPECT_FALSE(parse_exif_thumbnail(count2).has_value());
  // Every truncation of the block: never a range outside what is left.
  for (std::size_t n = 0; n < good.size(); ++n) {
    const auto t = parse_exif_thumbnail(std::span(good.data(), n));
    if (t) EXPECT_LE(t->offset + t->size, n);
  }
  // Random corruption of the IFD bytes: any range reported lies inside and starts at an SOI.
  std::mt19937 rng(5);
  for (int i = 0; i < 20000; ++i) {
    auto b = good;
    for (int k = 0; k < 3; ++k) b[rng() % 68] = static_cast<std::uint8_t>(rng());
    const auto t = parse_exif_thumbnail(b);
    if (!t) continue;
    ASSERT_LE(t->offset + t->size, b.size());
    ASSERT_EQ(b[t->offset], 0xFF);
    ASSERT_EQ(b[t->offset + 1], 0xD8);
  }
}

// ---------------------------------------------------------------------------
// Pixel transforms.

image make_image(int w, int h, int channels, int seed = 0) {
  image img;
  img.width = w;
  img.height = h;
  img.channels = channels;
  img.pixels.resize(static_cast<std::size_t>(w) * h * channels);
  for (std::size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = static_cast<std::uint8_t>(i * 7 + seed);
  return img;
}

// The EXIF definitions, written out independently of orient.cpp.
struct point {
  int x, y;
};
point stored_to_upright_point(int x, int y, int W, int H, int o) {
  switch (o) {
    case 2: return {W - 1 - x, y};
    case 3: return {W - 1 - x, H - 1 - y};
    case 4: return {x, H - 1 - y};
    case 5: return {y, x};
    case 6: return {H - 1 - y, x};
    case 7: return {H - 1 - y, W - 1 - x};
    case 8: return {y, W - 1 - x};
    default: return {x, y};
  }
}

int inverse_of(int o) { return o == 6 ? 8 : o == 8 ? 6 : o; }

TEST(apply_orientation, hand_checked_gray_3x2) {
  image s;
  s.width = 3;
  s.height = 2;
  s.channels = 1;
  s.pixels = {1, 2, 3, 4, 5, 6};
  struct expect {
    int o, w, h;
    std::vector<std::uint8_t> px;
  };
  const expect cases[] = {
      {1, 3, 2, {1, 2, 3, 4, 5, 6}}, {2, 3, 2, {3, 2, 1, 6, 5, 4}}, {3, 3, 2, {6, 5, 4, 3, 2, 1}},
      {4, 3, 2, {4, 5, 6, 1, 2, 3}}, {5, 2, 3, {1, 4, 2, 5, 3, 6}}, {6, 2, 3, {4, 1, 5, 2, 6, 3}},
      {7, 2, 3, {6, 3, 5, 2, 4, 1}}, {8, 2, 3, {3, 6, 2, 5, 1, 4}},
  };
  for (const auto& c : cases) {
    const image u = apply_orientation(s, c.o);
    EXPECT_EQ(u.width, c.w) << c.o;
    EXPECT_EQ(u.height, c.h) << c.o;
    EXPECT_EQ(u.channels, 1);
    EXPECT_EQ(u.pixels, c.px) << "orientation " << c.o;
  }
}

TEST(apply_orientation, every_pixel_matches_the_definition) {
  // Sizes straddle the 32-pixel tile so partial tiles and single rows/columns are covered.
  const int sizes[][2] = {{1, 1}, {1, 7}, {7, 1}, {3, 2}, {2, 3}, {31, 33}, {33, 31}, {64, 64}, {70, 45}, {1, 100}};
  for (int channels : {1, 3, 2, 4}) {  // 1 and 3 are the pipeline's; 2 and 4 take the generic paths
    for (const auto& sz : sizes) {
      const int W = sz[0], H = sz[1];
      const image s = make_image(W, H, channels);
      for (int o = 1; o <= 8; ++o) {
        const image u = apply_orientation(s, o);
        const size2 us = upright_size(W, H, o);
        ASSERT_EQ(u.width, us.w);
        ASSERT_EQ(u.height, us.h);
        ASSERT_EQ(u.channels, channels);
        ASSERT_EQ(u.pixels.size(), s.pixels.size());
        for (int y = 0; y < H; ++y) {
          for (int x = 0; x < W; ++x) {
            const point p = stored_to_upright_point(x, y, W, H, o);
            for (int c = 0; c < channels; ++c) {
              ASSERT_EQ(u.pixels[(static_cast<std::size_t>(p.y) * u.width + p.x) * channels + c],
                        s.pixels[(static_cast<std::size_t>(y) * W + x) * channels + c])
                  << "o=" << o << " " << W << "x" << H << "x" << channels << " at " << x << "," << y;
            }
          }
        }
      }
    }
  }
}

TEST(apply_orientation, inverse_restores_the_image) {
  for (int channels : {1, 3}) {
    const image s = make_image(37, 21, channels, 3);
    for (int o = 1; o <= 8; ++o) {
      const image back = apply_orientation(apply_orientation(s, o), inverse_of(o));
      EXPECT_EQ(back.width, s.width);
      EXPECT_EQ(back.height, s.height);
      EXPECT_EQ(back.pixels, s.pixels) << o;
    }
    // Four quarter turns and two half turns are the identity too.
    image r = s;
    for (int i = 0; i < 4; ++i) r = apply_orientation(r, 6);
    EXPECT_EQ(r.pixels, s.pixels);
    EXPECT_EQ(apply_orientation(apply_orientation(s, 3), 3).pixels, s.pixels);
  }
}

TEST(apply_orientation, out_of_range_is_a_copy) {
  const image s = make_image(5, 3, 3);
  for (int o : {0, 9, -1, 1000}) {
    const image u = apply_orientation(s, o);
    EXPECT_EQ(u.width, 5);
    EXPECT_EQ(u.height, 3);
    EXPECT_EQ(u.pixels, s.pixels);
  }
}

TEST(apply_orientation, empty_and_inconsistent_images) {
  image e;
  e.width = 0;
  e.height = 4;
  e.channels = 3;
  const image u = apply_orientation(e, 6);
  EXPECT_EQ(u.width, 4);
  EXPECT_EQ(u.height, 0);
  EXPECT_TRUE(u.pixels.empty());

  image bad = make_image(4, 4, 3);
  bad.pixels.resize(10);  // violates width * height * channels: nothing is read
  EXPECT_TRUE(apply_orientation(bad, 6).empty());
}

// ---------------------------------------------------------------------------
// Rect mapping.

TEST(rect_mapping, example_from_the_contract) {
  // o = 6: a stored W x H image shows as H x W; stored (x, y) appears at (H-1-y, x).
  const int W = 40, H = 30;
  EXPECT_EQ(upright_size(W, H, 6), (size2{H, W}));
  EXPECT_EQ(stored_to_upright({5, 7, 1, 1}, W, H, 6), (rect{H - 1 - 7, 5, 1, 1}));
  EXPECT_EQ(stored_to_upright({5, 7, 10, 4}, W, H, 6), (rect{H - 7 - 4, 5, 4, 10}));
  EXPECT_EQ(upright_to_stored({H - 7 - 4, 5, 4, 10}, W, H, 6), (rect{5, 7, 10, 4}));
}

TEST(rect_mapping, exhaustive_inverse_and_agreement_with_pixels) {
  const int sizes[][2] = {{5, 3}, {3, 5}, {4, 4}, {1, 1}, {1, 4}};
  for (const auto& sz : sizes) {
    const int W = sz[0], H = sz[1];
    // One distinct gray value per pixel, so a pixel's value names its stored position.
    image s;
    s.width = W;
    s.height = H;
    s.channels = 1;
    for (int i = 0; i < W * H; ++i) s.pixels.push_back(static_cast<std::uint8_t>(i));
    for (int o = 0; o <= 9; ++o) {  // 0 and 9 behave as 1
      const image u = apply_orientation(s, o);
      const size2 us = upright_size(W, H, o >= 1 && o <= 8 ? o : 1);
      ASSERT_EQ(u.width, us.w);
      for (int y = 0; y < H; ++y) {
        for (int x = 0; x < W; ++x) {
          for (int h = 1; y + h <= H; ++h) {
            for (int w = 1; x + w <= W; ++w) {
              const rect r{x, y, w, h};
              const rect ur = stored_to_upright(r, W, H, o);
              ASSERT_EQ(upright_to_stored(ur, W, H, o), r) << "o=" << o;
              ASSERT_GE(ur.x, 0);
              ASSERT_GE(ur.y, 0);
              ASSERT_LE(ur.x + ur.w, us.w);
              ASSERT_LE(ur.y + ur.h, us.h);
              ASSERT_EQ(ur.w * ur.h, w * h);
              // Every upright pixel inside ur came from a stored pixel inside r.
              for (int vy = ur.y; vy < ur.y + ur.h; ++vy) {
                for (int vx = ur.x; vx < ur.x + ur.w; ++vx) {
                  const int id = u.pixels[static_cast<std::size_t>(vy) * u.width + vx];
                  const int sx = id % W, sy = id / W;
                  ASSERT_TRUE(sx >= x && sx < x + w && sy >= y && sy < y + h)
                      << "o=" << o << " " << W << "x" << H << " rect " << x << "," << y << " " << w << "x" << h;
                }
              }
            }
          }
        }
      }
      // And the other direction: every upright rect maps back and forth.
      for (int y = 0; y < us.h; ++y) {
        for (int x = 0; x < us.w; ++x) {
          for (int h = 1; y + h <= us.h; ++h) {
            for (int w = 1; x + w <= us.w; ++w) {
              const rect r{x, y, w, h};
              ASSERT_EQ(stored_to_upright(upright_to_stored(r, W, H, o), W, H, o), r) << "o=" << o;
            }
          }
        }
      }
    }
  }
}

TEST(rect_mapping, transposing_orientations) {
  for (int o = -1; o <= 10; ++o) EXPECT_EQ(orientation_transposes(o), o >= 5 && o <= 8) << o;
}

}  // namespace
}  // namespace kycprep
