// `kycprep batch` end to end: the CLI binary runs as a child process on real
// files (data/samples, data/fixtures, data/hostile). Every test asserts the
// batch contract: exactly one record per input, in input order; durable
// outputs whose sha256 matches the record; resume after kill -9; shards that
// partition the inputs; streaming through pipes; flat memory; deterministic
// bytes whatever the thread count.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <openssl/evp.h>

#include <nlohmann/json.hpp>

#include "test_support.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct run_result {
  int rc = -1;
  std::string out;
};

std::vector<char*> argv_of(std::vector<std::string>& args) {
  std::vector<char*> v;
  v.push_back(const_cast<char*>(KYCPREP_CLI));
  for (auto& a : args) v.push_back(a.data());
  v.push_back(nullptr);
  return v;
}

// Runs `kycprep <args>` with `input` on stdin; returns its exit code and stdout.
run_result run_cli(std::vector<std::string> args, const std::string& input = "") {
  int in[2], out[2];
  EXPECT_EQ(pipe(in), 0);
  EXPECT_EQ(pipe(out), 0);
  auto argv = argv_of(args);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    const int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 2);
    close(in[1]);
    close(out[0]);
    execv(KYCPREP_CLI, argv.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  std::thread feeder([&] {
    std::size_t off = 0;
    while (off < input.size()) {
      const ssize_t w = write(in[1], input.data() + off, input.size() - off);
      if (w <= 0) break;
      off += static_cast<std::size_t>(w);
    }
    close(in[1]);
  });
  run_result r;
  char buf[65536];
  for (ssize_t n; (n = read(out[0], buf, sizeof buf)) > 0;) r.out.append(buf, static_cast<std::size_t>(n));
  close(out[0]);
  feeder.join();
  int status = 0;
  waitpid(pid, &status, 0);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

pid_t spawn_cli(std::vector<std::string> args) {
  auto argv = argv_of(args);
  const pid_t pid = fork();
  if (pid == 0) {
    const int devnull = open("/dev/null", O_RDWR);
    dup2(devnull, 0);
    dup2(devnull, 1);
    dup2(devnull, 2);
    execv(KYCPREP_CLI, argv.data());
    _exit(127);
  }
  return pid;
}

std::vector<json> parse_lines(const std::string& text) {
  std::vector<json> v;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) v.push_back(json::parse(line));
  return v;
}

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

std::vector<json> records(const fs::path& file) { return parse_lines(slurp(file)); }

std::string sha256_hex(const std::string& bytes) {
  unsigned char md[32];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr);
  static constexpr char hex[] = "0123456789abcdef";
  std::string s;
  for (unsigned i = 0; i < len; ++i) {
    s.push_back(hex[md[i] >> 4]);
    s.push_back(hex[md[i] & 15]);
  }
  return s;
}

// A tree of real inputs: good samples and fixtures, the hostile corpus, a
// nested folder; returns the ids (paths) in the order the batch must use.
struct corpus {
  fs::path root;
  std::vector<std::string> ids;  // depth-first, each folder sorted by name
};

corpus make_corpus(const std::string& tag, bool hostile = true) {
  corpus c;
  c.root = kycprep::test::temp_dir(tag) / "in";
  fs::create_directories(c.root / "nested" / "deeper");
  const fs::path d = kycprep::test::data_dir();
  for (const auto& e : fs::directory_iterator(d / "samples")) fs::copy_file(e.path(), c.root / e.path().filename());
  for (const auto& e : fs::directory_iterator(d / "fixtures" / "orientation"))
    fs::copy_file(e.path(), c.root / "nested" / e.path().filename());
  fs::copy_file(d / "fixtures" / "png" / "rgb8.png", c.root / "nested" / "deeper" / "rgb8.png");
  if (hostile)
    for (const auto& e : fs::directory_iterator(d / "hostile"))
      fs::copy_file(e.path(), c.root / ("hostile_" + e.path().filename().string()));
  // The expected walk: depth-first, entries of each folder sorted by name.
  std::function<void(const fs::path&)> walk = [&](const fs::path& dir) {
    std::vector<fs::path> es;
    for (const auto& e : fs::directory_iterator(dir)) es.push_back(e.path());
    std::sort(es.begin(), es.end());
    for (const auto& p : es) {
      if (fs::is_directory(p)) walk(p);
      else c.ids.push_back(p.lexically_normal().generic_string());
    }
  };
  walk(c.root);
  return c;
}

