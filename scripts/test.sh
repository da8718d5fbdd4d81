#!/usr/bin/env bash
# Runs Violet's tests: formatting, vet and golangci-lint, every Go test (the
# picklescan corpus, the real-library fixtures, the differential test against
# CPython's unpickler), the concurrent packages again under the race detector,
# the release build of the host platform (GoReleaser snapshot), then a short
# run of every fuzz target.
#   scripts/test.sh                 everything (what CI runs)
#   FUZZTIME=1000000x scripts/test.sh  longer fuzz runs
# The fuzz budget is a count of executions, not a duration: with a duration,
# Go 1.26's fuzz coordinator can fail a run at the deadline with "context
# deadline exceeded" and no crasher on a loaded machine (go.dev/issue/75804,
# fixed in Go 1.27).
set -euo pipefail
cd "$(dirname "$0")/.."
# The store's tests run on PostgreSQL too: one throwaway server for the
# whole run (scripts/pg-test.sh starts it, sets VIOLET_TEST_POSTGRES, runs
# this script again under it, then stops and removes it).
if [ -z "${VIOLET_TEST_POSTGRES:-}" ]; then exec scripts/pg-test.sh "$0" "$@"; fi

fuzztime="${FUZZTIME:-100000x}"

echo "== gofmt and go vet"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
go vet ./...

echo "== golangci-lint (.golangci.yml; the tool is built from tools/release/go.mod)"
golangci=(go tool -modfile=tools/release/go.mod golangci-lint)
"${golangci[@]}" run ./...
# Cognitive complexity and length: only the functions that the last commit
# and the work tree add or change (the code before them is not held to it).
if git rev-parse -q --verify HEAD~1 >/dev/null 2>&1; then
  "${golangci[@]}" run --enable-only=gocognit,funlen --new-from-rev=HEAD~1 ./...
fi

echo "== Chromium (the web UI's browser test; installed from Debian's packages when missing)"
if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo -n"; fi
  if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium; } >/dev/null; then
    echo "Chromium is needed by the web UI's browser test and could not be installed (apt-get install chromium)"; exit 1
  fi
fi

echo "== Python's jinja2 (the template analyzer's differential test; installed from Debian's packages when missing)"
if command -v python3 >/dev/null && ! python3 -c "import jinja2" 2>/dev/null; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo -n"; fi
  if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3-jinja2; } >/dev/null; then
    echo "Python's jinja2 is needed by the template differential test and could not be installed (apt-get install python3-jinja2)"; exit 1
  fi
fi

echo "== go test"
if ! command -v python3 >/dev/null; then
  echo "python3 is needed by the differential test (standard library only)"; exit 1
fi
go test -count=1 ./...
# Alone: it restarts the PostgreSQL server the tests above share.
VIOLET_PG_RESTART_TEST=1 go test -count=1 -run '^TestWorkerPostgresRestart$' ./cmd/violet

echo "== go test -race (the packages that run work concurrently; cgo and gcc needed)"
CGO_ENABLED=1 go test -race -count=1 ./scan ./discover ./bom ./sign ./deps ./gate ./store ./webui ./server ./jobs ./source ./webhook

echo "== release snapshot (the host platform's release binary: static, stamped)"
scripts/release-snapshot.sh

echo "== fuzz (${fuzztime} executions per target)"
for pkg in $(go list ./...); do
  for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
    echo "-- $pkg $target"
    go test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" -fuzzminimizetime=200x "$pkg"
  done
done
echo "all tests passed"
