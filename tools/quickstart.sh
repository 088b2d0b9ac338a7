#!/usr/bin/env bash
# kycprep quick start. Run as root on Debian 12:
#   tools/quickstart.sh run    install missing packages, build (Release), run the main job on data/samples
#   tools/quickstart.sh test   install missing packages, build (Release), run every test (ctest)
# Environment: BUILD_DIR (default build), JOBS (default 2), OUT_DIR (default out).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-}
case "$mode" in run|test) ;; *) echo "usage: $0 run|test" >&2; exit 2 ;; esac

BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-2}
OUT_DIR=${OUT_DIR:-out}

# Debian 12 packages the build, the tests and the benchmarks need.
packages=(
  cmake ninja-build g++ pkg-config
  libopencv-dev opencv-data            # resize, cascades, YuNet via FaceDetectorYN
  libjpeg62-turbo-dev libturbojpeg0-dev libpng-dev liblcms2-dev   # codecs; ICC -> sRGB
  libdeflate-dev                       # PNG fast path: IDAT inflate
  libtbb-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libcurl4-openssl-dev libssl-dev libcpp-httplib-dev   # the uploader and its loopback test server
  nlohmann-json3-dev libcli11-dev
)
# The tests also use real photos shipped by Debian (faces, and photos with no human face).
[ "$mode" = test ] && packages+=(python3-skimage opencv-doc)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then echo "need root to apt-get install the packages above" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

echo "== configuring and building ($BUILD_DIR, Release, -j$JOBS)"
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD_DIR" -j "$JOBS"

if [ "$mode" = test ]; then
  echo "== running the tests"
  ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS" --timeout 600
  exit 0
fi

echo "== kycprep batch data/samples -> $OUT_DIR/ (face profile: portrait crop around the largest face)"
# A previous quick-start run's outputs are replaced (only a folder kycprep wrote: it has results.jsonl).
[ -f "$OUT_DIR/results.jsonl" ] && rm -rf "$OUT_DIR"
status=0
"$BUILD_DIR/tools/kycprep" batch data/samples -o "$OUT_DIR" --write both || status=$?
echo "== outputs: $(pwd)/$OUT_DIR/ (one .jpg and .b64 per input, results.jsonl with one record per input, summary.json)"
# Exit 1 means some photos were refused (each has its record and error); the job itself ran.
[ "$status" -le 1 ] && exit 0
exit "$status"
