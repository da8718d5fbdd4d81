#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL server: the tests of the store
# that need PostgreSQL read its URL from VIOLET_TEST_POSTGRES.
#   scripts/pg-test.sh go test ./store/...
# The server comes from Debian's binaries (/usr/lib/postgresql/*/bin; apt-get
# installs the postgresql package when they are missing and this runs as
# root or with password-less sudo). It listens on a unix socket in a private temporary folder only (no
# TCP), runs as the postgres user when this runs as root (PostgreSQL refuses
# root), takes a random password, and is stopped and removed when the
# command ends, whatever its outcome. The exit status is the command's.
# With VIOLET_TEST_POSTGRES already set, the command runs against that
# server and nothing is started.
set -euo pipefail

if [ $# -eq 0 ]; then
  echo "usage: scripts/pg-test.sh COMMAND [ARG...]" >&2
  exit 2
fi
if [ -n "${VIOLET_TEST_POSTGRES:-}" ]; then
  exec "$@"
fi

bindir() {
  local d
  for d in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V -r); do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return 0; fi
  done
  return 1
}
bin=$(bindir) || {
  sudo=""
  if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo -n"; fi
  if { [ "$(id -u)" -ne 0 ] && [ -z "$sudo" ]; } || ! command -v apt-get >/dev/null; then
    echo "pg-test: PostgreSQL is not installed (apt-get install postgresql, as root)" >&2
    exit 2
  fi
  echo "pg-test: installing PostgreSQL" >&2
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
  bin=$(bindir) || { echo "pg-test: PostgreSQL binaries not found after install" >&2; exit 2; }
}

# as runs a command as the server's user: postgres when this runs as root.
as() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

work=$(mktemp -d /tmp/violet-pg.XXXXXXXX)
chmod 0700 "$work"
if [ "$(id -u)" -eq 0 ]; then chown postgres: "$work"; fi
# shellcheck disable=SC2317 # called by the trap
cleanup() {
  as "$bin/pg_ctl" -D "$work/data" -m immediate -s stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

password=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
as sh -c "umask 077 && printf '%s\n' '$password' > '$work/pw' && mkdir '$work/sock'"
as "$bin/initdb" -D "$work/data" -U violet --auth=scram-sha-256 --pwfile="$work/pw" \
  --no-sync -E UTF8 --locale=C.UTF-8 >"$work/initdb.log" 2>&1 || {
  cat "$work/initdb.log" >&2; exit 2; }
# fsync off: a throwaway server for tests; the durability under test is the
# store's, not PostgreSQL's.
as "$bin/pg_ctl" -D "$work/data" -l "$work/server.log" -w -t 60 -s \
  -o "-c listen_addresses='' -c unix_socket_directories='$work/sock' -c unix_socket_permissions=0700 -c fsync=off -c full_page_writes=off -c max_connections=200" \
  start || { cat "$work/server.log" >&2; exit 2; }

export VIOLET_TEST_POSTGRES="postgres://violet:${password}@/postgres?host=${work}/sock&sslmode=disable"
set +e
"$@"
status=$?
set -e
exit "$status"
