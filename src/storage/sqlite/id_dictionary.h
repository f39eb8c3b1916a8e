#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "storage/sqlite/sqlite_db.h"

namespace mv::storage::sqlite {

// Short integer codes for the ids that every index entry of a view repeats (orgs,
// carriers, customers), kept in views.db's `mv_ids` table. A code, once committed, never
// changes meaning, so readers may resolve codes in SQL at any time:
//   org = (SELECT code FROM mv_ids WHERE kind = 1 AND text = ?)
//
// Not thread-safe: belongs to the view store's writer connection. Codes handed out
// inside a transaction become permanent with Commit(); Rollback() forgets them.
class IdDictionary {
 public:
  enum class Kind : int { kOrg = 1, kCarrier = 2, kCustomer = 3 };

  static constexpr const char* kSchema =
      "CREATE TABLE IF NOT EXISTS mv_ids (code INTEGER PRIMARY KEY, kind INTEGER NOT NULL, "
      "text TEXT NOT NULL, UNIQUE (kind, text))";

  explicit IdDictionary(Database* db) : db_(db) {}

  // The code of `text`, created (inside the caller's write transaction) when new.
  Result<std::int64_t> Intern(Kind kind, std::string_view text);
  // The code of `text` if it has one.
  Result<std::optional<std::int64_t>> Find(Kind kind, std::string_view text);
  // The text of `code`; Corruption if there is no such code.
  Result<std::string> Text(std::int64_t code);

  // The caller's transaction committed / rolled back.
  void Commit();
  void Rollback();

 private:
  struct Pending {
    Kind kind;
    std::string text;
    std::int64_t code;
  };
  struct TextHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>()(s);
    }
  };
  using Codes = std::unordered_map<std::string, std::int64_t, TextHash, std::equal_to<>>;
  static constexpr int kKinds = 4;  // indexed by Kind

  Database* db_;
  Codes codes_[kKinds];                                  // committed: text -> code
  std::unordered_map<std::int64_t, std::string> texts_;  // committed: code -> text
  std::vector<Pending> pending_;                         // handed out, not yet committed
  Codes pending_codes_[kKinds];
};

}  // namespace mv::storage::sqlite
