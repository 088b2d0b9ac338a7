// The uploader against a real server on 127.0.0.1: signatures verified by
// an independent implementation, parameter placement and encoding, image
// bytes intact, scripted failures, TLS with a self-signed certificate, and a
// 200-item concurrent run with exactly one billed call per item.
//
// Only 127.0.0.1 is ever contacted. Timeouts are short and QPS high where
// they are not under test.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "kycprep/base64.hpp"
#include "kycprep/upload.hpp"
#include "loopback_server.hpp"
#include "test_support.hpp"

namespace kycprep {
namespace {

using namespace std::chrono_literals;
using test::loopback_server;
using test::scenario;
using test::server_options;

const upload_credentials alibaba_creds{"LTAI5tLoopbackKeyId", "AliSecret-Zq8-DoNotLeak", ""};
const upload_credentials alibaba_sts{"STS.LoopbackKeyId", "AliStsSecret-Xk2-DoNotLeak", "AliStsToken-Pw7-DoNotLeak"};
const upload_credentials tencent_creds{"AKIDLoopbackSecretId", "TcSecretKey-Mm4-DoNotLeak", ""};

std::vector<std::uint8_t> image_bytes(int seed, std::size_t n) {
  std::mt19937 rng(static_cast<unsigned>(seed));
  std::vector<std::uint8_t> b(n);
  for (auto& x : b) x = static_cast<std::uint8_t>(rng());
  b[0] = 0xFB;  // base64 "+/..." at the start: every reserved character shows up
  b[1] = 0xFF;
  return b;
}

std::string sha(const std::vector<std::uint8_t>& b) {
  return sha256_hex(std::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
}

server_options base_server() {
  server_options o;
  o.alibaba = {alibaba_creds.key_id, alibaba_creds.secret, alibaba_creds.token};
  o.tencent = {tencent_creds.key_id, tencent_creds.secret, tencent_creds.token};
  return o;
}

upload_config base_config(upload_vendor v, const loopback_server& s) {
  upload_config c;
  c.vendor = v;
  c.endpoint = s.url();
  c.credentials = v == upload_vendor::alibaba ? alibaba_creds : tencent_creds;
  c.qps = 1000;
  c.connect_timeout = 1000ms;
  c.total_timeout = 2000ms;
  c.max_attempts = 4;
  c.backoff_initial = 1ms;
  c.backoff_max = 4ms;
  return c;
}

struct item {
  ekyc_verify_request request;
  std::string face_sha;
  std::string id_sha;
};

item make_item(int i, std::size_t image_size = 3000) {
  item it;
  const auto face = image_bytes(2 * i + 1, image_size);
  const auto id = image_bytes(2 * i + 2, image_size + 1);
  it.request.merchant_biz_id = "item" + std::to_string(i);
  it.request.merchant_user_id = "user " + std::to_string(i) + "+tag@example.com";
  it.request.doc_type = "01000000";
  it.request.face_picture_base64 = base64_encode(face);
  it.request.id_ocr_picture_base64 = base64_encode(id);
  it.face_sha = sha(face);
  it.id_sha = sha(id);
  return it;
}

std::vector<test::received_request> for_key(const loopback_server& s, const std::string& key) {
  std::vector<test::received_request> out;
  for (auto& r : s.requests()) {
    if (r.key == key) out.push_back(r);
  }
  return out;
}

void expect_clean(const loopback_server& s) {
  for (const auto& r : s.requests()) {
    EXPECT_TRUE(r.problems.empty()) << r.key << ": " << (r.problems.empty() ? "" : r.problems.front());
  }
}

TEST(UploadLoopback, EkycVerifySignedPlacedAndIntact) {
  loopback_server server(base_server());
  ASSERT_TRUE(server.running());
  auto up = uploader::create(base_config(upload_vendor::alibaba, server));
  ASSERT_TRUE(up.ok()) << up.error().message;
  const auto it = make_item(1, 20000);
  const auto o = up->send(it.request);
  EXPECT_EQ(o.category, upload_category::success) << o.message;
  EXPECT_EQ(o.attempts, 1);
  EXPECT_EQ(o.http_status, 200);
  EXPECT_TRUE(o.sent);
  EXPECT_TRUE(o.billed_possible);
  EXPECT_EQ(o.merchant_biz_id, "item1");
  EXPECT_EQ(o.request_id.rfind("req-", 0), 0u);
  ASSERT_TRUE(o.ekyc.has_value());
  EXPECT_TRUE(o.ekyc->verified);
  EXPECT_EQ(o.ekyc->transaction_id, "tx-item1");
  EXPECT_DOUBLE_EQ(o.ekyc->face_comparison_score.value(), 91.25);
  EXPECT_EQ(o.ekyc->spoof_result, "N");

  const auto seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_TRUE(seen[0].problems.empty()) << seen[0].problems.front();
  EXPECT_EQ(seen[0].face_sha256, it.face_sha);  // '+' survived as %2B
  EXPECT_EQ(seen[0].id_sha256, it.id_sha);
  EXPECT_EQ(seen[0].merchant_user_id, "user 1+tag@example.com");
  EXPECT_LT(seen[0].target_length, 512u);
}

TEST(UploadLoopback, StsTokenAndHashedUserIdAndGeneratedBizId) {
  auto so = base_server();
  so.alibaba = {alibaba_sts.key_id, alibaba_sts.secret, alibaba_sts.token};
  loopback_server server(so);
  auto c = base_config(upload_vendor::alibaba, server);
  c.credentials = alibaba_sts;
  c.hash_merchant_user_id = true;
  auto up = uploader::create(c);
  ASSERT_TRUE(up.ok());
  auto it = make_item(2);
  it.request.merchant_biz_id.clear();
  const auto o = up->send(it.request);
  EXPECT_EQ(o.category, upload_category::success) << o.message;
  EXPECT_EQ(o.merchant_biz_id.size(), 32u);
  const auto seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_TRUE(seen[0].problems.empty()) << seen[0].problems.front();
  EXPECT_EQ(seen[0].key, o.merchant_biz_id);
  EXPECT_EQ(seen[0].merchant_user_id, sha256_hex("user 2+tag@example.com"));
}

TEST(UploadLoopback, WrongSecretIsCaughtByTheServersVerifier) {
  // Negative control: proves the server really checks signatures.
  loopback_server server(base_server());
  auto c = base_config(upload_vendor::alibaba, server);
  c.credentials.secret = "not-the-secret";
  auto up = uploader::create(c);
  ASSERT_TRUE(up.ok());
  const auto o = up->send(make_item(3).request);
  EXPECT_EQ(o.category, upload_category::auth_config);
  EXPECT_EQ(o.vendor_code, "SignatureDoesNotMatch");
  EXPECT_EQ(o.attempts, 1);
  const auto seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  ASSERT_FALSE(seen[0].problems.empty());
  EXPECT_EQ(seen[0].problems.front(), "signature does not match");
  EXPECT_FALSE(seen[0].billed);
}

TEST(UploadLoopback, ThrottledThenSuccessIsResignedWithFreshNonce) {
  auto so = base_server();
  so.script = [](const std::string&, const std::string&, int nth) {
    return nth <= 2 ? scenario::throttle : scenario::ok;
  };
  loopback_server server(so);
  std::vector<upload_attempt_event> events;
  auto c = base_config(upload_vendor::alibaba, server);
  c.hooks.on_attempt = [&](const upload_attempt_event& e) { events.push_back(e); };
  auto up = uploader::create(c);
  ASSERT_TRUE(up.ok());
  const auto o = up->send(make_item(4).request);
  EXPECT_EQ(o.category, upload_category::success) << o.message;
  EXPECT_EQ(o.attempts, 3);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].category, upload_category::throttled);
  EXPECT_EQ(events[0].http_status, 403);
  EXPECT_TRUE(events[0].will_retry);
  EXPECT_FALSE(events[2].will_retry);
  const auto seen = for_key(server, "item4");
  ASSERT_EQ(seen.size(), 3u);
  std::set<std::string> nonces;
  for (const auto& r : seen) {
    EXPECT_TRUE(r.problems.empty()) << r.problems.front();  // includes "nonce reused"
    nonces.insert(r.nonce);
  }
  EXPECT_EQ(nonces.size(), 3u);
  EXPECT_EQ(std::count_if(seen.begin(), seen.end(), [](auto& r) { return r.billed; }), 1);
}

TEST(UploadLoopback, ServerErrorsRetriedBoundedThenReported) {
  auto so = base_server();
  so.script = [](const std::string&, const std::string& key, int nth) {
    if (key == "item5") return scenario::server_error;           // always 500
    return nth == 1 ? scenario::unavailable : scenario::ok;      // 503 once
  };
  loopback_server server(so);
  auto up = uploader::create(base_config(upload_vendor::alibaba, server));
  ASSERT_TRUE(up.ok());
  const auto bad = up->send(make_item(5).request);
  EXPECT_EQ(bad.category, upload_category::server_error);
  EXPECT_EQ(bad.attempts, 4);
  EXPECT_EQ(bad.http_status, 500);
  EXPECT_EQ(bad.vendor_code, "InternalError");
  EXPECT_FALSE(bad.billed_possible);
  EXPECT_EQ(for_key(server, "item5").size(), 4u);
  const auto good = up->send(make_item(6).request);
  EXPECT_EQ(good.category, upload_category::success);
  EXPECT_EQ(good.attempts, 2);
  expect_clean(server);
}

TEST(UploadLoopback, ResetMidBodyIsRetriedAndBilledOnce) {
  auto so = base_server();
  so.receive_buffer = 8192;
  so.script = [](const std::string&, const std::string&, int nth) {
    return nth == 1 ? scenario::reset_mid_body : scenario::ok;
  };
  loopback_server server(so);
  auto c = base_config(upload_vendor::alibaba, server);
  c.socket_send_buffer = 8192;
  auto up = uploader::create(c);
  ASSERT_TRUE(up.ok());
  const auto it = make_item(7, 150000);  // far more than both socket buffers
  const auto o = up->send(it.request);
  EXPECT_EQ(o.category, upload_category::success) << o.message;
  EXPECT_EQ(o.attempts, 2);  // the resend is ours (re-signed, rate limited), not libcurl's
  const auto seen = for_key(server, "item7");
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].played, scenario::reset_mid_body);
  EXPECT_FALSE(seen[0].billed);
  EXPECT_TRUE(seen[1].billed);
  EXPECT_EQ(seen[1].face_sha256, it.face_sha);
  expect_clean(server);
}

