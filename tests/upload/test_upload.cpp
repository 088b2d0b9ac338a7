// Uploader unit tests: the signers against the vendors' published worked
// examples (byte for byte), RFC 3986 edge cases, the UTC date, request
// placement and validation, response parsing and classification,
// credentials and the rate limiter. No network.
#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "crypto.hpp"
#include "kycprep/upload.hpp"
#include "requests.hpp"
#include "responses.hpp"
#include "sign.hpp"
#include "test_support.hpp"

namespace kycprep {
namespace {

using namespace std::chrono_literals;

// ---- ACS3-HMAC-SHA256: acs3-doc-runinstances --------------------------------
// Alibaba Cloud "V3 request structure and signature", fixed-parameter example.

TEST(Acs3Signer, ReproducesPublishedRunInstancesExample) {
  detail::acs3_input in;
  in.method = "POST";
  in.canonical_query = detail::canonical_query_string(
      {{"RegionId", "cn-shanghai"}, {"ImageId", "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd"}});
  const std::string empty_hash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  ASSERT_EQ(detail::sha256_hex(""), empty_hash);
  in.headers = {{"host", "ecs.cn-shanghai.aliyuncs.com"},
                {"x-acs-action", "RunInstances"},
                {"x-acs-version", "2014-05-26"},
                {"x-acs-date", "2023-10-26T10:22:32Z"},
                {"x-acs-signature-nonce", "3156853299f313e23d1673dc12e1703d"},
                {"x-acs-content-sha256", empty_hash},
                {"Accept", "application/json"}};  // unsigned: not host/content-type/x-acs-*
  in.hashed_payload = empty_hash;
  in.access_key_id = "YourAccessKeyId";
  in.access_key_secret = "YourAccessKeySecret";
  const auto p = detail::acs3_sign(in);

  EXPECT_EQ(p.canonical_request,
            "POST\n"
            "/\n"
            "ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai\n"
            "host:ecs.cn-shanghai.aliyuncs.com\n"
            "x-acs-action:RunInstances\n"
            "x-acs-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
            "x-acs-date:2023-10-26T10:22:32Z\n"
            "x-acs-signature-nonce:3156853299f313e23d1673dc12e1703d\n"
            "x-acs-version:2014-05-26\n"
            "\n"
            "host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(p.string_to_sign,
            "ACS3-HMAC-SHA256\n7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259");
  EXPECT_EQ(p.signature, "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0");
  EXPECT_EQ(p.authorization,
            "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;"
            "x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,"
            "Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0");
}

TEST(Acs3Signer, DateIsUtcIso8601) {
  const auto t = std::chrono::system_clock::time_point(1698315752s);  // 2023-10-26T10:22:32Z
  EXPECT_EQ(detail::acs3_date(t), "2023-10-26T10:22:32Z");
  EXPECT_EQ(detail::acs3_date(std::chrono::system_clock::time_point(1709251199s)), "2024-02-29T23:59:59Z");
  EXPECT_EQ(detail::acs3_date(std::chrono::system_clock::time_point(1709251200s)), "2024-03-01T00:00:00Z");
}

TEST(Acs3Signer, HeaderValuesTrimmedAndSecurityTokenSigned) {
  detail::acs3_input a;
  a.headers = {{"Host", " h.example "}, {"X-Acs-Security-Token", "tok"}, {"user-agent", "x"}};
  a.hashed_payload = detail::sha256_hex("");
  a.access_key_id = "id";
  a.access_key_secret = "s";
  const auto p = detail::acs3_sign(a);
  EXPECT_EQ(p.signed_headers, "host;x-acs-security-token");
  EXPECT_NE(p.canonical_request.find("host:h.example\n"), std::string::npos);
}

// ---- TC3-HMAC-SHA256 --------------------------------------------------------

const std::string tc3_doc_payload =
    R"({"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]})";

// tc3-doc-intl-describeinstances (tencentcloud.com, signs content-type;host).
TEST(Tc3Signer, ReproducesPublishedInternationalExample) {
  ASSERT_EQ(tc3_doc_payload.size(), 86u);  // the escapes are hashed literally
  detail::tc3_input in;
  in.signed_headers = {{"Content-Type", "application/json; charset=utf-8"}, {"Host", "cvm.tencentcloudapi.com"}};
  in.hashed_payload = detail::sha256_hex(tc3_doc_payload);
  EXPECT_EQ(in.hashed_payload, "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064");
  in.timestamp = 1551113065;
  in.service = "cvm";
  in.secret_id = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE";
  in.secret_key = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE";
  const auto p = detail::tc3_sign(in);
  EXPECT_EQ(p.canonical_request,
            "POST\n/\n\n"
            "content-type:application/json; charset=utf-8\n"
            "host:cvm.tencentcloudapi.com\n"
            "\n"
            "content-type;host\n"
            "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064");
  EXPECT_EQ(p.string_to_sign,
            "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n"
            "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031");
  EXPECT_EQ(p.signature, "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168");
  EXPECT_EQ(p.authorization,
            "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, "
            "SignedHeaders=content-type;host, "
            "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168");
}

