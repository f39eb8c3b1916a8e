#pragma once

// An in-memory MongoDB for the view side's tests: it interprets the commands the view store
// and reader send (insert, update with operators or replacements and upserts, delete, find
// with filters, sorts, limits and projections, aggregate with $match, $sort, $limit,
// $group, $lookup and $unwind, create, collMod and read-only views, drop, createIndexes,
// listCollections, distinct, count) with MongoDB's semantics as documented: values
// compare in BSON type order, numbers across types, embedded documents field by field in
// order; {field: null} matches a missing field; an upsert starts from the filter's
// equality fields. Every document in and out goes through libbson (canonical Extended
// JSON), as the real driver's do. Transactions are all or nothing; Snapshot reads see one
// state. Thread-safe (one lock).

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "mongo/view_database.h"

namespace mv::testing {

class MemoryViewDatabase final : public mongo::ViewDatabase {
 public:
  Status Transact(const std::vector<Write>& writes) override;
  Status Query(const mongo::Document& command,
               const std::function<Status(mongo::Document)>& fn) override;
  Status Snapshot(const std::function<Status(SnapshotReads&)>& fn) override;
  Result<mongo::Document> Command(const mongo::Document& command) override;

  // For tests: every document of a collection (or view), sorted by _id.
  std::vector<mongo::Document> All(const std::string& collection);
  // The view `name` is defined on (empty when it is no view).
  std::string ViewOn(const std::string& name);
  std::vector<std::string> Collections();
  std::vector<mongo::Document> Indexes(const std::string& collection);

  // Injected failures: the next Transact whose commands satisfy `fail_transact` fails
  // (Unavailable) without applying anything; a Command whose name and target satisfy
  // `fail_command` fails the same way.
  std::function<bool(const std::vector<Write>&)> fail_transact;
  std::function<bool(const std::string& command, const std::string& target)> fail_command;
  // Called, under the database's lock, with the writes of every transaction that committed.
  std::function<void(const std::vector<Write>&)> on_commit;
  // Counts, for tests.
  std::int64_t transactions() const { return transactions_; }

 private:
  struct Collection {
    std::map<std::string, mongo::Document> docs;  // by _id (canonical text)
    std::vector<mongo::Document> indexes;
    std::optional<std::string> view_on;  // a read-only view
    mongo::Document pipeline;
  };
  Result<std::vector<mongo::Document>> Read(const mongo::Document& command);
  Result<std::vector<mongo::Document>> ReadCollection(const std::string& name);
  // What a transaction changed, to undo it: each touched collection as it was (nullopt:
  // it did not exist).
  using Undo = std::map<std::string, std::optional<Collection>>;
  Status ApplyWrite(const mongo::Document& command, std::int64_t* n, Undo* undo);

  std::recursive_mutex mu_;
  std::map<std::string, Collection> collections_;
  std::int64_t transactions_ = 0;
};

}  // namespace mv::testing
