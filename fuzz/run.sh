#!/usr/bin/env bash
# Builds the libFuzzer harnesses with clang (ASan+UBSan) and runs each for a bounded time.
#
#   fuzz/run.sh                     every fuzzer, FUZZ_SECONDS (default 45) each
#   FUZZ_SECONDS=3600 fuzz/run.sh   longer runs
#   fuzz/run.sh url robots          only these (names as in fuzz/<name>_fuzz.cpp)
#
# Each run starts from the committed seeds in fuzz/corpus/<name>/ and keeps what it finds
# in build-fuzz/corpus/<name>/ (not committed). A crash, leak, sanitizer report or broken
# invariant stops that fuzzer, leaves build-fuzz/artifacts/<name>/crash-* and makes the
# script exit non-zero; fuzz/README.md says how to replay it.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-45}
build=${FUZZ_BUILD_DIR:-build-fuzz}
jobs=${FUZZ_BUILD_JOBS:-$(nproc)}

if (($#)); then
  names=("$@")
else
  names=()
  for f in fuzz/*_fuzz.cpp; do
    n=$(basename "$f" _fuzz.cpp)
    names+=("$n")
  done
fi

launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
# -O1 with assertions on: fast enough to fuzz, and every assert in the code is a check.
CC=${CC:-clang} CXX=${CXX:-clang++} cmake -S . -B "$build" "${generator[@]}" "${launcher[@]}" \
  -DGREEN_FUZZ=ON -DGREEN_BUILD_TESTS=OFF -DGREEN_BUILD_BENCH=OFF -DGREEN_BUILD_EXAMPLES=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g" \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" >/dev/null
targets=()
for n in "${names[@]}"; do targets+=(--target "${n}_fuzz"); done
cmake --build "$build" -j"$jobs" "${targets[@]}"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:verify_asan_link_order=0}
if ! command -v llvm-symbolizer >/dev/null && [[ -x /usr/lib/llvm-14/bin/llvm-symbolizer ]]; then
  export ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-14/bin/llvm-symbolizer
fi
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=()
for n in "${names[@]}"; do
  corpus="$build/corpus/$n"
  artifacts="$build/artifacts/$n/"
  mkdir -p "$corpus" "$artifacts"
  dict=()
  [[ -f fuzz/$n.dict ]] && dict=(-dict="fuzz/$n.dict")
  echo "=== fuzz: $n for ${seconds}s ==="
  # -rss_limit_mb: the hub and greenlet stacks are mapped lazily; 2 GB is plenty.
  if ! "$build/fuzz/${n}_fuzz" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 "${dict[@]}" \
      -artifact_prefix="$artifacts" "$corpus" "fuzz/corpus/$n" 2>"$build/$n.log"; then
    failed+=("$n")
    # fd_fuzz links the patch layer, whose pipe() hook leaves the sanitizer's own pipe to
    # llvm-symbolizer non-blocking: symbolise the report afterwards instead.
    if command -v asan_symbolize-14 >/dev/null; then
      tail -n 80 "$build/$n.log" | asan_symbolize-14 -s / 2>/dev/null || tail -n 80 "$build/$n.log"
    else
      tail -n 80 "$build/$n.log"
    fi
  else
    grep -E '^(stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb)|^Done ' "$build/$n.log" || true
  fi
done
if ((${#failed[@]})); then
  echo "fuzz: FAILED: ${failed[*]} (inputs in $build/artifacts/)"
  exit 1
fi
echo "fuzz: ${#names[@]} passed, 0 failed"
