// kycprep: command-line entry point. See `kycprep --help`.
#include <CLI/CLI.hpp>

#include "commands.hpp"

int main(int argc, char** argv) {
  CLI::App app{
      "kycprep: turn identity photos into upload-ready eKYC payloads\n"
      "(decode -> EXIF orientation -> face crop -> 720 px short side -> JPEG q>90 within budget -> base64)",
      "kycprep"};
  app.set_version_flag("--version", KYCPREP_VERSION);
  app.require_subcommand(1);
  app.footer(
      "Examples:\n"
      "  kycprep prepare selfie.jpg -o upload.jpg --json\n"
      "  kycprep batch photos/ -o out/ --threads 2\n"
      "  kycprep bench photos/ --compare\n"
      "Run `kycprep <command> --help` for each command's options.");
  int exit_code = kycprep::cli::exit_ok;
  kycprep::cli::add_prepare_command(app, exit_code);
  kycprep::cli::add_batch_command(app, exit_code);
  kycprep::cli::add_bench_command(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : kycprep::cli::exit_usage;
  }
  return exit_code;
}
