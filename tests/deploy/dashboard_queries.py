#!/usr/bin/env python3
"""Checks the Grafana dashboard deploy/grafana/viya-mv.json.

    dashboard_queries.py --self-test [--dashboard FILE]
        Structure only, no network: a valid dashboard (unique panel ids, gridPos on every
        panel, inside the 24-column grid and not overlapping, every panel's datasource the
        ${datasource} variable, the template variables, the sections and the metrics the
        dashboard must show).

    dashboard_queries.py --prometheus http://127.0.0.1:9090 [--dashboard FILE] [--require-data]
        The structure, then every panel target's expr (and the annotation queries) against
        Prometheus's /api/v1/query as an instant query, after substituting the template
        variables ($instance and $mv as "All": .*, $__rate_interval 1m, $__interval 15s,
        $__range 1h). Fails when a query does not parse or Prometheus answers an error; with
        --require-data, also when a panel query returns no series.

Exit status 0 when everything passed, 1 when something failed (each failure is listed with
the panel's title, the expression and the error), 2 on bad usage. Python 3 standard
library only.
"""

import argparse
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DASHBOARD = os.path.normpath(os.path.join(HERE, "..", "..", "deploy", "grafana",
                                                  "viya-mv.json"))
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
PANEL_TYPES = {"timeseries", "stat"}

# Grafana's built-in variables, as a query of the dashboard at its default range would see
# them.
BUILTINS = {
    "__rate_interval": "1m",
    "__interval": "15s",
    "__interval_ms": "15000",
    "__range": "1h",
    "__range_s": "3600",
    "__range_ms": "3600000",
}

# Sections the dashboard must have: a row whose title contains each word (any case).
SECTIONS = ["freshness", "throughput", "latency", "error", "jobs", "drift", "http", "per view"]

# Metrics the dashboard must show (a query must name each).
METRICS = [
    "viya_mv_worker_up",
    "viya_mv_change_stream_lag_events",
    "viya_mv_change_stream_lag_seconds",
    "viya_mv_staleness_seconds",
    "viya_mv_staleness_target_seconds",
    "viya_mv_checkpoint_age_seconds",
    "viya_mv_events_applied_total",
    "viya_mv_batches_applied_total",
    "viya_mv_batch_events",
    "viya_mv_write_to_visible_seconds",
    "viya_mv_error_total",
    "viya_mv_dead_letters",
    "viya_mv_job_runs_total",
    "viya_mv_job_consecutive_failures",
    "viya_mv_job_last_success_timestamp_seconds",
    "viya_mv_drift_count",
    "viya_mv_drift_ratio",
    "viya_mv_reconcile_last_run_timestamp_seconds",
    "viya_mv_http_requests_total",
    "viya_mv_http_request_duration_seconds",
    "viya_mv_http_connections",
    "viya_mv_refresh_duration_seconds",
]

# $name, ${name}, ${name:format}, [[name]]; not $1 (a label_replace group reference).
VARIABLE = re.compile(r"\$\{([A-Za-z_]\w*)(?::\w+)?\}|\[\[([A-Za-z_]\w*)\]\]|\$([A-Za-z_]\w*)")


def all_panels(dashboard):
    """Every panel, rows' nested panels (collapsed rows) included."""
    for panel in dashboard.get("panels") or []:
        yield panel
        for inner in panel.get("panels") or []:
            yield inner


def variables(dashboard):
    return {v.get("name"): v for v in (dashboard.get("templating") or {}).get("list") or []}


def substitute(expr, dashboard_vars):
    """The expr with every variable replaced; raises ValueError naming an unknown one."""

    def value(match):
        name = match.group(1) or match.group(2) or match.group(3)
        if name in BUILTINS:
            return BUILTINS[name]
        var = dashboard_vars.get(name)
        if var is None:
            raise ValueError(f"unknown variable ${name}")
        if var.get("type") == "datasource":
            return ""
        if var.get("includeAll"):
            return var.get("allValue") or ".*"
        current = (var.get("current") or {}).get("value")
        if isinstance(current, list):
            current = "|".join(current)
        if not current:
            raise ValueError(f"variable ${name} has no All option and no current value")
        return str(current)

    return VARIABLE.sub(value, expr)


