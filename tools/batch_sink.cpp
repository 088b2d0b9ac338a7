#include "batch_sink.hpp"

#include <cmath>
#include <stdexcept>
#include <typeinfo>

#include "batch_inputs.hpp"
#include "report.hpp"

namespace kycprep::cli {

namespace {

using clock = std::chrono::steady_clock;
using ojson = nlohmann::ordered_json;

// What post() leaves for consume() (batch_outcome::annotations).
struct item_files {
  struct image {
    std::string jpeg_path, base64_path, sha256;
    double write_ms = 0.0;
  };
  std::vector<image> images;  // one per outcome image
  std::vector<std::pair<std::string, item_step::outcome>> steps;
  std::string fatal;  // an output could not be written: the run stops here
};

bool from_manifest(const batch_outcome& out) { return out.item.user_data.type() == typeid(manifest_fields); }

std::string file_name(const batch_outcome& out, std::size_t i, std::string_view ext) {
  std::string n = output_stem(out.item.id);
  if (from_manifest(out)) n += "." + out.item.images[i].role;
  n += ext;
  return n;
}

double round3(double v) { return std::round(v * 1000.0) / 1000.0; }

}  // namespace

cli_sink::cli_sink(sink_options opt, live_counters& live) : opt_(std::move(opt)), live_(live) {}

void cli_sink::post(batch_outcome& out) {
  item_files files;
  files.images.resize(out.images.size());
  const bool want_jpeg = opt_.write == write_mode::jpeg || opt_.write == write_mode::both;
  const bool want_b64 = opt_.write == write_mode::base64 || opt_.write == write_mode::both;
  bool all_ok = !out.item.failed;
  std::vector<std::string> digests;
  try {
    for (std::size_t i = 0; i < out.images.size(); ++i) {
      const auto& r = out.images[i].output;
      if (!r.ok()) {
        all_ok = false;
        continue;
      }
      auto& f = files.images[i];
      f.sha256 = sha256_hex(r->jpeg);
      digests.push_back(f.sha256);
      if (!opt_.out) continue;
      const auto t0 = clock::now();
      if (want_jpeg) {
        const std::string name = file_name(out, i, ".jpg");
        opt_.out->write_durable(name, r->jpeg);
        f.jpeg_path = (opt_.out->path() / name).string();
      }
      if (want_b64) {
        const std::string name = file_name(out, i, ".b64");
        opt_.out->write_durable(name, {reinterpret_cast<const std::uint8_t*>(r->base64.data()), r->base64.size()});
        f.base64_path = (opt_.out->path() / name).string();
      }
      f.write_ms = std::chrono::duration<double, std::milli>(clock::now() - t0).count();
    }
  } catch (const std::exception& e) {
    // Disk full, read-only, I/O error: not this item's fault, and the next
    // items would fail the same way. Stop the run without a record for this
    // item, so that --resume does it again once the disk is fixed.
    files.fatal = e.what();
  }
  if (files.fatal.empty() && all_ok) {
    try {
      for (const auto& step : opt_.steps) {
        auto o = step->run(out, digests);
        const bool failed = o.error.has_value();
        files.steps.emplace_back(std::string(step->name()), std::move(o));
        if (failed) break;
      }
    } catch (const std::exception& e) {
      // Not the item's fault (the journal cannot take an upload intent):
      // stop the run, no record, --resume sorts it out.
      files.fatal = e.what();
    }
  }
  out.annotations = std::move(files);
}

void cli_sink::consume(batch_outcome&& out) {
  const auto* files = std::any_cast<item_files>(&out.annotations);
  if (!files) throw std::logic_error("batch outcome without output annotations");
  if (!files->fatal.empty()) throw std::runtime_error(files->fatal);

  const kycprep::error* err = out.first_error();
  std::string err_role;
  for (std::size_t i = 0; i < out.images.size() && !out.item.failed; ++i)
    if (!out.images[i].output.ok()) {
      err_role = out.item.images[i].role;
      break;
    }
  std::string_view err_code_name;
  for (const auto& [name, o] : files->steps)
    if (!err && o.error) {
      err = &*o.error;
      err_code_name = o.code_name;
    }
  if (err && err_code_name.empty()) err_code_name = to_string(err->code);

  ojson rec;
  rec["id"] = out.item.id;
  rec["ok"] = err == nullptr;
  if (err) {
    ojson e = ojson(error_json(*err));
    e["code"] = err_code_name;
    if (!err_role.empty()) e["role"] = err_role;
    rec["error"] = std::move(e);
  } else {
    rec["error"] = nullptr;
  }
  ojson images = ojson::object();
  for (std::size_t i = 0; i < out.images.size(); ++i) {
    const auto& im = out.item.images[i];
    const auto& r = out.images[i].output;
    const auto& f = files->images[i];
    ojson j;
    j["input"] = im.path;
    j["input_bytes"] = out.images[i].input_bytes;
    const nlohmann::json rj = result_json(r);
    for (const auto& [k, v] : rj.items()) j[k] = ojson(v);
    if (r.ok()) {
      j["outputs"] = {{"jpeg", f.jpeg_path.empty() ? ojson(nullptr) : ojson(f.jpeg_path)},
                      {"base64", f.base64_path.empty() ? ojson(nullptr) : ojson(f.base64_path)}};
      j["sha256"] = f.sha256;
      if (f.write_ms > 0) j["timings_ms"]["write"] = round3(f.write_ms);
    }
    images[im.role] = std::move(j);
  }
  rec["images"] = std::move(images);
  if (const auto* m = std::any_cast<manifest_fields>(&out.item.user_data); m && !m->json.empty())
    rec["fields"] = ojson::parse(m->json);
  for (const auto& [name, o] : files->steps) rec[name] = ojson(o.json);

  const std::string line = rec.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (opt_.results) opt_.results->append(line, /*sync=*/true);
  if (opt_.stream) {
    std::string s;
    if (opt_.inline_base64) {
      for (std::size_t i = 0; i < out.images.size(); ++i)
        if (out.images[i].output.ok())
          rec["images"][out.item.images[i].role]["base64"] = out.images[i].output->base64;
      s = rec.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    } else {
      s = line;
    }
    s.push_back('\n');
    if (std::fwrite(s.data(), 1, s.size(), opt_.stream) != s.size() || std::fflush(opt_.stream) != 0)
      throw std::runtime_error("cannot write the record stream (--jsonl-out)");
  }
  if (opt_.print)
    for (const auto& [name, o] : files->steps)
      if (!o.print.empty() &&
          (std::fwrite(o.print.data(), 1, o.print.size(), opt_.print) != o.print.size() || std::fflush(opt_.print) != 0))
        throw std::runtime_error("cannot write to stdout");
  account(out, err == nullptr, err_code_name);
}

void cli_sink::account(const batch_outcome& out, bool ok, std::string_view err_code) {
  ++stats_.items;
  ++(ok ? stats_.ok : stats_.failed);
  if (!ok) ++stats_.errors[std::string(err_code)];
  const auto* files = std::any_cast<item_files>(&out.annotations);
  for (std::size_t i = 0; i < out.images.size(); ++i) {
    stats_.input_bytes += out.images[i].input_bytes;
    const auto& r = out.images[i].output;
    if (!r.ok()) continue;
    ++stats_.images;
    stats_.megapixels += static_cast<double>(r->source.width) * r->source.height / 1e6;
    stats_.output_bytes += r->jpeg.size();
    for (std::size_t s = 0; s < r->timings.ms.size(); ++s)
      if (r->timings.ms[s] > 0) stats_.stages[std::string(to_string(static_cast<stage>(s)))].add(r->timings.ms[s]);
    double total = r->timings.total();
    if (files && files->images[i].write_ms > 0) {
      stats_.stages["write"].add(files->images[i].write_ms);
      total += files->images[i].write_ms;
    }
    stats_.stages["total"].add(total);
  }
  live_.done.fetch_add(1, std::memory_order_relaxed);
  if (!ok) live_.failed.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace kycprep::cli