TEST(UploadLoopback, TimeoutAfterBodySentIsUnknownOutcomeAndNotResent) {
  auto so = base_server();
  so.stall = 1500ms;
  so.script = [](const std::string&, const std::string&, int) { return scenario::stall_after_billing; };
  loopback_server server(so);
  auto c = base_config(upload_vendor::alibaba, server);
  c.total_timeout = 400ms;
  auto up = uploader::create(c);
  ASSERT_TRUE(up.ok());
  const auto o = up->send(make_item(8).request);
  EXPECT_EQ(o.category, upload_category::unknown_outcome) << o.message;
  EXPECT_EQ(o.attempts, 1);
  EXPECT_TRUE(o.sent);
  EXPECT_TRUE(o.billed_possible);
  EXPECT_FALSE(o.resent_after_unknown_outcome);
  EXPECT_EQ(for_key(server, "item8").size(), 1u);

  // Opting in to the double-billing risk resends (and says so).
  c.resend_after_unknown_outcome = true;
  c.max_attempts = 2;
  auto risky = uploader::create(c);
  ASSERT_TRUE(risky.ok());
  const auto r = risky->send(make_item(9).request);
  EXPECT_EQ(r.category, upload_category::unknown_outcome);
  EXPECT_EQ(r.attempts, 2);
  EXPECT_TRUE(r.resent_after_unknown_outcome);
  EXPECT_EQ(for_key(server, "item9").size(), 2u);
}

