// Scale past one worker: the stream's orgs split over two partition workers, each with its
// change source, snapshots, checkpoint and SLA ticks of its own orgs, writing the same
// MongoDB views; together they hold what one worker computes for the whole stream, also
// after one partition rebuilt its views from a snapshot.

#include "core/partition.h"

#include <gtest/gtest.h>

#include "mongo/view_database_fixture.h"
#include "mongo/view_reader.h"
#include "mongo/view_store.h"
#include "sim/simulator.h"
#include "storage/sqlite/view_queries.h"
#include "test_util.h"
#include "worker/pipeline_fixture.h"

namespace mv::testing {
namespace {

TEST(Partition, OrgsSplitStablyAndEveryOrgHasOnePartition) {
  EXPECT_EQ(core::Partition::HashOf("acme"), core::Partition::HashOf("acme"));
  EXPECT_EQ(core::Partition::HashOf(""), 2166136261u) << "FNV-1a's offset basis";
  std::map<int, int> per_partition;
  for (int i = 0; i < 1000; ++i) {
    std::string org = "org-" + std::to_string(i);
    int owners = 0;
    for (int k = 0; k < 4; ++k) {
      if (core::Partition{k, 4}.Owns(org)) {
        ++owners;
        ++per_partition[k];
      }
    }
    EXPECT_EQ(owners, 1) << org;
  }
  for (const auto& [k, n] : per_partition) EXPECT_GT(n, 150) << "partition " << k;
  EXPECT_EQ((core::Partition{2, 4}).Id(), "p2of4");
  EXPECT_EQ(core::Partition{}.Id(), "stream");
}

// One partition's worker over the shared source.
struct PartitionWorker {
  PartitionWorker(Pipeline& p, mongo::ViewDatabase* db, core::Partition partition)
      : changes_all(Must(p.source().NewChangeSource())),
        changes(changes_all.get(), partition),
        snapshots(&p.source(), partition) {
    mongo::MongoViewStoreOptions options;
    options.partition = partition;
    store = Must(mongo::MongoViewStore::Open(db, &p.views(), &p.clock(), options));
    worker = std::make_unique<worker::StreamWorker>(&changes, &snapshots, store.get(), &p.views(),
                                                    core::ProjectionOptions{}, &p.clock(), nullptr,
                                                    Pipeline::Fast());
  }
  template <typename T>
  static T Must(Result<T> r) {
    if (!r.ok()) throw std::runtime_error(r.status().ToString());
    return std::move(r).value();
  }
  std::unique_ptr<core::ChangeSource> changes_all;
  core::PartitionedChangeSource changes;
  core::PartitionedSourceReader snapshots;
  std::unique_ptr<mongo::MongoViewStore> store;
  std::unique_ptr<worker::StreamWorker> worker;
};

class PartitionedViewsTest : public ::testing::TestWithParam<std::string> {
 protected:
  // Every org's list and aggregates, as the reader answers them.
  void ExpectSameAsOneWorker(const std::string& when) {
    storage::sqlite::ViewQueryPool want(pipeline_.views_path());
    mongo::MongoViewReader got(fixture_.db(), &pipeline_.views());
    for (const auto& org : orgs_) {
      std::optional<api::ListPosition> a, b;
      for (int page = 0; page < 100; ++page) {
        MV_ASSERT_OK_AND_ASSIGN(auto x, want.ListShipments(org, {}, 50, a));
        MV_ASSERT_OK_AND_ASSIGN(auto y, got.ListShipments(org, {}, 50, b));
        ASSERT_EQ(y.value.rows, x.value.rows) << when << ": " << org << " page " << page;
        a = x.value.next;
        b = y.value.next;
        if (!a) break;
      }
      for (const auto& v : pipeline_.views().aggregates()) {
        MV_ASSERT_OK_AND_ASSIGN(auto x, want.AggregateRows(v->spec().name, org));
        MV_ASSERT_OK_AND_ASSIGN(auto y, got.AggregateRows(v->spec().name, org));
        ASSERT_EQ(y.value.size(), x.value.size()) << when << ": " << v->spec().name << " " << org;
        for (size_t i = 0; i < x.value.size(); ++i) {
          EXPECT_EQ(y.value[i].key, x.value[i].key);
          EXPECT_EQ(y.value[i].measures, x.value[i].measures) << when << ": " << v->spec().name;
        }
      }
    }
  }

