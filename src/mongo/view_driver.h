#pragma once

#include <memory>
#include <string>

#include "base/result.h"
#include "mongo/view_database.h"

namespace mv::mongo {

// The views database of a MongoDB deployment through libmongoc 1.23 (a client pool of its
// own): ViewDatabase's commands as the driver's bulk writes, cursors and sessions. A thin
// layer; the URI is never logged nor put in an error (it may hold a password).
// Thread-safe.
class MongoViewDatabase final : public ViewDatabase {
 public:
  // Connects lazily: the first command finds out whether the deployment answers.
  static Result<std::unique_ptr<MongoViewDatabase>> Connect(const std::string& uri,
                                                            const std::string& database);
  ~MongoViewDatabase() override;

  Status Transact(const std::vector<Write>& writes) override;
  Status Query(const Document& command, const std::function<Status(Document)>& fn) override;
  Status Snapshot(const std::function<Status(SnapshotReads&)>& fn) override;
  Result<Document> Command(const Document& command) override;

 private:
  struct Pool;
  MongoViewDatabase(std::string database, std::unique_ptr<Pool> pool);
  const std::string database_;
  std::unique_ptr<Pool> pool_;
};

}  // namespace mv::mongo