TEST(UploadLoopback, SlowButInTimeIsSuccess) {
  auto so = base_server();
  so.slow_delay = 300ms;
  so.script = [](const std::string&, const std::string&, int) { return scenario::slow_ok; };
  loopback_server server(so);
  auto up = uploader::create(base_config(upload_vendor::alibaba, server));
  ASSERT_TRUE(up.ok());
  const auto o = up->send(make_item(10).request);
  EXPECT_EQ(o.category, upload_category::success) << o.message;
  EXPECT_EQ(o.attempts, 1);
}

TEST(UploadLoopback, MalformedJsonAuthAndInputErrorsAreNotRetried) {
  auto so = base_server();
  so.alibaba = {alibaba_sts.key_id, alibaba_sts.secret, alibaba_sts.token};
  so.script = [](const std::string&, const std::string& key, int) {
    if (key == "item11") return scenario::malformed_json;
    if (key == "item12") return scenario::auth_error;
    return scenario::no_face;
  };
  loopback_server server(so);
  auto c = base_config(upload_vendor::alibaba, server);
  c.credentials = alibaba_sts;
  auto up = uploader::create(c);
  ASSERT_TRUE(up.ok());
  const auto m = up->send(make_item(11).request);
  EXPECT_EQ(m.category, upload_category::unknown_outcome);  // 200, processed, unreadable
  EXPECT_EQ(m.attempts, 1);
  EXPECT_TRUE(m.billed_possible);
  const auto a = up->send(make_item(12).request);
  EXPECT_EQ(a.category, upload_category::auth_config);
  EXPECT_EQ(a.vendor_code, "Forbidden.RAMUserAccessDenied");
  EXPECT_EQ(a.attempts, 1);
  EXPECT_FALSE(a.billed_possible);
  // The server echoed the STS token; the outcome must not carry it.
  EXPECT_EQ(a.vendor_message.find(alibaba_sts.token), std::string::npos);
  EXPECT_NE(a.vendor_message.find("<token>"), std::string::npos);
  const auto n = up->send(make_item(13).request);
  EXPECT_EQ(n.category, upload_category::rejected_input);
  EXPECT_EQ(n.vendor_code, "NoFaceDetected");
  EXPECT_EQ(n.http_status, 401);
  EXPECT_EQ(n.attempts, 1);
  EXPECT_TRUE(n.billed_possible);
  EXPECT_EQ(server.requests().size(), 3u);
  expect_clean(server);
}