// tc3-doc-cn-describeinstances-x-tc-action (cloud.tencent.com, current): the
// masked keys are literally "AKID"+32*'*' and 32*'*'; the action header's
// value is lower-cased in the canonical headers.
TEST(Tc3Signer, ReproducesPublishedChineseExampleWithActionHeader) {
  const std::string secret_id = "AKID" + std::string(32, '*');
  const std::string secret_key(32, '*');
  const auto keys = detail::tc3_derive_keys(secret_key, "2019-02-25", "cvm");
  EXPECT_EQ(keys.secret_date, "da98fb70dcf6b112dc21038d1eeeb3a95c74b4dcb12c1131f864f6066bd02be0");
  EXPECT_EQ(keys.secret_service, "8d70cbefb03939f929db64d32dc2ba89b1095620119fe3e050e2b18c5bd2752f");
  EXPECT_EQ(keys.secret_signing, "b596b923aad85185e2d1f6659d2a062e0a86731226e021e61bfe06f7ed05f5af");

  detail::tc3_input in;
  in.signed_headers = {{"X-TC-Action", "DescribeInstances"},
                       {"Host", "cvm.tencentcloudapi.com"},
                       {"Content-Type", "application/json; charset=utf-8"}};
  in.hashed_payload = detail::sha256_hex(tc3_doc_payload);
  in.timestamp = 1551113065;
  in.service = "cvm";
  in.secret_id = secret_id;
  in.secret_key = secret_key;
  const auto p = detail::tc3_sign(in);
  EXPECT_EQ(p.canonical_request,
            "POST\n/\n\n"
            "content-type:application/json; charset=utf-8\n"
            "host:cvm.tencentcloudapi.com\n"
            "x-tc-action:describeinstances\n"
            "\n"
            "content-type;host;x-tc-action\n"
            "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064");
  EXPECT_EQ(p.string_to_sign,
            "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n"
            "7019a55be8395899b900fb5564e4200d984910f34794a27cb3fb7d10ff6a1e84");
  EXPECT_EQ(p.signature, "10b1a37a7301a02ca19a647ad722d5e43b4b3cff309d421d85b46093f6ab6c4f");
  EXPECT_EQ(p.authorization, "TC3-HMAC-SHA256 Credential=" + secret_id +
                                 "/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host;x-tc-action, "
                                 "Signature=10b1a37a7301a02ca19a647ad722d5e43b4b3cff309d421d85b46093f6ab6c4f");
}

class ScopedTz {
 public:
  explicit ScopedTz(const char* tz) {
    if (const char* old = std::getenv("TZ")) old_ = old;
    ::setenv("TZ", tz, 1);
    ::tzset();
  }
  ~ScopedTz() {
    if (old_) {
      ::setenv("TZ", old_->c_str(), 1);
    } else {
      ::unsetenv("TZ");
    }
    ::tzset();
  }

 private:
  std::optional<std::string> old_;
};

TEST(Tc3Signer, CredentialScopeUsesUtcDateNearMidnight) {
  // In UTC+8 the doc's timestamp is 2019-02-26 00:44:25 local; the scope date
  // must still be the UTC date.
  ScopedTz tz("Asia/Shanghai");
  EXPECT_EQ(detail::utc_date(1551113065), "2019-02-25");
  EXPECT_EQ(detail::utc_date(0), "1970-01-01");
  EXPECT_EQ(detail::utc_date(86399), "1970-01-01");
  EXPECT_EQ(detail::utc_date(86400), "1970-01-02");
  EXPECT_EQ(detail::utc_date(1709251199), "2024-02-29");  // leap day 23:59:59Z
  EXPECT_EQ(detail::utc_date(1709251200), "2024-03-01");
  EXPECT_EQ(detail::utc_date(1735689599), "2024-12-31");
  EXPECT_EQ(detail::utc_date(1735689600), "2025-01-01");

  detail::tc3_input in;
  in.signed_headers = {{"content-type", "application/json"}, {"host", "faceid.intl.tencentcloudapi.com"}};
  in.hashed_payload = detail::sha256_hex("{}");
  in.service = "faceid";
  in.secret_id = "id";
  in.secret_key = "key";
  in.timestamp = 1709251199;
  const auto before = detail::tc3_sign(in);
  in.timestamp = 1709251200;
  const auto after = detail::tc3_sign(in);
  EXPECT_NE(before.authorization.find("/2024-02-29/faceid/tc3_request"), std::string::npos);
  EXPECT_NE(after.authorization.find("/2024-03-01/faceid/tc3_request"), std::string::npos);
  EXPECT_NE(before.signature, after.signature);
}

// ---- RFC 3986 ---------------------------------------------------------------

