// kycprep's evaluation of OpenCV's LBP cascades: see lbp_cascade.hpp.
//
// What has to match OpenCV 4.6 (modules/objdetect/src/cascadedetect.cpp) for
// the windows and sums to be the same:
//  - the scales: factor = 1, 1*s, 1*s*s, ... in double; a level is kept when
//    the rounded window is within [min_size, max_size] and the image; its
//    scale is stored as float, and every size derived from it is float
//    arithmetic rounded with cvRound (round half to even);
//  - each level: cv::resize(gray, level, round(size / scale), 1/scale,
//    1/scale, INTER_LINEAR_EXACT) (as the installed 4.6 does; some other
//    versions use INTER_LINEAR, which is why the tests compare against the
//    installed library), then its integral image;
//  - the windows: rows 0, step, 2 step, ... up to OpenCV's stripe end, and
//    in each row x = 0, step, ... where a window rejected by stage 0 also
//    skips the next one (step is 2 below scale 2, else 1);
//  - a window: per stage, the float sum of its stumps' leaves in file order
//    (a stump takes its left leaf when the window's 8-bit LBP code is in its
//    subset), rejected when the sum is below the file's threshold minus
//    1e-5 (float).
// The integer parts (block sums, codes) are exact in any order; the float
// sums are added in the same order in both builds, without FMA.
#include "detect/lbp_cascade.hpp"

#include <algorithm>
#include <cstring>

#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define KYCPREP_LBP_AVX2 1
#endif

