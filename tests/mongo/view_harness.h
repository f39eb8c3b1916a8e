#pragma once

// The MongoDB view store under the ViewStore conformance suite.

#include <memory>
#include <stdexcept>
#include <string>

#include "mongo/view_database_fixture.h"
#include "mongo/view_documents.h"
#include "mongo/view_store.h"
#include "storage/view_store_conformance.h"

namespace mv::testing {

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
    Status s =
        db()->Query(mongo::FindCommand(collection, std::move(filter)), [&](mongo::Document d) {
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
