// `kycprep bench`: throughput and per-stage latency of prepare() on the
// user's own images, optionally side by side with other pipelines
// (bench_compare.hpp). Inputs are read into memory before any timing, so
// file I/O is never measured; every figure is a median with its spread.
#include <CLI/CLI.hpp>
#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/enumerable_thread_specific.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/partitioner.h>
#include <oneapi/tbb/task_arena.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <opencv2/core.hpp>

#include "bench_compare.hpp"
#include "commands.hpp"
#include "kycprep/detect.hpp"
#include "kycprep/orient.hpp"
#include "kycprep/prepare.hpp"
#include "report.hpp"

namespace kycprep::cli {

namespace {

using clock_type = std::chrono::steady_clock;
using nlohmann::json;

struct bench_args {
  std::vector<std::string> inputs;
  int threads = 1;
  int repeat = 5;
  int warmup = 1;
  bool compare = false;
  std::string profile = "face";
  std::string face_model;
  bool use_exif_thumbnail = true;
  std::size_t max_coefficient_bytes = prepare_options{}.max_coefficient_bytes;
  bool json_out = false;
  int opencv_threads = 1;
  compare_options cmp;
};

// ---- statistics -----------------------------------------------------------

struct summary {
  std::size_t n = 0;
  double p50 = 0, p95 = 0, min = 0, max = 0;
};

// Nearest-rank percentiles; the median of an even count is the mean of the middle two.
summary summarize(std::vector<double> v) {
  summary s;
  s.n = v.size();
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  s.p50 = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  s.p95 = v[std::min(n - 1, static_cast<std::size_t>(std::ceil(0.95 * n)) - 1)];
  s.min = v.front();
  s.max = v.back();
  return s;
}

json summary_json(const summary& s) {
  auto r3 = [](double x) { return std::round(x * 1000) / 1000; };
  return {{"n", s.n}, {"p50", r3(s.p50)}, {"p95", r3(s.p95)}, {"min", r3(s.min)}, {"max", r3(s.max)}};
}

// ---- inputs -------------------------------------------------------------------

struct loaded_input {
  bench_input in;
  source_info source;
  std::string kind;  ///< e.g. "jpeg 12MP baseline exif6"
  double megapixels = 0;
};

std::string kind_of(const source_info& s) {
  const double mp = static_cast<double>(s.width) * s.height / 1e6;
  char size[32];
  if (mp >= 0.95)
    std::snprintf(size, sizeof size, "%.0fMP", mp);
  else
    std::snprintf(size, sizeof size, "%.1fMP", mp);
  std::string k = std::string(to_string(s.format)) + " " + size;
  if (s.format == image_format::jpeg) k += s.progressive ? " progressive" : " baseline";
  if (s.format == image_format::png && s.progressive) k += " interlaced";
  if (s.orientation != 1) k += " exif" + std::to_string(s.orientation);
  if (s.format == image_format::jpeg) k += s.exif_thumbnail_size > 0 ? " thumb" : " nothumb";
  return k;
}

// Directories contribute their regular files (not recursive), sorted.
std::vector<std::string> expand_inputs(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  for (const auto& a : args) {
    std::error_code ec;
    if (std::filesystem::is_directory(a, ec)) {
      std::vector<std::string> files;
      for (const auto& e : std::filesystem::directory_iterator(a, ec))
        if (e.is_regular_file(ec)) files.push_back(e.path().string());
      std::sort(files.begin(), files.end());
      out.insert(out.end(), files.begin(), files.end());
    } else {
      out.push_back(a);
    }
  }
  return out;
}

// ---- the kycprep run ------------------------------------------------------------

struct sample {
  double total_ms = 0;
  stage_timings stages;
};

struct kycprep_run {
  int threads = 1;
  int copies = 1;                                   ///< times each pass covers the input list
  std::vector<std::vector<sample>> per_file;        ///< successful timed runs
  std::vector<std::string> failures;                ///< "path: code (stage): message", once per file
  std::vector<double> pass_ms;                      ///< wall time of each timed pass
  std::vector<double> pass_images, pass_mp;         ///< images and source MP per pass (successes)
};

// One kycprep::workspace per thread, kept across passes, as a batch job keeps them.
using workspaces = tbb::enumerable_thread_specific<workspace>;

kycprep_run run_kycprep(const std::vector<loaded_input>& in, const prepare_options& opt, int threads, int repeat,
                        int warmup, workspaces& spaces) {
  kycprep_run r;
  r.threads = threads;
  // With several threads a pass over few files ends with one image running
  // alone; covering the list several times per pass keeps every thread busy.
  r.copies = threads > 1 ? std::max<int>(1, static_cast<int>((8 * threads + in.size() - 1) / in.size())) : 1;
  r.per_file.resize(in.size());
  std::vector<int> failed(in.size(), 0);
  const std::size_t items = in.size() * static_cast<std::size_t>(r.copies);
  std::vector<sample> results(items);
  std::vector<std::optional<error>> errors(items);
  tbb::task_arena arena(threads);
  for (int pass = 0; pass < warmup + repeat; ++pass) {
    auto one = [&](std::size_t k) {
      const loaded_input& li = in[k % in.size()];
      const auto t0 = clock_type::now();
      auto p = prepare(li.in.bytes, opt, spaces.local());
      results[k].total_ms = std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
      if (p) {
        results[k].stages = p->timings;
        errors[k].reset();
      } else {
        errors[k] = p.error();
      }
    };
    const auto t0 = clock_type::now();
    if (threads == 1) {
      for (std::size_t k = 0; k < items; ++k) one(k);
    } else {
      arena.execute([&] {
        tbb::parallel_for(
            tbb::blocked_range<std::size_t>(0, items, 1),
            [&](const tbb::blocked_range<std::size_t>& b) {
              for (std::size_t k = b.begin(); k != b.end(); ++k) one(k);
            },
            tbb::simple_partitioner{});
      });
    }
    const double wall = std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
    double images = 0, mp = 0;
    for (std::size_t k = 0; k < items; ++k) {
      const std::size_t f = k % in.size();
      if (errors[k]) {
        if (failed[f]++ == 0)
          r.failures.push_back(in[f].in.path + ": " + std::string(to_string(errors[k]->code)) + " (" +
                               std::string(to_string(errors[k]->where)) + "): " + errors[k]->message);
        continue;
      }
      images += 1;
      mp += in[f].megapixels;
      if (pass >= warmup) r.per_file[f].push_back(results[k]);
    }
    if (pass >= warmup) {
      r.pass_ms.push_back(wall);
      r.pass_images.push_back(images);
      r.pass_mp.push_back(mp);
    }
  }
  return r;
}

std::vector<double> rates(const std::vector<double>& amount, const std::vector<double>& ms) {
  std::vector<double> v;
  for (std::size_t i = 0; i < ms.size(); ++i) v.push_back(ms[i] > 0 ? amount[i] * 1000.0 / ms[i] : 0);
  return v;
}

constexpr stage shown_stages[] = {stage::decode, stage::orient, stage::detect, stage::crop,
                                  stage::resize, stage::encode, stage::base64};

// ---- machine facts ----------------------------------------------------------------

std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("model name", 0) == 0) {
      const auto c = line.find(':');
      return c == std::string::npos ? line : line.substr(c + 2);
    }
  return "unknown";
}