  Pipeline pipeline_{T("2026-11-01T08:00:00Z")};
  ViewDatabaseFixture fixture_{GetParam()};
  const std::vector<std::string> orgs_ = {"acme", "globex", "initech", "umbrella", "tiny"};
};

INSTANTIATE_TEST_SUITE_P(Mongo, PartitionedViewsTest,
                         ::testing::ValuesIn(ViewDatabaseFixture::Kinds()),
                         [](const auto& info) { return info.param; });

TEST_P(PartitionedViewsTest, TwoPartitionsTogetherHoldWhatOneWorkerComputes) {
  sim::SimulatorOptions options;
  for (const auto& org : orgs_) options.orgs.push_back({org, 3, 40, 1.0});
  sim::Simulator sim(&pipeline_.source(), &pipeline_.clock(), options);
  MV_ASSERT_OK(sim.Seed());
  PartitionWorker p0(pipeline_, fixture_.db(), {0, 2});
  PartitionWorker p1(pipeline_, fixture_.db(), {1, 2});
  int owned0 = 0;
  for (const auto& org : orgs_) owned0 += core::Partition{0, 2}.Owns(org) ? 1 : 0;
  ASSERT_GT(owned0, 0) << "both partitions have orgs";
  ASSERT_LT(owned0, static_cast<int>(orgs_.size()));
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 60; ++i) {
      pipeline_.clock().Advance(Millis(120'000));
      MV_ASSERT_OK(sim.Step());
    }
    pipeline_.clock().Advance(std::chrono::hours(round * 12));
    const core::ChangeToken through = pipeline_.source().committed().Get();
    MV_ASSERT_OK(pipeline_.Drain());
    MV_ASSERT_OK(Pipeline::DrainWorker(*p0.worker, through));
    MV_ASSERT_OK(Pipeline::DrainWorker(*p1.worker, through));
  }
  ExpectSameAsOneWorker("after the stream");
  // Each partition has its own checkpoint; the readers' token is what both applied.
  MV_ASSERT_OK_AND_ASSIGN(auto c0, p0.store->Checkpoint());
  MV_ASSERT_OK_AND_ASSIGN(auto c1, p1.store->Checkpoint());
  EXPECT_EQ(c0, pipeline_.source().committed().Get());
  EXPECT_EQ(c1, pipeline_.source().committed().Get());

  // Partition 0 rebuilds from a snapshot: its orgs are replaced, partition 1's untouched.
  MV_ASSERT_OK_AND_ASSIGN(core::ChangeToken rebuilt, p0.worker->Rebuild());
  EXPECT_GE(rebuilt, c0);
  ExpectSameAsOneWorker("after partition 0 rebuilt");
  // A reconciliation of partition 0 sees only its own orgs, and no drift.
  MV_ASSERT_OK_AND_ASSIGN(auto shadow, p0.store->BeginRebuild());
  MV_ASSERT_OK_AND_ASSIGN(auto orgs, shadow->Orgs());
  EXPECT_EQ(static_cast<int>(orgs.size()), owned0);
  for (const auto& org : orgs) EXPECT_TRUE((core::Partition{0, 2}).Owns(org)) << org;
  // Migrations span every org: refused while the stream is partitioned.
  core::ViewScope next{{"mv_daily_metrics"}, std::nullopt, true};
  EXPECT_EQ(p0.store->BeginRebuild(next).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace mv::testing