TEST(UploadLoopback, ConnectionRefusedIsNetworkAndNeverSent) {
  int port = 0;
  {
    loopback_server closed(base_server());
    port = closed.port();
  }  // stopped: nothing listens on this port any more
  upload_config c;
  c.vendor = upload_vendor::alibaba;
  c.endpoint = "http://127.0.0.1:" + std::to_string(port);
  c.credentials = alibaba_creds;
  c.qps = 1000;
  c.connect_timeout = 500ms;
  c.total_timeout = 1000ms;
  c.max_attempts = 3;
  c.backoff_initial = 1ms;
  c.backoff_max = 2ms;
  auto up = uploader::create(c);
  ASSERT_TRUE(up.ok());
  const auto o = up->send(make_item(14).request);
  EXPECT_EQ(o.category, upload_category::network);
  EXPECT_EQ(o.attempts, 3);
  EXPECT_FALSE(o.sent);
  EXPECT_FALSE(o.billed_possible);
}

TEST(UploadLoopback, TencentBizTokenAndResult) {
  auto so = base_server();
  so.script = [](const std::string& action, const std::string&, int nth) {
    return action == "ApplyWebVerificationBizTokenIntl" && nth == 1 ? scenario::throttle : scenario::ok;
  };
  loopback_server server(so);
  auto c = base_config(upload_vendor::tencent, server);
  c.region = "ap-jakarta";
  auto up = uploader::create(c);
  ASSERT_TRUE(up.ok());
  const auto face = image_bytes(99, 30000);
  biz_token_request b;
  b.redirect_url = "https://example.com/back?x=1";
  b.compare_image_base64 = base64_encode(face);
  b.extra = "tc-item-1";
  b.check_mode = 2;
  const auto o = up->send(b);
  EXPECT_EQ(o.category, upload_category::success) << o.message;
  EXPECT_EQ(o.attempts, 2);
  ASSERT_TRUE(o.biz_token.has_value());
  EXPECT_EQ(o.biz_token->biz_token, "token-tc-item-1");
  EXPECT_EQ(o.biz_token->verification_url, "https://verify.example.invalid/?token=token-tc-item-1");

  const auto r = up->send(web_verification_result_request{o.biz_token->biz_token});
  EXPECT_EQ(r.category, upload_category::success) << r.message;
  ASSERT_TRUE(r.web_result.has_value());
  EXPECT_EQ(r.web_result->error_code, 0);
  EXPECT_DOUBLE_EQ(r.web_result->similarity.value(), 93.5);

  const auto seen = server.requests();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[1].face_sha256, sha(face));
  expect_clean(server);
}

