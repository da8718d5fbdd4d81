#!/bin/sh
# Regenerates testdata/models (fixtures and expected.tsv) with Debian's Python
# and its packaged ML libraries. Deterministic: running it twice gives the same bytes.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
export PYTHONHASHSEED=0
export SOURCE_DATE_EPOCH=315532800
export TZ=UTC
export LC_ALL=C.UTF-8
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
export PYTHONDONTWRITEBYTECODE=1
cd "$here"
/usr/bin/python3 make_models.py
/usr/bin/python3 check_fixtures.py
