// Credentials: environment variables and NAME=VALUE files. Nothing here ever
// puts a value into an error message.
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "kycprep/upload.hpp"

namespace kycprep {
namespace {

struct variable_names {
  const char* id;
  const char* secret;
  const char* token;
};

variable_names names_for(upload_vendor v) {
  if (v == upload_vendor::alibaba) {
    return {"ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
            "ALIBABA_CLOUD_SECURITY_TOKEN"};
  }
  // TENCENTCLOUD_SESSION_TOKEN is a community convention (the official SDKs
  // read no token variable); it is optional.
  return {"TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY", "TENCENTCLOUD_SESSION_TOKEN"};
}

std::string trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  auto e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

result<upload_credentials> finish(upload_credentials c, const variable_names& n,
                                  const std::string& where) {
  // Stray whitespace is the most common cause of SignatureFailure reports.
  c.key_id = trim(c.key_id);
  c.secret = trim(c.secret);
  c.token = trim(c.token);
  if (c.key_id.empty()) {
    return result<upload_credentials>(error_code::invalid_options, stage::upload,
                                      std::string(n.id) + " is not set" + where);
  }
  if (c.secret.empty()) {
    return result<upload_credentials>(error_code::invalid_options, stage::upload,
                                      std::string(n.secret) + " is not set" + where);
  }
  return c;
}

}  // namespace

result<upload_credentials> credentials_from_environment(
    upload_vendor v, const std::function<const char*(const char*)>& lookup) {
  const auto n = names_for(v);
  auto get = [&](const char* name) -> std::string {
    const char* value = lookup ? lookup(name) : std::getenv(name);  // NOLINT(concurrency-mt-unsafe)
    return value ? std::string(value) : std::string();
  };
  return finish({get(n.id), get(n.secret), get(n.token)}, n, " in the environment");
}

result<upload_credentials> credentials_from_file(upload_vendor v,
                                                 const std::filesystem::path& path) {
  constexpr std::uintmax_t max_bytes = 64 * 1024;
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) {
    return result<upload_credentials>(error_code::io_error, stage::upload,
                                      "cannot read credentials file " + path.string());
  }
  if (size > max_bytes) {
    return result<upload_credentials>(error_code::invalid_options, stage::upload,
                                      "credentials file " + path.string() + " is larger than 64 KiB");
  }
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    return result<upload_credentials>(error_code::io_error, stage::upload,
                                      "cannot read credentials file " + path.string());
  }
  std::map<std::string, std::string> values;
  std::string line;
  int line_no = 0;
  while (std::getline(f, line)) {
    ++line_no;
    std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    if (t.rfind("export ", 0) == 0) t = trim(t.substr(7));
    const auto eq = t.find('=');
    if (eq == std::string::npos) {
      return result<upload_credentials>(
          error_code::invalid_options, stage::upload,
          "credentials file " + path.string() + ": line " + std::to_string(line_no) +
              " is not NAME=VALUE");
    }
    std::string value = trim(t.substr(eq + 1));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    values[trim(t.substr(0, eq))] = value;
  }
  const auto n = names_for(v);
  auto get = [&](const char* name) {
    auto it = values.find(name);
    return it == values.end() ? std::string() : it->second;
  };
  return finish({get(n.id), get(n.secret), get(n.token)}, n, " in " + path.string());
}

std::string redact_key_id(std::string_view key_id) {
  if (key_id.size() <= 8) return "****";
  return std::string(key_id.substr(0, 4)) + "****";
}

}  // namespace kycprep