std::vector<std::string> ids_of(const std::vector<json>& recs) {
  std::vector<std::string> v;
  for (const auto& r : recs) v.push_back(r.at("id").get<std::string>());
  return v;
}

// Every ok record's outputs exist, are whole and match its sha256; no
// temporary files are left behind.
void expect_outputs_match_records(const fs::path& out, const std::vector<json>& recs) {
  for (const auto& r : recs) {
    ASSERT_TRUE(r.contains("images")) << r.dump();
    for (const auto& [role, im] : r["images"].items()) {
      if (!im["ok"].get<bool>()) continue;
      const std::string path = im["outputs"]["jpeg"].get<std::string>();
      const std::string bytes = slurp(path);
      EXPECT_EQ(bytes.size(), im["bytes"].get<std::size_t>()) << path;
      EXPECT_EQ(sha256_hex(bytes), im["sha256"].get<std::string>()) << path;
      ASSERT_GE(bytes.size(), 4u);
      EXPECT_EQ(static_cast<unsigned char>(bytes[0]), 0xFF);  // SOI ... EOI: not torn
      EXPECT_EQ(static_cast<unsigned char>(bytes[bytes.size() - 1]), 0xD9);
    }
  }
  for (const auto& e : fs::directory_iterator(out))
    EXPECT_NE(e.path().extension(), ".part") << "leftover temporary " << e.path();
}

TEST(batch_cli, mixed_good_and_hostile_inputs_get_exactly_one_record_each_in_order) {
  const corpus c = make_corpus("batch-mixed");
  const fs::path out = c.root.parent_path() / "out";
  const auto r = run_cli({"batch", "--profile", "document", c.root.string(), "-o", out.string(), "--threads", "2", "-q"});
  EXPECT_EQ(r.rc, 1);  // some failed (the hostile files), the run itself fine
  const auto recs = records(out / "results.jsonl");
  EXPECT_EQ(ids_of(recs), c.ids);
  std::size_t ok = 0, failed = 0;
  for (const auto& rec : recs) {
    if (rec["ok"].get<bool>()) {
      ++ok;
      EXPECT_TRUE(rec["error"].is_null());
    } else {
      ++failed;
      for (const char* k : {"code", "stage", "message"}) EXPECT_TRUE(rec["error"][k].is_string()) << rec.dump();
    }
    const auto& im = rec["images"]["document"];
    EXPECT_EQ(im["input"].get<std::string>(), rec["id"].get<std::string>());
  }
  EXPECT_GE(ok, 14u);      // 4 samples + 9 orientation fixtures + rgb8
  EXPECT_GE(failed, 15u);  // most of the hostile corpus
  expect_outputs_match_records(out, recs);
  const json summary = json::parse(slurp(out / "summary.json"));
  EXPECT_EQ(summary["items"].get<std::size_t>(), c.ids.size());
  EXPECT_EQ(summary["failed"].get<std::size_t>(), failed);
  EXPECT_GT(summary["peak_rss_bytes"].get<std::uint64_t>(), 0u);
  EXPECT_TRUE(summary["stages"].contains("decode"));

  // Running again without --resume refuses to mix two runs (fatal, 10);
  // with --resume there is nothing left to do.
  EXPECT_EQ(run_cli({"batch", "--profile", "document", c.root.string(), "-o", out.string(), "-q"}).rc, 10);
  EXPECT_EQ(run_cli({"batch", "--profile", "document", c.root.string(), "-o", out.string(), "--resume", "-q"}).rc, 1);
  EXPECT_EQ(records(out / "results.jsonl").size(), c.ids.size());
  const json again = json::parse(slurp(out / "summary.json"));
  EXPECT_EQ(again["items"].get<int>(), 0);
  EXPECT_EQ(again["skipped"]["already_done"].get<std::size_t>(), c.ids.size());
}

