// The CLI's subcommands. Each cmd_<name>.cpp registers one subcommand on the
// app; the callback stores the process exit code in `exit_code`.
#pragma once

namespace CLI {
class App;
}

namespace kycprep {
struct frame_options;
}

namespace kycprep::cli {

/// Exit codes shared by all subcommands (documented in README.md).
enum exit_status : int {
  exit_ok = 0,
  exit_some_failed = 1,   ///< batch: at least one item failed, the rest are done
  exit_usage = 2,         ///< bad command line or options
  exit_io = 3,            ///< input could not be read / output could not be written
  exit_unsupported = 4,   ///< not a JPEG or PNG
  exit_limit = 5,         ///< a decode limit was exceeded (size bombs, too many scans, too large)
  exit_corrupt = 6,       ///< truncated or corrupt image data
  exit_no_face = 7,       ///< face profile: no face found
  exit_over_budget = 8,   ///< cannot fit the byte budget at quality >= 91
  exit_internal = 9,      ///< encoder failure, detector unavailable, or a bug
  exit_fatal = 10,        ///< batch: the run itself could not continue
};

void add_prepare_command(CLI::App& app, int& exit_code);
/// --face-area-ratio and --aspect W:H, shared by prepare and batch.
void add_frame_options(CLI::App& cmd, kycprep::frame_options& frame);
/// --no-exif-thumbnail (prepare_options::use_exif_thumbnail), shared by prepare, batch and bench.
void add_thumbnail_option(CLI::App& cmd, bool& use_exif_thumbnail);
/// --max-coefficient-mib (prepare_options::max_coefficient_bytes), shared by prepare, batch and bench.
void add_coefficient_option(CLI::App& cmd, std::size_t& max_coefficient_bytes);
void add_batch_command(CLI::App& app, int& exit_code);
void add_bench_command(CLI::App& app, int& exit_code);

}  // namespace kycprep::cli
