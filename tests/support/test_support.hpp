// Helpers shared by the test files: fixture paths and file I/O.
#pragma once

#include <cstdint>
#include <filesystem>
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

}  // namespace kycprep::test
