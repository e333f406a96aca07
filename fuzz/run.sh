#!/usr/bin/env bash
# Run fuzz targets: fuzz/run.sh [TARGET|all] [SECONDS]
# Installs cargo-fuzz when missing. Only a stable toolchain exists here, so
# cargo-fuzz's nightly flags are enabled with RUSTC_BOOTSTRAP=1.
# Environment: FUZZ_SANITIZER (default none: Rust code, we hunt panics, hangs
# and OOMs), FUZZ_JOBS (default 1), FUZZ_RSS_MB (default 2048).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
target="${1:-all}"
seconds="${2:-60}"
export RUSTC_BOOTSTRAP=1
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
targets=(nifti nrrd dicom_series rtstruct seg params csv)
[ "$target" = all ] || targets=("$target")
bash "$here/seed.sh" >/dev/null
cargo fuzz build -s "${FUZZ_SANITIZER:-none}"
status=0
for t in "${targets[@]}"; do
    echo "=== fuzz target $t for ${seconds}s"
    mkdir -p "artifacts/$t"
    jobs=()
    # One job is libFuzzer's default in-process mode (its output stays on the console).
    [ "${FUZZ_JOBS:-1}" -gt 1 ] && jobs=(-jobs="$FUZZ_JOBS" -workers="$FUZZ_JOBS")
    if ! cargo fuzz run -s "${FUZZ_SANITIZER:-none}" "$t" "corpus/$t" -- \
        -max_total_time="$seconds" "${jobs[@]}" \
        -rss_limit_mb="${FUZZ_RSS_MB:-2048}" -timeout=10 -max_len=65536 \
        -artifact_prefix="artifacts/$t/" -print_final_stats=1; then
        echo "!!! fuzz target $t failed: see fuzz/artifacts/$t/" >&2
        status=1
    fi
done
exit $status
