// kycprep/export.hpp: symbol visibility. The library is built with hidden
// visibility; only declarations marked KYCPREP_API are exported.
#pragma once

#if defined(KYCPREP_STATIC_DEFINE)
#define KYCPREP_API
#elif defined(_WIN32)
#ifdef KYCPREP_BUILDING
#define KYCPREP_API __declspec(dllexport)
#else
#define KYCPREP_API __declspec(dllimport)
#endif
#else
#define KYCPREP_API __attribute__((visibility("default")))
#endif