TEST(PercentEncoding, Rfc3986EdgeCases) {
  EXPECT_EQ(detail::percent_encode(" "), "%20");
  EXPECT_EQ(detail::percent_encode("*"), "%2A");
  EXPECT_EQ(detail::percent_encode("~"), "~");
  EXPECT_EQ(detail::percent_encode("+"), "%2B");
  EXPECT_EQ(detail::percent_encode("/="), "%2F%3D");
  EXPECT_EQ(detail::percent_encode("-_."), "-_.");
  EXPECT_EQ(detail::percent_encode("%"), "%25");
  EXPECT_EQ(detail::percent_encode("\xC3\xA9"), "%C3%A9");               // é
  EXPECT_EQ(detail::percent_encode("\xE5\xBC\xA0\xE4\xB8\x89"), "%E5%BC%A0%E4%B8%89");  // 张三
  EXPECT_EQ(detail::percent_encode("AZaz09"), "AZaz09");
  EXPECT_EQ(detail::percent_encode(std::string("a\0b", 3)), "a%00b");
}

TEST(PercentEncoding, CanonicalQuerySortsAndEncodesOnce) {
  EXPECT_EQ(detail::canonical_query_string({}), "");
  EXPECT_EQ(detail::canonical_query_string({{"b", "x y"}, {"a", "1+1*2~"}, {"Z", ""}}),
            "Z=&a=1%2B1%2A2~&b=x%20y");
  // A value that already contains an escape is encoded, not passed through.
  EXPECT_EQ(detail::canonical_query_string({{"k", "%20"}}), "k=%2520");
}

// ---- requests ---------------------------------------------------------------

ekyc_verify_request sample_ekyc() {
  ekyc_verify_request r;
  r.merchant_biz_id = "biz0001";
  r.merchant_user_id = "user@example.com";
  r.doc_type = "01000000";
  r.face_picture_base64 = "+/8=";   // bytes fb ff: every reserved base64 character
  r.id_ocr_picture_base64 = "AAA+";
  r.doc_name = "\xE5\xBC\xA0\xE4\xB8\x89";
  return r;
}

TEST(EkycRequest, ScalarsInQueryImagesInPercentEncodedFormBody) {
  auto call = detail::prepare(sample_ekyc(), false, {});
  ASSERT_TRUE(call.ok()) << call.error().message;
  EXPECT_EQ(call->action, "EkycVerify");
  EXPECT_EQ(call->version, "2022-08-09");
  EXPECT_EQ(call->canonical_query,
            "DocName=%E5%BC%A0%E4%B8%89&DocType=01000000&MerchantBizId=biz0001&"
            "MerchantUserId=user%40example.com&ProductCode=eKYC_MIN");
  EXPECT_EQ(call->body, "FacePictureBase64=%2B%2F8%3D&IdOcrPictureBase64=AAA%2B");
  EXPECT_EQ(call->body.find('+'), std::string::npos);
  EXPECT_EQ(call->content_type, "application/x-www-form-urlencoded");
  EXPECT_EQ(call->body_sha256, detail::sha256_hex(call->body));
  EXPECT_EQ(call->body_display.find("%2B%2F8"), std::string::npos);
}

TEST(EkycRequest, SignedPerAttemptWithFreshNonceAndDate) {
  auto call = detail::prepare(sample_ekyc(), false, {});
  ASSERT_TRUE(call.ok());
  detail::signing_context ctx;
  ctx.endpoint = detail::parse_endpoint("https://cloudauth-intl.cn-hongkong.aliyuncs.com").value();
  ctx.credentials = {"LTAIexampleid", "secret", ""};
  const auto t0 = std::chrono::system_clock::time_point(1698315752s);
  const auto a = detail::sign_call(*call, ctx, t0, "00000000000000000000000000000001");
  const auto b = detail::sign_call(*call, ctx, t0 + 1s, "00000000000000000000000000000002");
  EXPECT_NE(a.signature.signature, b.signature.signature);
  EXPECT_EQ(a.url.find("Base64"), std::string::npos);
  EXPECT_EQ(a.url, "https://cloudauth-intl.cn-hongkong.aliyuncs.com/?" + call->canonical_query);
  auto header = [](const detail::http_request& r, const std::string& n) {
    for (const auto& [k, v] : r.headers) {
      if (k == n) return v;
    }
    return std::string();
  };
  EXPECT_EQ(header(a, "x-acs-date"), "2023-10-26T10:22:32Z");
  EXPECT_EQ(header(b, "x-acs-date"), "2023-10-26T10:22:33Z");
  EXPECT_EQ(header(b, "x-acs-signature-nonce"), "00000000000000000000000000000002");
  EXPECT_EQ(header(a, "host"), "cloudauth-intl.cn-hongkong.aliyuncs.com");
  EXPECT_EQ(a.signature.signed_headers,
            "content-type;host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version");
}

TEST(EkycRequest, MerchantUserIdHashedWhenAsked) {
  auto call = detail::prepare(sample_ekyc(), true, {});
  ASSERT_TRUE(call.ok());
  // SHA-256("user@example.com")
  const std::string h = sha256_hex("user@example.com");
  EXPECT_EQ(h.size(), 64u);
  EXPECT_NE(call->canonical_query.find("MerchantUserId=" + h), std::string::npos);
  EXPECT_EQ(call->canonical_query.find("example.com"), std::string::npos);
}