std::string load_average() {
  std::ifstream f("/proc/loadavg");
  double a = 0, b = 0, c = 0;
  f >> a >> b >> c;
  char s[64];
  std::snprintf(s, sizeof s, "%.2f %.2f %.2f", a, b, c);
  return s;
}

double peak_rss_mb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;  // KiB on Linux
}

// ---- report --------------------------------------------------------------------------

struct kind_group {
  std::string kind;
  std::vector<std::size_t> files;
};

std::vector<kind_group> group_by_kind(const std::vector<loaded_input>& in) {
  std::vector<kind_group> g;
  for (std::size_t i = 0; i < in.size(); ++i) {
    auto it = std::find_if(g.begin(), g.end(), [&](const kind_group& k) { return k.kind == in[i].kind; });
    if (it == g.end()) {
      g.push_back({in[i].kind, {}});
      it = g.end() - 1;
    }
    it->files.push_back(i);
  }
  return g;
}

std::vector<double> totals_of(const kycprep_run& r, const std::vector<std::size_t>& files) {
  std::vector<double> v;
  for (std::size_t f : files)
    for (const auto& s : r.per_file[f]) v.push_back(s.total_ms);
  return v;
}

std::vector<double> stage_of(const kycprep_run& r, const std::vector<std::size_t>& files, stage st) {
  std::vector<double> v;
  for (std::size_t f : files)
    for (const auto& s : r.per_file[f]) v.push_back(s.stages[st]);
  return v;
}