namespace kycprep::detail {
namespace {

constexpr int kSubsetWords = 8;  // 256 categories / 32 bits

// The 16 corners of a feature's 3x3 block grid as offsets into an integral
// image: corner (row j, column i) at index 4 j + i, `col_of` mapping a
// column in window pixels to an offset within the row.
template <class ColOf>
void corner_offsets(const lbp_cascade::feature& f, int row_step, ColOf col_of, std::int32_t* out) {
  for (int j = 0; j < 4; ++j)
    for (int i = 0; i < 4; ++i) out[4 * j + i] = (f.y + j * f.h) * row_step + col_of(f.x + i * f.w);
}

// The LBP code of one window, bit for bit as OpenCV's
// LBPEvaluator::OptFeature::calc: the 8 blocks around the centre, clockwise
// from the top left (128) to the middle left (1), each set when its sum is
// at least the centre's.
// Block sums are taken modulo 2^32 (unsigned, so an integral image that
// wraps on a huge image is defined behaviour, as in the AVX2 build): the
// true sums are small, so they come out exact.
inline int lbp_code(const std::int32_t* p, const std::int32_t* o) {
  const auto at = [&](int k) { return static_cast<std::uint32_t>(p[o[k]]); };
  const auto block = [&](int a, int b, int c, int d) {
    return static_cast<std::int32_t>(at(a) - at(b) - at(c) + at(d));
  };
  const int cval = block(5, 6, 9, 10);
  return (block(0, 1, 4, 5) >= cval ? 128 : 0) | (block(1, 2, 5, 6) >= cval ? 64 : 0) |
         (block(2, 3, 6, 7) >= cval ? 32 : 0) | (block(6, 7, 10, 11) >= cval ? 16 : 0) |
         (block(10, 11, 14, 15) >= cval ? 8 : 0) | (block(9, 10, 13, 14) >= cval ? 4 : 0) |
         (block(8, 9, 12, 13) >= cval ? 2 : 0) | (block(4, 5, 8, 9) >= cval ? 1 : 0);
}

#if defined(KYCPREP_LBP_AVX2)

bool cpu_has_avx2() { return __builtin_cpu_supports("avx2") != 0; }

// One block sum per lane from the horizontal differences of two corner rows.
[[gnu::target("avx2"), gnu::always_inline]] inline __m256i block_of(__m256i upper, __m256i lower) {
  return _mm256_sub_epi32(upper, lower);
}

// The code's bit `b` where block >= centre.
[[gnu::target("avx2"), gnu::always_inline]] inline __m256i code_bit(__m256i cval, __m256i v, int b) {
  return _mm256_andnot_si256(_mm256_cmpgt_epi32(cval, v), _mm256_set1_epi32(b));
}

// Eight windows side by side: lane i's integral-image corners are at
// base[off + i] for every corner offset `off` (the caller lays the integral
// image out so). Writes 1 (face), 0 (rejected by stage 0) or -1 (rejected
// later) for the first `valid` lanes.
[[gnu::target("avx2")]] void classify8(const std::int32_t* base, int valid, const std::int32_t* offsets,
                                       const std::vector<lbp_cascade::stump>& stumps,
                                       const std::vector<lbp_cascade::stage>& stages, std::int8_t* res) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  __m256i alive = _mm256_cmpgt_epi32(_mm256_set1_epi32(valid), lane);
  __m256i stage0_fail = _mm256_setzero_si256();
  const __m256i one = _mm256_set1_epi32(1), low5 = _mm256_set1_epi32(31);
  for (std::size_t si = 0; si < stages.size(); ++si) {
    const lbp_cascade::stage& st = stages[si];
    __m256 sum = _mm256_setzero_ps();
    for (int t = st.first; t < st.first + st.count; ++t) {
      const lbp_cascade::stump& s = stumps[static_cast<std::size_t>(t)];
      const std::int32_t* o = offsets + 16 * s.feature;
      // Horizontal differences of each corner row, then block sums as
      // differences of those between rows (exact integers: any order).
      __m256i d[4][3];
      for (int j = 0; j < 4; ++j) {
        const __m256i c0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(base + o[4 * j]));
        const __m256i c1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(base + o[4 * j + 1]));
        const __m256i c2 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(base + o[4 * j + 2]));
        const __m256i c3 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(base + o[4 * j + 3]));
        d[j][0] = _mm256_sub_epi32(c0, c1);
        d[j][1] = _mm256_sub_epi32(c1, c2);
        d[j][2] = _mm256_sub_epi32(c2, c3);
      }
      const __m256i cval = block_of(d[1][1], d[2][1]);
      __m256i code = _mm256_or_si256(code_bit(cval, block_of(d[0][0], d[1][0]), 128),
                                     code_bit(cval, block_of(d[0][1], d[1][1]), 64));
      code = _mm256_or_si256(code, _mm256_or_si256(code_bit(cval, block_of(d[0][2], d[1][2]), 32),
                                                   code_bit(cval, block_of(d[1][2], d[2][2]), 16)));
      code = _mm256_or_si256(code, _mm256_or_si256(code_bit(cval, block_of(d[2][2], d[3][2]), 8),
                                                   code_bit(cval, block_of(d[2][1], d[3][1]), 4)));
      code = _mm256_or_si256(code, _mm256_or_si256(code_bit(cval, block_of(d[2][0], d[3][0]), 2),
                                                   code_bit(cval, block_of(d[1][0], d[2][0]), 1)));
      const __m256i words = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s.subset));
      const __m256i word = _mm256_permutevar8x32_epi32(words, _mm256_srli_epi32(code, 5));
      const __m256i in_set = _mm256_and_si256(_mm256_srlv_epi32(word, _mm256_and_si256(code, low5)), one);
      const __m256 take_left = _mm256_castsi256_ps(_mm256_cmpeq_epi32(in_set, one));
      sum = _mm256_add_ps(sum, _mm256_blendv_ps(_mm256_set1_ps(s.right), _mm256_set1_ps(s.left), take_left));
    }
    const __m256i fail =
        _mm256_and_si256(_mm256_castps_si256(_mm256_cmp_ps(sum, _mm256_set1_ps(st.threshold), _CMP_LT_OQ)), alive);
    if (si == 0) stage0_fail = fail;
    alive = _mm256_andnot_si256(fail, alive);
    if (_mm256_testz_si256(alive, alive)) break;
  }
  const int face = _mm256_movemask_ps(_mm256_castsi256_ps(alive));
  const int first = _mm256_movemask_ps(_mm256_castsi256_ps(stage0_fail));
  for (int i = 0; i < valid; ++i) res[i] = static_cast<std::int8_t>((face >> i & 1) ? 1 : (first >> i & 1) ? 0 : -1);
}

