#!/usr/bin/env bash
# postgres_refresh.sh: the PostgreSQL baseline of our full-rebuild benchmark. Loads the CSVs
# that rebuild_bench writes (--csv=DIR) into a throwaway PostgreSQL 15 cluster, defines
# materialized views of the same shapes as our six views, and times REFRESH MATERIALIZED
# VIEW of each: one warm-up pass (then ANALYZE of the views, so the views built on
# mv_shipment_list are planned with statistics), then three timed passes; prints the
# median total and the size of the views and their indexes per shipment.
#
#   build/release/bench/rebuild_bench --shipments=1000000 --csv=/tmp/pgcsv --dir=/tmp/pgsrc
#   bench/postgres_refresh.sh /tmp/pgcsv
#
# The SLA columns are evaluated at rebuild_bench's fixed clock (BENCH_NOW), not now(), so
# both sides project the same rows. PGBIN overrides where the PostgreSQL binaries are.
set -euo pipefail
export LC_ALL=C

usage() {
  echo "usage: $0 [--keep] CSV_DIR  (CSV_DIR holds shipments.csv and events.csv from" \
    "rebuild_bench --csv=CSV_DIR; --keep keeps the cluster directory)"
}

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
BENCH_NOW=${BENCH_NOW:-2026-12-01T00:00:00Z}
REPS=3
VIEWS=(mv_shipment_list mv_exception_queue mv_realtime_ops mv_daily_metrics
  mv_carrier_performance mv_customer_summary)

keep=0
csv=
for arg in "$@"; do
  case $arg in
    -h | --help) usage; exit 0 ;;
    --keep) keep=1 ;;
    -*) usage >&2; exit 2 ;;
    *)
      [[ -z $csv ]] || { usage >&2; exit 2; }
      csv=$arg
      ;;
  esac
done
[[ -n $csv ]] || { usage >&2; exit 2; }
for f in shipments.csv events.csv; do
  [[ -r $csv/$f ]] || { echo "$0: no readable $csv/$f" >&2; exit 1; }
done
[[ -x $PGBIN/initdb ]] || { echo "$0: no PostgreSQL binaries in $PGBIN" >&2; exit 1; }

