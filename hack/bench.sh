#!/usr/bin/env bash
# Runs Flotilla's benchmarks against real local clusters and prints medians
# (through benchstat). Results belong in docs/BENCHMARKS.md, with the machine
# and this command.
#
#   COUNT        samples of the quick benchmarks (default 5)
#   SYNC_COUNT   samples of the sync benchmarks, which take minutes each (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
count="${COUNT:-5}"
sync_count="${SYNC_COUNT:-3}"
out="$(mktemp)"
trap 'rm -f "${out}"' EXIT

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(go version)" >&2
go test -run '^$' -bench . -benchtime 1x -count "${count}" -timeout 60m ./internal/localfleet/ | tee -a "${out}"
go test -run '^$' -bench Helm -count "${count}" -timeout 30m ./internal/render/ | tee -a "${out}"
go test -run '^$' -bench . -benchtime 1x -count "${sync_count}" -timeout 90m ./test/bench/ | tee -a "${out}"
# The guarantee of test/scale at full size: a controller killed among 1,000
# syncs loses and duplicates nothing (make test runs it at 300).
FLOTILLA_SCALE_APPS=1000 go test -count=1 -run TestControllerKilledMidThousandSyncs -timeout 60m ./test/scale/
go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da "${out}"