#endif

}  // namespace

bool lbp_cascade::has_avx2() noexcept {
#if defined(KYCPREP_LBP_AVX2)
  return cpu_has_avx2();
#else
  return false;
#endif
}

std::shared_ptr<const lbp_cascade> lbp_cascade::load(const std::string& path, std::string& why) {
  try {
    cv::FileStorage fs(path, cv::FileStorage::READ);
    if (!fs.isOpened()) {
      why = "cannot open " + path;
      return nullptr;
    }
    const cv::FileNode root = fs.getFirstTopLevelNode();
    if (root.empty() || root["stageType"].empty() || static_cast<std::string>(root["stageType"]) != "BOOST" ||
        root["featureType"].empty() || static_cast<std::string>(root["featureType"]) != "LBP") {
      why = "not a boosted LBP cascade";
      return nullptr;
    }
    auto c = std::shared_ptr<lbp_cascade>(new lbp_cascade());
    c->win_ = cv::Size(static_cast<int>(root["width"]), static_cast<int>(root["height"]));
    if (c->win_.width < 3 || c->win_.height < 3 || c->win_.width > 1024 || c->win_.height > 1024) {
      why = "window size out of range";
      return nullptr;
    }
    if (root["featureParams"].empty() || static_cast<int>(root["featureParams"]["maxCatCount"]) != 256) {
      why = "not 256 LBP categories";
      return nullptr;
    }
    const cv::FileNode fnodes = root["features"];
    for (auto it = fnodes.begin(); it != fnodes.end(); ++it) {
      const cv::FileNode r = (*it)["rect"];
      if (r.size() != 4) {
        why = "feature without a 4-number rect";
        return nullptr;
      }
      feature f{static_cast<int>(r[0]), static_cast<int>(r[1]), static_cast<int>(r[2]), static_cast<int>(r[3])};
      // The 3x3 grid must lie inside the window: every corner read stays
      // inside the integral image.
      if (f.x < 0 || f.y < 0 || f.w < 1 || f.h < 1 || f.x + 3 * f.w > c->win_.width || f.y + 3 * f.h > c->win_.height) {
        why = "feature outside the window";
        return nullptr;
      }
      c->features_.push_back(f);
    }
    const cv::FileNode snodes = root["stages"];
    for (auto it = snodes.begin(); it != snodes.end(); ++it) {
      const cv::FileNode sn = *it;
      const cv::FileNode weak = sn["weakClassifiers"];
      if (sn["stageThreshold"].empty() || weak.empty()) {
        why = "stage without threshold or classifiers";
        return nullptr;
      }
      stage st{static_cast<int>(c->stumps_.size()), 0, static_cast<float>(sn["stageThreshold"]) - 1e-5f};
      for (auto wt = weak.begin(); wt != weak.end(); ++wt) {
        const cv::FileNode nodes = (*wt)["internalNodes"], leaves = (*wt)["leafValues"];
        // One node (left, right, feature, 8 subset words) and two leaves: a stump.
        if (nodes.size() != 3 + kSubsetWords || leaves.size() != 2) {
          why = "not a stump-based cascade";
          return nullptr;
        }
        stump s{};
        s.feature = static_cast<int>(nodes[2]);
        if (s.feature < 0 || static_cast<std::size_t>(s.feature) >= c->features_.size()) {
          why = "feature index out of range";
          return nullptr;
        }
        for (int k = 0; k < kSubsetWords; ++k) s.subset[k] = static_cast<int>(nodes[3 + k]);
        s.left = static_cast<float>(leaves[0]);
        s.right = static_cast<float>(leaves[1]);
        c->stumps_.push_back(s);
        ++st.count;
      }
      c->stages_.push_back(st);
    }
    if (c->stages_.empty()) {
      why = "no stages";
      return nullptr;
    }
    return c;
  } catch (const cv::Exception& e) {
    why = std::string("OpenCV: ") + e.what();
    return nullptr;
  }
}

