// `kycprep batch --upload` end to end: the real CLI binary (a child process)
// prepares real images and sends them to the loopback server from
// tests/upload (127.0.0.1 only), which verifies every signature with its own
// implementation, decodes the images, plays scripted faults and counts the
// billed calls per item. The batch contract holds under throttling, 5xx,
// resets, stalls and kill -9: exactly one terminal record per input, at most
// one billed call per item (exactly one for every item recorded as sent),
// no resend after unknown_outcome, the request rate under --qps, and no
// secret in any output.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "loopback_server.hpp"
#include "test_support.hpp"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;
using kycprep::test::loopback_server;
using kycprep::test::received_request;
using kycprep::test::scenario;
using kycprep::test::server_options;

// Distinctive values, grepped for in every output.
const kycprep::test::server_credentials alibaba{"LTAI5tBatchKeyIdQ3x", "AliBatchSecret-Vw9-DoNotLeak",
                                                "AliBatchStsToken-Hn2-DoNotLeak"};
const kycprep::test::server_credentials tencent{"AKIDBatchSecretIdR7k", "TcBatchSecretKey-Jd5-DoNotLeak", ""};

using env_list = std::vector<std::string>;

env_list alibaba_env() {
  return {"ALIBABA_CLOUD_ACCESS_KEY_ID=" + alibaba.key_id, "ALIBABA_CLOUD_ACCESS_KEY_SECRET=" + alibaba.secret,
          "ALIBABA_CLOUD_SECURITY_TOKEN=" + alibaba.token};
}

struct run_result {
  int rc = -1;
  std::string out, err;
};

// The child's environment: ours without any vendor credential, plus `extra`.
std::vector<std::string> child_env(const env_list& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    const std::string s = *e;
    if (s.rfind("ALIBABA_CLOUD_", 0) == 0 || s.rfind("TENCENTCLOUD_", 0) == 0) continue;
    env.push_back(s);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& v, bool with_cli) {
  std::vector<char*> p;
  if (with_cli) p.push_back(const_cast<char*>(KYCPREP_CLI));
  for (auto& s : v) p.push_back(s.data());
  p.push_back(nullptr);
  return p;
}

std::string drain(int fd) {
  std::string s;
  char buf[65536];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) s.append(buf, static_cast<std::size_t>(n));
  close(fd);
  return s;
}

