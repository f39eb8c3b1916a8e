#include "storage/sqlite/view_queries.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <set>

#include "base/time.h"
#include "core/carrier_performance_view.h"
#include "core/exception_queue.h"
#include "core/view_set.h"

namespace mv::storage::sqlite {
namespace {

// The exclusive upper bound of the strings that start with `prefix`: 0xFF never occurs
// in UTF-8, so it sorts after every continuation.
std::string PrefixEnd(const std::string& prefix) { return prefix + '\xFF'; }

// The definition of an aggregate view of this release: column names come from its spec.
Result<const core::AggregateViewSpec*> SpecOf(const std::string& view) {
  static const core::ViewSet views = core::ViewSet::Default();
  const core::AggregateView* def = views.FindAggregate(view);
  if (def == nullptr) return Status::Internal("no definition of view " + view);
  return &def->spec();
}

constexpr const char* kDailyMetrics = "mv_daily_metrics";
constexpr const char* kCarrierPerformance = "mv_carrier_performance";
constexpr const char* kCustomerSummary = "mv_customer_summary";

// Columns of mv_customer_summary a page may be sorted by (see CustomerSummaryView).
const std::set<std::string>& CustomerSortColumns() {
  static const std::set<std::string> columns = {
      "customer_id",          "shipments",       "open", "delivered", "exceptions",
      "declared_value_micro", "last_shipment_at"};
  return columns;
}

}  // namespace

Result<std::unique_ptr<ViewQueries>> ViewQueries::Open(const std::string& path) {
  Database::Options options;
  options.cache_size_kib = 16 * 1024;
  MV_ASSIGN_OR_RETURN(auto db, Database::Open(path, options));
  return std::unique_ptr<ViewQueries>(new ViewQueries(std::move(db)));
}

Status ViewQueries::RefreshCatalog() {
  MV_ASSIGN_OR_RETURN(std::int64_t epoch, CatalogEpoch(*db_));
  if (epoch == catalog_epoch_) return Status::Ok();
  auto tables = ReadCatalog(*db_);
  if (!tables.ok() && tables.status().code() != StatusCode::kNotFound) return tables.status();
  tables_ = tables.ok() ? std::move(tables).value() : PhysicalTables{};
  catalog_epoch_ = epoch;
  db_->ForgetStatements();
  return Status::Ok();
}

Result<std::string> ViewQueries::TableOf(const std::string& view) {
  MV_RETURN_IF_ERROR(RefreshCatalog());
  for (const auto& [name, table] : tables_.All()) {
    if (name == view && !table.empty()) return table;
  }
  return Status::NotFound("no view " + view);
}

Result<std::optional<std::int64_t>> ViewQueries::Code(int kind, const std::string& text) {
  std::string key = std::to_string(kind) + text;
  if (auto it = codes_.find(key); it != codes_.end()) return std::optional(it->second);
  MV_ASSIGN_OR_RETURN(Statement * st,
                      db_->Prepare("SELECT code FROM mv_ids WHERE kind = ?1 AND text = ?2"));
  st->Bind(1, kind).Bind(2, text);
  MV_ASSIGN_OR_RETURN(bool found, st->Step());
  if (!found) return std::optional<std::int64_t>();
  std::int64_t code = st->ColumnInt(0);
  st->Reset();
  if (codes_.size() > 100000) codes_.clear();  // bounded; codes are cheap to look up again
  codes_.emplace(std::move(key), code);
  return std::optional(code);
}

Result<core::ChangeToken> ViewQueries::AppliedToken() {
  MV_ASSIGN_OR_RETURN(Statement * st, db_->Prepare("SELECT token FROM mv_checkpoint WHERE id = 1"));
  MV_ASSIGN_OR_RETURN(bool row, st->Step());
  core::ChangeToken token = row ? st->ColumnInt(0) : 0;
  st->Reset();
  return token;
}

Result<std::int64_t> ViewQueries::CodeOrNone(int kind, const std::string& text) {
  MV_ASSIGN_OR_RETURN(auto code, Code(kind, text));
  return code.value_or(-1);
}

Result<AtToken<ShipmentPage>> ViewQueries::ListShipments(const std::string& org,
                                                         const ShipmentFilter& f, size_t limit,
                                                         const std::optional<ListPosition>& after) {
  MV_ASSIGN_OR_RETURN(auto txn, db_->BeginRead());
  MV_ASSIGN_OR_RETURN(std::string table, TableOf("mv_shipment_list"));
  AtToken<ShipmentPage> out;
  // An org, carrier or customer without a code has no rows.
  MV_ASSIGN_OR_RETURN(auto org_code, Code(1, org));
  std::optional<std::int64_t> carrier, customer;
  bool none = !org_code;
  if (!f.carrier_id.empty()) {
    MV_ASSIGN_OR_RETURN(carrier, Code(2, f.carrier_id));
    none = none || !carrier;
  }
  if (!f.customer_id.empty()) {
    MV_ASSIGN_OR_RETURN(customer, Code(3, f.customer_id));
    none = none || !customer;
  }
  if (!none) {
    // Fixed parameter numbers, so the SQL text (and its cached statement) depends only on
    // which filters are present. Values are always bound, never spliced.
    std::string where = "org = ?1";
    if (f.status) where += " AND status = ?2";
    if (carrier) where += " AND carrier = ?3";
    if (customer) where += " AND customer = ?4";
    if (f.sla_status) where += " AND sla = ?5";
    if (f.created_from) where += " AND created_at >= ?6";
    if (f.created_to) where += " AND created_at < ?7";
    // `reference` is COLLATE NOCASE: a case-insensitive prefix range on its index.
    if (!f.reference_prefix.empty()) where += " AND reference >= ?8 AND reference < ?12";
    if (after) where += " AND (created_at, id) < (?9, ?10)";
    MV_ASSIGN_OR_RETURN(Statement * st,
                        db_->Prepare(fmt::format("SELECT row, created_at, id FROM {} WHERE {} "
                                                 "ORDER BY created_at DESC, id DESC LIMIT ?11",
                                                 table, where)));
    st->Bind(1, *org_code);
    if (f.status) st->Bind(2, static_cast<std::int64_t>(*f.status));
    if (carrier) st->Bind(3, *carrier);
    if (customer) st->Bind(4, *customer);
    if (f.sla_status) st->Bind(5, static_cast<std::int64_t>(*f.sla_status));
    if (f.created_from) st->Bind(6, ToMillis(*f.created_from));
    if (f.created_to) st->Bind(7, ToMillis(*f.created_to));
    if (!f.reference_prefix.empty()) {
      st->Bind(8, f.reference_prefix).Bind(12, PrefixEnd(f.reference_prefix));
    }
    if (after) st->Bind(9, ToMillis(after->created_at)).Bind(10, after->id);
    st->Bind(11, static_cast<std::int64_t>(limit + 1));
    ListPosition last;
    for (;;) {
      MV_ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      if (out.value.rows.size() == limit) {
        out.value.next = last;  // there is at least one more row
        break;
      }
      out.value.rows.emplace_back(st->ColumnBlob(0));
      last = {FromMillis(st->ColumnInt(1)), st->ColumnText(2)};
    }
    st->Reset();
  }
  MV_ASSIGN_OR_RETURN(out.token, AppliedToken());
  MV_RETURN_IF_ERROR(txn->Commit());
  return out;
}

Result<AtToken<std::optional<std::string>>> ViewQueries::GetShipment(const std::string& org,
                                                                     const std::string& id) {
  MV_ASSIGN_OR_RETURN(auto txn, db_->BeginRead());
  MV_ASSIGN_OR_RETURN(std::string table, TableOf("mv_shipment_list"));
  AtToken<std::optional<std::string>> out;
  MV_ASSIGN_OR_RETURN(auto org_code, Code(1, org));
  if (org_code) {
    MV_ASSIGN_OR_RETURN(
        Statement * st,
        db_->Prepare(fmt::format("SELECT row FROM {} WHERE org = ?1 AND id = ?2", table)));
    st->Bind(1, *org_code).Bind(2, id);
    MV_ASSIGN_OR_RETURN(bool row, st->Step());
    if (row) out.value = std::string(st->ColumnBlob(0));
    st->Reset();
  }
  MV_ASSIGN_OR_RETURN(out.token, AppliedToken());
  MV_RETURN_IF_ERROR(txn->Commit());
  return out;
}

Result<AtToken<std::vector<AggregateRow>>> ViewQueries::AggregateRows(const std::string& view,
                                                                      const std::string& org) {
  MV_ASSIGN_OR_RETURN(auto txn, db_->BeginRead());
  MV_ASSIGN_OR_RETURN(std::string table, TableOf(view));
  MV_ASSIGN_OR_RETURN(const core::AggregateViewSpec* spec, SpecOf(view));
  AtToken<std::vector<AggregateRow>> out;
  MV_ASSIGN_OR_RETURN(auto org_code, Code(1, org));
  if (org_code) {
    // Key columns after org, then measures, then `_schema_version` (see view_schema.cc).
    std::vector<std::string> keys(spec->key_columns.begin() + 1, spec->key_columns.end());
    std::string select = fmt::format("{}", fmt::join(spec->measure_columns, ", "));
    if (!keys.empty()) select = fmt::format("{}, {}", fmt::join(keys, ", "), select);
    std::string order = keys.empty() ? "org" : fmt::format("{}", fmt::join(keys, ", "));
    MV_ASSIGN_OR_RETURN(
        Statement * st,
        db_->Prepare(fmt::format("SELECT {}, _schema_version FROM {} WHERE org = ?1 ORDER BY {}",
                                 select, table, order)));
    st->Bind(1, *org_code);
    const int k = static_cast<int>(keys.size());
    const int m = static_cast<int>(spec->measure_columns.size());
    for (;;) {
      MV_ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      AggregateRow r;
      r.key.push_back(org);
      for (int i = 0; i < k; ++i) r.key.push_back(st->ColumnText(i));
      r.measures.reserve(static_cast<size_t>(m));
      for (int i = 0; i < m; ++i) r.measures.push_back(st->ColumnInt(k + i));
      r.schema_version = static_cast<int>(st->ColumnInt(k + m));
      out.value.push_back(std::move(r));
    }
    st->Reset();
  }
  MV_ASSIGN_OR_RETURN(out.token, AppliedToken());
  MV_RETURN_IF_ERROR(txn->Commit());
  return out;
}

Result<AtToken<DailyMetricsResult>> ViewQueries::DailyMetrics(const std::string& org,
                                                              const DailyMetricsQuery& q) {
  MV_ASSIGN_OR_RETURN(const core::AggregateViewSpec* spec, SpecOf(kDailyMetrics));
  MV_RETURN_IF_ERROR(api::CheckDailyMetricsGroupBy(*spec, q.group_by));
  MV_ASSIGN_OR_RETURN(auto txn, db_->BeginRead());
  MV_ASSIGN_OR_RETURN(std::string table, TableOf(kDailyMetrics));
  // No dimension kept: grouping by org (constant here) gives one row, or none when
  // nothing matched. The day stands for its period: a week as its Monday, a month as
  // "YYYY-MM" (both sort in time order).
  using Interval = DailyMetricsQuery::Interval;
  std::vector<std::string> columns = q.group_by;
  for (auto& column : columns) {
    if (column != "day") continue;
    if (q.interval == Interval::kWeek) {
      column = "date(day, '-' || ((CAST(strftime('%w', day) AS INTEGER) + 6) % 7) || ' days')";
    } else if (q.interval == Interval::kMonth) {
      column = "substr(day, 1, 7)";
    }
  }
  std::string group = columns.empty() ? "org" : fmt::format("{}", fmt::join(columns, ", "));
  std::string select = columns.empty() ? "" : group + ", ";
  MV_ASSIGN_OR_RETURN(
      Statement * st,
      db_->Prepare(fmt::format(
          "SELECT {}SUM(shipments), SUM(weight_kg_micro), SUM(declared_value_micro) FROM {} "
          "WHERE org = ?1 AND day >= ?2 AND day <= ?3 GROUP BY {} ORDER BY {} LIMIT ?4",
          select, table, group, group)));
  MV_ASSIGN_OR_RETURN(std::int64_t org_code, CodeOrNone(1, org));
  st->Bind(1, org_code).Bind(2, q.from_day).Bind(3, q.to_day);
  st->Bind(4, static_cast<std::int64_t>(q.max_rows + 1));
  AtToken<DailyMetricsResult> out;
  const int n = static_cast<int>(q.group_by.size());
  for (;;) {
    MV_ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) break;
    if (out.value.rows.size() == q.max_rows) {
      out.value.truncated = true;
      break;
    }
    DailyMetricsRow r;
    for (int i = 0; i < n; ++i) {
      std::string value = st->ColumnText(i);
      if (q.group_by[static_cast<size_t>(i)] == "day" && q.interval == Interval::kWeek) {
        auto monday = ParseRfc3339(value + "T00:00:00Z");
        if (!monday) return Status::Corruption("mv_daily_metrics: bad day '" + value + "'");
        value = core::IsoWeek(*monday);
      }
      r.key.push_back(std::move(value));
    }
    r.shipments = st->ColumnInt(n);
    r.weight_kg_micro = st->ColumnInt(n + 1);
    r.declared_value_micro = st->ColumnInt(n + 2);
    out.value.rows.push_back(std::move(r));
  }
  st->Reset();
  MV_ASSIGN_OR_RETURN(out.token, AppliedToken());
  MV_RETURN_IF_ERROR(txn->Commit());
  return out;
}