void lbp_cascade::scan_level(float scale, int y_end, int step, cv::Size working, std::vector<cv::Rect>& out,
                             lbp_scratch& sc, bool avx2) const {
  const int ww = cvRound(static_cast<float>(win_.width) * scale), wh = cvRound(static_cast<float>(win_.height) * scale);
  const int nwin = (working.width + step - 1) / step;  // windows of a row: x = 0, step, ...
  sc.result.assign(static_cast<std::size_t>(nwin) + 8, -1);
  const cv::Mat& sum = sc.sum;
  const int rows = sum.rows, cols = sum.cols;
  std::vector<std::int32_t>& offsets = sc.offsets;
  offsets.resize(features_.size() * 16);

#if defined(KYCPREP_LBP_AVX2)
  // `step` planes, plane p holding integral columns p, p + step, p + 2 step,
  // ...: lane i of a group starting at window x0 (a multiple of step) reads
  // column x0 + i step + dx, which is element (x0 + dx - dx % step) / step + i
  // of plane dx % step. Rows are padded so that 8 lanes past the last
  // window stay inside.
  const int ps = (cols + step - 1) / step + 8;
  const std::size_t plane = static_cast<std::size_t>(rows) * static_cast<std::size_t>(ps);
  if (avx2) {
    sc.lanes.resize(plane * static_cast<std::size_t>(step));
    for (int r = 0; r < rows; ++r) {
      const std::int32_t* s = sum.ptr<std::int32_t>(r);
      for (int p = 0; p < step; ++p) {
        std::int32_t* d = sc.lanes.data() + static_cast<std::size_t>(p) * plane + static_cast<std::size_t>(r) * ps;
        int i = 0;
        for (int c = p; c < cols; c += step, ++i) d[i] = s[c];
        std::fill(d + i, d + ps, 0);  // the padding lanes past the row's end read (results unused)
      }
    }
    for (std::size_t f = 0; f < features_.size(); ++f)
      corner_offsets(features_[f], ps,
                     [&](int dx) { return static_cast<int>(static_cast<std::size_t>(dx % step) * plane) + dx / step; },
                     offsets.data() + 16 * f);
  }
#endif
  const int sstep = static_cast<int>(sum.step1());
  if (!avx2)
    for (std::size_t f = 0; f < features_.size(); ++f)
      corner_offsets(features_[f], sstep, [](int dx) { return dx; }, offsets.data() + 16 * f);

  for (int y = 0; y < y_end; y += step) {
    std::int8_t* res = sc.result.data();
    if (avx2) {
#if defined(KYCPREP_LBP_AVX2)
      const std::int32_t* row = sc.lanes.data() + static_cast<std::size_t>(y) * ps;
      for (int j = 0; j < nwin; j += 8) classify8(row + j, std::min(8, nwin - j), offsets.data(), stumps_, stages_, res + j);
#endif
    }
    const std::int32_t* row = sum.ptr<std::int32_t>(y);
    for (int x = 0; x < working.width; x += step) {
      int r;
      if (avx2) {
        r = res[x / step];
      } else {
        // One window at a time, OpenCV's predictCategoricalStump.
        const std::int32_t* p = row + x;
        r = 1;
        for (std::size_t si = 0; si < stages_.size() && r == 1; ++si) {
          const stage& st = stages_[si];
          float tmp = 0.0f;
          for (int t = st.first; t < st.first + st.count; ++t) {
            const stump& s = stumps_[static_cast<std::size_t>(t)];
            const int c = lbp_code(p, offsets.data() + 16 * s.feature);
            tmp += (static_cast<std::uint32_t>(s.subset[c >> 5]) >> (c & 31) & 1u) ? s.left : s.right;
          }
          if (tmp < st.threshold) r = -static_cast<int>(si);
        }
      }
      if (r > 0)
        out.emplace_back(cvRound(static_cast<float>(x) * scale), cvRound(static_cast<float>(y) * scale), ww, wh);
      if (r == 0) x += step;  // OpenCV skips the neighbour of a window stage 0 rejected
    }
  }
}

