// `kycprep batch`: prepare many inputs on the batch engine, durably and
// resumably. The command, its record schema and recipes: docs/BATCH.md.
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <stop_token>
#include <string>
#include <thread>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <oneapi/tbb/global_control.h>

#include "batch_inputs.hpp"
#include "batch_journal.hpp"
#include "batch_sink.hpp"
#include "batch_stats.hpp"
#include "commands.hpp"
#include "kycprep/batch.hpp"
#include "kycprep/detect.hpp"
#ifdef KYCPREP_WITH_UPLOAD
#include "batch_upload.hpp"
#include "upload_cli.hpp"
#endif

namespace kycprep::cli {

namespace {

namespace fs = std::filesystem;
using clock = std::chrono::steady_clock;

struct batch_args {
  std::vector<std::string> inputs;
  std::string list, manifest, out, jsonl_out, write = "jpeg", profile = "face", target = "alibaba";
  std::string face_model, shard;
  frame_options frame;  // --face-area-ratio, --aspect
  bool use_exif_thumbnail = true;
  std::size_t max_coefficient_bytes = prepare_options{}.max_coefficient_bytes;
  bool inline_base64 = false, resume = false, quiet = false;
  int threads = 0, in_flight = 0;
#ifdef KYCPREP_WITH_UPLOAD
  upload_options upload;
  std::string redirect_url;  ///< Tencent RedirectURL default
  int socket_send_buffer = 0;
#else
  std::string upload;        ///< only to say that this build has no uploader
#endif
};

// Set by SIGINT/SIGTERM; the monitor thread turns it into a graceful stop.
volatile std::sig_atomic_t g_signal = 0;
extern "C" void on_signal(int sig) { g_signal = sig; }

// A --dry-run keeps its own journal and summary (results.dry-run.jsonl), so
// that its records never make a later real run skip the items.
std::string journal_name(const std::optional<shard_spec>& sh, bool dry_run, const char* base, const char* ext) {
  std::string n = base;
  if (dry_run) n += ".dry-run";
  if (!sh || sh->count == 1) return n + ext;
  return n + ".shard-" + std::to_string(sh->index) + "-of-" + std::to_string(sh->count) + ext;
}

nlohmann::ordered_json summary_json(const run_stats& st, const batch_stats& bs, const input_counters& in,
                                    const journal_state* prior, const batch_args& a, int threads) {
  using ojson = nlohmann::ordered_json;
  const double s = bs.wall_seconds > 0 ? bs.wall_seconds : 1e-9;
  ojson j;
  j["items"] = st.items;
  j["ok"] = st.ok;
  j["failed"] = st.failed;
  j["images"] = st.images;
  j["skipped"] = {{"already_done", in.already_done.load()},
                  {"other_shards", in.other_shard.load()},
                  {"duplicate_ids", in.duplicates.load()}};
  if (prior)
    j["resumed"] = {{"records", prior->records},
                    {"failed", prior->failed},
                    {"torn_bytes_cut", prior->cut_bytes},
                    {"pending_uploads", prior->pending_uploads.size()}};
  j["stopped"] = bs.stopped;
  j["wall_seconds"] = std::round(bs.wall_seconds * 1000) / 1000;
  j["items_per_second"] = std::round(static_cast<double>(st.items) / s * 100) / 100;
  j["images_per_second"] = std::round(static_cast<double>(st.images) / s * 100) / 100;
  j["megapixels_per_second"] = std::round(st.megapixels / s * 100) / 100;
  j["input_bytes"] = st.input_bytes;
  j["output_bytes"] = st.output_bytes;
  ojson stages = ojson::object();
  for (const auto& [name, h] : st.stages)
    stages[name] = {{"count", h.count()},
                    {"p50_ms", std::round(h.quantile(0.50) * 1000) / 1000},
                    {"p95_ms", std::round(h.quantile(0.95) * 1000) / 1000},
                    {"mean_ms", std::round(h.mean() * 1000) / 1000}};
  j["stages"] = std::move(stages);
  j["errors_by_code"] = st.errors;
  j["peak_rss_bytes"] = peak_rss_bytes();
  j["threads"] = threads;
  j["in_flight"] = a.in_flight > 0 ? a.in_flight : 2 * threads;
  return j;
}

void print_summary(const nlohmann::ordered_json& j) {
  std::fprintf(stderr, "kycprep batch: %llu items (%llu ok, %llu failed) in %.2f s: %.2f img/s, %.2f MP/s\n",
               j["items"].get<unsigned long long>(), j["ok"].get<unsigned long long>(),
               j["failed"].get<unsigned long long>(), j["wall_seconds"].get<double>(),
               j["images_per_second"].get<double>(), j["megapixels_per_second"].get<double>());
  const auto& sk = j["skipped"];
  if (sk["already_done"].get<unsigned long long>() + sk["other_shards"].get<unsigned long long>() +
          sk["duplicate_ids"].get<unsigned long long>() >
      0)
    std::fprintf(stderr, "  skipped: %llu already done, %llu in other shards, %llu duplicate ids\n",
                 sk["already_done"].get<unsigned long long>(), sk["other_shards"].get<unsigned long long>(),
                 sk["duplicate_ids"].get<unsigned long long>());
  std::fprintf(stderr, "  %-8s %10s %10s\n", "stage", "p50 ms", "p95 ms");
  for (const auto& [name, v] : j["stages"].items())
    std::fprintf(stderr, "  %-8s %10.2f %10.2f\n", name.c_str(), v["p50_ms"].get<double>(), v["p95_ms"].get<double>());
  if (!j["errors_by_code"].empty()) {
    std::string e;
    for (const auto& [code, n] : j["errors_by_code"].items()) e += " " + code + "=" + std::to_string(n.get<unsigned long long>());
    std::fprintf(stderr, "  errors:%s\n", e.c_str());
  }
  std::fprintf(stderr, "  peak RSS %.1f MiB\n", static_cast<double>(j["peak_rss_bytes"].get<unsigned long long>()) / (1 << 20));
}

int fatal(const std::string& msg) {
  std::cerr << "kycprep batch: fatal: " << msg << "\n";
  return exit_fatal;
}

result<std::shared_ptr<const face_detector>> load_detector(const std::string& model) {
  if (!model.empty()) return make_yunet_detector(model);
  return make_default_detector();
}

int run(batch_args& a) {
  // ---- options -------------------------------------------------------------
  if (a.inputs.empty() && a.list.empty() && a.manifest.empty()) {
    std::cerr << "kycprep batch: no inputs (give files/directories, --list or --manifest)\n";
    return exit_usage;
  }
  if (a.list == "-" && a.manifest == "-") {
    std::cerr << "kycprep batch: --list - and --manifest - cannot both read stdin\n";
    return exit_usage;
  }
  if (a.out.empty() && a.jsonl_out.empty()) {
    std::cerr << "kycprep batch: give an output directory (-o) or --jsonl-out\n";
    return exit_usage;
  }
  if (a.out.empty() && a.write != "none" && a.write != "jpeg") {
    std::cerr << "kycprep batch: --write " << a.write << " needs an output directory (-o)\n";
    return exit_usage;
  }
  if (a.resume && a.out.empty()) {
    std::cerr << "kycprep batch: --resume needs the output directory (-o) that holds results.jsonl\n";
    return exit_usage;
  }
  write_mode wm = write_mode::jpeg;
  if (a.write == "base64") wm = write_mode::base64;
  else if (a.write == "both") wm = write_mode::both;
  else if (a.write == "none" || a.out.empty()) wm = write_mode::none;
#ifdef KYCPREP_WITH_UPLOAD
  const bool uploading = upload_requested(a.upload);
  const bool dry_run = uploading && a.upload.dry_run;
  if (!uploading && (a.upload.dry_run || a.upload.accept_double_billing)) {
    std::cerr << "kycprep batch: --dry-run and --accept-double-billing need --upload alibaba|tencent\n";
    return exit_usage;
  }
  // Built (credentials read, endpoint checked) before anything is prepared:
  // a bad config fails the command, not every item.
  std::optional<uploader> up;
  if (uploading) {
    auto cfg = make_upload_config(a.upload);
    if (cfg) cfg->socket_send_buffer = a.socket_send_buffer;
    auto u = cfg ? uploader::create(std::move(cfg.value())) : result<uploader>(cfg.error());
    if (!u) {
      std::cerr << "kycprep batch: --upload: " << u.error().message << "\n";
      return exit_usage;
    }
    up.emplace(std::move(u.value()));
  }
#else
  if (!a.upload.empty()) {
    std::cerr << "kycprep batch: --upload: this kycprep was built without the uploader "
                 "(configure with -DKYCPREP_BUILD_UPLOAD=ON)\n";
    return exit_usage;
  }
  const bool uploading = false, dry_run = false;
#endif
  std::optional<shard_spec> shard;
  if (!a.shard.empty()) {
    shard = parse_shard(a.shard);
    if (!shard) {
      std::cerr << "kycprep batch: --shard wants K/N with 0 <= K < N, got " << a.shard << "\n";
      return exit_usage;
    }
  }

  batch_options bo;
  bo.threads = a.threads;
  bo.in_flight = a.in_flight;
  bo.prepare.target = a.target == "tencent" ? target::tencent : target::alibaba;
  bo.prepare.frame = a.frame;
  bo.prepare.use_exif_thumbnail = a.use_exif_thumbnail;
  bo.prepare.max_coefficient_bytes = a.max_coefficient_bytes;
  bo.prepare.want_base64 = wm == write_mode::base64 || wm == write_mode::both || a.inline_base64 || uploading;
  const profile file_profile = a.profile == "face" ? profile::face : profile::document;

  // The face detector is loaded once and shared by all workers. Needed for
  // --profile face and for manifests (their "face" images).
  if (file_profile == profile::face || !a.face_model.empty() || !a.manifest.empty()) {
    auto det = load_detector(a.face_model);
    if (det) {
      bo.prepare.detector = std::move(det.value());
    } else if (file_profile == profile::face || !a.face_model.empty()) {
      return fatal("face detector: " + det.error().message);
    } else {
      // Manifest documents still work; each face image records detector_unavailable.
      std::cerr << "kycprep batch: warning: face detector unavailable: " << det.error().message << "\n";
    }
  }

  // ---- outputs ---------------------------------------------------------------
  std::unique_ptr<output_dir> out;
  std::unique_ptr<journal> results;
  try {
    if (!a.out.empty()) {
      out = std::make_unique<output_dir>(a.out);
      results = std::make_unique<journal>(fs::path(a.out) / journal_name(shard, dry_run, "results", ".jsonl"), a.resume);
    }
  } catch (const std::exception& e) {
    return fatal(e.what());
  }
  if (results && !uploading && !results->state().pending_uploads.empty())
    std::cerr << "kycprep batch: warning: " << results->state().pending_uploads.size()
              << " upload(s) started by an earlier run have no record and may have been billed; "
                 "resume with the same --upload to record them as unknown_outcome\n";
  std::FILE* stream = nullptr;
  if (a.jsonl_out == "-") {
    stream = stdout;
  } else if (!a.jsonl_out.empty()) {
    stream = std::fopen(a.jsonl_out.c_str(), "wb");
    if (!stream) return fatal("cannot open " + a.jsonl_out);
  }

  // ---- run ---------------------------------------------------------------------
  input_spec spec{a.inputs, a.list, a.manifest, file_profile};
  input_counters counters;
  const id_set* done = results ? &results->state().done : nullptr;
  cli_source source(spec, shard.value_or(shard_spec{}), done, counters);

  live_counters live;
  sink_options so;
  so.write = wm;
  so.out = out.get();
  so.results = results.get();
  so.stream = stream;
  so.inline_base64 = a.inline_base64;
#ifdef KYCPREP_WITH_UPLOAD
  if (uploading) {
    // One uploader for the whole run: one rate limit, one connection pool.
    upload_step_options uo;
    uo.dry_run = dry_run;
    uo.accept_double_billing = a.upload.accept_double_billing;
    uo.redirect_url = a.redirect_url;
    uo.intents = results.get();
    uo.pending = results ? &results->state().pending_uploads : nullptr;
    so.steps.push_back(make_upload_step(std::move(*up), std::move(uo)));
    // The dry-run renderings go to stdout, unless the records stream there
    // (they carry the same text under upload.request).
    if (dry_run && stream != stdout) so.print = stdout;
  }
#endif
  cli_sink sink(std::move(so), live);

  const bool progress = !a.quiet && ::isatty(STDERR_FILENO);
  std::stop_source stopper;
  bo.stop = stopper.get_token();
  std::signal(SIGPIPE, SIG_IGN);  // a closed stdout becomes a write error, then a clean fatal exit
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);