TEST(EkycRequest, GeneratesUniqueMerchantBizIdWhenAbsent) {
  auto r = sample_ekyc();
  r.merchant_biz_id.clear();
  std::set<std::string> ids;
  for (int i = 0; i < 500; ++i) {
    auto call = detail::prepare(r, false, {});
    ASSERT_TRUE(call.ok());
    const auto& id = call->merchant_biz_id;
    ASSERT_EQ(id.size(), 32u);
    ASSERT_TRUE(std::all_of(id.begin(), id.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)); }));
    EXPECT_NE(call->canonical_query.find("MerchantBizId=" + id), std::string::npos);
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 500u);
}

TEST(EkycRequest, ValidationRefusesBeforeSending) {
  auto expect_invalid = [](ekyc_verify_request r, const std::string& needle) {
    auto v = validate(r);
    ASSERT_FALSE(v.ok()) << needle;
    EXPECT_EQ(v.error().code, error_code::invalid_options);
    EXPECT_EQ(v.error().where, stage::upload);
    EXPECT_NE(v.error().message.find(needle), std::string::npos) << v.error().message;
  };
  EXPECT_TRUE(validate(sample_ekyc()).ok());
  auto r = sample_ekyc();
  r.merchant_user_id.clear();
  expect_invalid(r, "MerchantUserId");
  r = sample_ekyc();
  r.doc_type = "0100000";
  expect_invalid(r, "DocType");
  r = sample_ekyc();
  r.merchant_biz_id = std::string(33, 'a');
  expect_invalid(r, "MerchantBizId");
  r = sample_ekyc();
  r.merchant_biz_id = "abc-123";
  expect_invalid(r, "MerchantBizId");
  r = sample_ekyc();
  r.face_picture_url = "https://example.com/face.jpg";
  expect_invalid(r, "got both");
  r = sample_ekyc();
  r.id_ocr_picture_base64.clear();
  expect_invalid(r, "got neither");
  r = sample_ekyc();
  r.face_picture_base64 = "data:image/jpeg;base64,AAAA";
  expect_invalid(r, "prefix");
  r = sample_ekyc();
  r.face_picture_base64 = "AA A";
  expect_invalid(r, "not standard base64");
  r = sample_ekyc();
  r.face_picture_base64 = "AAA";
  expect_invalid(r, "multiple of 4");
  r = sample_ekyc();
  r.face_picture_base64 = std::string(1'000'004, 'A');
  expect_invalid(r, "allowed");
  r = sample_ekyc();
  r.authorize = "Y";
  expect_invalid(r, "T or F");
  r = sample_ekyc();
  r.scene_code = "12345678901";
  expect_invalid(r, "SceneCode");
  r = sample_ekyc();
  r.face_picture_base64.clear();
  r.face_picture_url = "ftp://x";
  expect_invalid(r, "http(s)");
}

