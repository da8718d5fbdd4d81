#!/bin/sh
# Regenerates testdata/threats, the fixtures of docs/threats.md, with Debian's
# Python (standard library, python3-omegaconf, python3-h5py). Deterministic:
# running it twice gives the same bytes. Nothing is loaded.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
export PYTHONHASHSEED=0 SOURCE_DATE_EPOCH=315532800 TZ=UTC LC_ALL=C.UTF-8 PYTHONDONTWRITEBYTECODE=1
cd "$here"
/usr/bin/python3 gen_threats.py