  std::atomic<bool> finished{false};
  std::jthread counter;
  if (progress)
    counter = std::jthread([&] {
      if (auto n = cli_source::count(spec, shard.value_or(shard_spec{}), done, finished)) {
        live.total = *n;
        live.total_known.store(true, std::memory_order_release);
      }
    });
  const auto t0 = clock::now();
  std::jthread monitor([&] {
    auto last_draw = clock::now();
    while (!finished.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (g_signal && !stopper.stop_requested()) {
        std::cerr << (progress ? "\n" : "") << "kycprep batch: signal " << static_cast<int>(g_signal)
                  << ": finishing the items in flight (again to kill)\n";
        stopper.request_stop();
        std::signal(SIGINT, SIG_DFL);
        std::signal(SIGTERM, SIG_DFL);
      }
      if (progress && clock::now() - last_draw > std::chrono::milliseconds(500)) {
        last_draw = clock::now();
        const double el = std::chrono::duration<double>(last_draw - t0).count();
        std::fprintf(stderr, "\r\033[K%s", progress_line(live, el).c_str());
        std::fflush(stderr);
      }
    }
  });

  // TBB's pool holds one thread per core unless raised, and an arena cannot
  // have more: --threads above the cores (upload runs, whose workers mostly
  // wait on the network) needs the pool raised for the run.
  std::optional<tbb::global_control> pool;
  if (a.threads > static_cast<int>(std::thread::hardware_concurrency()))
    pool.emplace(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(a.threads));
  auto r = run_batch(source, sink, bo);
  finished = true;
  monitor.join();
  if (counter.joinable()) counter.join();
  if (progress) std::fprintf(stderr, "\r\033[K");
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  if (stream && stream != stdout) std::fclose(stream);