TEST(UploadLoopback, TencentWrongKeyAndAuthErrors) {
  auto so = base_server();
  so.script = [](const std::string&, const std::string& key, int) {
    return key == "auth" ? scenario::auth_error : scenario::ok;
  };
  loopback_server server(so);
  auto c = base_config(upload_vendor::tencent, server);
  c.credentials.secret = "wrong";
  auto wrong = uploader::create(c);
  ASSERT_TRUE(wrong.ok());
  biz_token_request b;
  b.redirect_url = "https://example.com/back";
  b.extra = "sig";
  const auto w = wrong->send(b);
  EXPECT_EQ(w.category, upload_category::auth_config);
  EXPECT_EQ(w.vendor_code, "AuthFailure.SignatureFailure");
  EXPECT_EQ(w.attempts, 1);

  auto up = uploader::create(base_config(upload_vendor::tencent, server));
  ASSERT_TRUE(up.ok());
  b.extra = "auth";
  const auto a = up->send(b);
  EXPECT_EQ(a.category, upload_category::auth_config);
  EXPECT_EQ(a.vendor_code, "AuthFailure.UnauthorizedOperation");
}

TEST(UploadLoopback, HttpsSelfSignedRefusedByDefaultAcceptedWithCacert) {
  const auto dir = test::temp_dir("upload-tls");
  const auto [cert, key] = test::make_self_signed_cert(dir);
  auto so = base_server();
  so.cert_pem = cert;
  so.key_pem = key;
  loopback_server server(so);
  ASSERT_TRUE(server.running());
  ASSERT_EQ(server.url().rfind("https://127.0.0.1:", 0), 0u);

  auto c = base_config(upload_vendor::alibaba, server);
  auto refused = uploader::create(c);
  ASSERT_TRUE(refused.ok());
  const auto r = refused->send(make_item(20).request);
  EXPECT_EQ(r.category, upload_category::auth_config) << r.message;
  EXPECT_EQ(r.attempts, 1);
  EXPECT_FALSE(r.sent);
  EXPECT_NE(r.message.find("TLS"), std::string::npos);
  EXPECT_TRUE(server.requests().empty());

  c.ca_file = cert.string();
  auto trusted = uploader::create(c);
  ASSERT_TRUE(trusted.ok());
  const auto it = make_item(21, 20000);
  const auto o = trusted->send(it.request);
  EXPECT_EQ(o.category, upload_category::success) << o.message;
  const auto seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].face_sha256, it.face_sha);
  expect_clean(server);
}

