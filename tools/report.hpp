// JSON views of pipeline results, shared by the CLI's subcommands (prepare
// --json, batch records). One schema, documented in README.md.
#pragma once

#include <nlohmann/json.hpp>

#include "kycprep/error.hpp"
#include "kycprep/prepare.hpp"

namespace kycprep::cli {

/// {"code","stage","message"}
nlohmann::json error_json(const kycprep::error& e);

/// The `prepare --json` object: ok, error, width, height, bytes, quality,
/// orientation, source{...}, crop{x,y,w,h}, faces[], face{}, face_area_ratio,
/// warnings[], timings_ms{}. On error only ok=false, error{} (and nothing else).
nlohmann::json result_json(const kycprep::result<kycprep::prepared>& r);

/// Maps an error code to the CLI exit status (commands.hpp).
int exit_status_for(error_code c) noexcept;

}  // namespace kycprep::cli