  if (!r) return fatal(r.error().message + (results ? " (rerun with --resume to continue)" : ""));

  const int threads = a.threads > 0 ? a.threads : static_cast<int>(std::thread::hardware_concurrency());
  const auto summary =
      summary_json(sink.stats(), r.value(), counters, results && a.resume ? &results->state() : nullptr, a, threads);
  if (out) {
    try {
      const std::string text = summary.dump(2) + "\n";
      out->write_durable(journal_name(shard, dry_run, "summary", ".json"),
                         {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
    } catch (const std::exception& e) {
      return fatal(e.what());
    }
  }
  if (!a.quiet) print_summary(summary);
  if (r->stopped) {
    std::cerr << "kycprep batch: stopped before the end; rerun with --resume to continue\n";
    return exit_fatal;
  }
  const bool prior_failed = results && results->state().failed > 0;
  return sink.stats().failed > 0 || prior_failed ? exit_some_failed : exit_ok;
}

}  // namespace

void add_batch_command(CLI::App& app, int& exit_code) {
  auto a = std::make_shared<batch_args>();
  CLI::App* cmd = app.add_subcommand(
      "batch",
      "Prepare many photos: parallel, bounded memory, one record per input in results.jsonl, resumable, shardable");
  cmd->add_option("inputs", a->inputs,
                  "Files and directories (walked recursively, sorted; every file is tried, format sniffed from content)");
  cmd->add_option("--list", a->list, "A file with one input path per line ('-': stdin)");
  cmd->add_option("--manifest", a->manifest,
                  "JSON Lines, one item per line: {\"id\":..,\"face\":path,\"document\":path,...}; other fields are "
                  "passed through to the record ('-': stdin; relative paths are relative to the manifest's folder)");
  cmd->add_option("-o,--out", a->out, "Output directory: prepared images, results.jsonl, summary.json");
  cmd->add_option("--write", a->write, "Which outputs to write into the directory")
      ->check(CLI::IsMember({"jpeg", "base64", "both", "none"}))
      ->capture_default_str();
  cmd->add_option("--jsonl-out", a->jsonl_out, "Also stream the records to this file ('-': stdout)");
  cmd->add_flag("--inline-base64", a->inline_base64, "Put the base64 payload in the streamed records");
  cmd->add_option("--threads", a->threads, "Worker threads (0: all cores)")->check(CLI::Range(0, 1024))->capture_default_str();
  cmd->add_option("--in-flight", a->in_flight, "Images alive at once, bounds memory (0: 2 x threads)")
      ->check(CLI::Range(0, 65536))
      ->capture_default_str();
  cmd->add_option("--profile", a->profile, "For plain file inputs: whole frame or portrait around the face")
      ->check(CLI::IsMember({"document", "face"}))
      ->capture_default_str();
  cmd->add_option("--target", a->target, "The API the payload is for (sets the byte budget)")
      ->check(CLI::IsMember({"alibaba", "tencent"}))
      ->capture_default_str();
  cmd->add_option("--face-model", a->face_model, "YuNet ONNX model for face detection (default: OpenCV cascades)");
  add_frame_options(*cmd, a->frame);
  add_thumbnail_option(*cmd, a->use_exif_thumbnail);
  add_coefficient_option(*cmd, a->max_coefficient_bytes);
  cmd->add_flag("--resume", a->resume, "Continue the run recorded in the output directory: skip ids that have a record");
  cmd->add_option("--shard", a->shard, "Only the inputs whose id hashes to K of N (K/N, 0-based)");
  cmd->add_flag("-q,--quiet", a->quiet, "No progress line and no summary on stderr");
#ifdef KYCPREP_WITH_UPLOAD
  add_upload_options(*cmd, a->upload);
  cmd->add_option("--redirect-url", a->redirect_url,
                  "Tencent: RedirectURL for items whose manifest line has no redirect_url")
      ->group("Upload");
  cmd->add_option("--socket-send-buffer", a->socket_send_buffer,
                  "SO_SNDBUF of the upload connections in bytes (0: OS default). Smaller: a reset before the server "
                  "read the whole request is retried instead of ending as unknown_outcome; slower on long links")
      ->check(CLI::Range(0, 64 << 20))
      ->group("Upload");
#else
  cmd->add_option("--upload", a->upload, "Not available: this kycprep was built without the uploader");
#endif
  cmd->footer(
      "Exit status: 0 all ok, 1 some items failed (see results.jsonl), 2 usage, 10 fatal (the run stopped;\n"
      "rerun with --resume). Details and recipes (Kubernetes, Slurm, GNU parallel): docs/BATCH.md");
  cmd->callback([a, &exit_code] { exit_code = run(*a); });
}

}  // namespace kycprep::cli