// The acceptance run: 200 items from 4 threads through one uploader, under
// injected throttling, 5xx, resets mid-body and stalls after billing.
TEST(UploadLoopback, TwoHundredItemsEachBilledExactlyOnce) {
  constexpr int n = 200;
  constexpr double qps = 150;
  auto so = base_server();
  so.receive_buffer = 8192;
  so.stall = 1200ms;
  so.script = [](const std::string&, const std::string& key, int nth) {
    const int i = std::stoi(key.substr(4));
    if (i % 25 == 3) return scenario::stall_after_billing;  // -> unknown_outcome, never resent
    if (nth > 1) return scenario::ok;
    switch (i % 5) {
      case 0: return scenario::throttle;
      case 1: return scenario::server_error;
      case 2: return scenario::reset_mid_body;
      case 3: return scenario::unavailable;
      default: return scenario::ok;
    }
  };
  loopback_server server(so);
  auto c = base_config(upload_vendor::alibaba, server);
  c.qps = qps;
  c.total_timeout = 600ms;
  c.socket_send_buffer = 8192;
  std::mutex events_mutex;
  std::vector<std::string> printed;  // everything the run produced, for the secret grep
  std::vector<std::chrono::steady_clock::time_point> starts;  // rate limiter grants
  c.hooks.on_attempt = [&](const upload_attempt_event& e) {
    std::lock_guard lock(events_mutex);
    starts.push_back(e.started);
    printed.push_back(e.action + " " + e.merchant_biz_id + " " + std::string(to_string(e.category)));
  };
  auto up = uploader::create(c);
  ASSERT_TRUE(up.ok());

  std::vector<item> items;
  for (int i = 0; i < n; ++i) items.push_back(make_item(i, i % 5 == 2 ? 60000 : 2000));
  std::vector<upload_outcome> outcomes(n);
  std::atomic<int> next{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = next++; i < n; i = next++) outcomes[i] = up->send(items[i].request);
    });
  }
  for (auto& t : threads) t.join();

  const auto seen = server.requests();
  std::map<std::string, std::vector<test::received_request>> by_key;
  for (const auto& r : seen) {
    EXPECT_TRUE(r.problems.empty()) << r.key << ": " << r.problems.front();
    by_key[r.key].push_back(r);
  }
  int unknown = 0;
  for (int i = 0; i < n; ++i) {
    const auto& o = outcomes[i];
    const auto key = "item" + std::to_string(i);
    const auto& reqs = by_key[key];
    const auto billed = std::count_if(reqs.begin(), reqs.end(), [](auto& r) { return r.billed; });
    EXPECT_EQ(billed, 1) << key;  // nothing lost, nothing billed twice
    EXPECT_TRUE(o.billed_possible) << key;
    if (i % 25 == 3) {
      ++unknown;
      EXPECT_EQ(o.category, upload_category::unknown_outcome) << key << " " << o.message;
      EXPECT_EQ(o.attempts, 1) << key;
      EXPECT_EQ(reqs.size(), 1u) << key;  // no resend after unknown_outcome
    } else {
      EXPECT_EQ(o.category, upload_category::success) << key << " " << o.message;
      for (const auto& r : reqs) {
        if (r.billed) {
          EXPECT_EQ(r.face_sha256, items[i].face_sha) << key;
          EXPECT_EQ(r.id_sha256, items[i].id_sha) << key;
        }
      }
    }
    printed.push_back(o.message + o.vendor_message + o.vendor_code + o.request_id + o.merchant_biz_id);
  }
  EXPECT_EQ(unknown, 8);

  // The request rate never exceeds the configured QPS: no window of one
  // second holds more than qps attempt starts.
  auto worst_window = [](std::vector<std::chrono::steady_clock::time_point> t) {
    std::sort(t.begin(), t.end());
    std::size_t worst = 0;
    for (std::size_t i = 0, j = 0; i < t.size(); ++i) {
      while (j < t.size() && t[j] - t[i] < 1s) ++j;
      worst = std::max(worst, j - i);
    }
    return worst;
  };
  std::vector<std::chrono::steady_clock::time_point> arrivals;
  for (const auto& r : seen) arrivals.push_back(r.arrival);
  EXPECT_EQ(starts.size(), seen.size());  // every request on the wire went through the limiter
  EXPECT_LE(worst_window(starts), static_cast<std::size_t>(qps));
  // What the server observes also carries the OS's scheduling jitter between
  // the grant and the bytes leaving (several ms on a loaded 2-core box).
  EXPECT_LE(worst_window(arrivals), static_cast<std::size_t>(qps * 1.05) + 1);
  EXPECT_GE(seen.size(), static_cast<std::size_t>(n + n / 5 * 4 - 8));

  for (const auto& s : printed) {
    EXPECT_EQ(s.find(alibaba_creds.secret), std::string::npos);
    EXPECT_EQ(s.find(alibaba_creds.key_id), std::string::npos);
  }
}

