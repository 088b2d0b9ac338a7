// Prepares one image through the installed library; exit 0 when it works.
#include <kycprep/prepare.hpp>

#include <cstdio>

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  kycprep::prepare_options opt;
  opt.profile = kycprep::profile::document;
  auto r = kycprep::prepare_file(argv[1], opt);
  if (!r) {
    std::fprintf(stderr, "%s\n", r.error().message.c_str());
    return 1;
  }
  std::printf("%dx%d %zu bytes\n", r->width, r->height, r->jpeg.size());
  return r->width == 720 || r->height == 720 ? 0 : 1;
}
