#!/usr/bin/env bash
# The HTTP API's answers against its contract, docs/openapi.yaml: runs the end-to-end HTTP
# suite recording every exchange, lints the document, then checks each recorded answer
# (status, headers, body schema, parameters) with tools/openapi/check-responses.mjs.
#
#   openapi_contract.sh HTTP_API_TEST_BINARY PROJECT_SOURCE_DIR
set -euo pipefail
binary="$1"
root="$2"
records="$(mktemp "${TMPDIR:-/tmp}/viya-mv-exchanges-XXXXXX.jsonl")"
trap 'rm -f "$records"' EXIT
VIYA_MV_HTTP_RECORD="$records" "$binary" --gtest_brief=1 >/dev/null
echo "recorded $(wc -l < "$records") exchanges"
"$root/scripts/check-openapi.sh" "$records"
