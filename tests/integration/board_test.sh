#!/usr/bin/env bash
# The live board's end-to-end test in Debian's headless Chromium (board_test.mjs says what
# it checks): installs tools/board's npm dependencies when they are missing or stale, then
# runs it. Exits 0 when every check holds, 1 otherwise (2 on a usage error).
#
#   tests/integration/board_test.sh path/to/viya-mv [--screenshot PATH]
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

if [[ $# -lt 1 ]]; then
  echo "usage: $0 path/to/viya-mv [--screenshot PATH]" >&2
  exit 2
fi
if ! command -v node >/dev/null 2>&1; then
  echo "board_test: 'node' is not installed; it needs Node.js 20 or newer with npm" \
    "(scripts/install-deps.sh installs them)" >&2
  exit 1
fi
chromium="${CHROMIUM:-/usr/bin/chromium}"
if [[ ! -x "$chromium" ]]; then
  echo "board_test: no Chromium at $chromium: install Debian's chromium package" \
    "(scripts/install-deps.sh does) or set CHROMIUM" >&2
  exit 1
fi

"$repo/tools/board/ensure-deps.sh"

# The test bounds itself (every wait, and the whole run); this is the backstop.
exec timeout --kill-after=15 300 node "$repo/tests/integration/board_test.mjs" "$@"
