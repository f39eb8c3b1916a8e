#!/usr/bin/env bash
# Checks the HTTP API contract, docs/openapi.yaml:
#   1. installs the tools' npm dependencies (tools/openapi) when they are missing or stale
#      (scripts/npm-tools.sh),
#   2. lints the document (Redocly, recommended rules; tools/openapi/redocly.yaml),
#   3. runs the self-tests of the response checker (node --test),
#   4. with a records file as $1 (JSON lines of recorded exchanges, see
#      tools/openapi/check-responses.mjs), checks the server's answers against the document.
# Exits non-zero when any step fails.
#
#   scripts/check-openapi.sh [records.jsonl]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/tools/openapi"
spec="$root/docs/openapi.yaml"

if [[ $# -gt 1 ]]; then
  echo "usage: $0 [records.jsonl]" >&2
  exit 2
fi
records=""
if [[ $# -eq 1 ]]; then
  if [[ ! -f "$1" ]]; then
    echo "check-openapi: no records file $1" >&2
    exit 2
  fi
  records="$(realpath "$1")"
fi

"$root/scripts/npm-tools.sh" "$tools" 20
if [[ ! -x "$tools/node_modules/.bin/redocly" ]]; then
  echo "check-openapi: tools/openapi has no redocly after npm ci" >&2
  exit 1
fi

# No telemetry or update check from the linter (only the npm registry is reachable here).
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true

echo "== redocly lint docs/openapi.yaml"
"$tools/node_modules/.bin/redocly" lint --format=stylish --config "$tools/redocly.yaml" "$spec"

echo "== self-tests of check-responses (node --test)"
(cd "$tools" && node --test test/)

if [[ -n "$records" ]]; then
  echo "== check-responses $1"
  node "$tools/check-responses.mjs" "$spec" "$records"
fi
echo "check-openapi: OK"
