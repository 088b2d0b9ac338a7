// Embedded ICC profiles are honoured by converting to sRGB with Little CMS:
// the APIs expect sRGB, and phone photos are often Display P3 or Adobe RGB,
// which would otherwise come out desaturated. Each call uses its own lcms
// context, so nothing is shared between threads.
#include "decode/icc.hpp"

#include <lcms2.h>

#include <memory>
#include <type_traits>

namespace kycprep::detail {

namespace {
struct context_deleter {
  void operator()(cmsContext c) const { cmsDeleteContext(c); }
};
struct profile_deleter {
  void operator()(void* p) const { cmsCloseProfile(static_cast<cmsHPROFILE>(p)); }
};
struct transform_deleter {
  void operator()(void* t) const { cmsDeleteTransform(static_cast<cmsHTRANSFORM>(t)); }
};
}  // namespace

icc_result convert_to_srgb(image& img, std::span<const std::uint8_t> profile, std::string& why) {
  if (img.channels != 3 || profile.empty() || img.empty()) return icc_result::not_applicable;
  std::unique_ptr<std::remove_pointer_t<cmsContext>, context_deleter> ctx(cmsCreateContext(nullptr, nullptr));
  if (!ctx) return icc_result::not_applicable;
  std::unique_ptr<void, profile_deleter> src(
      cmsOpenProfileFromMemTHR(ctx.get(), profile.data(), static_cast<cmsUInt32Number>(profile.size())));
  if (!src) {
    why = "embedded ICC profile is unreadable; pixels taken as sRGB";
    return icc_result::unusable;
  }
  if (cmsGetColorSpace(src.get()) != cmsSigRgbData) {
    why = "embedded ICC profile is not an RGB profile; pixels taken as sRGB";
    return icc_result::unusable;
  }
  char desc[256] = {};
  cmsGetProfileInfoASCII(src.get(), cmsInfoDescription, "en", "US", desc, sizeof desc);
  if (std::string_view(desc).find("sRGB") != std::string_view::npos) return icc_result::already_srgb;
  std::unique_ptr<void, profile_deleter> dst(cmsCreate_sRGBProfileTHR(ctx.get()));
  std::unique_ptr<void, transform_deleter> xf(cmsCreateTransformTHR(ctx.get(), src.get(), TYPE_RGB_8, dst.get(),
                                                                    TYPE_RGB_8, INTENT_PERCEPTUAL, 0));
  if (!dst || !xf) {
    why = "embedded ICC profile cannot be converted to sRGB; pixels taken as sRGB";
    return icc_result::unusable;
  }
  cmsDoTransformLineStride(xf.get(), img.pixels.data(), img.pixels.data(), static_cast<cmsUInt32Number>(img.width),
                           static_cast<cmsUInt32Number>(img.height), static_cast<cmsUInt32Number>(img.stride()),
                           static_cast<cmsUInt32Number>(img.stride()), 0, 0);
  return icc_result::converted;
}

}  // namespace kycprep::detail
