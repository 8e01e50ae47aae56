#!/usr/bin/env bash
# Builds the libFuzzer harnesses with clang (ASan+UBSan) and runs each for a bounded time.
#
#   fuzz/run.sh                     every fuzzer, FUZZ_SECONDS (default 45) each
#   FUZZ_SECONDS=3600 fuzz/run.sh   longer runs
#   fuzz/run.sh url robots          only these (names as in fuzz/<name>_fuzz.cpp)
#
# FUZZ_PARALLEL fuzzers run at once (default: the number of cores). Each run starts from
# the committed seeds in fuzz/corpus/<name>/ and keeps what it finds in
# build-fuzz/corpus/<name>/ (not committed). A crash, leak, sanitizer report, timeout or
# broken invariant stops that fuzzer, leaves build-fuzz/artifacts/<name>/crash-* (or
# leak-*, timeout-*) and makes the script exit non-zero; fuzz/README.md says how to replay it.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-45}
build=${FUZZ_BUILD_DIR:-build-fuzz}
jobs=${FUZZ_BUILD_JOBS:-$(nproc)}
parallel=${FUZZ_PARALLEL:-$(nproc)}

if (($#)); then
  names=("$@")
else
  names=()
  for f in fuzz/*_fuzz.cpp; do names+=("$(basename "$f" _fuzz.cpp)"); done
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
start=$SECONDS
if ! cmake --build "$build" -j"$jobs" "${targets[@]}" >"$build/build.log" 2>&1; then
  tail -n 60 "$build/build.log"
  echo "fuzz: the build failed"
  exit 1
fi
echo "fuzz: built in $((SECONDS - start)) s"

# verify_asan_link_order=0: the fd fuzzer links libgreen-patch, whose hooks come before
# the ASan runtime's interceptors on purpose (tests/patch/CMakeLists.txt says why).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:verify_asan_link_order=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
if ! command -v llvm-symbolizer >/dev/null && [[ -x /usr/lib/llvm-14/bin/llvm-symbolizer ]]; then
  export ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-14/bin/llvm-symbolizer
fi

run_one() {
  local n=$1 dict=()
  mkdir -p "$build/corpus/$n" "$build/artifacts/$n"
  [[ -f fuzz/$n.dict ]] && dict=(-dict="fuzz/$n.dict")
  # -timeout: no single input may take 20 s (a hang is a failure); -rss_limit_mb: the hub
  # and greenlet stacks are mapped lazily, 2 GB is plenty.
  if "$build/fuzz/${n}_fuzz" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
    "${dict[@]}" -artifact_prefix="$build/artifacts/$n/" "$build/corpus/$n" "fuzz/corpus/$n" \
    >"$build/$n.log" 2>&1; then
    echo 0 >"$build/$n.status"
  else
    echo $? >"$build/$n.status"
  fi
}

echo "fuzz: ${names[*]}, ${seconds} s each, $parallel at a time"
running=0
for n in "${names[@]}"; do
  rm -f "$build/$n.status"
  if ((running >= parallel)); then
    wait -n || true
    running=$((running - 1))
  fi
  run_one "$n" &
  running=$((running + 1))
done
wait

failed=()
for n in "${names[@]}"; do
  if [[ $(cat "$build/$n.status" 2>/dev/null) == 0 ]]; then
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$build/$n.log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$build/$n.log")
    corpus=$(find "$build/corpus/$n" -type f | wc -l)
    echo "fuzz: $n: ok, $execs executions ($rate/s), corpus $corpus inputs"
  else
    failed+=("$n")
    echo "=== fuzz: $n FAILED; the end of $build/$n.log: ==="
    # fd_fuzz links the patch layer, whose pipe() hook leaves the sanitizer's own pipe to
    # llvm-symbolizer non-blocking, so its reports come unsymbolised: symbolise them here.
    if command -v asan_symbolize-14 >/dev/null; then
      tail -n 80 "$build/$n.log" | asan_symbolize-14 -s / 2>/dev/null || tail -n 80 "$build/$n.log"
    else
      tail -n 80 "$build/$n.log"
    fi
  fi
done
if ((${#failed[@]})); then
  echo "fuzz: FAILED: ${failed[*]} (inputs in $build/artifacts/; fuzz/README.md says how to replay)"
  echo "fuzz: $((${#names[@]} - ${#failed[@]})) passed, ${#failed[@]} failed"
  exit 1
fi
echo "fuzz: ${#names[@]} passed, 0 failed"
