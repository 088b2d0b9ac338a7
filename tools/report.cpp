#include "report.hpp"

#include <cmath>

#include "commands.hpp"

namespace kycprep::cli {

nlohmann::json error_json(const kycprep::error& e) {
  return {{"code", std::string(to_string(e.code))}, {"stage", std::string(to_string(e.where))}, {"message", e.message}};
}

namespace {
nlohmann::json rect_json(const rect& r) { return {{"x", r.x}, {"y", r.y}, {"w", r.w}, {"h", r.h}}; }
nlohmann::json face_json(const face& f) {
  nlohmann::json j = {{"x", f.x}, {"y", f.y}, {"w", f.w}, {"h", f.h}};
  j["score"] = f.score >= 0 ? nlohmann::json(f.score) : nlohmann::json(nullptr);
  return j;
}
double round3(double v) { return std::round(v * 1000.0) / 1000.0; }
}  // namespace

nlohmann::json result_json(const kycprep::result<kycprep::prepared>& r) {
  if (!r) return {{"ok", false}, {"error", error_json(r.error())}};
  const prepared& p = r.value();
  nlohmann::json j;
  j["ok"] = true;
  j["error"] = nullptr;
  j["width"] = p.width;
  j["height"] = p.height;
  j["bytes"] = p.jpeg.size();
  j["base64_bytes"] = p.base64.size();
  j["quality"] = p.quality;
  j["orientation"] = p.source.orientation;
  const source_info& s = p.source;
  j["source"] = {{"format", std::string(to_string(s.format))},
                 {"width", s.width},
                 {"height", s.height},
                 {"upright_width", p.upright_width},
                 {"upright_height", p.upright_height},
                 {"progressive", s.progressive},
                 {"subsampling", s.subsampling},
                 {"color", s.color},
                 {"cmyk", s.cmyk},
                 {"adobe_inverted", s.adobe_inverted},
                 {"icc", s.icc},
                 {"icc_converted", s.icc_converted},
                 {"bit_depth", s.bit_depth},
                 {"alpha", s.alpha},
                 {"exif_thumbnail_bytes", s.exif_thumbnail_size}};
  j["crop"] = rect_json(p.crop);
  j["decode_scale"] = "1/" + std::to_string(p.decode_scale_denom);
  nlohmann::json faces = nlohmann::json::array();
  for (const face& f : p.faces) faces.push_back(face_json(f));
  j["faces"] = std::move(faces);
  j["face"] = p.chosen_face ? face_json(*p.chosen_face) : nlohmann::json(nullptr);
  j["detected_on"] = std::string(to_string(p.detected_on));
  j["face_area_ratio"] = p.chosen_face ? nlohmann::json(round3(p.face_area_ratio)) : nlohmann::json(nullptr);
  j["warnings"] = p.warnings;
  nlohmann::json t = nlohmann::json::object();
  for (std::size_t i = 0; i < p.timings.ms.size(); ++i) {
    const auto st = static_cast<stage>(i);
    if (p.timings[st] > 0) t[std::string(to_string(st))] = round3(p.timings[st]);
  }
  t["total"] = round3(p.timings.total());
  j["timings_ms"] = std::move(t);
  return j;
}

int exit_status_for(error_code c) noexcept {
  switch (c) {
    case error_code::io_error: return exit_io;
    case error_code::empty_input:
    case error_code::unsupported_format: return exit_unsupported;
    case error_code::input_too_large:
    case error_code::too_many_pixels:
    case error_code::side_too_large:
    case error_code::implausible_size:
    case error_code::too_many_scans: return exit_limit;
    case error_code::truncated:
    case error_code::corrupt: return exit_corrupt;
    case error_code::invalid_options: return exit_usage;
    case error_code::no_face: return exit_no_face;
    case error_code::over_budget: return exit_over_budget;
    case error_code::encode_failed:
    case error_code::detector_unavailable:
    case error_code::internal: return exit_internal;
  }
  return exit_internal;
}

}  // namespace kycprep::cli