def structure_errors(dashboard):
    errors = []

    def err(where, message):
        errors.append(f"{where}: {message}")

    if not isinstance(dashboard, dict):
        return ["the file is not a JSON object"]
    for key in ("title", "uid", "schemaVersion", "panels", "templating"):
        if key not in dashboard:
            err("dashboard", f"no {key!r}")
    if not isinstance(dashboard.get("schemaVersion"), int) or dashboard["schemaVersion"] < 30:
        err("dashboard", f"schemaVersion {dashboard.get('schemaVersion')!r}: want 30 or later")
    if "__inputs" in dashboard:
        err("dashboard", "has __inputs: use the ${datasource} variable instead")

    dvars = variables(dashboard)
    ds = dvars.get("datasource")
    if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        err("templating", "no variable `datasource` of type datasource with query prometheus")
    for name, metric, label in (("instance", "viya_mv_http_connections", "instance"),
                                ("mv", "viya_mv_refresh_duration_seconds_count", "mv")):
        var = dvars.get(name)
        if not var or var.get("type") != "query":
            err("templating", f"no query variable `{name}`")
            continue
        query = var.get("query")
        if isinstance(query, dict):
            query = query.get("query")
        want = f"label_values({metric}, {label})"
        if (query or "").replace(" ", "") != want.replace(" ", ""):
            err("templating", f"variable `{name}` queries {query!r}, want {want!r}")
        if var.get("datasource") != DATASOURCE:
            err("templating", f"variable `{name}`: datasource {var.get('datasource')!r}, "
                f"want {DATASOURCE}")
    instance = dvars.get("instance") or {}
    if not (instance.get("multi") and instance.get("includeAll")):
        err("templating", "variable `instance` must be multi-value with an All option")

    ids = {}
    rows = []
    boxes = []
    exprs = []
    for panel in all_panels(dashboard):
        title = panel.get("title") or "(untitled)"
        where = f"panel {title!r} (id {panel.get('id')})"
        pid = panel.get("id")
        if not isinstance(pid, int):
            err(where, "no integer id")
        elif pid in ids:
            err(where, f"id {pid} also used by panel {ids[pid]!r}")
        else:
            ids[pid] = title
        grid = panel.get("gridPos")
        if not isinstance(grid, dict) or not all(isinstance(grid.get(k), int)
                                                 for k in ("h", "w", "x", "y")):
            err(where, "no gridPos with integer h, w, x, y")
            grid = None
        elif grid["x"] < 0 or grid["w"] < 1 or grid["h"] < 1 or grid["x"] + grid["w"] > 24:
            err(where, f"gridPos {grid} is outside the 24-column grid")
        if grid:
            boxes.append((where, grid))
        if panel.get("datasource") != DATASOURCE:
            err(where, f"datasource {panel.get('datasource')!r}, want {DATASOURCE}")
        if panel.get("type") == "row":
            rows.append(title.lower())
            continue
        if panel.get("type") not in PANEL_TYPES:
            err(where, f"type {panel.get('type')!r}, want one of {sorted(PANEL_TYPES)}")
        targets = panel.get("targets") or []
        if not targets:
            err(where, "no targets")
        ref_ids = set()
        for target in targets:
            ref = target.get("refId")
            expr = target.get("expr")
            if not ref:
                err(where, "a target has no refId")
            elif ref in ref_ids:
                err(where, f"refId {ref} used twice")
            ref_ids.add(ref)
            if not isinstance(expr, str) or not expr.strip():
                err(where, f"target {ref} has no expr")
                continue
            if "datasource" in target and target["datasource"] != DATASOURCE:
                err(where, f"target {ref}: datasource {target['datasource']!r}, "
                    f"want {DATASOURCE}")
            try:
                substitute(expr, dvars)
            except ValueError as e:
                err(where, f"target {ref}: {e}")
            exprs.append(expr)

    for i, (where_a, a) in enumerate(boxes):
        for where_b, b in boxes[i + 1:]:
            if (a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"]
                    and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"]):
                err(where_a, f"overlaps {where_b}")

    for section in SECTIONS:
        if not any(section in row for row in rows):
            err("dashboard", f"no row whose title contains {section!r} (rows: {rows})")
    text = "\n".join(exprs)
    for metric in METRICS:
        # The name itself, or a histogram's series; not a longer name it begins.
        if not re.search(re.escape(metric) + r"(_bucket|_sum|_count)?(?![a-z_])", text):
            err("dashboard", f"no panel queries {metric}")
    return errors


def queries(dashboard):
    """(where, expr, needs_data) for every panel target and annotation query."""
    out = []
    for panel in all_panels(dashboard):
        if panel.get("type") == "row":
            continue
        for target in panel.get("targets") or []:
            if isinstance(target.get("expr"), str) and target["expr"].strip():
                out.append((f"panel {panel.get('title')!r} target {target.get('refId')}",
                            target["expr"], True))
    for annotation in (dashboard.get("annotations") or {}).get("list") or []:
        if annotation.get("datasource") == DATASOURCE and annotation.get("expr"):
            # Alerts firing: none is the healthy case, so never required to return data.
            out.append((f"annotation {annotation.get('name')!r}", annotation["expr"], False))
    return out


def run_query(base, expr, timeout):
    """(result list, None) or (None, error message); ConnectionError when unreachable."""
    url = base.rstrip("/") + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            body = response.read()
    except urllib.error.HTTPError as e:
        body = e.read()
        try:
            answer = json.loads(body)
            return None, f"HTTP {e.code}: {answer.get('errorType')}: {answer.get('error')}"
        except ValueError:
            return None, f"HTTP {e.code}: {body[:200]!r}"
    except (urllib.error.URLError, OSError) as e:
        raise ConnectionError(f"cannot reach Prometheus at {base}: {e}") from e
    try:
        answer = json.loads(body)
    except ValueError:
        return None, f"not JSON: {body[:200]!r}"
    if answer.get("status") != "success":
        return None, f"{answer.get('errorType')}: {answer.get('error')}"
    data = answer.get("data") or {}
    result = data.get("result")
    if data.get("resultType") in ("scalar", "string"):
        return [result], None
    return result or [], None


def main():
    parser = argparse.ArgumentParser(
        description="Checks the viya-mv Grafana dashboard: its structure, and its queries "
                    "against a Prometheus.")
    parser.add_argument("--dashboard", default=DEFAULT_DASHBOARD,
                        help="the dashboard JSON (default: %(default)s)")
    parser.add_argument("--prometheus", metavar="URL",
                        help="Prometheus base URL, e.g. http://127.0.0.1:9090")
    parser.add_argument("--require-data", action="store_true",
                        help="fail when a panel query returns no series")
    parser.add_argument("--self-test", action="store_true",
                        help="check the dashboard's structure only, without network")
    parser.add_argument("--timeout", type=float, default=10, help="seconds per query")
    args = parser.parse_args()
    if not args.self_test and not args.prometheus:
        parser.error("give --prometheus URL, or --self-test for the structural check only")
    if args.self_test and (args.prometheus or args.require_data):
        parser.error("--self-test runs without Prometheus: drop --prometheus/--require-data")

    try:
        with open(args.dashboard) as f:
            dashboard = json.load(f)
    except (OSError, ValueError) as e:
        print(f"dashboard_queries: FAIL: {args.dashboard}: {e}", file=sys.stderr)
        return 1

    panels = [p for p in all_panels(dashboard) if p.get("type") != "row"]
    errors = structure_errors(dashboard)
    if errors:
        for e in errors:
            print(f"dashboard_queries: FAIL: {e}", file=sys.stderr)
        print(f"dashboard_queries: {args.dashboard}: {len(errors)} structural problems",
              file=sys.stderr)
        return 1
    all_queries = queries(dashboard)
    if args.self_test:
        print(f"dashboard_queries: {len(panels)} panels, {len(all_queries)} queries: "
              "structure OK (no queries run)")
        return 0

    dvars = variables(dashboard)
    failures = []
    empty = 0
    for where, expr, needs_data in all_queries:
        query = substitute(expr, dvars)
        try:
            result, error = run_query(args.prometheus, query, args.timeout)
        except ConnectionError as e:
            print(f"dashboard_queries: FAIL: {e}", file=sys.stderr)
            return 1
        if error is None and not result:
            if not needs_data:
                continue
            empty += 1
            if args.require_data:
                error = "no data (empty result)"
        if error is not None:
            failures.append((where, query, error))
    for where, query, error in failures:
        print(f"dashboard_queries: FAIL: {where}\n    expr: {query}\n    error: {error}",
              file=sys.stderr)
    ok = len(all_queries) - len(failures)
    note = "" if args.require_data or not empty else f" ({empty} returned no data)"
    print(f"dashboard_queries: {len(panels)} panels, {ok}/{len(all_queries)} queries OK{note}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
