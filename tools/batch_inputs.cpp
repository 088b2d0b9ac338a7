#include "batch_inputs.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <charconv>
#include <iostream>
#include <stdexcept>
#include <system_error>

#include <nlohmann/json.hpp>

namespace kycprep::cli {

namespace fs = std::filesystem;

std::array<std::uint8_t, 32> sha256(std::string_view bytes) {
  std::array<std::uint8_t, 32> md{};
  unsigned int len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), md.data(), &len, EVP_sha256(), nullptr) != 1 || len != md.size())
    throw std::runtime_error("SHA-256 failed");
  return md;
}

std::string sha256_hex(std::span<const std::uint8_t> bytes) {
  const auto md = sha256({reinterpret_cast<const char*>(bytes.data()), bytes.size()});
  static constexpr char hex[] = "0123456789abcdef";
  std::string s(64, '0');
  for (std::size_t i = 0; i < md.size(); ++i) {
    s[2 * i] = hex[md[i] >> 4];
    s[2 * i + 1] = hex[md[i] & 15];
  }
  return s;
}

namespace {
std::uint64_t be64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}
}  // namespace

id_key key_of(std::string_view id) {
  const auto md = sha256(id);
  return {be64(md.data()), be64(md.data() + 8)};
}

std::uint64_t shard_of(std::string_view id, std::uint64_t n) {
  const auto md = sha256(id);
  return be64(md.data()) % n;
}

std::optional<shard_spec> parse_shard(std::string_view s) {
  const auto slash = s.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  shard_spec sp;
  auto parse = [](std::string_view t, std::uint64_t& v) {
    const auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    return ec == std::errc{} && p == t.data() + t.size() && !t.empty();
  };
  if (!parse(s.substr(0, slash), sp.index) || !parse(s.substr(slash + 1), sp.count)) return std::nullopt;
  if (sp.count == 0 || sp.index >= sp.count) return std::nullopt;
  return sp;
}

std::string file_id(const fs::path& p) {
  std::string s = p.lexically_normal().generic_string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

// ---- tree_walker ----------------------------------------------------------

tree_walker::tree_walker(fs::path root) : root_(std::move(root)) {}

bool tree_walker::push_listing(const fs::path& dir) {
  level lv;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) lv.entries.push_back(it->path());
  if (ec) return false;
  std::sort(lv.entries.begin(), lv.entries.end(),
            [](const fs::path& a, const fs::path& b) { return a.native() < b.native(); });
  stack_.push_back(std::move(lv));
  return true;
}

std::optional<fs::path> tree_walker::next() {
  std::error_code ec;
  if (!started_) {
    started_ = true;
    // A root that is not a directory (a file, a dangling name), or a
    // directory that cannot be listed, is an input of its own: reading it
    // gives the record that says what is wrong.
    if (!fs::is_directory(root_, ec) || !push_listing(root_)) return root_;
  }
  while (!stack_.empty()) {
    level& top = stack_.back();
    if (top.pos >= top.entries.size()) {
      stack_.pop_back();
      continue;
    }
    fs::path p = top.entries[top.pos++];
    const auto lst = fs::symlink_status(p, ec);
    if (ec) return p;
    if (fs::is_directory(lst)) {
      if (!push_listing(p)) return p;
      continue;
    }
    if (fs::is_symlink(lst)) {
      const auto st = fs::status(p, ec);
      if (ec || !fs::exists(st) || fs::is_regular_file(st)) return p;  // dangling: an io_error record
      continue;  // links to directories are not followed (no cycles); others are skipped
    }
    if (fs::is_regular_file(lst)) return p;
    // FIFOs, sockets and devices are skipped: reading one could block forever.
  }
  return std::nullopt;
}

// ---- cli_source -------------------------------------------------------------

cli_source::cli_source(input_spec spec, shard_spec shard, const id_set* done, input_counters& counters)
    : spec_(std::move(spec)), shard_(shard), done_(done), counters_(counters) {}

namespace {

batch_item file_item(const fs::path& p, kycprep::profile prof) {
  batch_item it;
  it.id = file_id(p);
  batch_image im;
  im.role = std::string(to_string(prof));
  im.path = p.string();
  im.profile = prof;
  it.images.push_back(std::move(im));
  return it;
}

batch_item bad_manifest_line(std::uint64_t line, std::string id, std::string why) {
  batch_item it;
  it.id = id.empty() ? "manifest:" + std::to_string(line) : std::move(id);
  it.failed = kycprep::error{error_code::invalid_options, stage::read,
                             "manifest line " + std::to_string(line) + ": " + why};
  return it;
}

std::istream* open_stream(const std::string& name, std::ifstream& file, const char* what) {
  if (name == "-") return &std::cin;
  file.open(name, std::ios::binary);
  if (!file) throw std::runtime_error(std::string("cannot open ") + what + " " + name);
  return &file;
}

}  // namespace

