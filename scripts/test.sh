#!/bin/sh
# test.sh — install what the tests need, build (warnings are errors, ASan+UBSan), run every suite.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
scripts/install-deps.sh
dir=${OCTET_TEST_BUILD:-build-test}
if [ ! -f "$dir/build.ninja" ]; then
  meson setup "$dir" -Db_sanitize=address,undefined -Db_lundef=false --buildtype=debugoptimized >/dev/null
fi
meson compile -C "$dir"
meson test -C "$dir" --print-errorlogs --num-processes 2 "$@"