std::vector<double> comparator_ms(const comparator_result& c, const std::vector<std::size_t>& files) {
  std::vector<double> v;
  for (std::size_t f : files) v.insert(v.end(), c.ms[f].begin(), c.ms[f].end());
  return v;
}

std::vector<std::size_t> all_files(std::size_t n) {
  std::vector<std::size_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = i;
  return v;
}

json run_json(const kycprep_run& r, const std::vector<loaded_input>& in, const std::vector<kind_group>& kinds) {
  json j;
  j["threads"] = r.threads;
  j["copies_per_pass"] = r.copies;
  j["pass_ms"] = r.pass_ms;
  j["images_per_s"] = summary_json(summarize(rates(r.pass_images, r.pass_ms)));
  j["mp_per_s"] = summary_json(summarize(rates(r.pass_mp, r.pass_ms)));
  const auto all = all_files(in.size());
  json st;
  for (stage s : shown_stages) st[std::string(to_string(s))] = summary_json(summarize(stage_of(r, all, s)));
  st["total"] = summary_json(summarize(totals_of(r, all)));
  j["stages_ms"] = std::move(st);
  json bk = json::array();
  for (const auto& k : kinds) {
    json e{{"kind", k.kind}, {"files", k.files.size()}};
    json ks;
    for (stage s : shown_stages) ks[std::string(to_string(s))] = summary_json(summarize(stage_of(r, k.files, s)));
    ks["total"] = summary_json(summarize(totals_of(r, k.files)));
    e["stages_ms"] = std::move(ks);
    bk.push_back(std::move(e));
  }
  j["by_kind"] = std::move(bk);
  json pf = json::array();
  for (std::size_t f = 0; f < in.size(); ++f) {
    std::vector<double> t;
    for (const auto& s : r.per_file[f]) t.push_back(s.total_ms);
    pf.push_back({{"path", in[f].in.path}, {"ms", summary_json(summarize(t))}});
  }
  j["per_file"] = std::move(pf);
  j["failures"] = r.failures;
  return j;
}