std::optional<batch_item> cli_source::next_manifest_item() {
  std::string line;
  while (std::getline(*manifest_, line)) {
    ++manifest_line_;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) return bad_manifest_line(manifest_line_, "", "not a JSON object");
    const auto id = j.find("id");
    if (id == j.end() || !id->is_string() || id->get_ref<const std::string&>().empty())
      return bad_manifest_line(manifest_line_, "", "\"id\" must be a non-empty string");
    batch_item it;
    it.id = id->get<std::string>();
    j.erase("id");
    for (const auto& [role, prof] : manifest_roles) {
      const auto v = j.find(std::string(role));
      if (v == j.end() || v->is_null()) continue;
      if (!v->is_string() || v->get_ref<const std::string&>().empty())
        return bad_manifest_line(manifest_line_, it.id, "\"" + std::string(role) + "\" must be a path string");
      fs::path p = v->get<std::string>();
      if (p.is_relative() && !manifest_dir_.empty()) p = manifest_dir_ / p;
      batch_image im;
      im.role = std::string(role);
      im.path = p.lexically_normal().string();
      im.profile = prof;
      it.images.push_back(std::move(im));
      j.erase(std::string(role));
    }
    if (it.images.empty()) return bad_manifest_line(manifest_line_, it.id, "no \"face\" or \"document\" path");
    if (!j.empty()) it.user_data = manifest_fields{j.dump()};
    return it;
  }
  if (manifest_->bad()) throw std::runtime_error("cannot read manifest " + spec_.manifest);
  return std::nullopt;
}

std::optional<batch_item> cli_source::next_raw() {
  while (path_pos_ < spec_.paths.size()) {
    if (!walker_) walker_ = std::make_unique<tree_walker>(spec_.paths[path_pos_]);
    if (auto p = walker_->next()) return file_item(*p, spec_.profile);
    walker_.reset();
    ++path_pos_;
  }
  if (!spec_.list.empty() && !list_done_) {
    if (!list_open_) {
      list_ = open_stream(spec_.list, list_file_, "list");
      list_open_ = true;
    }
    std::string line;
    while (std::getline(*list_, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) continue;
      return file_item(line, spec_.profile);
    }
    if (list_->bad()) throw std::runtime_error("cannot read list " + spec_.list);
    list_done_ = true;
  }
  if (!spec_.manifest.empty() && !manifest_done_) {
    if (!manifest_open_) {
      manifest_ = open_stream(spec_.manifest, manifest_file_, "manifest");
      if (spec_.manifest != "-") manifest_dir_ = fs::path(spec_.manifest).parent_path();
      manifest_open_ = true;
    }
    if (auto it = next_manifest_item()) return it;
    manifest_done_ = true;
  }
  return std::nullopt;
}

std::optional<batch_item> cli_source::next() {
  while (auto it = next_raw()) {
    counters_.seen.fetch_add(1, std::memory_order_relaxed);
    if (shard_.count > 1 && shard_of(it->id, shard_.count) != shard_.index) {
      counters_.other_shard.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    const id_key k = key_of(it->id);
    if (done_ && done_->contains(k)) {
      counters_.already_done.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    if (!seen_.insert(k).second) {
      counters_.duplicates.fetch_add(1, std::memory_order_relaxed);
      std::cerr << "kycprep batch: duplicate id skipped: " << it->id << "\n";
      continue;
    }
    counters_.queued.fetch_add(1, std::memory_order_relaxed);
    return it;
  }
  return std::nullopt;
}

std::optional<std::uint64_t> cli_source::count(const input_spec& spec, shard_spec shard, const id_set* done,
                                               const std::atomic<bool>& stop) {
  if (spec.list == "-" || spec.manifest == "-") return std::nullopt;
  input_counters c;
  cli_source src(spec, shard, done, c);
  std::uint64_t n = 0;
  while (auto it = src.next_raw()) {
    if (stop.load(std::memory_order_relaxed)) return std::nullopt;
    if (shard.count > 1 && shard_of(it->id, shard.count) != shard.index) continue;
    if (done && done->contains(key_of(it->id))) continue;
    ++n;
  }
  return n;
}

}  // namespace kycprep::cli
