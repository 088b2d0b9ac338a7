// Comparators for `kycprep bench --compare`: other ways of doing (part of)
// the same job, timed on the same in-memory inputs in the same process run,
// one thread each, so that kycprep's time can be given as a ratio to each.
//
//   naive_opencv    the straightforward OpenCV pipeline of issue 4:
//                   imdecode (applies EXIF orientation) -> Haar
//                   frontalface_default on a 640-wide gray copy -> largest
//                   box -> 3:4 frame around it -> resize to short side 720
//                   -> imencode q90 -> base64
//   turbo_floor     libjpeg-turbo's own decode floor: full 1/1 decode, 1/8
//                   DCT-scaled decode, entropy (Huffman) decode only
//   vipsthumbnail   the libvips CLI (Debian libvips-tools), one process per
//                   image, with its start-up cost measured separately
//   sharp           node + sharp (npm), in-process, via tools/sharp_bench.mjs
//
// Every comparator reports per-file lists of milliseconds (one entry per
// timed repeat); a file a comparator cannot handle (e.g. a PNG for the
// libjpeg floor) has an empty list. None of these types leave tools/.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace kycprep::cli {

/// One input, loaded once; comparators never read the file for timing
/// except the out-of-process ones (vipsthumbnail), which take `path`.
struct bench_input {
  std::string path;
  std::vector<std::uint8_t> bytes;
  int upright_width = 0;   ///< after EXIF orientation (from kycprep's header reader)
  int upright_height = 0;
  bool jpeg = false;
};

/// Per-file timings of one comparator.
struct comparator_result {
  std::string name;                    ///< short column name, e.g. "naive-opencv"
  std::string what;                    ///< one line: what exactly is timed
  bool available = false;              ///< false: skipped, `note` says why
  std::string note;                    ///< why skipped, or a caveat worth printing
  std::vector<std::vector<double>> ms; ///< [file][repeat], ms per image; empty = not applicable / failed
  std::vector<std::string> failures;   ///< "path: message" for files that failed
};

struct compare_options {
  int repeat = 3;                      ///< timed passes over all files
  int warmup = 1;                      ///< untimed passes first
  std::string haar_cascade = "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml";
  std::string vipsthumbnail = "vipsthumbnail";  ///< program name or path
  std::string node = "node";
  std::string sharp_script;            ///< tools/sharp_bench.mjs
  std::string sharp_dir;               ///< npm prefix holding node_modules/sharp ("" = search defaults)
};

/// The naive OpenCV pipeline. Loads the Haar cascade once (not timed).
comparator_result run_naive_opencv(std::span<const bench_input> in, const compare_options& opt);

/// libjpeg-turbo decode floor: three results ("turbo-1/1", "turbo-1/8",
/// "turbo-entropy"). Decodes into a reused row buffer, so no full-frame
/// allocation is charged: this is the floor, not a realistic decoder.
std::vector<comparator_result> run_turbo_floor(std::span<const bench_input> in, const compare_options& opt);

/// vipsthumbnail, one process per image: returns {raw, start-up corrected};
/// `startup_ms` receives the median wall time of the same command on a
/// 16x16 JPEG (process start, library load, tiny decode/encode).
std::vector<comparator_result> run_vipsthumbnail(std::span<const bench_input> in, const compare_options& opt,
                                                 double& startup_ms);

/// sharp through node, in-process: rotate() + resize(short side 720) +
/// jpeg q90 + base64, one image at a time, sharp.concurrency(1), no cache.
comparator_result run_sharp(std::span<const bench_input> in, const compare_options& opt);

/// Where sharp is looked for when compare_options::sharp_dir is empty:
/// $KYCPREP_SHARP_DIR, then ~/.cache/kycprep-sharp, then <build>/sharp.
std::vector<std::string> default_sharp_dirs();

}  // namespace kycprep::cli
