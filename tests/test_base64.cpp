// Stage 7: base64 encoding (RFC 4648) and the strict decoder.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kycprep/base64.hpp"

namespace kycprep {
namespace {

std::vector<std::uint8_t> bytes_of(std::string_view s) { return {s.begin(), s.end()}; }

std::vector<std::uint8_t> random_bytes(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::uint8_t> b(n);
  for (auto& x : b) x = static_cast<std::uint8_t>(rng());
  return b;
}

// A deliberately simple reference encoder (6 bits at a time).
std::string reference_encode(const std::vector<std::uint8_t>& in) {
  static constexpr char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::uint8_t b : in) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(a[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(a[(acc << (6 - bits)) & 63]);
  while (out.size() % 4 != 0) out.push_back('=');
  return out;
}

TEST(base64, rfc4648_test_vectors) {
  const std::pair<std::string_view, std::string_view> vectors[] = {
      {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},         {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64_encode(bytes_of(plain)), encoded);
    const auto d = base64_decode(encoded);
    ASSERT_TRUE(d.ok()) << encoded << ": " << d.error().message;
    EXPECT_EQ(*d, bytes_of(plain));
  }
}

TEST(base64, alphabet_includes_plus_and_slash) {
  // 0xFB 0xEF 0xFF -> 111110 111110 111111 111111 = "++//".
  EXPECT_EQ(base64_encode(std::vector<std::uint8_t>{0xFB, 0xEF, 0xFF}), "++//");
  EXPECT_EQ(base64_encode(std::vector<std::uint8_t>{0xFF, 0xFF, 0xFF}), "////");
  EXPECT_EQ(base64_encode(std::vector<std::uint8_t>{0x00, 0x00, 0x00}), "AAAA");
  // Every 6-bit value appears, in order, when encoding 0x00 0x10 0x83 0x10 0x51 0x87 ...
  std::vector<std::uint8_t> all;
  for (int v = 0; v < 64; v += 4) {
    const std::uint32_t q = (v << 18) | ((v + 1) << 12) | ((v + 2) << 6) | (v + 3);
    all.push_back(static_cast<std::uint8_t>(q >> 16));
    all.push_back(static_cast<std::uint8_t>(q >> 8));
    all.push_back(static_cast<std::uint8_t>(q));
  }
  EXPECT_EQ(base64_encode(all), "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
}

TEST(base64, round_trip_every_length_to_300) {
  for (std::size_t n = 0; n <= 300; ++n) {
    const auto in = random_bytes(n, static_cast<std::uint32_t>(n) + 17);
    const std::string e = base64_encode(in);
    ASSERT_EQ(e.size(), base64_encoded_size(n)) << n;
    ASSERT_EQ(e, reference_encode(in)) << n;
    const auto d = base64_decode(e);
    ASSERT_TRUE(d.ok()) << n << ": " << d.error().message;
    ASSERT_EQ(*d, in) << n;
  }
}

TEST(base64, round_trip_one_megabyte) {
  const auto in = random_bytes(1 << 20, 99);
  const std::string e = base64_encode(in);
  EXPECT_EQ(e.size(), base64_encoded_size(in.size()));
  EXPECT_EQ(e, reference_encode(in));
  const auto d = base64_decode(e);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, in);
}

TEST(base64, encoded_size) {
  EXPECT_EQ(base64_encoded_size(0), 0u);
  EXPECT_EQ(base64_encoded_size(1), 4u);
  EXPECT_EQ(base64_encoded_size(3), 4u);
  EXPECT_EQ(base64_encoded_size(4), 8u);
  EXPECT_EQ(base64_encoded_size(150'000), 200'000u);
}

TEST(base64, encode_into_reuses_capacity_and_replaces_contents) {
  std::string out = "previous contents that must disappear";
  out.reserve(4096);
  const char* buffer = out.data();
  const std::size_t capacity = out.capacity();
  base64_encode(bytes_of("foobar"), out);
  EXPECT_EQ(out, "Zm9vYmFy");
  EXPECT_EQ(out.data(), buffer);
  EXPECT_EQ(out.capacity(), capacity);
  base64_encode(bytes_of(""), out);
  EXPECT_EQ(out, "");
  base64_encode(bytes_of("f"), out);
  EXPECT_EQ(out, "Zg==");
  EXPECT_EQ(out.data(), buffer);
}

void expect_rejected(std::string_view in) {
  const auto d = base64_decode(in);
  ASSERT_FALSE(d.ok()) << "accepted \"" << in << "\"";
  EXPECT_EQ(d.error().code, error_code::corrupt) << in;
  EXPECT_EQ(d.error().where, stage::base64) << in;
  EXPECT_FALSE(d.error().message.empty());
}

TEST(base64, decoder_rejects_wrong_length) {
  for (std::string_view s : {"Z", "Zg", "Zg=", "Zm9", "Zm9vY", "Zg===", "Zm9vYg=", "Zm9vYmFy="}) expect_rejected(s);
}

TEST(base64, decoder_rejects_bad_padding) {
  for (std::string_view s : {"====", "Z===", "=Zg=", "Zg=A", "Z=g=", "Zg==Zm9v", "Zm8=Zm9v", "Zm9v====",
                             "Zm=v", "A=AA"}) {
    expect_rejected(s);
  }
  // Non-zero bits under the padding: "Zh==" would also decode to "f" if not rejected.
  for (std::string_view s : {"Zh==", "Zm9=", "Zm/=", "Zm9vYh=="}) expect_rejected(s);
  EXPECT_TRUE(base64_decode("Zm8=").ok());
}

TEST(base64, decoder_rejects_characters_outside_the_alphabet) {
  for (std::string_view s : {"Zm9v\n", "Zm9v\r\n", " Zm9v", "Zm9 v", "Zm9v Zg==", "Zm9\tv", "Zm-v", "Zm_v",
                             "Zm.v", "Zm9vYmF*", "Zm9vYm\x80y", "Zm9vYm\xffy"}) {
    expect_rejected(s);
  }
  expect_rejected(std::string_view("Zm\0v", 4));
  // A bad character deep inside a long valid payload is found too.
  std::string long_ok = base64_encode(random_bytes(3000, 5));
  ASSERT_TRUE(base64_decode(long_ok).ok());
  long_ok[2001] = '!';
  expect_rejected(long_ok);
}

TEST(base64, every_single_byte_value_round_trips) {
  for (int v = 0; v < 256; ++v) {
    const std::vector<std::uint8_t> one{static_cast<std::uint8_t>(v)};
    const auto d = base64_decode(base64_encode(one));
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(*d, one);
  }
}

}  // namespace
}  // namespace kycprep
