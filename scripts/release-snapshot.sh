#!/usr/bin/env bash
# Builds the release binary of the host platform as a release would
# (.goreleaser.yaml, no tag needed) from the committed tree, and checks it:
# statically linked, and stamped with its version and commit. Run by
# scripts/test.sh. GoReleaser reads the git state (the commit, the remote),
# so it runs in a fresh clone of HEAD, which has both; it leaves nothing
# behind.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git clone -q . "$work/violet"
else # a checkout without git metadata: make a one-commit repository of it
  mkdir "$work/violet"
  tar --exclude=./dist -cf - . | tar -xf - -C "$work/violet"
  (cd "$work/violet" && git init -q && git add -A &&
    git -c user.name=violet -c user.email=violet@localhost commit -qm snapshot &&
    git remote add origin https://github.com/violet-mlsecops/violet.git)
fi
(cd "$work/violet" && go tool -modfile=tools/release/go.mod goreleaser build --snapshot --single-target --clean) >"$work/build.log" 2>&1 || {
  cat "$work/build.log"; exit 1
}
bin=$(find "$work/violet/dist" -type f \( -name violet -o -name violet.exe \) | head -n 1)
[ -n "$bin" ] || { echo "release-snapshot: no binary in dist/"; exit 1; }

# Static: built without cgo, so no dynamic loader is needed.
settings=$(go version -m "$bin")
grep -q 'CGO_ENABLED=0' <<<"$settings" || { echo "release-snapshot: $bin was built with cgo"; echo "$settings"; exit 1; }
if [ "$(uname -s)" = Linux ] && command -v readelf >/dev/null; then
  if readelf -l "$bin" | grep -q 'Requesting program interpreter'; then
    echo "release-snapshot: $bin is dynamically linked"; exit 1
  fi
fi

# Stamped: the version and the commit it was built from.
out=$("$bin" version)
commit=$(git -C "$work/violet" rev-parse HEAD)
grep -q '^violet v' <<<"$out" || { echo "release-snapshot: no version in: $out"; exit 1; }
grep -q "commit $commit" <<<"$out" || { echo "release-snapshot: no commit $commit in: $out"; exit 1; }
echo "release-snapshot: $(basename "$(dirname "$bin")")/violet is static and says: $(tr '\n' ' ' <<<"$out")"