Result<AtToken<std::vector<AggregateRow>>> ViewQueries::CarrierPerformance(
    const std::string& org, const CarrierPerformanceQuery& q) {
  MV_ASSIGN_OR_RETURN(const core::AggregateViewSpec* spec, SpecOf(kCarrierPerformance));
  MV_ASSIGN_OR_RETURN(auto txn, db_->BeginRead());
  MV_ASSIGN_OR_RETURN(std::string table, TableOf(kCarrierPerformance));
  std::string where = "org = ?1 AND week >= ?2 AND week <= ?3";
  if (!q.carrier_id.empty()) where += " AND carrier_id = ?4";
  MV_ASSIGN_OR_RETURN(
      Statement * st,
      db_->Prepare(fmt::format("SELECT carrier_id, week, {}, _schema_version FROM {} WHERE {} "
                               "ORDER BY carrier_id, week",
                               fmt::join(spec->measure_columns, ", "), table, where)));
  MV_ASSIGN_OR_RETURN(std::int64_t org_code, CodeOrNone(1, org));
  st->Bind(1, org_code).Bind(2, q.from_week).Bind(3, q.to_week);
  if (!q.carrier_id.empty()) st->Bind(4, q.carrier_id);
  AtToken<std::vector<AggregateRow>> out;
  const int measures = static_cast<int>(spec->measure_columns.size());
  for (;;) {
    MV_ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) break;
    AggregateRow r;
    r.key = {st->ColumnText(0), st->ColumnText(1)};
    r.measures.reserve(static_cast<size_t>(measures));
    for (int i = 0; i < measures; ++i) r.measures.push_back(st->ColumnInt(2 + i));
    r.schema_version = static_cast<int>(st->ColumnInt(2 + measures));
    out.value.push_back(std::move(r));
  }
  st->Reset();
  MV_ASSIGN_OR_RETURN(out.token, AppliedToken());
  MV_RETURN_IF_ERROR(txn->Commit());
  return out;
}

