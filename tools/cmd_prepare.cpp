// `kycprep prepare`: one image in, one upload JPEG (and/or base64) out.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "commands.hpp"
#include "kycprep/detect.hpp"
#include "kycprep/prepare.hpp"
#include "report.hpp"

namespace kycprep::cli {

namespace {

struct prepare_args {
  std::string input;
  std::string output;
  std::string base64_out;
  std::string profile = "face";
  std::string face_model;
  std::string target = "alibaba";
  bool json = false;
  bool tolerate_corruption = false;
  prepare_options opt;
};

// Writes to a temporary name and renames, so a reader never sees half a file.
bool write_atomically(const std::string& path, const void* data, std::size_t n, std::string& err) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f.write(static_cast<const char*>(data), static_cast<std::streamsize>(n));
    f.flush();
    if (!f) {
      err = "cannot write " + tmp;
      return false;
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    err = "cannot rename " + tmp + " to " + path + ": " + ec.message();
    return false;
  }
  return true;
}

result<std::vector<std::uint8_t>> read_input(const std::string& path, std::uint64_t max_bytes) {
  if (path != "-") return read_file(path, max_bytes);
  std::vector<std::uint8_t> data;
  char buf[1 << 16];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, stdin)) > 0) {
    data.insert(data.end(), buf, buf + n);
    if (data.size() > max_bytes)
      return error{error_code::input_too_large, stage::read, "stdin is larger than max_input_bytes"};
  }
  return data;
}

int run_prepare(prepare_args& a) {
  prepare_options& opt = a.opt;
  opt.profile = a.profile == "face" ? profile::face : profile::document;
  opt.target = a.target == "tencent" ? target::tencent : target::alibaba;
  opt.decode.tolerate_corruption = a.tolerate_corruption;
  opt.want_base64 = !a.base64_out.empty() || a.json;

  if (a.output.empty() && a.base64_out.empty()) {
    const std::string stem = a.input == "-" ? "stdin" : std::filesystem::path(a.input).stem().string();
    a.output = stem + ".kycprep.jpg";
  }
  if (opt.profile == profile::face) {
    auto det = a.face_model.empty() ? make_default_detector() : make_yunet_detector(a.face_model);
    if (!det) {
      std::cerr << "kycprep: " << to_string(det.error().code) << ": " << det.error().message << '\n';
      return exit_status_for(det.error().code);
    }
    opt.detector = std::move(det).value();
  }
  auto bytes = read_input(a.input, opt.decode.limits.max_input_bytes);
  result<prepared> r = bytes ? prepare(bytes.value(), opt) : result<prepared>(std::move(bytes).error());

  int status = exit_ok;
  std::string write_error;
  if (r) {
    if (!a.output.empty() && a.output != "-" &&
        !write_atomically(a.output, r->jpeg.data(), r->jpeg.size(), write_error))
      status = exit_io;
    if (a.output == "-") std::fwrite(r->jpeg.data(), 1, r->jpeg.size(), stdout);
    if (status == exit_ok && !a.base64_out.empty() &&
        !write_atomically(a.base64_out, r->base64.data(), r->base64.size(), write_error))
      status = exit_io;
  } else {
    status = exit_status_for(r.error().code);
  }

  if (a.json) {
    nlohmann::json j = result_json(r);
    j["input"] = a.input;
    if (r) {
      j["output"] = a.output.empty() ? nlohmann::json(nullptr) : nlohmann::json(a.output);
      j["base64_output"] = a.base64_out.empty() ? nlohmann::json(nullptr) : nlohmann::json(a.base64_out);
    }
    if (!write_error.empty()) {
      j["ok"] = false;
      j["error"] = {{"code", "io_error"}, {"stage", "write"}, {"message", write_error}};
    }
    (a.output == "-" ? std::cerr : std::cout) << j.dump() << '\n';
  } else if (!r) {
    std::cerr << "kycprep: " << a.input << ": " << to_string(r.error().code) << " (" << to_string(r.error().where)
              << "): " << r.error().message << '\n';
  } else if (!write_error.empty()) {
    std::cerr << "kycprep: " << write_error << '\n';
  } else {
    std::ostream& o = a.output == "-" ? std::cerr : std::cout;
    o << a.input << " -> " << (a.output.empty() ? a.base64_out : a.output) << "  " << r->width << "x" << r->height
      << "  " << r->jpeg.size() << " bytes  q" << r->quality << "  (" << to_string(r->source.format) << " "
      << r->source.width << "x" << r->source.height << ", orientation " << r->source.orientation << ")\n";
    for (const auto& w : r->warnings) std::cerr << "kycprep: warning: " << w << '\n';
  }
  return status;
}

}  // namespace

void add_frame_options(CLI::App& cmd, frame_options& frame) {
  cmd.add_option("--face-area-ratio", frame.face_area_ratio,
                 "Face profile: share of the frame the face box covers (the APIs ask for more than 0.6)")
      ->check(CLI::Range(0.05, 1.0))
      ->capture_default_str();
  cmd.add_option_function<std::string>(
         "--aspect",
         [&frame](const std::string& v) {
           const auto colon = v.find(':');
           int w = 0, h = 0;
           try {
             if (colon == std::string::npos) throw std::invalid_argument(v);
             w = std::stoi(v.substr(0, colon));
             h = std::stoi(v.substr(colon + 1));
           } catch (const std::exception&) {
             throw CLI::ValidationError("--aspect", "expected W:H, e.g. 3:4");
           }
           if (w <= 0 || h <= 0 || w >= h) throw CLI::ValidationError("--aspect", "the frame must be portrait: W < H");
           frame.aspect_w = w;
           frame.aspect_h = h;
         },
         "Face profile: frame aspect W:H, portrait (default 3:4)")
      ->type_name("W:H");
}