TEST(TencentRequest, JsonBodyAndValidation) {
  biz_token_request r;
  r.redirect_url = "https://example.com/back";
  r.compare_image_base64 = "+/8=";
  r.extra = "item-7";
  r.check_mode = 2;
  auto call = detail::prepare(r);
  ASSERT_TRUE(call.ok()) << call.error().message;
  EXPECT_EQ(call->action, "ApplyWebVerificationBizTokenIntl");
  EXPECT_EQ(call->content_type, "application/json");
  EXPECT_EQ(call->canonical_query, "");
  EXPECT_EQ(call->body,
            R"({"CompareImageBase64":"+/8=","Config":{"CheckMode":2},"Extra":"item-7","RedirectURL":"https://example.com/back"})");
  EXPECT_EQ(call->body_display.find("+/8="), std::string::npos);

  detail::signing_context ctx;
  ctx.endpoint = detail::parse_endpoint("https://faceid.intl.tencentcloudapi.com/").value();
  ctx.credentials = {"AKIDexample", "key", "sts-token"};
  ctx.region = "ap-singapore";
  const auto req = detail::sign_call(*call, ctx, std::chrono::system_clock::time_point(1551113065s), "n");
  EXPECT_EQ(req.url, "https://faceid.intl.tencentcloudapi.com/");
  std::map<std::string, std::string> h(req.headers.begin(), req.headers.end());
  EXPECT_EQ(h["X-TC-Action"], "ApplyWebVerificationBizTokenIntl");
  EXPECT_EQ(h["X-TC-Version"], "2018-03-01");
  EXPECT_EQ(h["X-TC-Timestamp"], "1551113065");
  EXPECT_EQ(h["X-TC-Region"], "ap-singapore");
  EXPECT_EQ(h["X-TC-Token"], "sts-token");
  EXPECT_EQ(h["Host"], "faceid.intl.tencentcloudapi.com");
  EXPECT_EQ(h["Authorization"].rfind("TC3-HMAC-SHA256 Credential=AKIDexample/2019-02-25/faceid/tc3_request, "
                                     "SignedHeaders=content-type;host, Signature=", 0), 0u);

  biz_token_request bad = r;
  bad.redirect_url.clear();
  EXPECT_FALSE(validate(bad).ok());
  bad = r;
  bad.extra = std::string(1001, 'x');
  EXPECT_FALSE(validate(bad).ok());
  bad = r;
  bad.extra = std::string(1000, 'x');
  EXPECT_TRUE(validate(bad).ok());
  bad = r;
  bad.check_mode = 9;
  EXPECT_FALSE(validate(bad).ok());
  EXPECT_FALSE(validate(web_verification_result_request{}).ok());
}

TEST(Endpoint, HttpsOnlyExceptLoopback) {
  EXPECT_TRUE(detail::parse_endpoint("https://cloudauth-intl-vpc.cn-hongkong.aliyuncs.com").ok());
  EXPECT_TRUE(detail::parse_endpoint("http://127.0.0.1:8080").ok());
  EXPECT_EQ(detail::parse_endpoint("http://127.0.0.1:8080/")->authority, "127.0.0.1:8080");
  EXPECT_FALSE(detail::parse_endpoint("http://cloudauth-intl.cn-hongkong.aliyuncs.com").ok());
  EXPECT_FALSE(detail::parse_endpoint("https://host/path").ok());
  EXPECT_FALSE(detail::parse_endpoint("https://user@host").ok());
  EXPECT_FALSE(detail::parse_endpoint("ftp://host").ok());
}

// ---- responses --------------------------------------------------------------

TEST(AlibabaResponse, ParsesResultAndNestedJsonStrings) {
  const std::string body = R"({"RequestId":"4EB356FE-BB6A-5DCC-B4C5-E8051787EBA1","Code":"Success","Message":"success",
 "Result":{"TransactionId":"4ab0b***cbde97","Passed":"Y","SubCode":"205",
   "ExtIdInfo":"{\"ocrIdInfo\":{\"countryCode\":\"CHN\",\"docType\":\"01560001\"},\"ocrIdPassed\":\"N\",\"spoofInfo\":{\"spoofResult\":\"Y\"}}",
   "ExtFaceInfo":"{\"faceAttack\":\"N\",\"faceComparisonScore\":52.57,\"facePassed\":\"N\",\"authorityComparisonScore\":80.39}"}})";
  const auto r = detail::parse_ekyc_verify(200, body);
  EXPECT_EQ(r.category, upload_category::success);
  EXPECT_EQ(r.request_id, "4EB356FE-BB6A-5DCC-B4C5-E8051787EBA1");
  EXPECT_EQ(r.vendor_code, "Success");
  ASSERT_TRUE(r.ekyc.has_value());
  EXPECT_EQ(r.ekyc->transaction_id, "4ab0b***cbde97");
  EXPECT_EQ(r.ekyc->passed, "Y");
  EXPECT_TRUE(r.ekyc->verified);
  EXPECT_EQ(r.ekyc->sub_code, "205");
  EXPECT_DOUBLE_EQ(r.ekyc->face_comparison_score.value(), 52.57);
  EXPECT_DOUBLE_EQ(r.ekyc->authority_comparison_score.value(), 80.39);
  EXPECT_EQ(r.ekyc->face_passed, "N");
  EXPECT_EQ(r.ekyc->face_attack, "N");
  EXPECT_EQ(r.ekyc->ocr_id_passed, "N");
  EXPECT_EQ(r.ekyc->spoof_result, "Y");
}

TEST(AlibabaResponse, PassedOnlyOnY) {
  const auto r = detail::parse_ekyc_verify(
      200, R"({"Code":"Success","RequestId":"r","Result":{"Passed":"T","ExtFaceInfo":"not json"}})");
  ASSERT_TRUE(r.ekyc.has_value());
  EXPECT_FALSE(r.ekyc->verified);
  EXPECT_FALSE(r.ekyc->face_comparison_score.has_value());
}

TEST(AlibabaResponse, CodesMapToCategories) {
  using c = upload_category;
  EXPECT_EQ(detail::classify_alibaba(403, "Throttling.Api"), c::throttled);
  EXPECT_EQ(detail::classify_alibaba(400, "Throttling.User"), c::throttled);
  EXPECT_EQ(detail::classify_alibaba(500, "InternalError"), c::server_error);
  EXPECT_EQ(detail::classify_alibaba(503, "ServiceUnavailable"), c::server_error);
  EXPECT_EQ(detail::classify_alibaba(400, "SignatureDoesNotMatch"), c::auth_config);
  EXPECT_EQ(detail::classify_alibaba(403, "SignatureDoesNotMatch"), c::auth_config);
  EXPECT_EQ(detail::classify_alibaba(400, "InvalidTimeStamp.Expired"), c::auth_config);
  EXPECT_EQ(detail::classify_alibaba(404, "InvalidAccessKeyId.NotFound"), c::auth_config);
  EXPECT_EQ(detail::classify_alibaba(403, "Forbidden.RAMUserAccessDenied"), c::auth_config);
  EXPECT_EQ(detail::classify_alibaba(401, "Forbidden.ExceptionRepeatedInvoke"), c::auth_config);
  EXPECT_EQ(detail::classify_alibaba(400, "MissingParameter"), c::rejected_input);
  EXPECT_EQ(detail::classify_alibaba(400, "InvalidParameter"), c::rejected_input);
  EXPECT_EQ(detail::classify_alibaba(401, "NoFaceDetected"), c::rejected_input);
  EXPECT_EQ(detail::classify_alibaba(401, "DataDuplication"), c::rejected_input);
  EXPECT_EQ(detail::classify_alibaba(401, "ToolargeImage"), c::rejected_input);
  EXPECT_EQ(detail::classify_alibaba(502, "SomethingNew"), c::server_error);
  EXPECT_EQ(detail::classify_alibaba(200, "Success"), c::success);
}

