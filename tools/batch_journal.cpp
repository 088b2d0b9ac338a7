#include "batch_journal.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <system_error>

#include <nlohmann/json.hpp>

namespace kycprep::cli {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

void write_all(int fd, const char* p, std::size_t n, const std::string& what) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw_errno(what);
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}

}  // namespace

journal::journal(const fs::path& path, bool resume) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) throw_errno("cannot open " + path.string());
  try {
    load(resume);
  } catch (...) {
    ::close(fd_);
    fd_ = -1;
    throw;
  }
}

void journal::load(bool resume) {
  const fs::path& path = path_;
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int e = errno;
    throw std::runtime_error(path.string() + " is in use by another kycprep batch" +
                             (e == EWOULDBLOCK ? "" : std::string(" (") + std::strerror(e) + ")"));
  }
  struct stat st {};
  if (::fstat(fd_, &st) != 0) throw_errno("cannot stat " + path.string());
  if (st.st_size == 0) return;
  if (!resume) {
    throw std::runtime_error(path.string() + " already holds records: pass --resume to continue that run, "
                                             "or use another output directory");
  }

  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::uint64_t good_end = 0;  // end of the last good, complete line
  std::uint64_t line_no = 0;
  std::string line;
  std::string bad_line_why;
  while (std::getline(in, line)) {
    ++line_no;
    if (in.eof()) break;  // no '\n' after it: a torn write, cut below
    if (!bad_line_why.empty())
      throw std::runtime_error(path.string() + ": line " + std::to_string(line_no - 1) + " " + bad_line_why +
                               " (only the last line may be damaged; fix or move the file)");
    const auto j = nlohmann::json::parse(line, nullptr, false);
    const bool good = !j.is_discarded() && j.is_object() && j.contains("id") && j["id"].is_string();
    if (!good) {
      // Tolerated only as the last line (power loss can leave garbage there).
      bad_line_why = "is not a record";
      continue;
    }
    const auto& id = j["id"].get_ref<const std::string&>();
    good_end += line.size() + 1;
    if (const auto intent = j.find(upload_intent_key); intent != j.end() && intent->is_boolean() && intent->get<bool>()) {
      // An intent is written before the call and its record after, so a
      // record seen later settles it; whatever is left at the end is pending.
      auto& p = state_.pending_uploads[id];
      ++p.starts;
      if (const auto m = j.find("merchant_biz_id"); m != j.end() && m->is_string()) p.merchant_biz_id = m->get<std::string>();
      if (const auto v = j.find("vendor"); v != j.end() && v->is_string()) p.vendor = v->get<std::string>();
      continue;
    }
    state_.pending_uploads.erase(id);
    state_.done.insert(key_of(id));
    ++state_.records;
    const auto ok = j.find("ok");
    if (ok == j.end() || !ok->is_boolean() || !ok->get<bool>()) ++state_.failed;
  }
  if (in.bad()) throw std::runtime_error("cannot read " + path.string());
  if (good_end < static_cast<std::uint64_t>(st.st_size)) {
    state_.cut_bytes = static_cast<std::uint64_t>(st.st_size) - good_end;
    if (::ftruncate(fd_, static_cast<off_t>(good_end)) != 0) throw_errno("cannot truncate " + path.string());
    if (::fdatasync(fd_) != 0) throw_errno("cannot sync " + path.string());
  }
}

journal::~journal() {
  if (fd_ >= 0) {
    ::fdatasync(fd_);
    ::close(fd_);
  }
}

void journal::append(std::string_view line, bool sync_now) {
  std::string buf;
  buf.reserve(line.size() + 1);
  buf.append(line);
  buf.push_back('\n');
  // One write(): with O_APPEND the record lands whole at the end, or (killed
  // mid-way) as a torn tail that the next --resume cuts.
  std::lock_guard lock(append_mutex_);
  write_all(fd_, buf.data(), buf.size(), "cannot append to " + path_.string());
  if (sync_now) sync();
}

void journal::sync() {
  if (::fdatasync(fd_) != 0) throw_errno("cannot sync " + path_.string());
}

std::string output_stem(std::string_view id) {
  auto safe = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
  };
  bool all_safe = !id.empty() && id.size() <= 120 && id.front() != '.';
  for (char c : id) all_safe = all_safe && safe(c);
  if (all_safe) return std::string(id);
  std::string s;
  for (char c : id.substr(0, 100)) s.push_back(safe(c) ? c : '_');
  if (!s.empty() && s.front() == '.') s.front() = '_';
  const std::string h = sha256_hex({reinterpret_cast<const std::uint8_t*>(id.data()), id.size()});
  return s + "-" + h.substr(0, 12);
}

output_dir::output_dir(const fs::path& dir) : dir_(dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw std::system_error(ec, "cannot create " + dir.string());
  fd_ = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd_ < 0) throw_errno("cannot open " + dir.string());
}

output_dir::~output_dir() {
  if (fd_ >= 0) ::close(fd_);
}

void output_dir::write_durable(const std::string& name, std::span<const std::uint8_t> bytes) const {
  const std::string tmp = "." + name + ".part";
  const int fd = ::openat(fd_, tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw_errno("cannot create " + (dir_ / tmp).string());
  try {
    write_all(fd, reinterpret_cast<const char*>(bytes.data()), bytes.size(), "cannot write " + (dir_ / tmp).string());
    if (::fsync(fd) != 0) throw_errno("cannot sync " + (dir_ / tmp).string());
  } catch (...) {
    ::close(fd);
    ::unlinkat(fd_, tmp.c_str(), 0);
    throw;
  }
  if (::close(fd) != 0) throw_errno("cannot close " + (dir_ / tmp).string());
  if (::renameat(fd_, tmp.c_str(), fd_, name.c_str()) != 0) throw_errno("cannot rename to " + (dir_ / name).string());
  // The rename is only durable once the directory is.
  if (::fsync(fd_) != 0) throw_errno("cannot sync " + dir_.string());
}

}  // namespace kycprep::cli
