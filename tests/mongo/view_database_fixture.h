#pragma once

// The views database of a test: the in-memory MongoDB always, and a real deployment when
// VIYA_MV_MONGODB_URI names a replica set (a database of its own per test, dropped
// afterwards).

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "mongo/memory_view_database.h"
#include "mongo/view_driver.h"

namespace mv::testing {

// The views database of one test: in memory, or a fresh database on the server.
class ViewDatabaseFixture {
 public:
  // "memory" or "server".
  explicit ViewDatabaseFixture(const std::string& kind) {
    if (kind == "memory") {
      memory_ = std::make_unique<MemoryViewDatabase>();
      return;
    }
    static std::atomic<int> counter{0};
    name_ = "viya_mv_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
    auto db = mongo::MongoViewDatabase::Connect(ServerUri(), name_);
    if (!db.ok()) throw std::runtime_error(db.status().ToString());
    server_ = std::move(db).value();
  }
  ~ViewDatabaseFixture() {
    if (server_) (void)server_->Command({{"dropDatabase", 1}});
  }
  mongo::ViewDatabase* db() {
    return memory_ ? static_cast<mongo::ViewDatabase*>(memory_.get()) : server_.get();
  }
  MemoryViewDatabase* memory() { return memory_.get(); }

  static std::string ServerUri() {
    const char* uri = std::getenv("VIYA_MV_MONGODB_URI");
    return uri == nullptr ? "" : uri;
  }
  // The kinds to run: memory, and the server when one is named.
  static std::vector<std::string> Kinds() {
    std::vector<std::string> kinds = {"memory"};
    if (!ServerUri().empty()) kinds.push_back("server");
    return kinds;
  }

 private:
  std::unique_ptr<MemoryViewDatabase> memory_;
  std::unique_ptr<mongo::MongoViewDatabase> server_;
  std::string name_;
};

}  // namespace mv::testing