TEST(AlibabaResponse, UnreadableBodies) {
  using c = upload_category;
  EXPECT_EQ(detail::parse_ekyc_verify(200, "{\"Code\":\"Succ").category, c::unknown_outcome);
  EXPECT_EQ(detail::parse_ekyc_verify(200, "").category, c::unknown_outcome);
  EXPECT_EQ(detail::parse_ekyc_verify(502, "<html>bad gateway</html>").category, c::server_error);
  EXPECT_EQ(detail::parse_ekyc_verify(429, "").category, c::throttled);
  EXPECT_EQ(detail::parse_ekyc_verify(403, "[]").category, c::auth_config);
  EXPECT_EQ(detail::parse_ekyc_verify(200, R"({"Code":"Success","RequestId":"x"})").category, c::unknown_outcome);
  EXPECT_EQ(detail::parse_ekyc_verify(200, R"({"Code":1,"Result":[]})").category, c::rejected_input);
}

TEST(TencentResponse, ErrorAndSuccessShapes) {
  using c = upload_category;
  auto e = detail::parse_tencent(
      "ApplyWebVerificationBizTokenIntl", 200,
      R"({"Response":{"Error":{"Code":"RequestLimitExceeded","Message":"slow down"},"RequestId":"ed93f3cb"}})");
  EXPECT_EQ(e.category, c::throttled);
  EXPECT_EQ(e.vendor_code, "RequestLimitExceeded");
  EXPECT_EQ(e.request_id, "ed93f3cb");
  EXPECT_EQ(detail::classify_tencent("RequestLimitExceeded.UinLimitExceeded"), c::throttled);
  EXPECT_EQ(detail::classify_tencent("AuthFailure.SignatureFailure"), c::auth_config);
  EXPECT_EQ(detail::classify_tencent("AuthFailure.SignatureExpire"), c::auth_config);
  EXPECT_EQ(detail::classify_tencent("UnauthorizedOperation.Arrears"), c::auth_config);
  EXPECT_EQ(detail::classify_tencent("ResourceUnavailable.InArrears"), c::auth_config);
  EXPECT_EQ(detail::classify_tencent("InternalError"), c::server_error);
  EXPECT_EQ(detail::classify_tencent("ResourceUnavailable"), c::server_error);
  EXPECT_EQ(detail::classify_tencent("InvalidParameterValue.BizTokenExpired"), c::rejected_input);
  EXPECT_EQ(detail::classify_tencent("FailedOperation.ImageBlur"), c::rejected_input);

  auto ok = detail::parse_tencent("ApplyWebVerificationBizTokenIntl", 200,
                                  R"({"Response":{"BizToken":"D9E5","VerificationUrl":"https://v/x","RequestId":"3a6f"}})");
  EXPECT_EQ(ok.category, c::success);
  ASSERT_TRUE(ok.biz_token.has_value());
  EXPECT_EQ(ok.biz_token->biz_token, "D9E5");
  EXPECT_EQ(ok.biz_token->verification_url, "https://v/x");  // the old spelling

  auto res = detail::parse_tencent(
      "GetWebVerificationResultIntl", 200,
      R"({"Response":{"ErrorCode":0,"ErrorMsg":"ok","Extra":"e","VerificationDetailList":[{"Similarity":"10"},{"Similarity":88.5}],"RequestId":"r"}})");
  ASSERT_TRUE(res.web_result.has_value());
  EXPECT_EQ(res.web_result->error_code, 0);
  EXPECT_EQ(res.web_result->attempt_count, 2);
  EXPECT_DOUBLE_EQ(res.web_result->similarity.value(), 88.5);

  EXPECT_EQ(detail::parse_tencent("ApplyWebVerificationBizTokenIntl", 200, R"({"Response":{}})").category,
            c::unknown_outcome);
  EXPECT_EQ(detail::parse_tencent("ApplyWebVerificationBizTokenIntl", 502, "oops").category, c::server_error);
}

// ---- credentials ------------------------------------------------------------

TEST(Credentials, FromEnvironmentByVendorNames) {
  std::map<std::string, std::string> env{{"ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAIid"},
                                         {"ALIBABA_CLOUD_ACCESS_KEY_SECRET", " alisecret\n"},
                                         {"ALIBABA_CLOUD_SECURITY_TOKEN", "alitoken"},
                                         {"TENCENTCLOUD_SECRET_ID", "AKIDid"}};
  auto lookup = [&](const char* n) -> const char* {
    auto it = env.find(n);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  auto a = credentials_from_environment(upload_vendor::alibaba, lookup);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->key_id, "LTAIid");
  EXPECT_EQ(a->secret, "alisecret");  // stray whitespace trimmed
  EXPECT_EQ(a->token, "alitoken");
  auto t = credentials_from_environment(upload_vendor::tencent, lookup);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().message.find("TENCENTCLOUD_SECRET_KEY"), std::string::npos);
  EXPECT_EQ(t.error().message.find("AKIDid"), std::string::npos);
}

