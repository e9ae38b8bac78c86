#!/usr/bin/env bash
# Builds every fuzz target and runs each for FUZZ_SECONDS (default 20) seconds from
# its committed corpus in fuzz/corpus/<target>; fails if any target crashes, leaks,
# runs out of memory or hangs. Inputs libFuzzer finds go to a temporary directory,
# never into the repository; a crashing input is kept in fuzz/artifacts/<target>/.
# See docs/FUZZING.md.
set -euo pipefail

cd "$(dirname "$0")"
seconds="${FUZZ_SECONDS:-20}"

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    echo "fuzz/run.sh: cargo-fuzz needs a nightly toolchain (rustup toolchain install nightly)" >&2
    exit 1
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

cargo +nightly fuzz build

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

failed=()
for target in $(cargo +nightly fuzz list); do
    echo "== $target (${seconds}s)"
    mkdir -p "$scratch/$target" "corpus/$target"
    # The first corpus directory receives new inputs; the committed one is only read.
    if ! cargo +nightly fuzz run "$target" "$scratch/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
        >"$scratch/$target.log" 2>&1; then
        failed+=("$target")
        tail -n 60 "$scratch/$target.log"
    fi
    grep -E 'stat::number_of_executed_units|Done [0-9]+ runs' "$scratch/$target.log" || true
done

if ((${#failed[@]})); then
    echo "fuzz/run.sh: ${#failed[@]} target(s) failed: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
    exit 1
fi
echo "fuzz/run.sh: every target ran ${seconds}s without a failure"