Result<AtToken<CustomerPage>> ViewQueries::CustomerSummary(
    const std::string& org, const CustomerSummaryQuery& q,
    const std::optional<CustomerPosition>& after) {
  if (!CustomerSortColumns().count(q.sort_column)) {
    return Status::InvalidArgument("customer summaries cannot be sorted by '" + q.sort_column +
                                   "'");
  }
  MV_ASSIGN_OR_RETURN(auto txn, db_->BeginRead());
  MV_ASSIGN_OR_RETURN(std::string table, TableOf(kCustomerSummary));
  const bool by_id = q.sort_column == "customer_id";
  const char* dir = q.descending ? "DESC" : "ASC";
  const char* cmp = q.descending ? "<" : ">";
  std::string where = "org = ?1";
  if (!q.customer_id.empty()) where += " AND customer_id = ?2";
  if (after) {
    where += by_id ? fmt::format(" AND customer_id {} ?4", cmp)
                   : fmt::format(" AND ({}, customer_id) {} (?3, ?4)", q.sort_column, cmp);
  }
  std::string order = by_id ? fmt::format("customer_id {}", dir)
                            : fmt::format("{0} {1}, customer_id {1}", q.sort_column, dir);
  // The sort value rides along last, so the next position needs no second look-up.
  MV_ASSIGN_OR_RETURN(
      Statement * st,
      db_->Prepare(fmt::format(
          "SELECT customer_id, shipments, open, delivered, exceptions, "
          "declared_value_micro, last_shipment_at, {}, _schema_version FROM {} WHERE {} "
          "ORDER BY {} LIMIT ?5",
          by_id ? "0" : q.sort_column, table, where, order)));
  MV_ASSIGN_OR_RETURN(std::int64_t org_code, CodeOrNone(1, org));
  st->Bind(1, org_code);
  if (!q.customer_id.empty()) st->Bind(2, q.customer_id);
  if (after) st->Bind(3, after->value).Bind(4, after->customer_id);
  st->Bind(5, static_cast<std::int64_t>(q.limit + 1));
  AtToken<CustomerPage> out;
  CustomerPosition last;
  for (;;) {
    MV_ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) break;
    if (out.value.rows.size() == q.limit) {
      out.value.next = last;  // there is at least one more row
      break;
    }
    CustomerSummaryRow r;
    r.customer_id = st->ColumnText(0);
    r.shipments = st->ColumnInt(1);
    r.open = st->ColumnInt(2);
    r.delivered = st->ColumnInt(3);
    r.exceptions = st->ColumnInt(4);
    r.declared_value_micro = st->ColumnInt(5);
    if (!st->ColumnIsNull(6)) r.last_shipment_at = st->ColumnInt(6);
    last = {st->ColumnInt(7), r.customer_id};
    r.schema_version = static_cast<int>(st->ColumnInt(8));
    out.value.rows.push_back(std::move(r));
  }
  st->Reset();
  MV_ASSIGN_OR_RETURN(out.token, AppliedToken());
  MV_RETURN_IF_ERROR(txn->Commit());
  return out;
}