TEST(Credentials, FromFileWithoutLeakingContents) {
  const auto dir = test::temp_dir("upload-creds");
  const auto good = dir / "tencent.env";
  {
    std::ofstream f(good);
    f << "# kycprep credentials\n\nexport TENCENTCLOUD_SECRET_ID=\"AKIDfile\"\nTENCENTCLOUD_SECRET_KEY = 'file-key-42'\n";
  }
  auto c = credentials_from_file(upload_vendor::tencent, good);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->key_id, "AKIDfile");
  EXPECT_EQ(c->secret, "file-key-42");

  const auto bad = dir / "bad.env";
  {
    std::ofstream f(bad);
    f << "TENCENTCLOUD_SECRET_ID=AKIDfile\nfile-key-42-in-a-broken-line\n";
  }
  auto b = credentials_from_file(upload_vendor::tencent, bad);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().message.find("file-key-42"), std::string::npos);
  EXPECT_NE(b.error().message.find("line 2"), std::string::npos);

  auto missing = credentials_from_file(upload_vendor::alibaba, dir / "nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, error_code::io_error);
  EXPECT_EQ(redact_key_id("LTAI5tExampleKeyId"), "LTAI****");
  EXPECT_EQ(redact_key_id("short"), "****");
}

TEST(Uploader, CreateValidatesConfig) {
  upload_config c;
  c.vendor = upload_vendor::alibaba;
  c.credentials = {"LTAIexampleid", "secret-value-123", ""};
  auto ok = uploader::create(c);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->endpoint(), "https://cloudauth-intl.cn-hongkong.aliyuncs.com");
  EXPECT_DOUBLE_EQ(ok->qps(), 10.0);
  upload_config t = c;
  t.vendor = upload_vendor::tencent;
  auto tu = uploader::create(t);
  ASSERT_TRUE(tu.ok());
  EXPECT_DOUBLE_EQ(tu->qps(), 20.0);
  EXPECT_EQ(tu->endpoint(), "https://faceid.intl.tencentcloudapi.com");

  auto bad = c;
  bad.endpoint = "http://cloudauth-intl.cn-hongkong.aliyuncs.com";
  EXPECT_FALSE(uploader::create(bad).ok());
  bad = c;
  bad.credentials.secret.clear();
  EXPECT_FALSE(uploader::create(bad).ok());
  bad = c;
  bad.max_attempts = 0;
  EXPECT_FALSE(uploader::create(bad).ok());
  bad = c;
  bad.ca_file = "/nonexistent/ca.pem";
  EXPECT_FALSE(uploader::create(bad).ok());

  // A request for the other vendor is refused without sending.
  auto o = tu->send(sample_ekyc());
  EXPECT_EQ(o.category, upload_category::auth_config);
  EXPECT_EQ(o.attempts, 0);
  EXPECT_FALSE(o.sent);
  // Validation failures are refused without sending.
  auto r = sample_ekyc();
  r.doc_type = "x";
  auto v = ok->send(r);
  EXPECT_EQ(v.category, upload_category::rejected_input);
  EXPECT_EQ(v.attempts, 0);
  EXPECT_FALSE(v.billed_possible);
}

