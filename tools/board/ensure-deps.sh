#!/usr/bin/env bash
# tools/board's npm dependencies (playwright-core only: it drives the machine's
# /usr/bin/chromium and downloads no browser), when stale.
exec "$(dirname "${BASH_SOURCE[0]}")/../../scripts/npm-tools.sh" "$(dirname "${BASH_SOURCE[0]}")" 20
