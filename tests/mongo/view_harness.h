#pragma once

// The MongoDB view store under test: over the in-memory MongoDB always, and over a real
// deployment when VIYA_MV_MONGODB_URI names a replica set (a database of its own per
// test, dropped afterwards).

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>

#include "mongo/memory_view_database.h"
#include "mongo/view_documents.h"
#include "mongo/view_driver.h"
#include "mongo/view_store.h"
#include "storage/view_store_conformance.h"

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

class MongoHarness final : public ViewStoreHarness {
 public:
  MongoHarness(const std::string& kind, const core::ViewSet* views, const Clock* clock,
               mongo::MongoViewStoreOptions options = {})
      : fixture_(kind), views_(views) {
    auto store = mongo::MongoViewStore::Open(fixture_.db(), views, clock, std::move(options));
    if (!store.ok()) throw std::runtime_error(store.status().ToString());
    store_ = std::move(store).value();
  }
  core::ViewStore* store() override { return store_.get(); }
  mongo::MongoViewStore& mongo_store() { return *store_; }
  mongo::ViewDatabase* db() { return fixture_.db(); }
  ViewDatabaseFixture& fixture() { return fixture_; }

  std::vector<mongo::Document> Docs(const std::string& collection, mongo::Document filter) {
    std::vector<mongo::Document> out;
    Status s = db()->Query(mongo::FindCommand(collection, std::move(filter)),
                           [&](mongo::Document d) {
                             out.push_back(std::move(d));
                             return Status::Ok();
                           });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }

  AggregateTable Aggregate(const std::string& view, const std::string& org) override {
    std::string collection = store_->live().Of(view);
    const core::AggregateViewSpec* spec =
        mongo::SpecOf(*views_, view, store_->live().VersionOf(*views_, view));
    AggregateTable out;
    if (spec == nullptr) return out;
    for (const auto& doc : Docs(collection, {{"organizationId", org}})) {
      auto v = mongo::AggregateValuesOf(*spec, doc);
      EXPECT_TRUE(v.ok()) << v.status().ToString();
      if (!v.ok()) continue;
      std::vector<std::int64_t> values = v->measures;
      for (const auto& m : v->maxima) values.push_back(m.value_or(kNoValue));
      out[v->key] = values;
    }
    return out;
  }
  std::map<std::string, core::ExceptionEntry> Exceptions(const std::string& org) override {
    std::map<std::string, core::ExceptionEntry> out;
    for (const auto& doc : Docs(store_->live().exception_queue, {{"organizationId", org}})) {
      auto row = mongo::ExceptionRowOf(doc);
      EXPECT_TRUE(row.ok()) << row.status().ToString();
      if (row.ok()) out[row->key.id] = row->entry;
    }
    return out;
  }

 private:
  ViewDatabaseFixture fixture_;
  const core::ViewSet* views_;
  std::unique_ptr<mongo::MongoViewStore> store_;
};

}  // namespace mv::testing