void add_coefficient_option(CLI::App& cmd, std::size_t& max_coefficient_bytes) {
  cmd.add_option_function<std::size_t>(
         "--max-coefficient-mib", [&max_coefficient_bytes](std::size_t mib) { max_coefficient_bytes = mib << 20; },
         "Face profile, baseline JPEG searched on the whole photo: read its DCT coefficients once (one entropy "
         "pass) when they take at most this many MiB (2 bytes per coefficient: ~37 MB for 12 MP 4:2:0), else "
         "decode twice (a 1/8 draft, then the crop) holding ~1/8 of that. 0: always twice. Per thread")
      ->check(CLI::Range(std::size_t{0}, std::size_t{4096}))
      ->default_str(std::to_string(prepare_options{}.max_coefficient_bytes >> 20));
}

void add_thumbnail_option(CLI::App& cmd, bool& use_exif_thumbnail) {
  cmd.add_flag("!--no-exif-thumbnail", use_exif_thumbnail,
               "Face profile: do not search the face on the JPEG's EXIF thumbnail first. By default a baseline JPEG "
               "with a thumbnail of the same frame is searched there, only the crop plus a margin is decoded, and "
               "the face is confirmed in it (else the whole photo is searched, as with this flag)");
}

void add_prepare_command(CLI::App& app, int& exit_code) {
  auto a = std::make_shared<prepare_args>();
  CLI::App* cmd = app.add_subcommand("prepare", "Prepare one photo: decode, orient, crop, resize, encode, base64");
  cmd->add_option("input", a->input, "Input image (JPEG or PNG, sniffed from content; - for stdin)")->required();
  cmd->add_option("-o,--output", a->output,
                  "Output JPEG path (- for stdout). Default: <input stem>.kycprep.jpg in the current directory");
  cmd->add_option("--base64-out", a->base64_out, "Also write the base64 text (RFC 4648, no line breaks) here");
  cmd->add_option("--profile", a->profile, "document: keep the whole frame; face: portrait crop around the largest face")
      ->check(CLI::IsMember({"document", "face"}))
      ->capture_default_str();
  cmd->add_option("--face-model", a->face_model,
                  "Face profile: use the YuNet ONNX model at FILE (face_detection_yunet_2022mar.onnx from the OpenCV "
                  "Zoo, MIT licence) instead of the built-in OpenCV cascade")
      ->check(CLI::ExistingFile);
  add_frame_options(*cmd, a->opt.frame);
  add_thumbnail_option(*cmd, a->opt.use_exif_thumbnail);
  add_coefficient_option(*cmd, a->opt.max_coefficient_bytes);
  cmd->add_option("--target", a->target,
                  "Byte budget: alibaba (JPEG <= 600,000 B so base64 < 1 MB) or tencent (base64 <= 8,000,000 B)")
      ->check(CLI::IsMember({"alibaba", "tencent"}))
      ->capture_default_str();
  cmd->add_flag("--json", a->json, "Print one JSON object describing the result (or the error) on stdout");
  cmd->add_option("--short-side", a->opt.short_side, "Output short side in pixels")->capture_default_str();
  cmd->add_option("--quality", a->opt.quality, "JPEG quality tried first; lowered one step at a time, never below 91, "
                                               "to meet the budget")
      ->check(CLI::Range(91, 100))
      ->capture_default_str();
  cmd->add_flag("--tolerate-corruption", a->tolerate_corruption,
                "Accept truncated/corrupt data with a warning instead of failing");
  auto& lim = a->opt.decode.limits;
  cmd->add_option("--max-input-bytes", lim.max_input_bytes, "Refuse inputs larger than this")->capture_default_str();
  cmd->add_option("--max-pixels", lim.max_pixels, "Refuse images declaring more pixels")->capture_default_str();
  cmd->add_option("--max-side", lim.max_side, "Refuse images declaring a longer side")->capture_default_str();
  cmd->add_option("--max-scans", lim.max_scans, "Refuse progressive JPEGs with more scans")->capture_default_str();
  cmd->footer(
      "Examples:\n"
      "  kycprep prepare selfie.jpg -o upload.jpg\n"
      "  kycprep prepare selfie.jpg --face-model face_detection_yunet_2022mar.onnx --json\n"
      "  kycprep prepare id-card.png --profile document --base64-out id.b64 --json\n"
      "  cat photo.jpg | kycprep prepare - -o - > upload.jpg\n"
      "Exit status: 0 ok, 2 usage, 3 I/O, 4 unsupported format, 5 limit exceeded, 6 truncated/corrupt,\n"
      "             7 no face, 8 over budget, 9 internal.");
  cmd->callback([a, &exit_code] { exit_code = run_prepare(*a); });
}

}  // namespace kycprep::cli