# PostgreSQL refuses to run as root: the server runs as the postgres OS user (psql, a
# client over the unix socket, runs as us and reads the CSVs itself).
as_pg() {
  if [[ $EUID -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pg-refresh.XXXXXX")
[[ $EUID -ne 0 ]] || chown postgres: "$tmp"
started=0
port=
cleanup() {
  local rc=$?
  trap - EXIT INT TERM HUP
  if ((started)); then
    as_pg "$PGBIN/pg_ctl" -D "$tmp/data" -m fast -t 60 -w stop >/dev/null 2>&1 ||
      as_pg "$PGBIN/pg_ctl" -D "$tmp/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  if ((rc != 0)) && [[ -s $tmp/server.log ]]; then
    echo "$0: failed; the end of the server log:" >&2
    tail -n 20 "$tmp/server.log" >&2
  fi
  if ((keep)); then
    echo "postgres cluster kept in $tmp/data (start: runuser -u postgres --" \
      "$PGBIN/pg_ctl -D $tmp/data -l $tmp/server.log start; psql -h $tmp -p $port -U postgres)" >&2
  else
    rm -rf "$tmp"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# A port no one listens on (the server opens no TCP socket; the port names its unix socket).
port=$((50000 + RANDOM % 10000))
while [[ -e /tmp/.s.PGSQL.$port ]] ||
  { command -v ss >/dev/null && [[ -n $(ss -Hltn "sport = :$port") ]]; }; do
  port=$((port + 1))
done

as_pg "$PGBIN/initdb" -D "$tmp/data" -U postgres -A trust -E UTF8 --locale=C -N \
  >"$tmp/initdb.log" 2>&1 || { cat "$tmp/initdb.log" >&2; exit 1; }
# Settings for a bulk job on a 2-core, 24 GiB machine; fsync stays on.
cat >>"$tmp/data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$tmp'
port = $port
shared_buffers = 2GB
work_mem = 256MB
maintenance_work_mem = 1GB
max_parallel_workers_per_gather = 2
max_parallel_maintenance_workers = 2
wal_level = minimal
max_wal_senders = 0
synchronous_commit = off
max_wal_size = 8GB       # no forced checkpoints during the load
autovacuum = off         # no background vacuum or analyze between the timed refreshes
timezone = 'UTC'
EOF
started=1
as_pg "$PGBIN/pg_ctl" -D "$tmp/data" -l "$tmp/server.log" -t 120 -w start >/dev/null

pg() {
  "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$tmp" -p "$port" -U postgres -d postgres "$@"
}
clock() { printf '%s' "$EPOCHREALTIME"; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }'; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# --- Load --------------------------------------------------------------------------------

t_load=$(clock)
pg <<'SQL'
CREATE TABLE shipments (
  org                  text NOT NULL,
  id                   text NOT NULL,
  reference            text,
  customer_id          text,
  carrier_id           text,
  service              text,
  status               text NOT NULL,
  status_changed_at    timestamptz,
  origin_country       text,
  destination_country  text,
  weight_kg            double precision,
  declared_value       numeric(14, 2),
  created_at           timestamptz NOT NULL,
  promised_delivery_at timestamptz
);
CREATE TABLE tracking_events (
  org         text NOT NULL,
  carrier_id  text NOT NULL,
  event_id    text NOT NULL,
  shipment_id text NOT NULL,
  code        text NOT NULL,
  occurred_at timestamptz NOT NULL,
  location    text
);
SQL
# CSV format reads an empty unquoted field as NULL. FREEZE (the table is truncated in the
# same transaction) writes the rows frozen and all-visible, so no vacuum has to revisit them.
t=$(clock)
pg -1 -c 'TRUNCATE shipments' -c 'COPY shipments FROM STDIN (FORMAT csv, FREEZE)' \
  <"$csv/shipments.csv"
pg -1 -c 'TRUNCATE tracking_events' -c 'COPY tracking_events FROM STDIN (FORMAT csv, FREEZE)' \
  <"$csv/events.csv"
t_copy=$(since "$t")
t=$(clock)
pg <<'SQL'
ALTER TABLE shipments ADD PRIMARY KEY (org, id);
ALTER TABLE tracking_events ADD PRIMARY KEY (org, carrier_id, event_id);
CREATE INDEX tracking_events_by_shipment ON tracking_events (org, shipment_id, occurred_at);
SQL
t_keys=$(since "$t")
t=$(clock)
pg -c 'VACUUM (ANALYZE) shipments, tracking_events'
t_analyze=$(since "$t")
t_load=$(since "$t_load")

read -r version shipments events tables_mb < <(pg -At -F ' ' -c "
  SELECT split_part(current_setting('server_version'), ' ', 1), (SELECT count(*) FROM shipments),
         (SELECT count(*) FROM tracking_events),
         round((pg_total_relation_size('shipments')
                + pg_total_relation_size('tracking_events')) / 1e6)")
((shipments > 0)) || { echo "$0: $csv/shipments.csv has no rows" >&2; exit 1; }
echo "postgres $version: $shipments shipments, $events tracking events from $csv"
echo "postgres load: $t_load s (copy $t_copy s, keys and index $t_keys s," \
  "vacuum analyze $t_analyze s); tables with indexes $tables_mb MB"

# --- Views -------------------------------------------------------------------------------
# The same shapes as ours: the list is the per-shipment projection (the one join of
# shipments with their events), and the other five are computed from it, as our
# aggregates and exception queue are computed from the projected rows.

pg -v now="$BENCH_NOW" <<'SQL'
-- One row per shipment: the document, a summary of its tracking events (first pickup, out
-- for delivery and delivery scans; the latest scan), the current status (the latest
-- mapped scan wins over an older document status, as in our projection) and the SLA at
-- :now: unknown without a promise, on_time or late once delivered, late past the
-- promise, at_risk within 4 hours of it or in exception, else on_time.
CREATE MATERIALIZED VIEW mv_shipment_list AS
WITH ev AS (
  SELECT org, shipment_id, carrier_id, event_id, code, location, occurred_at,
         CASE upper(code)
           WHEN 'PU' THEN 'picked_up' WHEN 'PICKED_UP' THEN 'picked_up'
           WHEN 'PICKUP' THEN 'picked_up'
           WHEN 'IT' THEN 'in_transit' WHEN 'IN_TRANSIT' THEN 'in_transit'
           WHEN 'DEP' THEN 'in_transit' WHEN 'ARR' THEN 'in_transit'
           WHEN 'OFD' THEN 'out_for_delivery' WHEN 'OUT_FOR_DELIVERY' THEN 'out_for_delivery'
           WHEN 'DL' THEN 'delivered' WHEN 'DELIVERED' THEN 'delivered'
           WHEN 'POD' THEN 'delivered'
           WHEN 'EX' THEN 'exception' WHEN 'EXCEPTION' THEN 'exception'
           WHEN 'DELAY' THEN 'exception' WHEN 'DAMAGED' THEN 'exception'
           WHEN 'FAILED_ATTEMPT' THEN 'exception'
           WHEN 'RT' THEN 'returned' WHEN 'RETURNED' THEN 'returned'
           WHEN 'CX' THEN 'cancelled' WHEN 'CANCELLED' THEN 'cancelled'
         END AS mapped
  FROM tracking_events
), summary AS (
  SELECT org, shipment_id,
         min(occurred_at) FILTER (WHERE mapped = 'picked_up') AS picked_up_at,
         min(occurred_at) FILTER (WHERE mapped = 'out_for_delivery') AS out_for_delivery_at,
         min(occurred_at) FILTER (WHERE mapped = 'delivered') AS delivered_at,
         max(occurred_at) AS last_event_at,
         (array_agg(code ORDER BY occurred_at DESC, carrier_id DESC, event_id DESC))[1]
           AS last_event_code,
         (array_agg(location ORDER BY occurred_at DESC, carrier_id DESC, event_id DESC))[1]
           AS last_event_location,
         max(occurred_at) FILTER (WHERE mapped IS NOT NULL) AS last_mapped_at,
         (array_agg(mapped ORDER BY occurred_at DESC, carrier_id DESC, event_id DESC)
            FILTER (WHERE mapped IS NOT NULL))[1] AS last_mapped_status
  FROM ev
  GROUP BY org, shipment_id
)
SELECT s.org, s.id, s.reference, s.customer_id, s.carrier_id, s.service,
       cur.status, cur.status_changed_at,
       s.origin_country, s.destination_country, s.weight_kg, s.declared_value,
       s.created_at, s.promised_delivery_at,
       t.picked_up_at, t.out_for_delivery_at, del.delivered_at,
       t.last_event_code, t.last_event_at, t.last_event_location,
       CASE
         WHEN s.promised_delivery_at IS NULL THEN 'unknown'
         WHEN cur.status = 'delivered' THEN
           CASE WHEN del.delivered_at > s.promised_delivery_at THEN 'late' ELSE 'on_time' END
         WHEN cur.status IN ('returned', 'cancelled') THEN 'unknown'
         WHEN timestamptz :'now' >= s.promised_delivery_at THEN 'late'
         WHEN cur.status = 'exception'
              OR timestamptz :'now' >= s.promised_delivery_at - interval '4 hours' THEN 'at_risk'
         ELSE 'on_time'
       END AS sla
FROM shipments s
LEFT JOIN summary t ON t.org = s.org AND t.shipment_id = s.id
CROSS JOIN LATERAL (
  SELECT CASE WHEN t.last_mapped_at > coalesce(s.status_changed_at, s.created_at)
              THEN t.last_mapped_status ELSE s.status END AS status,
         CASE WHEN t.last_mapped_at > coalesce(s.status_changed_at, s.created_at)
              THEN t.last_mapped_at ELSE coalesce(s.status_changed_at, s.created_at) END
           AS status_changed_at) cur
CROSS JOIN LATERAL (
  SELECT coalesce(t.delivered_at,
                  CASE WHEN cur.status = 'delivered' THEN cur.status_changed_at END)
           AS delivered_at) del
WITH NO DATA;
-- Our list: the key plus seven secondary indexes (ours indexes the SLA's next change, a
-- time close to the promise; this one the promise).
CREATE UNIQUE INDEX ON mv_shipment_list (org, id);
CREATE INDEX ON mv_shipment_list (org, created_at);
CREATE INDEX ON mv_shipment_list (org, status, created_at);
CREATE INDEX ON mv_shipment_list (org, customer_id, created_at);
CREATE INDEX ON mv_shipment_list (org, carrier_id, created_at);
CREATE INDEX ON mv_shipment_list (org, sla, created_at);
CREATE INDEX ON mv_shipment_list (org, reference);
CREATE INDEX ON mv_shipment_list (promised_delivery_at);

-- Open shipments that need attention, by urgency as ours numbers it: past the promise (1),
-- in exception (2), within 4 hours of the promise (3). Like ours, the queue leaves out delivered, returned
-- and cancelled shipments (a delivered late shipment is a statistic, not a task).
CREATE MATERIALIZED VIEW mv_exception_queue AS
SELECT org, id,
       CASE WHEN sla = 'late' THEN 1 WHEN status = 'exception' THEN 2 ELSE 3 END AS urgency,
       promised_delivery_at, status_changed_at
FROM mv_shipment_list
WHERE status NOT IN ('delivered', 'returned', 'cancelled')
  AND (status = 'exception' OR sla IN ('late', 'at_risk'))
WITH NO DATA;
CREATE UNIQUE INDEX ON mv_exception_queue (org, id);
CREATE INDEX ON mv_exception_queue (org, urgency, promised_delivery_at);

-- Per org: shipments by status, and the open, at-risk, late and exception counts.
CREATE MATERIALIZED VIEW mv_realtime_ops AS
SELECT org,
       count(*) AS shipments,
       count(*) FILTER (WHERE status = 'booked') AS status_booked,
       count(*) FILTER (WHERE status = 'picked_up') AS status_picked_up,
       count(*) FILTER (WHERE status = 'in_transit') AS status_in_transit,
       count(*) FILTER (WHERE status = 'out_for_delivery') AS status_out_for_delivery,
       count(*) FILTER (WHERE status = 'delivered') AS status_delivered,
       count(*) FILTER (WHERE status = 'exception') AS status_exception,
       count(*) FILTER (WHERE status = 'returned') AS status_returned,
       count(*) FILTER (WHERE status = 'cancelled') AS status_cancelled,
       count(*) FILTER (WHERE status NOT IN ('delivered', 'returned', 'cancelled')) AS open,
       count(*) FILTER (WHERE status NOT IN ('delivered', 'returned', 'cancelled')
                          AND sla = 'at_risk') AS at_risk,
       count(*) FILTER (WHERE status NOT IN ('delivered', 'returned', 'cancelled')
                          AND sla = 'late') AS late,
       count(*) FILTER (WHERE status = 'exception') AS exceptions
FROM mv_shipment_list
GROUP BY org
WITH NO DATA;
CREATE UNIQUE INDEX ON mv_realtime_ops (org);

-- Per org, day created (UTC), carrier, service, lane and current status: shipments,
-- weight and declared value.
CREATE MATERIALIZED VIEW mv_daily_metrics AS
SELECT org, (created_at AT TIME ZONE 'UTC')::date AS day, carrier_id, service,
       origin_country, destination_country, status,
       count(*) AS shipments, sum(weight_kg) AS weight_kg, sum(declared_value) AS declared_value
FROM mv_shipment_list
GROUP BY 1, 2, 3, 4, 5, 6, 7
WITH NO DATA;
CREATE UNIQUE INDEX ON mv_daily_metrics
  (org, day, carrier_id, service, origin_country, destination_country, status)
  NULLS NOT DISTINCT;

-- Per org, carrier and ISO week of pickup: shipped, delivered, delivered by the promise,
-- and transit (pickup to delivery) percentiles in hours. Ours keeps log-bucket counts and
-- reads percentiles off them; percentile_cont sorts the transits of each group.
CREATE MATERIALIZED VIEW mv_carrier_performance AS
SELECT org, carrier_id, week, shipped, delivered, delivered_on_time,
       p[1] AS p50_transit_hours, p[2] AS p90_transit_hours, p[3] AS p95_transit_hours
FROM (
  SELECT org, carrier_id, to_char(picked_up_at AT TIME ZONE 'UTC', 'IYYY-"W"IW') AS week,
         count(*) AS shipped,
         count(delivered_at) AS delivered,
         count(*) FILTER (WHERE delivered_at <= promised_delivery_at) AS delivered_on_time,
         percentile_cont(ARRAY[0.5, 0.9, 0.95]) WITHIN GROUP (
           ORDER BY date_part('epoch', delivered_at - picked_up_at) / 3600) AS p
  FROM mv_shipment_list
  WHERE picked_up_at IS NOT NULL
  GROUP BY 1, 2, 3
) g
WITH NO DATA;
CREATE UNIQUE INDEX ON mv_carrier_performance (org, carrier_id, week);

-- Per org and customer: shipments, open, delivered, exceptions, declared value and the
-- latest shipment; the key plus ours' four ranking indexes.
CREATE MATERIALIZED VIEW mv_customer_summary AS
SELECT org, customer_id,
       count(*) AS shipments,
       count(*) FILTER (WHERE status NOT IN ('delivered', 'returned', 'cancelled')) AS open,
       count(*) FILTER (WHERE status = 'delivered') AS delivered,
       count(*) FILTER (WHERE status = 'exception') AS exceptions,
       sum(declared_value) AS declared_value,
       max(created_at) AS last_shipment_at
FROM mv_shipment_list
GROUP BY org, customer_id
WITH NO DATA;
CREATE UNIQUE INDEX ON mv_customer_summary (org, customer_id) NULLS NOT DISTINCT;
CREATE INDEX ON mv_customer_summary (org, shipments, customer_id);
CREATE INDEX ON mv_customer_summary (org, open, customer_id);
CREATE INDEX ON mv_customer_summary (org, declared_value, customer_id);
CREATE INDEX ON mv_customer_summary (org, last_shipment_at, customer_id);
SQL

# --- Refresh -----------------------------------------------------------------------------

# Refreshes the views in order, each its own transaction, and prints their times in seconds.
refresh_all() {
  local sql='\timing on'$'\n'
  for v in "${VIEWS[@]}"; do sql+="REFRESH MATERIALIZED VIEW $v;"$'\n'; done
  pg <<<"$sql" | awk '/^Time: / { printf "%.3f\n", $2 / 1000 }'
}
sum() { printf '%s\n' "$@" | awk '{ s += $1 } END { printf "%.2f", s }'; }

mapfile -t warm < <(refresh_all)
((${#warm[@]} == ${#VIEWS[@]})) || { echo "$0: expected ${#VIEWS[@]} timings" >&2; exit 1; }
pg -c "ANALYZE $(IFS=,; echo "${VIEWS[*]}")"
echo "postgres warm-up refresh: $(sum "${warm[@]}") s (${VIEWS[0]} ${warm[0]} s)," \
  "then ANALYZE of the views"

declare -A times
totals=()
for ((rep = 1; rep <= REPS; rep++)); do
  mapfile -t secs < <(refresh_all)
  ((${#secs[@]} == ${#VIEWS[@]})) || { echo "$0: expected ${#VIEWS[@]} timings" >&2; exit 1; }
  for i in "${!VIEWS[@]}"; do times[${VIEWS[$i]}]+=" ${secs[$i]}"; done
  totals+=("$(sum "${secs[@]}")")
done

size_sql=
for v in "${VIEWS[@]}"; do size_sql+="SELECT '$v', pg_total_relation_size('$v') UNION ALL "; done
size_sql+="SELECT 'all', sum(pg_total_relation_size(c.oid)) FROM pg_class c WHERE c.relkind = 'm'"
declare -A bytes
while read -r name n; do bytes[$name]=$n; done < <(pg -At -F ' ' -c "$size_sql")

for v in "${VIEWS[@]}"; do
  read -ra t <<<"${times[$v]}"
  printf 'postgres view %s: %s s, median %s s, %.1f MB\n' "$v" "${t[*]}" "$(median "${t[@]}")" \
    "$(awk -v b="${bytes[$v]}" 'BEGIN { print b / 1e6 }')"
done
awk -v t="$(median "${totals[@]}")" -v all="${totals[*]}" -v b="${bytes[all]}" -v n="$shipments" \
  -v r="$REPS" 'BEGIN { printf "postgres refresh: total %.2f s (median of %d: %s s), " \
    "views %.0f MB = %.0f B per shipment\n", t, r, all, b / 1e6, b / n }'