void print_run(std::ostream& o, const kycprep_run& r, const std::vector<loaded_input>& in,
               const std::vector<kind_group>& kinds) {
  char line[512];
  const summary ips = summarize(rates(r.pass_images, r.pass_ms));
  const summary mps = summarize(rates(r.pass_mp, r.pass_ms));
  o << "\nkycprep, " << r.threads << (r.threads == 1 ? " thread" : " threads") << ": " << r.pass_ms.size()
    << " timed passes";
  if (r.copies > 1) o << " (each covers the inputs " << r.copies << " times, to keep every thread busy)";
  o << "\n";
  std::snprintf(line, sizeof line, "  throughput   %8.2f images/s  [%.2f .. %.2f]   %8.1f MP/s  [%.1f .. %.1f]\n", ips.p50,
                ips.min, ips.max, mps.p50, mps.min, mps.max);
  o << line << "               median [min .. max] over passes; MP = source megapixels\n";
  const auto all = all_files(in.size());
  o << "  per image, ms      p50      p95      min      max\n";
  for (stage s : shown_stages) {
    const summary x = summarize(stage_of(r, all, s));
    std::snprintf(line, sizeof line, "    %-10s %8.2f %8.2f %8.2f %8.2f\n", std::string(to_string(s)).c_str(), x.p50,
                  x.p95, x.min, x.max);
    o << line;
  }
  const summary t = summarize(totals_of(r, all));
  std::snprintf(line, sizeof line, "    %-10s %8.2f %8.2f %8.2f %8.2f   (wall time of prepare(); n=%zu)\n", "total",
                t.p50, t.p95, t.min, t.max, t.n);
  o << line;
  if (kinds.size() > 1 || r.threads == 1) {
    o << "  by file kind, p50 ms per image:\n";
    std::snprintf(line, sizeof line, "    %-30s %5s", "kind", "files");
    o << line;
    for (stage s : shown_stages) {
      std::snprintf(line, sizeof line, " %7s", std::string(to_string(s)).c_str());
      o << line;
    }
    o << "    total [min .. max]\n";
    for (const auto& k : kinds) {
      std::snprintf(line, sizeof line, "    %-30s %5zu", k.kind.c_str(), k.files.size());
      o << line;
      if (totals_of(r, k.files).empty()) {
        o << "   (every run failed, see below)\n";
        continue;
      }
      for (stage s : shown_stages) {
        std::snprintf(line, sizeof line, " %7.2f", summarize(stage_of(r, k.files, s)).p50);
        o << line;
      }
      const summary kt = summarize(totals_of(r, k.files));
      std::snprintf(line, sizeof line, "  %7.2f [%.1f .. %.1f]\n", kt.p50, kt.min, kt.max);
      o << line;
    }
  }
  for (const auto& f : r.failures) o << "  failed: " << f << "\n";
}

// N threads' images/s over 1 thread's: the median of the rounds' ratios when
// the two runs alternated pass by pass, else the ratio of their medians.
double thread_scaling(const kycprep_run& many, const kycprep_run& one) {
  const std::vector<double> n = rates(many.pass_images, many.pass_ms), o = rates(one.pass_images, one.pass_ms);
  if (n.size() == o.size() && !n.empty()) {
    std::vector<double> r;
    for (std::size_t i = 0; i < n.size(); ++i)
      if (o[i] > 0) r.push_back(n[i] / o[i]);
    if (!r.empty()) return summarize(r).p50;
  }
  const double d = summarize(o).p50;
  return d > 0 ? summarize(n).p50 / d : 0.0;
}

void merge(kycprep_run& into, kycprep_run&& more) {
  into.threads = more.threads;
  into.copies = more.copies;
  if (into.per_file.empty()) into.per_file.resize(more.per_file.size());
  for (std::size_t f = 0; f < more.per_file.size(); ++f)
    into.per_file[f].insert(into.per_file[f].end(), more.per_file[f].begin(), more.per_file[f].end());
  for (auto& e : more.failures)
    if (std::find(into.failures.begin(), into.failures.end(), e) == into.failures.end()) into.failures.push_back(e);
  into.pass_ms.insert(into.pass_ms.end(), more.pass_ms.begin(), more.pass_ms.end());
  into.pass_images.insert(into.pass_images.end(), more.pass_images.begin(), more.pass_images.end());
  into.pass_mp.insert(into.pass_mp.end(), more.pass_mp.begin(), more.pass_mp.end());
}

void merge(comparator_result& into, comparator_result&& more) {
  for (std::size_t f = 0; f < into.ms.size() && f < more.ms.size(); ++f)
    into.ms[f].insert(into.ms[f].end(), more.ms[f].begin(), more.ms[f].end());
  for (auto& e : more.failures)
    if (std::find(into.failures.begin(), into.failures.end(), e) == into.failures.end()) into.failures.push_back(e);
  if (!into.available && more.available) into = std::move(more);
}