TEST(batch_cli, all_good_inputs_exit_zero_and_write_jpeg_and_base64) {
  const corpus c = make_corpus("batch-good", /*hostile=*/false);
  const fs::path out = c.root.parent_path() / "out";
  const auto r = run_cli({"batch", "--profile", "document", c.root.string(), "-o", out.string(), "--write", "both", "-q"});
  EXPECT_EQ(r.rc, 0);
  const auto recs = records(out / "results.jsonl");
  ASSERT_EQ(recs.size(), c.ids.size());
  for (const auto& rec : recs) {
    const auto& im = rec["images"]["document"];
    ASSERT_TRUE(im["ok"].get<bool>()) << rec.dump();
    const std::string b64 = slurp(im["outputs"]["base64"].get<std::string>());
    EXPECT_EQ(b64.size(), (im["bytes"].get<std::size_t>() + 2) / 3 * 4);
    EXPECT_EQ(b64.substr(0, 4), "/9j/");  // base64 of FF D8 FF
  }
}

TEST(batch_cli, resume_after_kill_9_at_random_moments_gives_exactly_one_record_per_input) {
  const corpus c = make_corpus("batch-crash");
  const fs::path out = c.root.parent_path() / "out";
  const fs::path journal = out / "results.jsonl";
  std::mt19937 rng(20240605);
  int killed_mid_run = 0;
  for (int round = 0; round < 8; ++round) {
    const pid_t pid = spawn_cli({"batch", "--profile", "document", c.root.string(), "-o", out.string(), "--resume", "--threads", "2",
                                 "--in-flight", "3", "-q"});
    ASSERT_GT(pid, 0);
    // A full run takes ~0.4 s here (longer under load): killing within
    // 5-120 ms lands mid-run in the first rounds, at any stage of an item.
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(5, 120)(rng)));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    if (WIFSIGNALED(status)) ++killed_mid_run;
    // Every few rounds, also leave a torn record as a kill inside write() can.
    if (round % 3 == 1 && fs::exists(journal)) {
      std::ofstream(journal, std::ios::app) << R"({"id":")" << c.ids.back() << R"(","ok":tr)";
    }
  }
  EXPECT_GT(killed_mid_run, 0);
  const auto r = run_cli({"batch", "--profile", "document", c.root.string(), "-o", out.string(), "--resume", "--threads", "2", "-q"});
  EXPECT_EQ(r.rc, 1);
  const auto recs = records(journal);
  auto ids = ids_of(recs);
  std::multiset<std::string> counted(ids.begin(), ids.end());
  for (const auto& id : c.ids) EXPECT_EQ(counted.count(id), 1u) << id;
  EXPECT_EQ(recs.size(), c.ids.size());
  expect_outputs_match_records(out, recs);
}

TEST(batch_cli, shards_partition_the_inputs_and_are_stable_when_inputs_are_added) {
  const corpus c = make_corpus("batch-shard");
  const fs::path out = c.root.parent_path() / "out";
  std::map<std::string, int> owner;
  std::vector<std::set<std::string>> shard_ids(3);
  for (int k = 0; k < 3; ++k) {
    const auto r = run_cli({"batch", "--profile", "document", c.root.string(), "-o", out.string(), "--shard", std::to_string(k) + "/3",
                            "--write", "none", "-q"});
    EXPECT_TRUE(r.rc == 0 || r.rc == 1);
    const auto recs = records(out / ("results.shard-" + std::to_string(k) + "-of-3.jsonl"));
    EXPECT_FALSE(recs.empty());
    for (const auto& id : ids_of(recs)) {
      EXPECT_EQ(owner.count(id), 0u) << id << " in two shards";
      owner[id] = k;
      shard_ids[static_cast<std::size_t>(k)].insert(id);
    }
    EXPECT_TRUE(fs::exists(out / ("summary.shard-" + std::to_string(k) + "-of-3.json")));
  }
  EXPECT_EQ(owner.size(), c.ids.size());  // the union is every input
  for (const auto& id : c.ids) EXPECT_EQ(owner.count(id), 1u) << id;

  // Adding files moves nobody: shard 1 afterwards is shard 1 before plus
  // (perhaps) some of the new files.
  for (int i = 0; i < 5; ++i)
    fs::copy_file(kycprep::test::data_dir() / "samples" / "astronaut_portrait.jpg",
                  c.root / ("added_" + std::to_string(i) + ".jpg"));
  const fs::path out2 = c.root.parent_path() / "out2";
  run_cli({"batch", "--profile", "document", c.root.string(), "-o", out2.string(), "--shard", "1/3", "--write", "none", "-q"});
  std::set<std::string> after;
  for (const auto& id : ids_of(records(out2 / "results.shard-1-of-3.jsonl"))) after.insert(id);
  for (const auto& id : shard_ids[1]) EXPECT_TRUE(after.count(id)) << id;
  for (const auto& id : after)
    EXPECT_TRUE(shard_ids[1].count(id) || id.find("added_") != std::string::npos) << id;
}

