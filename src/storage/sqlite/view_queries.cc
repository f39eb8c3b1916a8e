#include "storage/sqlite/view_queries.h"

#include <fmt/format.h>

#include "base/time.h"

namespace mv::storage::sqlite {
namespace {

// The exclusive upper bound of the strings that start with `prefix`: 0xFF never occurs
// in UTF-8, so it sorts after every continuation.
std::string PrefixEnd(const std::string& prefix) { return prefix + '\xFF'; }

}  // namespace

Result<std::unique_ptr<ViewQueries>> ViewQueries::Open(const std::string& path) {
  Database::Options options;
  options.cache_size_kib = 16 * 1024;
  MV_ASSIGN_OR_RETURN(auto db, Database::Open(path, options));
  return std::unique_ptr<ViewQueries>(new ViewQueries(std::move(db)));
}

Result<std::string> ViewQueries::TableOf(const std::string& view) {
  MV_ASSIGN_OR_RETURN(Statement * st,
                      db_->Prepare("SELECT physical_table FROM mv_catalog WHERE view = ?1"));
  st->Bind(1, view);
  MV_ASSIGN_OR_RETURN(bool row, st->Step());
  if (!row) return Status::NotFound("no view " + view);
  std::string table = st->ColumnText(0);
  st->Reset();
  return table;
}

Result<core::ChangeToken> ViewQueries::AppliedToken() {
  MV_ASSIGN_OR_RETURN(Statement * st, db_->Prepare("SELECT token FROM mv_checkpoint WHERE id = 1"));
  MV_ASSIGN_OR_RETURN(bool row, st->Step());
  core::ChangeToken token = row ? st->ColumnInt(0) : 0;
  st->Reset();
  return token;
}

Result<AtToken<ShipmentPage>> ViewQueries::ListShipments(const std::string& org,
                                                         const ShipmentFilter& f, size_t limit,
                                                         const std::optional<ListPosition>& after) {
  MV_ASSIGN_OR_RETURN(auto txn, db_->BeginRead());
  MV_ASSIGN_OR_RETURN(std::string table, TableOf("mv_shipment_list"));
  // Fixed parameter numbers, so the SQL text (and its cached statement) depends only on
  // which filters are present. Values are always bound, never spliced.
  std::string where = "org = ?1";
  if (f.status) where += " AND status = ?2";
  if (!f.carrier_id.empty()) where += " AND carrier_id = ?3";
  if (!f.customer_id.empty()) where += " AND customer_id = ?4";
  if (f.sla_status) where += " AND sla_status = ?5";
  if (f.created_from) where += " AND created_at >= ?6";
  if (f.created_to) where += " AND created_at < ?7";
  // `reference` is COLLATE NOCASE: a case-insensitive prefix range on its index.
  if (!f.reference_prefix.empty()) where += " AND reference >= ?8 AND reference < ?12";
  if (after) where += " AND (created_at, id) < (?9, ?10)";
  MV_ASSIGN_OR_RETURN(Statement * st,
                      db_->Prepare(fmt::format("SELECT row, created_at, id FROM {} WHERE {} "
                                               "ORDER BY created_at DESC, id DESC LIMIT ?11",
                                               table, where)));
  st->Bind(1, org);
  if (f.status) st->Bind(2, core::ToString(*f.status));
  if (!f.carrier_id.empty()) st->Bind(3, f.carrier_id);
  if (!f.customer_id.empty()) st->Bind(4, f.customer_id);
  if (f.sla_status) st->Bind(5, core::ToString(*f.sla_status));
  if (f.created_from) st->Bind(6, ToMillis(*f.created_from));
  if (f.created_to) st->Bind(7, ToMillis(*f.created_to));
  if (!f.reference_prefix.empty()) {
    st->Bind(8, f.reference_prefix).Bind(12, PrefixEnd(f.reference_prefix));
  }
  if (after) st->Bind(9, ToMillis(after->created_at)).Bind(10, after->id);
  st->Bind(11, static_cast<std::int64_t>(limit + 1));
  AtToken<ShipmentPage> out;
  ListPosition last;
  for (;;) {
    MV_ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) break;
    if (out.value.rows.size() == limit) {
      out.value.next = last;  // there is at least one more row
      break;
    }
    out.value.rows.push_back(st->ColumnText(0));
    last = {FromMillis(st->ColumnInt(1)), st->ColumnText(2)};
  }
  st->Reset();
  MV_ASSIGN_OR_RETURN(out.token, AppliedToken());
  MV_RETURN_IF_ERROR(txn->Commit());
  return out;
}

Result<AtToken<std::optional<std::string>>> ViewQueries::GetShipment(const std::string& org,
                                                                     const std::string& id) {
  MV_ASSIGN_OR_RETURN(auto txn, db_->BeginRead());
  MV_ASSIGN_OR_RETURN(std::string table, TableOf("mv_shipment_list"));
  MV_ASSIGN_OR_RETURN(Statement * st, db_->Prepare(fmt::format(
                                          "SELECT row FROM {} WHERE org = ?1 AND id = ?2", table)));
  st->Bind(1, org).Bind(2, id);
  AtToken<std::optional<std::string>> out;
  MV_ASSIGN_OR_RETURN(bool row, st->Step());
  if (row) out.value = st->ColumnText(0);
  st->Reset();
  MV_ASSIGN_OR_RETURN(out.token, AppliedToken());
  MV_RETURN_IF_ERROR(txn->Commit());
  return out;
}

Result<AtToken<std::vector<AggregateRow>>> ViewQueries::AggregateRows(const std::string& view,
                                                                      const std::string& org) {
  MV_ASSIGN_OR_RETURN(auto txn, db_->BeginRead());
  MV_ASSIGN_OR_RETURN(std::string table, TableOf(view));
  // Key columns are TEXT, measures INTEGER, `_schema_version` last (see view_store.cc).
  MV_ASSIGN_OR_RETURN(Statement * info,
                      db_->Prepare("SELECT name, type FROM pragma_table_info(?1) ORDER BY cid"));
  info->Bind(1, table);
  std::vector<std::pair<std::string, bool>> cols;  // name, is key
  for (;;) {
    MV_ASSIGN_OR_RETURN(bool row, info->Step());
    if (!row) break;
    cols.emplace_back(info->ColumnText(0), info->ColumnView(1) == "TEXT");
  }
  info->Reset();
  std::string select, order;
  for (const auto& [name, is_key] : cols) {
    select += (select.empty() ? "" : ", ") + name;
    if (is_key) order += (order.empty() ? "" : ", ") + name;
  }
  MV_ASSIGN_OR_RETURN(Statement * st,
                      db_->Prepare(fmt::format("SELECT {} FROM {} WHERE org = ?1 ORDER BY {}",
                                               select, table, order)));
  st->Bind(1, org);
  AtToken<std::vector<AggregateRow>> out;
  for (;;) {
    MV_ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) break;
    AggregateRow r;
    for (size_t i = 0; i < cols.size(); ++i) {
      if (cols[i].second) {
        r.key.push_back(st->ColumnText(static_cast<int>(i)));
      } else if (cols[i].first == "_schema_version") {
        r.schema_version = static_cast<int>(st->ColumnInt(static_cast<int>(i)));
      } else {
        r.measures.emplace_back(cols[i].first, st->ColumnInt(static_cast<int>(i)));
      }
    }
    out.value.push_back(std::move(r));
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

}  // namespace mv::storage::sqlite