int run_bench(bench_args& a) {
  // One OpenCV thread: comparisons are per thread, and kycprep's own
  // parallelism comes from the task arena. This also applies to the OpenCV
  // calls inside kycprep (resize, detection) in this process.
  if (a.opencv_threads >= 0) cv::setNumThreads(a.opencv_threads);
  if (a.threads < 1 || a.repeat < 1 || a.warmup < 0) {
    std::cerr << "kycprep bench: --threads and --repeat must be >= 1, --warmup >= 0\n";
    return exit_usage;
  }
  prepare_options opt;
  opt.profile = a.profile == "face" ? profile::face : profile::document;
  opt.use_exif_thumbnail = a.use_exif_thumbnail;
  opt.max_coefficient_bytes = a.max_coefficient_bytes;
  std::string detector_name = "none";
  if (opt.profile == profile::face) {
    auto det = a.face_model.empty() ? make_default_detector() : make_yunet_detector(a.face_model);
    if (!det) {
      std::cerr << "kycprep bench: " << to_string(det.error().code) << ": " << det.error().message << '\n';
      return exit_status_for(det.error().code);
    }
    opt.detector = std::move(det).value();
    detector_name = std::string(opt.detector->name());
  }

  // Load everything first: no file I/O inside any timing.
  std::vector<loaded_input> in;
  std::vector<std::string> skipped;
  for (const auto& path : expand_inputs(a.inputs)) {
    auto bytes = read_file(path, opt.decode.limits.max_input_bytes);
    if (!bytes) {
      skipped.push_back(path + ": " + bytes.error().message);
      continue;
    }
    auto h = read_header(bytes.value(), opt.decode);
    if (!h) {
      skipped.push_back(path + ": " + std::string(to_string(h.error().code)) + ": " + h.error().message);
      continue;
    }
    loaded_input li;
    li.source = h.value();
    li.kind = kind_of(li.source);
    li.megapixels = static_cast<double>(li.source.width) * li.source.height / 1e6;
    const size2 up = upright_size(li.source.width, li.source.height, li.source.orientation);
    li.in = bench_input{path, std::move(bytes).value(), up.w, up.h, li.source.format == image_format::jpeg};
    in.push_back(std::move(li));
  }
  for (const auto& s : skipped) std::cerr << "kycprep bench: skipped " << s << '\n';
  if (in.empty()) {
    std::cerr << "kycprep bench: no readable JPEG or PNG input\n";
    return exit_io;
  }
  const auto kinds = group_by_kind(in);
  double encoded_mb = 0, source_mp = 0;
  for (const auto& li : in) {
    encoded_mb += static_cast<double>(li.in.bytes.size()) / 1e6;
    source_mp += li.megapixels;
  }
  const std::string load_before = load_average();
  if (!a.json_out)
    std::cerr << "kycprep bench: " << in.size() << " inputs loaded; running" << (a.compare ? " (--compare takes a while)" : "")
              << "...\n";
  const double rss_loaded = peak_rss_mb();

  std::vector<kycprep_run> runs;
  std::vector<comparator_result> cmp;
  workspaces spaces;
  double vips_startup = 0;
  double rss_after_kycprep = 0;
  if (!a.compare && a.threads == 1) {
    runs.push_back(run_kycprep(in, opt, 1, a.repeat, a.warmup, spaces));
    rss_after_kycprep = peak_rss_mb();
  } else if (!a.compare) {
    // The scaling figure needs a one-thread run too. Rounds: one pass on N
    // threads, then one on 1 thread, `repeat` times, so that a shared
    // machine's drift hits both alike (the figure is the median of the
    // rounds' ratios).
    kycprep_run many, one;
    for (int round = 0; round < a.repeat; ++round) {
      merge(many, run_kycprep(in, opt, a.threads, 1, round == 0 ? a.warmup : 0, spaces));
      if (round == 0) rss_after_kycprep = peak_rss_mb();
      merge(one, run_kycprep(in, opt, 1, 1, round == 0 ? a.warmup : 0, spaces));
    }
    runs.push_back(std::move(many));
    runs.push_back(std::move(one));
  } else {
    // Rounds: one pass of kycprep (on N threads first when asked, then on
    // 1), then one of each comparator, `repeat` times. On a shared machine
    // the load drifts; interleaving exposes every contender to the same
    // drift, so the ratios stay fair.
    std::vector<bench_input> bi;
    for (const auto& li : in) bi.push_back(li.in);
    kycprep_run many_run, single_run;
    std::vector<double> startups;
    for (int round = 0; round < a.repeat; ++round) {
      compare_options co = a.cmp;
      co.repeat = 1;
      co.warmup = round == 0 ? a.warmup : 0;
      if (a.threads > 1) {
        merge(many_run, run_kycprep(in, opt, a.threads, 1, co.warmup, spaces));
        if (round == 0) rss_after_kycprep = peak_rss_mb();
      }
      merge(single_run, run_kycprep(in, opt, 1, 1, co.warmup, spaces));
      if (a.threads == 1 && round == 0) rss_after_kycprep = peak_rss_mb();
      std::vector<comparator_result> now;
      now.push_back(run_naive_opencv(bi, co));
      for (auto& c : run_turbo_floor(bi, co)) now.push_back(std::move(c));
      double startup = 0;
      for (auto& c : run_vipsthumbnail(bi, co, startup)) now.push_back(std::move(c));
      if (startup > 0) startups.push_back(startup);
      now.push_back(run_sharp(bi, co));
      if (cmp.empty()) cmp = std::move(now);
      else
        for (std::size_t k = 0; k < cmp.size() && k < now.size(); ++k) merge(cmp[k], std::move(now[k]));
    }
    vips_startup = summarize(startups).p50;
    char note[128];
    std::snprintf(note, sizeof note, "start-up (same command on a 16x16 JPEG) %.1f ms, median over rounds", vips_startup);
    for (auto& c : cmp)
      if (c.available && c.name.rfind("vips", 0) == 0) c.note = note;
    if (a.threads > 1) runs.push_back(std::move(many_run));
    runs.push_back(std::move(single_run));
  }
  const kycprep_run& single = runs.back();

  const std::string load_after = load_average();
  const unsigned cpus = std::thread::hardware_concurrency();

  if (a.json_out) {
    json j;
    j["machine"] = {{"cpu", cpu_model()}, {"cpus", cpus}, {"load_average_start", load_before},
                    {"load_average_end", load_after}};
    j["options"] = {{"profile", a.profile}, {"detector", detector_name}, {"threads", a.threads},
                    {"repeat", a.repeat}, {"warmup", a.warmup}, {"compare", a.compare}, {"opencv_threads", 1}};
    json ins = json::array();
    for (const auto& li : in)
      ins.push_back({{"path", li.in.path}, {"kind", li.kind}, {"bytes", li.in.bytes.size()},
                     {"megapixels", li.megapixels}, {"width", li.source.width}, {"height", li.source.height},
                     {"orientation", li.source.orientation}, {"progressive", li.source.progressive}});
    j["inputs"] = std::move(ins);
    j["skipped"] = skipped;
    j["peak_rss_mb"] = {{"after_loading_inputs", rss_loaded}, {"after_kycprep_run", rss_after_kycprep}};
    json rj = json::array();
    for (const auto& r : runs) rj.push_back(run_json(r, in, kinds));
    j["kycprep"] = std::move(rj);
    if (a.threads > 1 && runs.size() > 1) {
      j["thread_scaling"] = thread_scaling(runs[0], runs[1]);
    }
    if (a.compare) {
      json cj = json::array();
      for (const auto& c : cmp) {
        json e{{"name", c.name}, {"what", c.what}, {"available", c.available}, {"note", c.note},
               {"failures", c.failures}};
        json bk = json::array();
        auto add = [&](const std::string& kind, const std::vector<std::size_t>& files) {
          const summary s = summarize(comparator_ms(c, files));
          const summary k = summarize(totals_of(single, files));
          if (s.n == 0) return;
          bk.push_back({{"kind", kind}, {"ms", summary_json(s)}, {"kycprep_ms", summary_json(k)},
                        {"kycprep_over_it", s.p50 > 0 ? json(k.p50 / s.p50) : json(nullptr)}});
        };
        for (const auto& k : kinds) add(k.kind, k.files);
        add("all", all_files(in.size()));
        e["by_kind"] = std::move(bk);
        cj.push_back(std::move(e));
      }
      j["compare"] = std::move(cj);
      j["vipsthumbnail_startup_ms"] = vips_startup;
    }
    std::cout << j.dump(2) << '\n';
  } else {
    std::ostream& o = std::cout;
    char line[512];
    std::snprintf(line, sizeof line,
                  "kycprep bench: %zu files, %.1f MB encoded, %.1f source MP, loaded into memory first:\n"
                  "file I/O is excluded from every timing below. %d warm-up pass(es), %d timed.\n",
                  in.size(), encoded_mb, source_mp, a.warmup, a.repeat);
    o << line;
    o << "profile " << a.profile << ", detector " << detector_name
      << " (created once, shared), OpenCV threads 1 (cv::setNumThreads, also inside kycprep)\n";
    o << "machine: " << cpu_model() << ", " << cpus << " CPUs; load average " << load_before << " at start, "
      << load_after << " at end";
    if (cpus > 0 && std::stod(load_before.substr(0, load_before.find(' '))) > 0.5 * cpus)
      o << "  (busy machine: expect noise)";
    o << "\n";
    std::snprintf(line, sizeof line, "peak RSS: %.0f MB after loading inputs, %.0f MB after the first kycprep run\n",
                  rss_loaded, rss_after_kycprep);
    o << line;
    for (const auto& r : runs) print_run(o, r, in, kinds);
    if (a.threads > 1 && runs.size() > 1) {
      std::snprintf(line, sizeof line,
                    "\nthread scaling: %d threads give %.2fx the 1-thread images/s (median over rounds that "
                    "alternate the two)\n",
                    a.threads, thread_scaling(runs[0], runs[1]));
      o << line;
    }
    if (a.compare) {
      o << "\ncompare: same in-memory files, same run, one thread each. ms per image, median [min .. max];\n"
           "ratio = kycprep median / its median (below 1: kycprep is faster). kycprep does face detection\n"
           "and crop; vipsthumbnail and sharp only resize; the turbo rows only decode.\n";
      for (const auto& c : cmp) {
        o << "  " << c.name << ": " << c.what;
        if (!c.available) o << "\n      SKIPPED: " << c.note;
        else if (!c.note.empty()) o << "\n      (" << c.note << ")";
        o << "\n";
        for (const auto& f : c.failures) o << "      failed: " << f << "\n";
      }
      auto block = [&](const std::string& kind, const std::vector<std::size_t>& files) {
        const summary k = summarize(totals_of(single, files));
        std::snprintf(line, sizeof line, "\n  %-34s %-18s %8.2f [%.1f .. %.1f]\n", kind.c_str(), "kycprep", k.p50,
                      k.min, k.max);
        o << line;
        for (const auto& c : cmp) {
          if (!c.available) continue;
          const summary s = summarize(comparator_ms(c, files));
          if (s.n == 0) continue;
          if (s.p50 <= 0) {
            std::snprintf(line, sizeof line, "  %-34s %-18s %8.2f   n/a: below the start-up noise\n", "", c.name.c_str(),
                          s.p50);
            o << line;
            continue;
          }
          const double ratio = k.p50 / s.p50;
          std::snprintf(line, sizeof line, "  %-34s %-18s %8.2f [%.1f .. %.1f]   kycprep = %.2fx it  (%s %.2fx)\n", "",
                        c.name.c_str(), s.p50, s.min, s.max, ratio, ratio <= 1 ? "kycprep faster" : "kycprep slower",
                        ratio <= 1 ? (ratio > 0 ? 1 / ratio : 0) : ratio);
          o << line;
        }
      };
      for (const auto& k : kinds) block(k.kind, k.files);
      if (kinds.size() > 1) block("all files", all_files(in.size()));
    }
  }
  const bool any_ok = std::any_of(runs[0].per_file.begin(), runs[0].per_file.end(),
                                  [](const std::vector<sample>& s) { return !s.empty(); });
  return any_ok ? exit_ok : exit_some_failed;
}

}  // namespace

