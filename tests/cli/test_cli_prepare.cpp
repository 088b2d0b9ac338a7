// `kycprep prepare` as a user runs it: JSON report, output files, exit codes.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "kycprep/base64.hpp"
#include "kycprep/decode.hpp"
#include "kycprep/encode.hpp"
#include "kycprep/resize.hpp"
#include "test_support.hpp"

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

struct run_result {
  int rc = -1;
  std::string out;
};

// Runs the CLI through the shell (arguments are quoted by the caller).
run_result run(const std::string& args) {
  run_result r;
  const std::string cmd = std::string("'") + KYCPREP_CLI + "' " + args + " 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[65536];
  for (std::size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) r.out.append(buf, n);
  const int st = pclose(p);
  r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

}  // namespace

TEST(cli_prepare, json_report_and_files_for_a_face_photo) {
  const fs::path dir = kycprep::test::temp_dir("cli-prepare");
  const fs::path in = kycprep::test::data_dir() / "samples/astronaut_exif6.jpg";
  const auto r = run("prepare " + q(in) + " -o " + q(dir / "out.jpg") + " --base64-out " + q(dir / "out.b64") +
                     " --json");
  ASSERT_EQ(r.rc, 0) << r.out;
  const json j = json::parse(r.out);
  EXPECT_TRUE(j["ok"].get<bool>());
  EXPECT_TRUE(j["error"].is_null());
  EXPECT_EQ(j["width"], 720);
  EXPECT_EQ(j["height"], 960);
  EXPECT_GE(j["quality"].get<int>(), 91);
  EXPECT_EQ(j["orientation"], 6);
  EXPECT_EQ(j["source"]["format"], "jpeg");
  for (const char* k : {"x", "y", "w", "h"}) EXPECT_TRUE(j["crop"][k].is_number()) << k;
  ASSERT_TRUE(j["face"].is_object());
  EXPECT_GE(j["faces"].size(), 1u);
  EXPECT_NEAR(j["face_area_ratio"].get<double>(), 0.6, 0.1);
  EXPECT_GT(j["timings_ms"]["decode"].get<double>(), 0.0);
  EXPECT_TRUE(j["warnings"].is_array());

  const auto jpeg = kycprep::test::read_bytes(dir / "out.jpg");
  EXPECT_EQ(jpeg.size(), j["bytes"].get<std::size_t>());
  const auto b64 = kycprep::test::read_bytes(dir / "out.b64");
  EXPECT_EQ(std::string(b64.begin(), b64.end()), kycprep::base64_encode(jpeg));
  auto h = kycprep::read_header(jpeg);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->width, 720);
}

TEST(cli_prepare, document_profile_keeps_the_whole_frame) {
  const fs::path dir = kycprep::test::temp_dir("cli-prepare-doc");
  const auto r = run("prepare " + q(kycprep::test::data_dir() / "samples/astronaut_portrait.jpg") +
                     " --profile document -o " + q(dir / "d.jpg") + " --json");
  ASSERT_EQ(r.rc, 0);
  const json j = json::parse(r.out);
  EXPECT_EQ(j["crop"]["x"], 0);
  EXPECT_EQ(j["crop"]["y"], 0);
  EXPECT_EQ(j["crop"]["w"], j["source"]["upright_width"]);
  EXPECT_EQ(j["crop"]["h"], j["source"]["upright_height"]);
  EXPECT_TRUE(j["face"].is_null());
}

