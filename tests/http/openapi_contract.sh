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
# --gtest_brief: only failures are printed, so a failing run says which test and why.
if ! VIYA_MV_HTTP_RECORD="$records" "$binary" --gtest_brief=1; then
  echo "openapi_contract: the end-to-end suite failed while recording (above)" >&2
  exit 1
fi
echo "recorded $(wc -l < "$records") exchanges"
"$root/scripts/check-openapi.sh" "$records"