TEST(Uploader, DryRunRedactsSecretsAndImages) {
  upload_config c;
  c.vendor = upload_vendor::alibaba;
  c.credentials = {"LTAI5tDryRunKeyId", "DryRunSecretValue", "DryRunStsToken"};
  c.hash_merchant_user_id = true;
  auto up = uploader::create(c);
  ASSERT_TRUE(up.ok());
  auto r = sample_ekyc();
  r.face_picture_base64 = std::string(4000, 'Q');
  auto text = up->dry_run(r);
  ASSERT_TRUE(text.ok()) << text.error().message;
  const std::string& s = text.value();
  EXPECT_EQ(s.find("DryRunSecretValue"), std::string::npos);
  EXPECT_EQ(s.find("DryRunStsToken"), std::string::npos);
  EXPECT_EQ(s.find("LTAI5tDryRunKeyId"), std::string::npos);
  EXPECT_EQ(s.find("QQQQQQQQ"), std::string::npos);
  EXPECT_EQ(s.find("user@example.com"), std::string::npos);
  EXPECT_NE(s.find("POST https://cloudauth-intl.cn-hongkong.aliyuncs.com/?"), std::string::npos);
  EXPECT_NE(s.find("Authorization: ACS3-HMAC-SHA256 Credential=LTAI****,SignedHeaders="), std::string::npos);
  EXPECT_NE(s.find("x-acs-security-token: <redacted>"), std::string::npos);
  EXPECT_NE(s.find("FacePictureBase64=<image: 4000 base64 chars"), std::string::npos);

  upload_config tc = c;
  tc.vendor = upload_vendor::tencent;
  auto tu = uploader::create(tc);
  ASSERT_TRUE(tu.ok());
  biz_token_request b;
  b.redirect_url = "https://example.com/cb";
  b.compare_image_base64 = std::string(4000, 'Q');
  auto tt = tu->dry_run(b);
  ASSERT_TRUE(tt.ok());
  EXPECT_EQ(tt->find("DryRunSecretValue"), std::string::npos);
  EXPECT_EQ(tt->find("DryRunStsToken"), std::string::npos);
  EXPECT_EQ(tt->find("LTAI5tDryRunKeyId"), std::string::npos);
  EXPECT_EQ(tt->find("QQQQQQQQ"), std::string::npos);
  EXPECT_NE(tt->find("X-TC-Action: ApplyWebVerificationBizTokenIntl"), std::string::npos);
  EXPECT_NE(tt->find("X-TC-Token: <redacted>"), std::string::npos);
}

// ---- rate limiter -----------------------------------------------------------

TEST(RateLimiter, SpacesSlotsByInterval) {
  auto now = std::chrono::steady_clock::time_point(1000s);
  rate_limiter lim(10.0, [&] { return now; }, [](std::chrono::nanoseconds) {});
  // Paced 1% under the configured rate: 101 ms apart at 10/s.
  EXPECT_EQ(lim.reserve(), 0ns);
  EXPECT_EQ(lim.reserve(), 101ms);
  EXPECT_EQ(lim.reserve(), 202ms);
  now += 1s;  // idle time does not bank a burst
  EXPECT_EQ(lim.reserve(), 0ns);
  EXPECT_EQ(lim.reserve(), 101ms);
}

TEST(RateLimiter, AcquireSpacesFromTheActualGrant) {
  auto now = std::chrono::steady_clock::time_point(1000s);
  std::chrono::nanoseconds late{0};
  rate_limiter lim(10.0, [&] { return now; }, [&](std::chrono::nanoseconds d) { now += d + late; });
  const auto g1 = lim.acquire();
  EXPECT_EQ(g1.time_since_epoch(), 1000s);
  const auto g2 = lim.acquire();
  EXPECT_EQ(g2 - g1, 101ms);
  late = 30ms;  // this waiter wakes up late
  const auto g3 = lim.acquire();
  EXPECT_EQ(g3 - g2, 131ms);
  late = 0ms;
  const auto g4 = lim.acquire();
  EXPECT_EQ(g4 - g3, 101ms);  // counted from the late grant, not from a booked slot
}

TEST(RateLimiter, ThreadSafeNoTwoSlotsCloserThanInterval) {
  const auto start = std::chrono::steady_clock::time_point(5000s);
  rate_limiter lim(20.0, [&] { return start; }, [](std::chrono::nanoseconds) {});
  std::mutex m;
  std::vector<std::chrono::nanoseconds> slots;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        const auto w = lim.reserve();
        std::lock_guard lock(m);
        slots.push_back(w);
      }
    });
  }
  for (auto& t : threads) t.join();
  std::sort(slots.begin(), slots.end());
  ASSERT_EQ(slots.size(), 400u);
  for (std::size_t i = 1; i < slots.size(); ++i) EXPECT_EQ(slots[i] - slots[i - 1], 50500us);
  // In any window of one second at most qps slots start.
  EXPECT_GT(slots[20] - slots[0], 1s);
}

TEST(RateLimiter, ThreadSafeAcquireGrantsNeverCloserThanInterval) {
  std::mutex clock_mutex;
  auto now = std::chrono::steady_clock::time_point(0s);
  rate_limiter lim(
      100.0,
      [&] {
        std::lock_guard lock(clock_mutex);
        return now;
      },
      [&](std::chrono::nanoseconds d) {
        std::lock_guard lock(clock_mutex);
        now += d;
      });
  std::mutex m;
  std::vector<std::chrono::steady_clock::time_point> grants;
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 40; ++i) {
        const auto g = lim.acquire();
        std::lock_guard lock(m);
        grants.push_back(g);
      }
    });
  }
  for (auto& t : threads) t.join();
  std::sort(grants.begin(), grants.end());
  ASSERT_EQ(grants.size(), 240u);
  for (std::size_t i = 1; i < grants.size(); ++i) EXPECT_GE(grants[i] - grants[i - 1], 10100us);
}

}  // namespace
}  // namespace kycprep