TEST(cli_prepare, exit_status_and_error_object_per_error_class) {
  const fs::path dir = kycprep::test::temp_dir("cli-prepare-err");
  const fs::path hostile = kycprep::test::data_dir() / "hostile";
  struct expectation {
    std::string args;
    int rc;
    std::string code;
  };
  const std::vector<expectation> cases = {
      {q(hostile / "empty.jpg"), 4, "empty_input"},
      {q(hostile / "magic_gif.jpg"), 4, "unsupported_format"},
      {q(hostile / "bomb_65500x65500.jpg"), 5, "side_too_large"},
      {q(hostile / "scans_190.jpg") + " --profile document", 5, "too_many_scans"},
      {q(hostile / "truncated_50.jpg") + " --profile document", 6, "truncated"},
      {q(kycprep::test::data_dir() / "fixtures/png/palette8.png"), 7, "no_face"},
      {q("/nonexistent/x.jpg"), 3, "io_error"},
  };
  for (const auto& c : cases) {
    const auto r = run("prepare " + c.args + " -o " + q(dir / "x.jpg") + " --json");
    EXPECT_EQ(r.rc, c.rc) << c.args;
    const json j = json::parse(r.out, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << c.args << ": " << r.out;
    EXPECT_FALSE(j["ok"].get<bool>());
    EXPECT_EQ(j["error"]["code"], c.code) << c.args;
    EXPECT_TRUE(j["error"]["stage"].is_string());
    EXPECT_FALSE(j["error"]["message"].get<std::string>().empty());
  }
  EXPECT_FALSE(fs::exists(dir / "x.jpg"));  // no output is written for a failure
  // Usage errors: quality below 91 is refused by the command line itself.
  EXPECT_EQ(run("prepare " + q(hostile / "empty.jpg") + " --quality 90").rc, 2);
  EXPECT_EQ(run("prepare").rc, 2);
}

TEST(cli_prepare, stdin_to_stdout) {
  const auto r = run("prepare - --profile document -o - < " +
                     q(kycprep::test::data_dir() / "samples/astronaut_portrait.jpg"));
  ASSERT_EQ(r.rc, 0);
  std::vector<std::uint8_t> jpeg(r.out.begin(), r.out.end());
  auto h = kycprep::read_header(jpeg);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(std::min(h->width, h->height), 720);
}

TEST(cli_prepare, frame_aspect_and_face_ratio_are_configurable) {
  const fs::path dir = kycprep::test::temp_dir("cli-prepare-frame");
  const auto in = q(kycprep::test::data_dir() / "samples/astronaut_portrait.jpg");
  const auto r = run("prepare " + in + " --aspect 2:3 --face-area-ratio 0.5 -o " + q(dir / "f.jpg") + " --json");
  ASSERT_EQ(r.rc, 0);
  const json j = json::parse(r.out);
  EXPECT_EQ(j["width"], 720);
  EXPECT_EQ(j["height"], 1080);  // 2:3
  EXPECT_NEAR(j["face_area_ratio"].get<double>(), 0.5, 0.05);
  EXPECT_EQ(run("prepare " + in + " --aspect 4:3").rc, 2);  // landscape frames are refused
  EXPECT_EQ(run("prepare " + in + " --aspect nonsense").rc, 2);
}

TEST(cli_prepare, max_coefficient_mib_chooses_one_entropy_pass_or_two) {
  // A baseline JPEG large enough for a 1/8 detection proxy (long side >= 3840).
  auto d = kycprep::decode(kycprep::test::read_bytes(kycprep::test::data_dir() / "samples/astronaut_portrait.jpg"));
  ASSERT_TRUE(d.ok());
  const kycprep::image big = kycprep::resize(d->pixels.view(), 2880, 3840);
  auto e = kycprep::encode_jpeg(big.view());
  ASSERT_TRUE(e.ok());
  const fs::path dir = kycprep::test::temp_dir("cli-coef");
  kycprep::test::write_bytes(dir / "big.jpg", e->jpeg);
  const std::string base = "prepare " + q(dir / "big.jpg") + " -o " + q(dir / "out.jpg") + " --json";
  const auto one = run(base);
  const auto two = run(base + " --max-coefficient-mib 0");
  const auto capped = run(base + " --max-coefficient-mib 20");  // this file needs ~35 MB
  ASSERT_EQ(one.rc, 0) << one.out;
  ASSERT_EQ(two.rc, 0) << two.out;
  ASSERT_EQ(capped.rc, 0) << capped.out;
  EXPECT_EQ(json::parse(one.out)["detected_on"], "dc_coefficients");
  EXPECT_EQ(json::parse(two.out)["detected_on"], "dct_scaled");
  EXPECT_EQ(json::parse(capped.out)["detected_on"], "dct_scaled");
  EXPECT_NE(run(base + " --max-coefficient-mib -1").rc, 0);
}
