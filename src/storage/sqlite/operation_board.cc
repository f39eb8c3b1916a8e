#include "storage/sqlite/operation_board.h"

#include <fmt/format.h>

#include "base/time.h"

namespace mv::storage::sqlite {

using nlohmann::json;

Result<std::unique_ptr<SqliteOperationBoard>> SqliteOperationBoard::Open(const std::string& path,
                                                                         const Clock* clock) {
  MV_ASSIGN_OR_RETURN(auto db, Database::Open(path, {}));
  MV_RETURN_IF_ERROR(
      db->Exec("CREATE TABLE IF NOT EXISTS mv_operations (id TEXT PRIMARY KEY, request TEXT, "
               "taken_by TEXT NOT NULL DEFAULT '', state TEXT, updated_at INTEGER NOT NULL)"));
  return std::unique_ptr<SqliteOperationBoard>(new SqliteOperationBoard(std::move(db), clock));
}

Status SqliteOperationBoard::Request(const json& request) {
  std::lock_guard lock(mu_);
  MV_ASSIGN_OR_RETURN(Statement * st,
                      db_->Prepare("INSERT INTO mv_operations (id, request, updated_at) VALUES "
                                   "(?1, ?2, ?3) ON CONFLICT (id) DO NOTHING"));
  st->Bind(1, request.value("id", "")).Bind(2, request.dump()).Bind(3, ToMillis(clock_->Now()));
  MV_RETURN_IF_ERROR(st->Run());
  if (db_->Changes() == 0) {
    return Status::Conflict("operation " + request.value("id", "") + " exists already");
  }
  return Status::Ok();
}

Result<std::vector<json>> SqliteOperationBoard::TakeRequests(const std::string& partition) {
  std::lock_guard lock(mu_);
  const std::string mark = "|" + partition + "|";
  MV_ASSIGN_OR_RETURN(auto txn, db_->BeginWrite());
  MV_ASSIGN_OR_RETURN(Statement * st,
                      db_->Prepare("SELECT id, request FROM mv_operations WHERE request IS NOT "
                                   "NULL AND instr(taken_by, ?1) = 0 ORDER BY rowid"));
  st->Bind(1, mark);
  std::vector<std::pair<std::string, json>> taken;
  for (;;) {
    MV_ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) break;
    taken.emplace_back(st->ColumnText(0), json::parse(st->ColumnText(1), nullptr, false));
  }
  st->Reset();
  MV_ASSIGN_OR_RETURN(
      Statement * mark_taken,
      db_->Prepare("UPDATE mv_operations SET taken_by = taken_by || ?2 WHERE id = ?1"));
  std::vector<json> out;
  for (auto& [id, request] : taken) {
    mark_taken->Reset();
    mark_taken->Bind(1, id).Bind(2, mark);
    MV_RETURN_IF_ERROR(mark_taken->Run());
    if (request.is_object()) out.push_back(std::move(request));
  }
  MV_RETURN_IF_ERROR(txn->Commit());
  return out;
}

Status SqliteOperationBoard::Publish(const json& state) {
  std::lock_guard lock(mu_);
  MV_ASSIGN_OR_RETURN(Statement * st,
                      db_->Prepare("INSERT INTO mv_operations (id, state, updated_at) VALUES (?1, "
                                   "?2, ?3) ON CONFLICT (id) DO UPDATE SET state = excluded.state, "
                                   "updated_at = excluded.updated_at"));
  st->Bind(1, state.value("id", "")).Bind(2, state.dump()).Bind(3, ToMillis(clock_->Now()));
  return st->Run();
}

Result<std::vector<json>> SqliteOperationBoard::List(size_t limit) {
  std::lock_guard lock(mu_);
  MV_ASSIGN_OR_RETURN(Statement * st,
                      db_->Prepare("SELECT coalesce(state, request) FROM mv_operations ORDER BY "
                                   "rowid DESC LIMIT ?1"));
  st->Bind(1, static_cast<std::int64_t>(limit));
  std::vector<json> out;
  for (;;) {
    MV_ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) break;
    json j = json::parse(st->ColumnText(0), nullptr, false);
    if (j.is_object()) out.push_back(std::move(j));
  }
  st->Reset();
  return out;
}

Result<std::optional<json>> SqliteOperationBoard::Get(const std::string& id) {
  std::lock_guard lock(mu_);
  MV_ASSIGN_OR_RETURN(
      Statement * st,
      db_->Prepare("SELECT coalesce(state, request) FROM mv_operations WHERE id = ?1"));
  st->Bind(1, id);
  MV_ASSIGN_OR_RETURN(bool row, st->Step());
  std::optional<json> out;
  if (row) {
    json j = json::parse(st->ColumnText(0), nullptr, false);
    if (j.is_object()) out = std::move(j);
  }
  st->Reset();
  return out;
}

}  // namespace mv::storage::sqlite
