#!/usr/bin/env bash
# Checks the Prometheus alerting rules in deploy/prometheus:
#   1. promtool check rules   (syntax, PromQL, templates)
#   2. promtool test rules    (the unit tests in viya-mv-rules.test.yml)
#   3. structure (python3 with PyYAML, Debian package python3-yaml):
#      - every alert has a severity label (critical|warning) and the annotations
#        summary, description and runbook_url;
#      - every runbook_url is https://github.com/viya/viya-mv/blob/main/docs/runbooks/<name>.md
#        with <name> the alert's name in kebab case (MvDriftHigh -> mv-drift-high), and,
#        when docs/runbooks/ exists, that file exists;
#      - every alert has a test case where it fires and one where it does not.
#
# promtool: $PROMTOOL, else build/tools/bin/promtool (scripts/install-deps.sh puts it
# there). Exits non-zero, saying why, on any failure.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
rules="$repo/deploy/prometheus/viya-mv-rules.yml"
tests="$repo/deploy/prometheus/viya-mv-rules.test.yml"
runbooks="$repo/docs/runbooks"

fail() {
  echo "rules_test: FAIL: $*" >&2
  exit 1
}

promtool="${PROMTOOL:-$repo/build/tools/bin/promtool}"
[[ -x "$promtool" ]] ||
  fail "promtool not found at $promtool: run scripts/install-deps.sh, or set PROMTOOL to a promtool binary"
[[ -f "$rules" ]] || fail "missing $rules"
[[ -f "$tests" ]] || fail "missing $tests"

echo "rules_test: $("$promtool" --version 2>&1 | head -n 1)"

echo "rules_test: promtool check rules"
"$promtool" check rules "$rules" || fail "promtool check rules rejected $rules"

echo "rules_test: promtool test rules"
"$promtool" test rules "$tests" || fail "promtool test rules: unit tests in $tests failed"

python3 -c 'import yaml' 2>/dev/null ||
  fail "python3 cannot import yaml: install python3-yaml (apt-get install python3-yaml)"

echo "rules_test: structure of alerts, runbooks and test coverage"
python3 - "$rules" "$tests" "$runbooks" <<'PY'
import os
import re
import sys

import yaml

rules_path, tests_path, runbooks_dir = sys.argv[1:4]
RUNBOOK = re.compile(
    r"^https://github\.com/viya/viya-mv/blob/main/docs/runbooks/([a-z0-9][a-z0-9-]*\.md)$")
SEVERITIES = {"critical", "warning"}
ANNOTATIONS = ("summary", "description", "runbook_url")
errors = []


def kebab(name):
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


with open(rules_path) as f:
    rules_doc = yaml.safe_load(f)
with open(tests_path) as f:
    tests_doc = yaml.safe_load(f)

alerts = {}  # name -> rule
for group in rules_doc.get("groups") or []:
    for rule in group.get("rules") or []:
        name = rule.get("alert")
        if name is None:
            continue  # a recording rule
        if name in alerts:
            errors.append(f"alert {name}: defined twice")
        alerts[name] = rule
if not alerts:
    errors.append(f"{rules_path}: no alerting rules found")

runbook_files = []
for name, rule in sorted(alerts.items()):
    labels = rule.get("labels") or {}
    annotations = rule.get("annotations") or {}
    severity = labels.get("severity")
    if severity not in SEVERITIES:
        errors.append(f"alert {name}: label severity is {severity!r}, "
                      f"want one of {sorted(SEVERITIES)}")
    for key in ANNOTATIONS:
        if not str(annotations.get(key) or "").strip():
            errors.append(f"alert {name}: annotation {key} missing or empty")
    url = str(annotations.get("runbook_url") or "")
    m = RUNBOOK.match(url)
    if url and not m:
        errors.append(f"alert {name}: runbook_url {url!r} is not "
                      "https://github.com/viya/viya-mv/blob/main/docs/runbooks/<name>.md")
    elif m:
        if m.group(1) != kebab(name) + ".md":
            errors.append(f"alert {name}: runbook_url names {m.group(1)}, want {kebab(name)}.md")
        runbook_files.append((name, m.group(1)))

if os.path.isdir(runbooks_dir):
    for name, file in runbook_files:
        if not os.path.isfile(os.path.join(runbooks_dir, file)):
            errors.append(f"alert {name}: runbook docs/runbooks/{file} does not exist")
else:
    print(f"rules_test: note: {runbooks_dir} does not exist yet; runbook files not checked "
          f"(expected: {', '.join(file for _, file in runbook_files)})")

# Test coverage: a firing case and a quiet case per alert.
rule_files = [os.path.normpath(os.path.join(os.path.dirname(tests_path), p))
              for p in tests_doc.get("rule_files") or []]
if os.path.normpath(rules_path) not in rule_files:
    errors.append(f"{tests_path}: rule_files does not load {os.path.basename(rules_path)}")
firing, quiet = {}, {}
for group in tests_doc.get("tests") or []:
    for case in group.get("alert_rule_test") or []:
        name = case.get("alertname")
        if name not in alerts:
            errors.append(f"test case at {case.get('eval_time')} names alert {name!r}, "
                          "which the rules file does not define")
            continue
        counter = firing if case.get("exp_alerts") else quiet
        counter[name] = counter.get(name, 0) + 1
for name in sorted(alerts):
    if not firing.get(name):
        errors.append(f"alert {name}: no test case where it fires (exp_alerts not empty)")
    if not quiet.get(name):
        errors.append(f"alert {name}: no test case where it does not fire (exp_alerts: [])")

if errors:
    for e in errors:
        print(f"rules_test: FAIL: {e}", file=sys.stderr)
    sys.exit(1)
print(f"rules_test: {len(alerts)} alerts: each with severity, summary, description, runbook_url; "
      f"{sum(firing.values())} firing and {sum(quiet.values())} quiet test cases")
PY

echo "rules_test: OK"