run_result run_cli(std::vector<std::string> args, const env_list& env_extra = {}) {
  int out[2], err[2];
  EXPECT_EQ(pipe(out), 0);
  EXPECT_EQ(pipe(err), 0);
  auto env = child_env(env_extra);
  auto argv = c_strings(args, true);
  auto envp = c_strings(env, false);
  const pid_t pid = fork();
  if (pid == 0) {
    const int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    close(out[0]);
    close(err[0]);
    execve(KYCPREP_CLI, argv.data(), envp.data());
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  run_result r;
  std::thread t([&] { r.err = drain(err[0]); });
  r.out = drain(out[0]);
  t.join();
  int status = 0;
  waitpid(pid, &status, 0);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

pid_t spawn_cli(std::vector<std::string> args, const env_list& env_extra) {
  auto env = child_env(env_extra);
  auto argv = c_strings(args, true);
  auto envp = c_strings(env, false);
  const pid_t pid = fork();
  if (pid == 0) {
    const int devnull = open("/dev/null", O_RDWR);
    dup2(devnull, 0);
    dup2(devnull, 1);
    dup2(devnull, 2);
    execve(KYCPREP_CLI, argv.data(), envp.data());
    _exit(127);
  }
  return pid;
}

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

struct journal_lines {
  std::vector<json> records;  // terminal records, in file order
  std::vector<json> intents;  // upload intent lines
};

journal_lines read_journal(const fs::path& p) {
  journal_lines j;
  std::istringstream in(slurp(p));
  for (std::string line; std::getline(in, line);) {
    auto v = json::parse(line);
    (v.contains("upload_started") ? j.intents : j.records).push_back(std::move(v));
  }
  return j;
}

std::map<std::string, int> count_ids(const std::vector<json>& recs) {
  std::map<std::string, int> m;
  for (const auto& r : recs) ++m[r.at("id").get<std::string>()];
  return m;
}

// No secret, STS token or full key id in anything the run produced: its
// stdout and stderr and every file it wrote except the images.
void expect_no_secret(const run_result& r, const fs::path& out_dir) {
  std::vector<std::pair<std::string, std::string>> outputs = {{"stdout", r.out}, {"stderr", r.err}};
  if (fs::exists(out_dir))
    for (const auto& e : fs::directory_iterator(out_dir))
      if (e.path().extension() != ".jpg" && e.path().extension() != ".b64")
        outputs.emplace_back(e.path().string(), slurp(e.path()));
  for (const auto& [name, text] : outputs)
    for (const auto* c : {&alibaba, &tencent})
      for (const std::string& secret : {c->secret, c->token, c->key_id}) {
        if (secret.empty()) continue;
        EXPECT_EQ(text.find(secret), std::string::npos) << name << " contains a secret";
      }
}

server_options base_server() {
  server_options o;
  o.alibaba = alibaba;
  o.tencent = tencent;
  o.lifetime = 120s;
  return o;
}

std::size_t stable_hash(const std::string& s) {
  std::size_t h = 1469598103934665603ull;  // FNV-1a: the same in every process
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// Images the detector finds a face in (faces) and plain documents; all small.
const std::vector<fs::path>& faces() {
  static const std::vector<fs::path> v = {kycprep::test::data_dir() / "fixtures" / "orientation" / "orient_1.jpg",
                                          kycprep::test::data_dir() / "fixtures" / "orientation" / "upright.png",
                                          kycprep::test::data_dir() / "fixtures" / "png" / "rgb8.png"};
  return v;
}
const std::vector<fs::path>& documents() {
  static const std::vector<fs::path> v = {kycprep::test::data_dir() / "fixtures" / "jpeg" / "baseline_420.jpg",
                                          kycprep::test::data_dir() / "fixtures" / "orientation" / "orient_6.jpg"};
  return v;
}

// A manifest of n EkycVerify items; every tenth has no merchant_biz_id (the
// CLI generates one). The user id has characters that need encoding.
fs::path write_manifest(const fs::path& dir, int n, bool with_biz_ids = true) {
  const fs::path p = dir / "items.jsonl";
  std::ofstream m(p);
  for (int i = 0; i < n; ++i) {
    char id[32];
    std::snprintf(id, sizeof id, "cust-%03d", i);
    json j = {{"id", id},
              {"face", faces()[static_cast<std::size_t>(i) % faces().size()].string()},
              {"document", documents()[static_cast<std::size_t>(i) % documents().size()].string()},
              {"merchant_user_id", std::string("user ") + id + "+tag@example.com"},
              {"doc_type", "01000000"}};
    if (with_biz_ids && i % 10 != 9) j["merchant_biz_id"] = "biz" + std::to_string(i);
    m << j.dump() << "\n";
  }
  return p;
}

std::size_t worst_one_second_window(std::vector<std::chrono::steady_clock::time_point> t) {
  std::sort(t.begin(), t.end());
  std::size_t worst = 0;
  for (std::size_t i = 0, j = 0; i < t.size(); ++i) {
    while (j < t.size() && t[j] - t[i] < 1s) ++j;
    worst = std::max(worst, j - i);
  }
  return worst;
}

bool is_generated_biz_id(const std::string& s) {
  return s.size() == 32 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

TEST(batch_upload, two_hundred_items_under_faults_each_end_terminal_and_billed_once) {
  constexpr int n = 200;
  constexpr int qps = 50;
  const fs::path dir = kycprep::test::temp_dir("batch-upload-200");
  const fs::path manifest = write_manifest(dir, n);

  auto so = base_server();
  so.stall = 3000ms;        // past the client's --timeout 1.5: unknown_outcome
  so.script = [](const std::string&, const std::string& key, int nth) {
    const std::size_t h = stable_hash(key);
    if (h % 40 == 7) return scenario::stall_after_billing;
    if (h % 40 == 8) return scenario::malformed_json;
    if (h % 40 == 9) return scenario::no_face;
    if (nth > 1) return scenario::ok;
    switch (h % 10) {
      case 0: return scenario::throttle;
      case 1: return scenario::server_error;
      case 2: return scenario::reset_mid_body;
      case 3: return scenario::unavailable;
      default: return scenario::ok;
    }
  };
  loopback_server server(so);
  ASSERT_TRUE(server.running());

  const fs::path out = dir / "out";
  // Threads beyond the cores: a worker waits through its item's backoff.
  // A small send buffer: a reset before the server read the body is seen
  // as such by the client (retried), not as "sent, no answer".
  const auto r = run_cli({"batch", "--manifest", manifest.string(), "-o", out.string(), "--threads", "8",
                          "--in-flight", "32", "--upload", "alibaba", "--endpoint", server.url(), "--qps",
                          std::to_string(qps), "--timeout", "1.5", "--socket-send-buffer", "8192"},
                         alibaba_env());
  EXPECT_EQ(r.rc, 1) << r.err;  // the unknown outcomes and the refused face are failures
  const auto journal = read_journal(out / "results.jsonl");

  // Exactly one terminal record per input, in input order.
  ASSERT_EQ(journal.records.size(), static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    char id[32];
    std::snprintf(id, sizeof id, "cust-%03d", i);
    EXPECT_EQ(journal.records[static_cast<std::size_t>(i)]["id"], id);
  }

  const auto seen = server.requests();
  std::map<std::string, std::vector<received_request>> by_key;
  for (const auto& q : seen) {
    EXPECT_TRUE(q.problems.empty()) << q.key << ": " << q.problems.front();
    by_key[q.key].push_back(q);
  }
  std::set<std::string> biz_ids;
  int unknown = 0, ok = 0, rejected = 0, retried = 0;
  for (const auto& rec : journal.records) {
    const auto& up = rec["upload"];
    ASSERT_TRUE(up.is_object()) << rec.dump();
    const std::string key = up["merchant_biz_id"].get<std::string>();
    EXPECT_TRUE(biz_ids.insert(key).second) << "merchant_biz_id used twice: " << key;
    const int idx = std::stoi(rec["id"].get<std::string>().substr(5));
    if (idx % 10 == 9) EXPECT_TRUE(is_generated_biz_id(key)) << key;
    else EXPECT_EQ(key, "biz" + std::to_string(idx));
    const auto& reqs = by_key[key];
    const auto billed = std::count_if(reqs.begin(), reqs.end(), [](const auto& q) { return q.billed; });
    EXPECT_EQ(billed, 1) << rec.dump();  // nothing lost, nothing billed twice
    EXPECT_EQ(up["attempts"].get<int>(), static_cast<int>(reqs.size())) << rec.dump();
    EXPECT_TRUE(up["billed_possible"].get<bool>()) << rec.dump();
    const std::string category = up["category"].get<std::string>();
    const std::size_t h = stable_hash(key);
    if (h % 40 == 7 || h % 40 == 8) {
      ++unknown;
      EXPECT_EQ(category, "unknown_outcome") << rec.dump();
      EXPECT_EQ(reqs.size(), 1u) << rec.dump();  // no resend after unknown_outcome
      EXPECT_FALSE(rec["ok"].get<bool>());
      EXPECT_EQ(rec["error"]["code"], "unknown_outcome");
      EXPECT_EQ(rec["error"]["stage"], "upload");
    } else if (h % 40 == 9) {
      ++rejected;
      EXPECT_EQ(category, "rejected_input") << rec.dump();
      EXPECT_EQ(up["vendor_code"], "NoFaceDetected");
      EXPECT_EQ(rec["error"]["code"], "rejected_input");
    } else {
      ++ok;
      EXPECT_EQ(category, "success") << rec.dump();
      EXPECT_TRUE(rec["ok"].get<bool>()) << rec.dump();
      EXPECT_EQ(up["passed"], "Y");
      EXPECT_TRUE(up["verified"].get<bool>());
      EXPECT_EQ(up["sub_code"], "200");
      EXPECT_DOUBLE_EQ(up["face_comparison_score"].get<double>(), 91.25);
      EXPECT_EQ(up["transaction_id"], "tx-" + key);
      EXPECT_EQ(up["http_status"], 200);
      EXPECT_FALSE(up["request_id"].get<std::string>().empty());
      if (reqs.size() > 1) ++retried;
      // The server decoded the very bytes the record describes.
      const auto& last = reqs.back();
      EXPECT_EQ(last.face_sha256, rec["images"]["face"]["sha256"]) << rec["id"];
      EXPECT_EQ(last.id_sha256, rec["images"]["document"]["sha256"]) << rec["id"];
      EXPECT_EQ(last.merchant_user_id, "user " + rec["id"].get<std::string>() + "+tag@example.com");
    }
  }
  EXPECT_GT(unknown, 0);
  EXPECT_GT(rejected, 0);
  EXPECT_GT(retried, n / 5);  // the throttles, 5xx and resets were retried
  const auto resets = std::count_if(seen.begin(), seen.end(), [](const auto& q) { return q.played == scenario::reset_mid_body; });
  EXPECT_GT(resets, 0);  // and every item reset mid-body still got billed exactly once (above)
  EXPECT_EQ(ok + unknown + rejected, n);

  // One fsynced intent line before each call, none for a record without one.
  EXPECT_EQ(journal.intents.size(), static_cast<std::size_t>(n));
  const auto intents = count_ids(journal.intents);
  for (const auto& [id, count] : intents) EXPECT_EQ(count, 1) << id;

  // The request rate the server saw never exceeds --qps (plus the OS's
  // scheduling jitter between the limiter's grant and the bytes arriving).
  std::vector<std::chrono::steady_clock::time_point> arrivals;
  for (const auto& q : seen) arrivals.push_back(q.arrival);
  EXPECT_LE(worst_one_second_window(arrivals), static_cast<std::size_t>(qps * 1.05) + 1);

  const json summary = json::parse(slurp(out / "summary.json"));
  EXPECT_EQ(summary["errors_by_code"]["unknown_outcome"].get<int>(), unknown);
  EXPECT_EQ(summary["errors_by_code"]["rejected_input"].get<int>(), rejected);
  expect_no_secret(r, out);

  // --resume finds every item terminal: nothing is sent again, not even the
  // unknown outcomes, whatever the flags.
  const auto before = seen.size();
  const auto again = run_cli({"batch", "--manifest", manifest.string(), "-o", out.string(), "--resume", "-q",
                              "--upload", "alibaba", "--endpoint", server.url(), "--accept-double-billing"},
                             alibaba_env());
  EXPECT_EQ(again.rc, 1) << again.err;
  EXPECT_EQ(server.requests().size(), before);
  EXPECT_EQ(read_journal(out / "results.jsonl").records.size(), static_cast<std::size_t>(n));
  expect_no_secret(again, out);
}

TEST(batch_upload, dry_run_sends_nothing_and_prints_redacted_signed_requests) {
  const fs::path dir = kycprep::test::temp_dir("batch-upload-dry");
  const fs::path manifest = write_manifest(dir, 6);
  loopback_server server(base_server());
  ASSERT_TRUE(server.running());
  const fs::path out = dir / "out";
  const auto r = run_cli({"batch", "--manifest", manifest.string(), "-o", out.string(), "-q", "--upload", "alibaba",
                          "--endpoint", server.url(), "--dry-run"},
                         alibaba_env());
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(server.requests().empty());  // nothing sent

  // One rendering per item on stdout, in input order, signed, redacted.
  std::size_t pos = 0;
  for (int i = 0; i < 6; ++i) {
    char header[96];
    std::snprintf(header, sizeof header, "### kycprep batch --dry-run: id \"cust-%03d\"\n", i);
    const auto at = r.out.find(header, pos);
    ASSERT_NE(at, std::string::npos) << header;
    pos = at + 1;
  }
  EXPECT_NE(r.out.find("Authorization: ACS3-HMAC-SHA256 Credential=LTAI****,"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("FacePictureBase64=<image: "), std::string::npos);
  EXPECT_NE(r.out.find("IdOcrPictureBase64=<image: "), std::string::npos);
  EXPECT_NE(r.out.find("x-acs-security-token: <redacted>"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("/9j/"), std::string::npos);  // no JPEG base64 anywhere

  // The records go to a journal of their own, so a real run in the same
  // directory is not skipped.
  EXPECT_FALSE(fs::exists(out / "results.jsonl"));
  const auto journal = read_journal(out / "results.dry-run.jsonl");
  ASSERT_EQ(journal.records.size(), 6u);
  EXPECT_TRUE(journal.intents.empty());
  for (const auto& rec : journal.records) {
    EXPECT_TRUE(rec["upload"]["dry_run"].get<bool>());
    EXPECT_NE(rec["upload"]["request"].get<std::string>().find("ACS3-HMAC-SHA256"), std::string::npos);
  }
  expect_no_secret(r, out);
}

TEST(batch_upload, kill_9_during_uploads_then_resume_never_bills_an_item_twice) {
  constexpr int n = 40;
  const fs::path dir = kycprep::test::temp_dir("batch-upload-kill");
  const fs::path manifest = write_manifest(dir, n, /*with_biz_ids=*/false);  // all generated: journalled
  auto so = base_server();
  so.script = [](const std::string&, const std::string&, int) { return scenario::slow_ok; };
  so.slow_delay = 250ms;  // a call is in flight most of the time
  loopback_server server(so);
  ASSERT_TRUE(server.running());
  const fs::path out = dir / "out";
  const std::vector<std::string> args = {"batch", "--manifest", manifest.string(), "-o", out.string(), "-q",
                                         "--resume", "--threads", "2", "--upload", "alibaba", "--endpoint",
                                         server.url(), "--qps", "100"};
  std::mt19937 rng(20240607);
  for (int round = 0; round < 4; ++round) {
    // Kill once this run's uploads are flowing (a call just answered, the
    // next ones in flight), not after a fixed delay from start-up, which a
    // slow or loaded machine can spend before the first call.
    const std::size_t before = server.requests().size();
    const pid_t pid = spawn_cli(args, alibaba_env());
    ASSERT_GT(pid, 0);
    int status = 0;
    bool exited = false;
    for (int i = 0; i < 4000 && server.requests().size() == before; ++i) {  // at most 20 s
      if (waitpid(pid, &status, WNOHANG) == pid) {
        exited = true;
        break;
      }
      std::this_thread::sleep_for(5ms);
    }
    if (exited) continue;
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 200)(rng)));
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  const auto r = run_cli(args, alibaba_env());
  EXPECT_TRUE(r.rc == 0 || r.rc == 1) << r.err;
  const auto journal = read_journal(out / "results.jsonl");
  const auto counted = count_ids(journal.records);
  EXPECT_EQ(journal.records.size(), static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    char id[32];
    std::snprintf(id, sizeof id, "cust-%03d", i);
    EXPECT_EQ(counted.count(id) ? counted.at(id) : 0, 1) << id;
  }

  std::map<std::string, int> billed_per_user;
  std::map<std::string, std::set<std::string>> keys_per_user;
  for (const auto& q : server.requests()) {
    EXPECT_TRUE(q.problems.empty()) << q.problems.front();
    if (q.billed) ++billed_per_user[q.merchant_user_id];
    keys_per_user[q.merchant_user_id].insert(q.key);
  }
  int from_earlier_run = 0;
  for (const auto& rec : journal.records) {
    const std::string user = "user " + rec["id"].get<std::string>() + "+tag@example.com";
    const auto& up = rec["upload"];
    EXPECT_LE(billed_per_user[user], 1) << rec.dump();  // never billed twice
    EXPECT_LE(keys_per_user[user].size(), 1u) << rec.dump();  // never sent under a second id
    if (rec["ok"].get<bool>()) {
      EXPECT_EQ(billed_per_user[user], 1) << rec.dump();
      EXPECT_EQ(*keys_per_user[user].begin(), up["merchant_biz_id"]);
    } else {
      // The only failure here: a call journalled by a killed run.
      EXPECT_EQ(up["category"], "unknown_outcome") << rec.dump();
      EXPECT_TRUE(up["from_earlier_run"].get<bool>());
      EXPECT_EQ(rec["error"]["code"], "unknown_outcome");
      EXPECT_TRUE(is_generated_biz_id(up["merchant_biz_id"].get<std::string>()));
      if (!keys_per_user[user].empty()) EXPECT_EQ(*keys_per_user[user].begin(), up["merchant_biz_id"]);
      ++from_earlier_run;
    }
  }
  EXPECT_GT(from_earlier_run, 0) << "no kill landed during an upload";
  expect_no_secret(r, out);
}

TEST(batch_upload, pending_intent_is_unknown_outcome_unless_double_billing_is_accepted) {
  const fs::path dir = kycprep::test::temp_dir("batch-upload-intent");
  const fs::path manifest = write_manifest(dir, 3, /*with_biz_ids=*/false);
  loopback_server server(base_server());
  ASSERT_TRUE(server.running());
  // What a crash after the intent and before the record leaves behind.
  const std::string intent = R"({"id":"cust-001","upload_started":true,"vendor":"alibaba","merchant_biz_id":"abc123"})";
  for (const bool accept : {false, true}) {
    const fs::path out = dir / (accept ? "accept" : "default");
    fs::create_directories(out);
    std::ofstream(out / "results.jsonl") << intent << "\n";
    std::vector<std::string> args = {"batch", "--manifest", manifest.string(), "-o", out.string(), "-q",
                                     "--upload", "alibaba", "--endpoint", server.url()};
    // The journal holds an intent: without --resume it is another run's.
    EXPECT_EQ(run_cli(args, alibaba_env()).rc, 10);
    args.push_back("--resume");
    if (accept) args.push_back("--accept-double-billing");
    const auto r = run_cli(args, alibaba_env());
    EXPECT_EQ(r.rc, accept ? 0 : 1) << r.err;
    const auto journal = read_journal(out / "results.jsonl");
    ASSERT_EQ(journal.records.size(), 3u);
    const json* rec = nullptr;
    for (const auto& x : journal.records)
      if (x["id"] == "cust-001") rec = &x;
    ASSERT_NE(rec, nullptr);
    const auto& up = (*rec)["upload"];
    EXPECT_EQ(up["merchant_biz_id"], "abc123");  // the journalled id, not a new one
    std::size_t sent_as_abc = 0;
    for (const auto& q : server.requests()) sent_as_abc += q.key == "abc123";
    if (!accept) {
      EXPECT_FALSE((*rec)["ok"].get<bool>());
      EXPECT_EQ((*rec)["error"]["code"], "unknown_outcome");
      EXPECT_EQ((*rec)["error"]["stage"], "upload");
      EXPECT_EQ(up["category"], "unknown_outcome");
      EXPECT_TRUE(up["billed_possible"].get<bool>());
      EXPECT_EQ(sent_as_abc, 0u);  // not resent
    } else {
      EXPECT_TRUE((*rec)["ok"].get<bool>()) << rec->dump();
      EXPECT_TRUE(up["resent_after_unknown_outcome"].get<bool>());
      EXPECT_EQ(sent_as_abc, 1u);  // resent once, under the same MerchantBizId
      // The resend was journalled again before it went out.
      EXPECT_EQ(count_ids(journal.intents)["cust-001"], 2);
    }
    expect_no_secret(r, out);
  }
}

TEST(batch_upload, tencent_with_credentials_file_plain_files_and_per_item_refusals) {
  const fs::path dir = kycprep::test::temp_dir("batch-upload-tencent");
  auto so = base_server();
  loopback_server server(so);
  ASSERT_TRUE(server.running());
  const fs::path creds = dir / "creds.env";
  std::ofstream(creds) << "# kycprep test\nexport TENCENTCLOUD_SECRET_ID=\"" << tencent.key_id
                       << "\"\nTENCENTCLOUD_SECRET_KEY=" << tencent.secret << "\n";
  const fs::path in = dir / "in";
  fs::create_directories(in);
  fs::copy_file(faces()[0], in / "a.jpg");
  fs::copy_file(faces()[1], in / "b.png");

  // Plain files, face profile, Tencent: the face goes in CompareImageBase64.
  const fs::path out = dir / "out";
  auto r = run_cli({"batch", in.string(), "-o", out.string(), "-q", "--upload", "tencent", "--endpoint", server.url(),
                    "--credentials", creds.string(), "--redirect-url", "https://example.com/kyc/done", "--target",
                    "tencent"});
  EXPECT_EQ(r.rc, 0) << r.err;
  auto journal = read_journal(out / "results.jsonl");
  ASSERT_EQ(journal.records.size(), 2u);
  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 2u);
  for (const auto& rec : journal.records) {
    const auto& up = rec["upload"];
    EXPECT_EQ(up["category"], "success") << rec.dump();
    EXPECT_EQ(up["action"], "ApplyWebVerificationBizTokenIntl");
    const std::string key = up["merchant_biz_id"].get<std::string>();  // sent as Extra
    EXPECT_EQ(up["biz_token"], "token-" + key);
    EXPECT_NE(up["verification_url"].get<std::string>().find("token-" + key), std::string::npos);
    const auto q = std::find_if(seen.begin(), seen.end(), [&](const auto& x) { return x.key == key; });
    ASSERT_NE(q, seen.end());
    EXPECT_TRUE(q->problems.empty()) << q->problems.front();
    EXPECT_EQ(q->face_sha256, rec["images"]["face"]["sha256"]);
  }
  expect_no_secret(r, out);

  // Alibaba needs a face and a document: plain files are refused per item,
  // and so are manifest lines missing a required field. Nothing is sent.
  {
    std::ofstream m(dir / "bad.jsonl");
    m << json({{"id", "no-doc-type"}, {"face", faces()[0].string()}, {"document", documents()[0].string()},
               {"merchant_user_id", "u1"}})
             .dump()
      << "\n";
    m << json({{"id", "no-document"}, {"face", faces()[0].string()}, {"merchant_user_id", "u1"},
               {"doc_type", "01000000"}})
             .dump()
      << "\n";
    m << json({{"id", "bad-biz-id"}, {"face", faces()[0].string()}, {"document", documents()[0].string()},
               {"merchant_user_id", "u1"}, {"doc_type", "01000000"}, {"merchant_biz_id", "has spaces!"}})
             .dump()
      << "\n";
  }
  const fs::path out2 = dir / "out2";
  r = run_cli({"batch", in.string(), "--manifest", (dir / "bad.jsonl").string(), "-o", out2.string(), "-q",
               "--upload", "alibaba", "--endpoint", server.url()},
              alibaba_env());
  EXPECT_EQ(r.rc, 1) << r.err;
  journal = read_journal(out2 / "results.jsonl");
  ASSERT_EQ(journal.records.size(), 5u);
  for (const auto& rec : journal.records) {
    EXPECT_FALSE(rec["ok"].get<bool>());
    EXPECT_EQ(rec["error"]["code"], "invalid_options") << rec.dump();
    EXPECT_EQ(rec["error"]["stage"], "upload") << rec.dump();
    EXPECT_EQ(rec["upload"]["attempts"], 0);
  }
  EXPECT_NE(journal.records[0]["error"]["message"].get<std::string>().find("--manifest"), std::string::npos);
  EXPECT_NE(journal.records[2]["error"]["message"].get<std::string>().find("doc_type"), std::string::npos);
  EXPECT_NE(journal.records[3]["error"]["message"].get<std::string>().find("document"), std::string::npos);
  EXPECT_TRUE(journal.intents.empty());          // refused before anything was journalled
  EXPECT_EQ(server.requests().size(), seen.size());  // or sent
  expect_no_secret(r, out2);

  // No credentials anywhere: a usage error naming the variable, no record.
  r = run_cli({"batch", in.string(), "-o", (dir / "out3").string(), "-q", "--upload", "alibaba", "--endpoint",
               server.url()});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("ALIBABA_CLOUD_ACCESS_KEY_ID"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "out3" / "results.jsonl"));
}

}  // namespace