TEST(batch_cli, streams_a_list_from_stdin_to_records_on_stdout) {
  const fs::path d = kycprep::test::data_dir();
  const std::vector<std::string> paths = {(d / "samples" / "astronaut_portrait.jpg").string(),
                                          (d / "hostile" / "truncated_50.jpg").string(),
                                          (d / "samples" / "cameraman_portrait.png").string(),
                                          (d / "no_such_file.jpg").string()};
  std::string list;
  for (const auto& p : paths) list += p + "\n\n";  // blank lines are ignored
  const auto r = run_cli({"batch", "--profile", "document", "--list", "-", "--jsonl-out", "-", "--inline-base64", "-q"}, list);
  EXPECT_EQ(r.rc, 1);
  const auto recs = parse_lines(r.out);
  ASSERT_EQ(recs.size(), paths.size());
  for (std::size_t i = 0; i < paths.size(); ++i)
    EXPECT_EQ(recs[i]["id"].get<std::string>(), fs::path(paths[i]).lexically_normal().generic_string());
  EXPECT_TRUE(recs[0]["ok"].get<bool>());
  EXPECT_FALSE(recs[1]["ok"].get<bool>());
  EXPECT_TRUE(recs[2]["ok"].get<bool>());
  EXPECT_EQ(recs[3]["error"]["code"], "io_error");
  for (std::size_t i : {0u, 2u}) {
    const auto& im = recs[i]["images"]["document"];
    const std::string b64 = im["base64"].get<std::string>();
    EXPECT_EQ(b64.size(), (im["bytes"].get<std::size_t>() + 2) / 3 * 4);
    EXPECT_EQ(b64.substr(0, 4), "/9j/");
    EXPECT_TRUE(im["outputs"]["jpeg"].is_null());  // no output directory
  }
}

TEST(batch_cli, manifest_items_carry_roles_and_pass_through_fields) {
  const fs::path dir = kycprep::test::temp_dir("batch-manifest");
  const fs::path d = kycprep::test::data_dir();
  fs::copy_file(d / "samples" / "astronaut_portrait.jpg", dir / "selfie.jpg");
  fs::copy_file(d / "fixtures" / "orientation" / "orient_6.jpg", dir / "idcard.jpg");
  {
    std::ofstream m(dir / "items.jsonl");
    m << R"({"id":"cust-1","face":"selfie.jpg","document":"idcard.jpg","country":"SG","ref":7})" "\n";
    m << R"({"id":"cust-2","document":"idcard.jpg"})" "\n";
    m << "this is not json\n";
    m << R"({"id":"cust-4","note":"no images"})" "\n";
    m << R"({"id":"cust/5 weird","document":")" << (d / "hostile" / "empty.jpg").string() << "\"}\n";
  }
  const fs::path out = dir / "out";
  const auto r = run_cli({"batch", "--manifest", (dir / "items.jsonl").string(), "-o", out.string(), "-q"});
  EXPECT_EQ(r.rc, 1);
  const auto recs = records(out / "results.jsonl");
  ASSERT_EQ(recs.size(), 5u);
  EXPECT_EQ(ids_of(recs), (std::vector<std::string>{"cust-1", "cust-2", "manifest:3", "cust-4", "cust/5 weird"}));
  EXPECT_EQ(recs[0]["fields"], json({{"country", "SG"}, {"ref", 7}}));
  const auto& doc = recs[0]["images"]["document"];
  EXPECT_TRUE(doc["ok"].get<bool>()) << recs[0].dump();
  EXPECT_TRUE(doc["face"].is_null());  // the document profile keeps the whole frame
  EXPECT_TRUE(fs::exists(out / "cust-1.document.jpg"));
  // The face image went through the face profile: either a portrait built on
  // a detected face, or a detect-stage error (the detector's verdict on this
  // photo is the detector's business, tested in test_detect).
  const auto& selfie = recs[0]["images"]["face"];
  if (selfie["ok"].get<bool>()) {
    EXPECT_TRUE(selfie["face"].is_object()) << recs[0].dump();
    EXPECT_TRUE(fs::exists(out / "cust-1.face.jpg"));
    EXPECT_TRUE(recs[0]["ok"].get<bool>());
  } else {
    EXPECT_EQ(selfie["error"]["stage"], "detect") << recs[0].dump();
    EXPECT_FALSE(recs[0]["ok"].get<bool>());
    EXPECT_EQ(recs[0]["error"]["role"], "face");
    EXPECT_FALSE(fs::exists(out / "cust-1.face.jpg"));
  }
  EXPECT_TRUE(recs[1]["ok"].get<bool>());
  EXPECT_FALSE(recs[1].contains("fields"));
  EXPECT_EQ(recs[2]["error"]["code"], "invalid_options");
  EXPECT_EQ(recs[3]["error"]["code"], "invalid_options");
  EXPECT_EQ(recs[4]["error"]["code"], "empty_input");
  EXPECT_EQ(recs[4]["error"]["role"], "document");
}

