// Comparators for `kycprep bench --compare` (see bench_compare.hpp).
#include "bench_compare.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include <jpeglib.h>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>

#include "kycprep/encode.hpp"
#include "kycprep/image.hpp"

extern char** environ;

namespace kycprep::cli {

namespace {

using clock_type = std::chrono::steady_clock;

double ms_since(clock_type::time_point t0) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}

comparator_result make_result(std::string name, std::string what, std::size_t files) {
  comparator_result r;
  r.name = std::move(name);
  r.what = std::move(what);
  r.ms.resize(files);
  return r;
}

// ---- naive OpenCV ---------------------------------------------------------

// The one-character-at-a-time table loop a naive pipeline would write.
std::string naive_base64(const std::vector<uchar>& in) {
  static constexpr char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const std::uint32_t v = (std::uint32_t{in[i]} << 16) | (std::uint32_t{in[i + 1]} << 8) | in[i + 2];
    out.push_back(a[v >> 18]);
    out.push_back(a[(v >> 12) & 63]);
    out.push_back(a[(v >> 6) & 63]);
    out.push_back(a[v & 63]);
  }
  const std::size_t rest = in.size() - i;
  if (rest > 0) {
    std::uint32_t v = std::uint32_t{in[i]} << 16;
    if (rest == 2) v |= std::uint32_t{in[i + 1]} << 8;
    out.push_back(a[v >> 18]);
    out.push_back(a[(v >> 12) & 63]);
    out.push_back(rest == 2 ? a[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

// Returns the base64 length (0 on failure) so the work cannot be optimised away.
std::size_t naive_pipeline(const bench_input& in, cv::CascadeClassifier& haar) {
  const cv::Mat buf(1, static_cast<int>(in.bytes.size()), CV_8U, const_cast<std::uint8_t*>(in.bytes.data()));
  const cv::Mat img = cv::imdecode(buf, cv::IMREAD_COLOR);  // applies EXIF orientation
  if (img.empty()) return 0;
  const double s = 640.0 / img.cols;
  cv::Mat small, gray;
  cv::resize(img, small, cv::Size(640, std::max(1, static_cast<int>(img.rows * s + 0.5))), 0, 0, cv::INTER_AREA);
  cv::cvtColor(small, gray, cv::COLOR_BGR2GRAY);
  std::vector<cv::Rect> faces;
  haar.detectMultiScale(gray, faces);  // defaults: scale 1.1, 3 neighbours, no min size
  // A 3:4 frame: around the largest face (about 2.2 face heights tall), or
  // the centre of the image when no face was found.
  int fh = std::min(img.rows, img.cols * 4 / 3), cx = img.cols / 2, cy = img.rows / 2;
  if (!faces.empty()) {
    const cv::Rect f = *std::max_element(faces.begin(), faces.end(),
                                         [](const cv::Rect& a, const cv::Rect& b) { return a.area() < b.area(); });
    fh = std::min(static_cast<int>(f.height / s * 2.2), fh);
    cx = static_cast<int>((f.x + f.width / 2.0) / s);
    cy = static_cast<int>((f.y + f.height / 2.0) / s);
  }
  const int fw = fh * 3 / 4;
  const cv::Rect frame(std::clamp(cx - fw / 2, 0, img.cols - fw), std::clamp(cy - fh * 9 / 20, 0, img.rows - fh), fw, fh);
  cv::Mat out;
  cv::resize(img(frame), out, cv::Size(720, 960), 0, 0, cv::INTER_AREA);
  std::vector<uchar> jpeg;
  cv::imencode(".jpg", out, jpeg, {cv::IMWRITE_JPEG_QUALITY, 90});
  return naive_base64(jpeg).size();
}

// ---- libjpeg-turbo floor ----------------------------------------------------

struct turbo_error {
  jpeg_error_mgr mgr{};
  std::jmp_buf jump{};
};

[[noreturn]] void turbo_error_exit(j_common_ptr c) { std::longjmp(reinterpret_cast<turbo_error*>(c->err)->jump, 1); }

enum class turbo_mode { scaled, entropy };

// The frame holds only trivially destructible locals so that longjmp is safe.
// Returns the number of scanlines (or coefficient arrays) produced, 0 on error.
long turbo_decode(const std::vector<std::uint8_t>& bytes, turbo_mode mode, int denom, std::vector<std::uint8_t>& rows) {
  jpeg_decompress_struct cinfo{};
  turbo_error err;
  cinfo.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = turbo_error_exit;
  err.mgr.emit_message = [](j_common_ptr, int) {};
  long produced = 0;
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    return 0;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, bytes.data(), static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&cinfo, TRUE);
  if (mode == turbo_mode::entropy) {
    jvirt_barray_ptr* coefs = jpeg_read_coefficients(&cinfo);
    produced = coefs != nullptr ? cinfo.num_components : 0;
  } else {
    cinfo.out_color_space = JCS_RGB;
    cinfo.scale_num = 1;
    cinfo.scale_denom = static_cast<unsigned>(denom);
    cinfo.dct_method = JDCT_ISLOW;
    jpeg_start_decompress(&cinfo);
    const std::size_t stride = static_cast<std::size_t>(cinfo.output_width) * cinfo.output_components;
    constexpr int batch = 16;
    if (rows.size() < stride * batch) rows.resize(stride * batch);
    JSAMPROW rp[batch];
    for (int i = 0; i < batch; ++i) rp[i] = rows.data() + stride * i;
    while (cinfo.output_scanline < cinfo.output_height) produced += jpeg_read_scanlines(&cinfo, rp, batch);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  return produced;
}

// ---- processes ---------------------------------------------------------------

struct process_result {
  int status = -1;  ///< exit status, -1 when it could not start or was killed
  std::string out;  ///< stdout when captured
  double ms = 0;    ///< wall time from spawn to exit
};

// Runs argv[0] (searched in PATH) with stdin and stderr at /dev/null; stdout
// is captured or discarded.
process_result run_process(const std::vector<std::string>& args, bool capture) {
  process_result r;
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  int pipefd[2] = {-1, -1};
  if (capture && pipe(pipefd) != 0) return r;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  if (capture) {
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
    posix_spawn_file_actions_addclose(&fa, pipefd[0]);
  } else {
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  }
  const auto t0 = clock_type::now();
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (capture) close(pipefd[1]);
  if (rc != 0) {
    if (capture) close(pipefd[0]);
    return r;
  }
  if (capture) {
    char buf[1 << 14];
    ssize_t n;
    while ((n = read(pipefd[0], buf, sizeof buf)) > 0) r.out.append(buf, static_cast<std::size_t>(n));
    close(pipefd[0]);
  }
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  r.ms = ms_since(t0);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

bool program_exists(const std::string& prog) {
  if (prog.find('/') != std::string::npos) return access(prog.c_str(), X_OK) == 0;
  const char* path = std::getenv("PATH");
  std::string p = path != nullptr ? path : "/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= p.size()) {
    const std::size_t end = std::min(p.find(':', start), p.size());
    const std::string dir = p.substr(start, end - start);
    if (!dir.empty() && access((dir + "/" + prog).c_str(), X_OK) == 0) return true;
    start = end + 1;
  }
  return false;
}

double median_of(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace

comparator_result run_naive_opencv(std::span<const bench_input> in, const compare_options& opt) {
  auto r = make_result("naive-opencv",
                       "cv::imdecode (EXIF applied) -> Haar frontalface_default on 640-wide gray -> largest box -> "
                       "3:4 crop -> INTER_AREA resize to 720x960 -> imencode q90 -> base64 loop",
                       in.size());
  cv::CascadeClassifier haar;
  if (!haar.load(opt.haar_cascade)) {
    r.note = "cannot load " + opt.haar_cascade + " (Debian package opencv-data)";
    return r;
  }
  r.available = true;
  for (int pass = 0; pass < opt.warmup + opt.repeat; ++pass)
    for (std::size_t i = 0; i < in.size(); ++i) {
      const auto t0 = clock_type::now();
      const std::size_t n = naive_pipeline(in[i], haar);
      const double ms = ms_since(t0);
      if (n == 0) {
        if (pass == 0) r.failures.push_back(in[i].path + ": OpenCV could not decode or encode it");
        continue;
      }
      if (pass >= opt.warmup) r.ms[i].push_back(ms);
    }
  return r;
}

std::vector<comparator_result> run_turbo_floor(std::span<const bench_input> in, const compare_options& opt) {
  std::vector<comparator_result> out;
  out.push_back(make_result("turbo-1/1", "libjpeg-turbo decode at 1/1 to RGB rows (ISLOW, no frame buffer)", in.size()));
  out.push_back(make_result("turbo-1/8", "libjpeg-turbo decode at 1/8 to RGB rows (DCT scaling)", in.size()));
  out.push_back(make_result("turbo-entropy", "libjpeg-turbo jpeg_read_coefficients: Huffman decode only, no IDCT",
                            in.size()));
  std::vector<std::uint8_t> rows;
  for (auto& r : out) {
    r.available = true;
    r.note = "JPEG only";
  }
  for (int pass = 0; pass < opt.warmup + opt.repeat; ++pass)
    for (std::size_t i = 0; i < in.size(); ++i) {
      if (!in[i].jpeg) continue;
      for (std::size_t k = 0; k < out.size(); ++k) {
        const turbo_mode mode = k == 2 ? turbo_mode::entropy : turbo_mode::scaled;
        const auto t0 = clock_type::now();
        const long n = turbo_decode(in[i].bytes, mode, k == 1 ? 8 : 1, rows);
        const double ms = ms_since(t0);
        if (n == 0) {
          if (pass == 0) out[k].failures.push_back(in[i].path + ": libjpeg error");
          continue;
        }
        if (pass >= opt.warmup) out[k].ms[i].push_back(ms);
      }
    }
  return out;
}

std::vector<comparator_result> run_vipsthumbnail(std::span<const bench_input> in, const compare_options& opt,
                                                 double& startup_ms) {
  startup_ms = 0;
  auto raw = make_result("vipsthumbnail",
                         "vipsthumbnail FILE -s 720xN (short side 720, autorotate) -o OUT.jpg[Q=90] "
                         "--vips-concurrency=1; one process per image, file read from page cache",
                         in.size());
  auto net = make_result("vips-startup-corr", "vipsthumbnail minus the median start-up cost (same command on 16x16)",
                         in.size());
  if (!program_exists(opt.vipsthumbnail)) {
    raw.note = net.note = opt.vipsthumbnail + " not found (Debian: apt-get install libvips-tools)";
    return {raw, net};
  }
  std::error_code ec;
  const auto dir = std::filesystem::temp_directory_path(ec) / ("kycprep-bench-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    raw.note = net.note = "cannot create a temporary directory";
    return {raw, net};
  }
  auto command = [&](const std::string& input, int w, int h) {
    // "720x100000" fits the width; the other way round for landscape: short side 720.
    const std::string size = w <= h ? "720x100000" : "100000x720";
    return std::vector<std::string>{opt.vipsthumbnail, input,       "-s", size, "-o", (dir / "out.jpg").string() + "[Q=90]",
                                    "--vips-concurrency=1"};
  };
  // Start-up cost: the same command on a 16x16 JPEG.
  {
    image tiny{16, 16, 3, std::vector<std::uint8_t>(16 * 16 * 3, 128)};
    auto enc = encode_jpeg(tiny.view());
    const auto tiny_path = (dir / "tiny.jpg").string();
    std::ofstream(tiny_path, std::ios::binary)
        .write(reinterpret_cast<const char*>(enc->jpeg.data()), static_cast<std::streamsize>(enc->jpeg.size()));
    std::vector<double> t;
    for (int k = 0; k < std::max(5, opt.repeat + opt.warmup); ++k) {
      const auto p = run_process(command(tiny_path, 16, 16), false);
      if (p.status == 0 && k > 0) t.push_back(p.ms);
    }
    startup_ms = median_of(t);
  }
  raw.available = net.available = true;
  char note[128];
  std::snprintf(note, sizeof note, "start-up (16x16 image) %.1f ms median", startup_ms);
  raw.note = net.note = note;
  for (int pass = 0; pass < opt.warmup + opt.repeat; ++pass)
    for (std::size_t i = 0; i < in.size(); ++i) {
      const auto p = run_process(command(in[i].path, in[i].upright_width, in[i].upright_height), false);
      if (p.status != 0) {
        if (pass == 0) raw.failures.push_back(in[i].path + ": vipsthumbnail exit status " + std::to_string(p.status));
        continue;
      }
      if (pass >= opt.warmup) {
        raw.ms[i].push_back(p.ms);
        net.ms[i].push_back(p.ms - startup_ms);  // may be <= 0: the image costs less than start-up noise
      }
    }
  std::filesystem::remove_all(dir, ec);
  return {raw, net};
}

std::vector<std::string> default_sharp_dirs() {
  std::vector<std::string> d;
  if (const char* e = std::getenv("KYCPREP_SHARP_DIR"); e != nullptr && *e != '\0') d.emplace_back(e);
  if (const char* h = std::getenv("HOME"); h != nullptr && *h != '\0') d.push_back(std::string(h) + "/.cache/kycprep-sharp");
#ifdef KYCPREP_BUILD_DIR
  d.emplace_back(KYCPREP_BUILD_DIR "/sharp");
#endif
  return d;
}

comparator_result run_sharp(std::span<const bench_input> in, const compare_options& opt) {
  auto r = make_result("sharp",
                       "node + sharp: rotate() + resize(short side 720) + jpeg q90 + base64, in-process, "
                       "concurrency(1), cache(false)",
                       in.size());
  if (!program_exists(opt.node)) {
    r.note = "node not found (Debian: apt-get install nodejs npm)";
    return r;
  }
  std::string dir = opt.sharp_dir;
  if (dir.empty())
    for (const auto& d : default_sharp_dirs())
      if (std::filesystem::exists(d + "/node_modules/sharp/package.json")) {
        dir = d;
        break;
      }
  if (dir.empty() || !std::filesystem::exists(dir + "/node_modules/sharp/package.json")) {
    r.note = "sharp not found (npm install --prefix ~/.cache/kycprep-sharp sharp, or --sharp-dir)";
    return r;
  }
  if (opt.sharp_script.empty() || !std::filesystem::exists(opt.sharp_script)) {
    r.note = "sharp_bench.mjs not found (--sharp-script tools/sharp_bench.mjs)";
    return r;
  }
  std::vector<std::string> args{opt.node,   opt.sharp_script,           "--sharp-dir", dir, "--repeat",
                                std::to_string(opt.repeat), "--warmup", std::to_string(opt.warmup)};
  for (const auto& f : in) args.push_back(f.path);
  const auto p = run_process(args, true);
  nlohmann::json j = nlohmann::json::parse(p.out, nullptr, false);
  if (p.status != 0 || j.is_discarded() || !j.contains("files")) {
    r.note = "sharp_bench.mjs failed (exit " + std::to_string(p.status) + ")" +
             (j.is_object() && j.contains("error") ? ": " + j["error"].get<std::string>() : std::string());
    return r;
  }
  r.available = true;
  r.note = "sharp " + j.value("sharp", std::string("?")) + ", libvips " + j.value("libvips", std::string("?"));
  const auto& files = j["files"];
  for (std::size_t i = 0; i < in.size() && i < files.size(); ++i) {
    if (files[i].contains("error")) {
      r.failures.push_back(in[i].path + ": " + files[i]["error"].get<std::string>());
      continue;
    }
    for (const auto& v : files[i]["ms"]) r.ms[i].push_back(v.get<double>());
  }
  return r;
}

}  // namespace kycprep::cli