void add_bench_command(CLI::App& app, int& exit_code) {
  auto a = std::make_shared<bench_args>();
#ifdef KYCPREP_TOOLS_DIR
  a->cmp.sharp_script = KYCPREP_TOOLS_DIR "/sharp_bench.mjs";
#endif
  CLI::App* cmd = app.add_subcommand(
      "bench",
      "Measure prepare() on your own images: images/s, MP/s, p50/p95 per stage; --compare runs other pipelines "
      "side by side");
  cmd->add_option("inputs", a->inputs, "Images (JPEG or PNG) or directories of them; read into memory before timing")
      ->required();
  cmd->add_option("--threads", a->threads,
                  "Run prepare() on N threads at once (a TBB task arena). With N > 1 each pass on N threads is "
                  "followed by one on 1 thread (the scaling figure is the median of their ratios; the --compare "
                  "ratios use the 1-thread passes)")
      ->capture_default_str();
  cmd->add_option("--repeat", a->repeat, "Timed passes over all inputs (statistics are over all of them)")
      ->capture_default_str();
  cmd->add_option("--warmup", a->warmup, "Untimed passes first (caches, page faults, detector pools)")
      ->capture_default_str();
  cmd->add_flag("--compare", a->compare,
                "Also time, on the same files, one thread each: the naive OpenCV pipeline, libjpeg-turbo's decode "
                "floor (1/1, 1/8, entropy only), vipsthumbnail and sharp (each skipped with a note when absent); "
                "prints kycprep's time as a ratio to each. Passes are interleaved (kycprep, then each comparator, "
                "--repeat rounds) so that load drift hits all of them alike");
  cmd->add_option("--profile", a->profile, "face: detect and crop (the goals' setting); document: whole frame")
      ->check(CLI::IsMember({"document", "face"}))
      ->capture_default_str();
  cmd->add_option("--face-model", a->face_model, "Face profile: use the YuNet ONNX model at FILE instead of the cascade")
      ->check(CLI::ExistingFile);
  add_thumbnail_option(*cmd, a->use_exif_thumbnail);
  add_coefficient_option(*cmd, a->max_coefficient_bytes);
  cmd->add_option("--opencv-threads", a->opencv_threads,
                  "cv::setNumThreads for the whole process, kycprep's own OpenCV calls included; -1 keeps OpenCV's "
                  "default. 1 makes every comparison single-threaded")
      ->capture_default_str();
  cmd->add_flag("--json", a->json_out, "Print every figure as one JSON object instead of the tables");
  cmd->add_option("--sharp-dir", a->cmp.sharp_dir,
                  "npm prefix holding node_modules/sharp. Default: $KYCPREP_SHARP_DIR, then ~/.cache/kycprep-sharp");
  cmd->add_option("--sharp-script", a->cmp.sharp_script, "Path of tools/sharp_bench.mjs")->capture_default_str();
  cmd->add_option("--vipsthumbnail", a->cmp.vipsthumbnail, "vipsthumbnail program")->capture_default_str();
  cmd->add_option("--haar-cascade", a->cmp.haar_cascade, "Cascade of the naive OpenCV pipeline")->capture_default_str();
  cmd->footer(
      "What is timed: the wall time of prepare(bytes) per image (decode, orient, detect, crop, resize, encode,\n"
      "base64), with the detector created once beforehand. Figures are medians with [min .. max] or p95: on a\n"
      "shared or busy machine (see the load average printed) run it several times.\n"
      "\n"
      "Examples:\n"
      "  kycprep bench photos/                         # 1 thread, 5 passes, face profile\n"
      "  kycprep bench photos/*.jpg --threads 2        # throughput on 2 threads\n"
      "  kycprep bench photos/ --compare --repeat 3    # ratios to naive OpenCV, libjpeg-turbo, vipsthumbnail, sharp\n"
      "  kycprep bench id.png --profile document --json > bench.json\n"
      "\n"
      "A realistic corpus (12 MP / 3 MP / EXIF-6 / progressive / PNG):\n"
      "  /usr/bin/python3 tools/make_bench_corpus.py /tmp/corpus --count 3 && kycprep bench /tmp/corpus --compare\n"
      "Optional comparators: apt-get install libvips-tools; npm install --prefix ~/.cache/kycprep-sharp sharp\n"
      "(see docs/PERFORMANCE.md).");
  cmd->callback([a, &exit_code] { exit_code = run_bench(*a); });
}

}  // namespace kycprep::cli