TEST(UploadLoopback, ObservedRateStaysUnderConfiguredQps) {
  loopback_server server(base_server());
  auto c = base_config(upload_vendor::tencent, server);
  c.qps = 25;
  auto up = uploader::create(c);
  ASSERT_TRUE(up.ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        biz_token_request b;
        b.redirect_url = "https://example.com/cb";
        b.extra = "rate-" + std::to_string(t) + "-" + std::to_string(i);
        EXPECT_TRUE(up->send(b).ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 40u);
  std::vector<std::chrono::steady_clock::time_point> t;
  for (const auto& r : seen) t.push_back(r.arrival);
  std::sort(t.begin(), t.end());
  for (std::size_t i = 0, j = 0; i < t.size(); ++i) {
    while (j < t.size() && t[j] - t[i] < 1s) ++j;
    EXPECT_LE(j - i, 26u);
  }
  // 40 requests at 25/s cannot take less than 39 intervals of 40 ms.
  EXPECT_GE(t.back() - t.front(), 39 * 40ms - 20ms);
  expect_clean(server);
}

TEST(UploadLoopback, NoSecretInAnyOutput) {
  auto so = base_server();
  so.alibaba = {alibaba_sts.key_id, alibaba_sts.secret, alibaba_sts.token};
  so.script = [](const std::string&, const std::string& key, int) {
    return key == "item40" ? scenario::auth_error : scenario::ok;
  };
  loopback_server server(so);
  auto c = base_config(upload_vendor::alibaba, server);
  c.credentials = alibaba_sts;
  std::vector<std::string> out;
  c.hooks.on_attempt = [&](const upload_attempt_event& e) {
    out.push_back(e.action + e.merchant_biz_id + std::string(to_string(e.category)));
  };
  auto up = uploader::create(c);
  ASSERT_TRUE(up.ok());
  for (int i : {40, 41}) {
    const auto o = up->send(make_item(i).request);
    out.push_back(o.message);
    out.push_back(o.vendor_message);
    out.push_back(o.vendor_code);
    out.push_back(o.request_id);
  }
  out.push_back(up->dry_run(make_item(42).request).value());
  auto bad = c;
  bad.endpoint = "http://example.com";
  out.push_back(uploader::create(bad).error().message);
  // A TLS failure's message.
  auto tls = c;
  tls.endpoint = "https://127.0.0.1:" + std::to_string(server.port());
  tls.max_attempts = 1;
  out.push_back(uploader::create(tls).value().send(make_item(43).request).message);
  for (const auto& s : out) {
    for (const auto& secret : {alibaba_sts.secret, alibaba_sts.token, alibaba_sts.key_id}) {
      EXPECT_EQ(s.find(secret), std::string::npos) << s;
    }
  }
}

}  // namespace
}  // namespace kycprep