TEST(batch_cli, outputs_are_byte_identical_with_1_and_2_threads) {
  const corpus c = make_corpus("batch-determinism", /*hostile=*/false);
  std::vector<std::vector<json>> runs;
  for (const char* threads : {"1", "2"}) {
    const fs::path out = c.root.parent_path() / (std::string("out") + threads);
    EXPECT_EQ(run_cli({"batch", "--profile", "document", c.root.string(), "-o", out.string(), "--threads", threads, "-q"}).rc, 0);
    auto recs = records(out / "results.jsonl");
    for (auto& rec : recs)
      for (auto& [role, im] : rec["images"].items()) {
        im.erase("timings_ms");
        im["outputs"]["jpeg"] = slurp(im["outputs"]["jpeg"].get<std::string>()).size();  // path differs; bytes by sha256
      }
    runs.push_back(std::move(recs));
  }
  ASSERT_EQ(runs[0].size(), c.ids.size());
  EXPECT_EQ(runs[0], runs[1]);  // same records, same sha256 of every output
}

std::uint64_t peak_rss_for(const fs::path& manifest, const fs::path& out) {
  const auto r = run_cli({"batch", "--manifest", manifest.string(), "-o", out.string(), "--write", "none",
                          "--threads", "2", "--in-flight", "4", "-q"});
  EXPECT_EQ(r.rc, 0);
  return json::parse(slurp(out / "summary.json"))["peak_rss_bytes"].get<std::uint64_t>();
}

TEST(batch_cli, peak_memory_stays_flat_from_200_to_2000_items) {
  const fs::path dir = kycprep::test::temp_dir("batch-memory");
  const fs::path d = kycprep::test::data_dir();
  const std::vector<fs::path> files = {d / "fixtures" / "orientation" / "orient_1.jpg",
                                       d / "fixtures" / "orientation" / "orient_6.jpg",
                                       d / "fixtures" / "png" / "rgb8.png"};
  auto manifest = [&](int n) {
    const fs::path p = dir / ("items" + std::to_string(n) + ".jsonl");
    std::ofstream m(p);
    for (int i = 0; i < n; ++i)
      m << json({{"id", "item-" + std::to_string(i)}, {"document", files[static_cast<std::size_t>(i) % files.size()]}}).dump()
        << "\n";
    return p;
  };
  const std::uint64_t small = peak_rss_for(manifest(200), dir / "out200");
  const std::uint64_t large = peak_rss_for(manifest(2000), dir / "out2000");
  EXPECT_EQ(records(dir / "out2000" / "results.jsonl").size(), 2000u);
  EXPECT_LE(static_cast<double>(large), 1.10 * static_cast<double>(small))
      << "peak RSS " << small / 1024 << " KiB after 200 items, " << large / 1024 << " KiB after 2000";
}

}  // namespace
