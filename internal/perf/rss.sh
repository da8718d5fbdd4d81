#!/bin/sh
# rss.sh measures the peak memory (maximum resident set size) and the wall
# time of `violet scan` on each input of the benchmarks, with GNU time
# (Debian: apt-get install time). The inputs are written by perfgen; the
# large ones are sparse files that take a few MB of disk.
#
#	internal/perf/rss.sh [DIR]     (default DIR: /tmp/violet-perf)
set -eu
dir=${1:-/tmp/violet-perf}
cd "$(dirname "$0")/../.."
mkdir -p "$dir"
go build -o "$dir/violet" ./cmd/violet
rm -rf "$dir/inputs"
go run ./internal/perf/perfgen -out "$dir/inputs" >/dev/null

measure() { # label, then the arguments of violet scan
	label=$1
	shift
	code=0
	/usr/bin/time -f '%M %e' -o "$dir/time.out" "$dir/violet" scan --format json --output "$dir/report.json" "$@" || code=$?
	read -r kb secs <"$dir/time.out"
	printf '| %s | %d | %s | %d |\n' "$label" $(((kb + 1023) / 1024)) "$secs" "$code"
}

echo '| input | peak RSS (MiB) | wall (s) | exit code |'
echo '|---|---|---|---|'
for f in "$dir"/inputs/*.pkl "$dir"/inputs/*.pt; do
	measure "$(basename "$f")" "$f"
done
measure "small/ (10,000 files), --workers 1" --workers 1 "$dir/inputs/small"
measure "small/ (10,000 files), --workers 2" --workers 2 "$dir/inputs/small"
