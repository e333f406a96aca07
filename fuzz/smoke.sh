#!/usr/bin/env bash
# CI smoke run: every fuzz target for a few seconds (FUZZ_SMOKE_SECONDS, default 10).
set -euo pipefail
exec bash "$(dirname "$0")/run.sh" all "${FUZZ_SMOKE_SECONDS:-10}"
