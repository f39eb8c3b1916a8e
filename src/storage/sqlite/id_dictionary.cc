#include "storage/sqlite/id_dictionary.h"

#include <fmt/format.h>

namespace mv::storage::sqlite {

Result<std::optional<std::int64_t>> IdDictionary::Find(Kind kind, std::string_view text) {
  const int k = static_cast<int>(kind);
  if (auto it = codes_[k].find(text); it != codes_[k].end()) return std::optional(it->second);
  if (auto it = pending_codes_[k].find(text); it != pending_codes_[k].end()) {
    return std::optional(it->second);
  }
  MV_ASSIGN_OR_RETURN(Statement * st,
                      db_->Prepare("SELECT code FROM mv_ids WHERE kind = ?1 AND text = ?2"));
  st->Bind(1, static_cast<int>(kind)).Bind(2, text);
  MV_ASSIGN_OR_RETURN(bool found, st->Step());
  if (!found) return std::optional<std::int64_t>();
  std::int64_t code = st->ColumnInt(0);
  st->Reset();
  // Found in the database but not in memory: committed by an earlier run.
  codes_[k].emplace(std::string(text), code);
  texts_.emplace(code, std::string(text));
  return std::optional(code);
}

Result<std::int64_t> IdDictionary::Intern(Kind kind, std::string_view text) {
  MV_ASSIGN_OR_RETURN(auto found, Find(kind, text));
  if (found) return *found;
  MV_ASSIGN_OR_RETURN(Statement * st,
                      db_->Prepare("INSERT INTO mv_ids (kind, text) VALUES (?1, ?2)"));
  st->Bind(1, static_cast<int>(kind)).Bind(2, text);
  MV_RETURN_IF_ERROR(st->Run());
  std::int64_t code = db_->LastInsertRowId();
  pending_.push_back({kind, std::string(text), code});
  pending_codes_[static_cast<int>(kind)].emplace(std::string(text), code);
  return code;
}

Result<std::string> IdDictionary::Text(std::int64_t code) {
  if (auto it = texts_.find(code); it != texts_.end()) return it->second;
  for (const Pending& p : pending_) {
    if (p.code == code) return p.text;
  }
  MV_ASSIGN_OR_RETURN(Statement * st,
                      db_->Prepare("SELECT kind, text FROM mv_ids WHERE code = ?1"));
  st->Bind(1, code);
  MV_ASSIGN_OR_RETURN(bool found, st->Step());
  if (!found) return Status::Corruption(fmt::format("views.db: no id with code {}", code));
  auto kind = static_cast<int>(st->ColumnInt(0));
  std::string text = st->ColumnText(1);
  st->Reset();
  if (kind > 0 && kind < kKinds) codes_[kind].emplace(text, code);
  texts_.emplace(code, text);
  return text;
}

void IdDictionary::Commit() {
  for (Pending& p : pending_) {
    codes_[static_cast<int>(p.kind)].emplace(p.text, p.code);
    texts_.emplace(p.code, std::move(p.text));
  }
  Rollback();
}

void IdDictionary::Rollback() {
  pending_.clear();
  for (auto& codes : pending_codes_) codes.clear();
}

}  // namespace mv::storage::sqlite
