#include "storage/sqlite/dead_letter_store.h"

#include <fmt/format.h>

#include "base/time.h"

namespace mv::storage::sqlite {
namespace {

constexpr const char* kColumns =
    "id, token, collection, org, document_id, reason, coalesce(document, ''), created_at";

StoredDeadLetter Read(const Statement& st) {
  StoredDeadLetter d;
  d.id = st.ColumnInt(0);
  d.letter.token = st.ColumnInt(1);
  d.letter.collection =
      core::ParseCollection(st.ColumnText(2)).value_or(core::Collection::kShipments);
  d.letter.org = st.ColumnText(3);
  d.letter.document_id = st.ColumnText(4);
  d.letter.reason = st.ColumnText(5);
  d.letter.document = st.ColumnText(6);
  d.created_at = FromMillis(st.ColumnInt(7));
  return d;
}

}  // namespace

Result<std::unique_ptr<DeadLetterStore>> DeadLetterStore::Open(const std::string& path) {
  MV_ASSIGN_OR_RETURN(auto db, Database::Open(path, {}));
  return std::unique_ptr<DeadLetterStore>(new DeadLetterStore(std::move(db)));
}

Result<std::vector<StoredDeadLetter>> DeadLetterStore::List(size_t limit) {
  std::lock_guard lock(mu_);
  MV_ASSIGN_OR_RETURN(Statement * st,
                      db_->Prepare(fmt::format("SELECT {} FROM mv_dead_letters ORDER BY id DESC "
                                               "LIMIT ?1",
                                               kColumns)));
  st->Bind(1, static_cast<std::int64_t>(limit));
  std::vector<StoredDeadLetter> out;
  for (;;) {
    MV_ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) break;
    out.push_back(Read(*st));
  }
  st->Reset();
  return out;
}

Result<std::int64_t> DeadLetterStore::Count() {
  std::lock_guard lock(mu_);
  MV_ASSIGN_OR_RETURN(Statement * st, db_->Prepare("SELECT count(*) FROM mv_dead_letters"));
  MV_ASSIGN_OR_RETURN(bool row, st->Step());
  std::int64_t n = row ? st->ColumnInt(0) : 0;
  st->Reset();
  return n;
}

Result<std::optional<StoredDeadLetter>> DeadLetterStore::Get(std::int64_t id) {
  std::lock_guard lock(mu_);
  MV_ASSIGN_OR_RETURN(
      Statement * st,
      db_->Prepare(fmt::format("SELECT {} FROM mv_dead_letters WHERE id = ?1", kColumns)));
  st->Bind(1, id);
  MV_ASSIGN_OR_RETURN(bool row, st->Step());
  std::optional<StoredDeadLetter> out;
  if (row) out = Read(*st);
  st->Reset();
  return out;
}

Status DeadLetterStore::Remove(std::int64_t id) {
  std::lock_guard lock(mu_);
  MV_ASSIGN_OR_RETURN(Statement * st, db_->Prepare("DELETE FROM mv_dead_letters WHERE id = ?1"));
  st->Bind(1, id);
  MV_RETURN_IF_ERROR(st->Run());
  if (db_->Changes() == 0) return Status::NotFound(fmt::format("no dead letter {}", id));
  return Status::Ok();
}

}  // namespace mv::storage::sqlite
