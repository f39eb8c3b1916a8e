#!/usr/bin/env bash
# Installs tools/board's npm dependencies (playwright-core only: it drives the Chromium the
# machine has, /usr/bin/chromium, and downloads no browser) with `npm ci`, only when
# node_modules does not hold exactly what package-lock.json says: the stamp is the lock
# file's hash, written after a successful install, so a warm machine does nothing. Tests
# running side by side wait for each other (flock). Needs Node.js 20 or newer with npm.
set -euo pipefail

tools="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "tools/board: '$tool' is not installed; it needs Node.js 20 or newer with npm" \
      "(scripts/install-deps.sh installs them)" >&2
    exit 1
  fi
done
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if ((node_major < 20)); then
  echo "tools/board: Node.js $(node --version) is too old; it needs 20 or newer" >&2
  exit 1
fi

exec 9<"$tools/package-lock.json"
flock 9
stamp="$tools/node_modules/.board-tools-lock.sha256"
want="$(sha256sum "$tools/package-lock.json" | cut -d' ' -f1)"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" || ! -f "$tools/node_modules/playwright-core/package.json" ]]; then
  echo "== npm ci (tools/board)"
  # No browser download, whatever a later playwright-core would try on install.
  (cd "$tools" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  echo "$want" >"$stamp"
fi
