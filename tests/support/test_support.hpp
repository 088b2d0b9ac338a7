// Helpers shared by the test files: fixture paths and file I/O.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace kycprep::test {

/// data/ in the source tree.
std::filesystem::path data_dir();
/// ../shared beside the checkout (may not exist).
std::filesystem::path shared_dir();
/// A fresh empty directory under the build tree, unique per call.
std::filesystem::path temp_dir(const std::string& tag);

std::vector<std::uint8_t> read_bytes(const std::filesystem::path& p);
void write_bytes(const std::filesystem::path& p, const std::vector<std::uint8_t>& bytes);

/// A TIFF-structured EXIF block as cameras write it: IFD0 with the
/// Orientation tag, linked to IFD1 with Compression 6 and
/// JPEGInterchangeFormat/Length pointing at `thumbnail` (no IFD1 when it is
/// empty). The thumbnail bytes follow IFD1.
std::vector<std::uint8_t> camera_exif(int orientation, std::span<const std::uint8_t> thumbnail, bool big_endian);
/// `jpeg` with an APP1 "Exif\0\0" segment holding `tiff` right after SOI.
std::vector<std::uint8_t> with_exif(std::span<const std::uint8_t> jpeg, std::span<const std::uint8_t> tiff);

}  // namespace kycprep::test