Result<AtToken<ExceptionPage>> ViewQueries::Exceptions(
    const std::string& org, const ExceptionFilter& f, size_t limit,
    const std::optional<ExceptionPosition>& after) {
  MV_ASSIGN_OR_RETURN(auto txn, db_->BeginRead());
  MV_ASSIGN_OR_RETURN(std::string queue, TableOf(core::kExceptionQueueView));
  MV_ASSIGN_OR_RETURN(std::string list, TableOf(core::ViewSet::kShipmentList));
  std::string where = "q.org = ?1";
  if (f.urgency) where += " AND q.urgency = ?2";
  if (!f.carrier_id.empty()) where += " AND l.carrier = ?3";
  if (after) {
    where += " AND (q.urgency, q.promised_sort, q.status_changed_at, q.id) > (?4, ?5, ?6, ?7)";
  }
  MV_ASSIGN_OR_RETURN(Statement * st,
                      db_->Prepare(fmt::format(
                          "SELECT q.urgency, q.promised_sort, q.status_changed_at, q.id, l.row "
                          "FROM {} AS q JOIN {} AS l ON l.org = q.org AND l.id = q.id WHERE {} "
                          "ORDER BY q.urgency, q.promised_sort, q.status_changed_at, q.id LIMIT ?8",
                          queue, list, where)));
  MV_ASSIGN_OR_RETURN(std::int64_t org_code, CodeOrNone(1, org));
  st->Bind(1, org_code);
  if (f.urgency) st->Bind(2, *f.urgency);
  if (!f.carrier_id.empty()) {
    MV_ASSIGN_OR_RETURN(std::int64_t carrier, CodeOrNone(2, f.carrier_id));
    st->Bind(3, carrier);
  }
  if (after) {
    st->Bind(4, after->urgency).Bind(5, after->promised_sort);
    st->Bind(6, after->status_changed_at).Bind(7, after->id);
  }
  st->Bind(8, static_cast<std::int64_t>(limit + 1));
  AtToken<ExceptionPage> out;
  ExceptionPosition last;
  for (;;) {
    MV_ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) break;
    if (out.value.items.size() == limit) {
      out.value.next = last;  // there is at least one more row
      break;
    }
    ExceptionItem item;
    item.urgency = static_cast<int>(st->ColumnInt(0));
    item.reason = core::ToString(static_cast<core::ExceptionReason>(item.urgency));
    item.row = std::string(st->ColumnBlob(4));
    last = {st->ColumnInt(0), st->ColumnInt(1), st->ColumnInt(2), st->ColumnText(3)};
    out.value.items.push_back(std::move(item));
  }
  st->Reset();
  MV_ASSIGN_OR_RETURN(out.token, AppliedToken());
  MV_RETURN_IF_ERROR(txn->Commit());
  return out;
}