namespace {

// CascadeClassifier::detectMultiScale's last step: boxes clipped to the
// image, those left empty dropped (with their counts).
void clip(cv::Size img, std::vector<cv::Rect>& rects, std::vector<int>* hits) {
  const cv::Rect whole(0, 0, img.width, img.height);
  std::size_t j = 0;
  for (std::size_t i = 0; i < rects.size(); ++i) {
    const cv::Rect r = whole & rects[i];
    if (r.area() > 0) {
      rects[j] = r;
      if (hits) (*hits)[j] = (*hits)[i];
      ++j;
    }
  }
  rects.resize(j);
  if (hits) hits->resize(j);
}

}  // namespace

void lbp_cascade::windows(const cv::Mat& gray, double scale_factor, cv::Size min_size, cv::Size max_size,
                          std::vector<cv::Rect>& out, lbp_scratch& sc, lbp_isa isa) const {
  CV_Assert(gray.type() == CV_8UC1 && scale_factor > 1.0);
  out.clear();
  const cv::Size img = gray.size();
  if (max_size.width == 0 || max_size.height == 0) max_size = img;
  std::vector<float> scales;
  for (double factor = 1;; factor *= scale_factor) {
    const cv::Size w(cvRound(win_.width * factor), cvRound(win_.height * factor));
    if (w.width > max_size.width || w.height > max_size.height || w.width > img.width || w.height > img.height) break;
    if (w.width < min_size.width || w.height < min_size.height) continue;
    scales.push_back(static_cast<float>(factor));
  }
  if (scales.empty()) return;
  const bool avx2 = isa == lbp_isa::best && has_avx2();

  const auto level_size = [&](float s) {
    return cv::Size(cvRound(static_cast<float>(img.width) / s), cvRound(static_cast<float>(img.height) / s));
  };
  const auto working = [&](cv::Size sz) {
    return cv::Size(std::max(sz.width + 1 - win_.width, 0), std::max(sz.height + 1 - win_.height, 0));
  };
  // OpenCV cuts each level's rows into stripes sized from the first level;
  // the rows it visits end where the last stripe ends.
  const int nstripes = cvCeil(working(level_size(scales[0])).width / 32.);
  for (const float s : scales) {
    const cv::Size sz = level_size(s);
    const cv::Size wk = working(sz);
    const int step = s >= 2 ? 1 : 2;
    const int stripe = std::max((wk.height / step + nstripes - 1) / nstripes, 1) * step;
    const int y_end = std::min(nstripes * stripe, wk.height);
    sc.scaled.create(sz, CV_8UC1);
    cv::resize(gray, sc.scaled, sz, 1. / s, 1. / s, cv::INTER_LINEAR_EXACT);
    cv::integral(sc.scaled, sc.sum, CV_32S);
    scan_level(s, y_end, step, wk, out, sc, avx2);
  }
}

void lbp_cascade::candidates(const cv::Mat& gray, double scale_factor, cv::Size min_size, cv::Size max_size,
                             std::vector<cv::Rect>& out, lbp_scratch& sc, lbp_isa isa) const {
  windows(gray, scale_factor, min_size, max_size, out, sc, isa);
  clip(gray.size(), out, nullptr);
}

void lbp_cascade::detect(const cv::Mat& gray, double scale_factor, int min_neighbors, cv::Size min_size,
                         cv::Size max_size, std::vector<cv::Rect>& rects, std::vector<int>& hits, lbp_scratch& sc,
                         lbp_isa isa) const {
  windows(gray, scale_factor, min_size, max_size, rects, sc, isa);
  // Grouped as CascadeClassifierImpl::detectMultiScale groups (eps 0.2),
  // then clipped as CascadeClassifier::detectMultiScale clips.
  cv::groupRectangles(rects, hits, min_neighbors, 0.2);
  clip(gray.size(), rects, &hits);
}

}  // namespace kycprep::detail
