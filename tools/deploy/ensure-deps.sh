#!/usr/bin/env bash
# Installs tools/deploy's npm dependencies (npm ci) when node_modules does not hold exactly
# what package-lock.json says: the stamp is the lock file's hash, written after a
# successful install, so a warm machine does nothing. Tests running side by side wait for
# each other (flock). Needs Node.js 18 or newer with npm.
set -euo pipefail

tools="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "tools/deploy: '$tool' is not installed; it needs Node.js 18 or newer with npm" \
      "(scripts/install-deps.sh installs them)" >&2
    exit 1
  fi
done
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if ((node_major < 18)); then
  echo "tools/deploy: Node.js $(node --version) is too old; it needs 18 or newer" >&2
  exit 1
fi

exec 9<"$tools/package-lock.json"
flock 9
stamp="$tools/node_modules/.deploy-tools-lock.sha256"
want="$(sha256sum "$tools/package-lock.json" | cut -d' ' -f1)"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  echo "== npm ci (tools/deploy)"
  (cd "$tools" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$want" >"$stamp"
fi