Result<ViewQueryPool::Lease> ViewQueryPool::Acquire() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      auto q = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(q));
    }
  }
  MV_ASSIGN_OR_RETURN(auto q, ViewQueries::Open(path_));
  return Lease(this, std::move(q));
}

void ViewQueryPool::Release(std::unique_ptr<ViewQueries> q) {
  std::lock_guard lock(mu_);
  idle_.push_back(std::move(q));
}

Result<AtToken<ShipmentPage>> ViewQueryPool::ListShipments(
    const std::string& org, const ShipmentFilter& filter, size_t limit,
    const std::optional<ListPosition>& after) {
  MV_ASSIGN_OR_RETURN(auto q, Acquire());
  return q->ListShipments(org, filter, limit, after);
}

Result<AtToken<std::optional<std::string>>> ViewQueryPool::GetShipment(const std::string& org,
                                                                       const std::string& id) {
  MV_ASSIGN_OR_RETURN(auto q, Acquire());
  return q->GetShipment(org, id);
}

Result<AtToken<std::vector<AggregateRow>>> ViewQueryPool::AggregateRows(const std::string& view,
                                                                        const std::string& org) {
  MV_ASSIGN_OR_RETURN(auto q, Acquire());
  return q->AggregateRows(view, org);
}

Result<AtToken<DailyMetricsResult>> ViewQueryPool::DailyMetrics(const std::string& org,
                                                                const DailyMetricsQuery& query) {
  MV_ASSIGN_OR_RETURN(auto q, Acquire());
  return q->DailyMetrics(org, query);
}

Result<AtToken<std::vector<AggregateRow>>> ViewQueryPool::CarrierPerformance(
    const std::string& org, const CarrierPerformanceQuery& query) {
  MV_ASSIGN_OR_RETURN(auto q, Acquire());
  return q->CarrierPerformance(org, query);
}

Result<AtToken<CustomerPage>> ViewQueryPool::CustomerSummary(
    const std::string& org, const CustomerSummaryQuery& query,
    const std::optional<CustomerPosition>& after) {
  MV_ASSIGN_OR_RETURN(auto q, Acquire());
  return q->CustomerSummary(org, query, after);
}

Result<AtToken<ExceptionPage>> ViewQueryPool::Exceptions(
    const std::string& org, const ExceptionFilter& filter, size_t limit,
    const std::optional<ExceptionPosition>& after) {
  MV_ASSIGN_OR_RETURN(auto q, Acquire());
  return q->Exceptions(org, filter, limit, after);
}

Result<core::ChangeToken> ViewQueryPool::AppliedToken() {
  MV_ASSIGN_OR_RETURN(auto q, Acquire());
  return q->AppliedToken();
}

}  // namespace mv::storage::sqlite
