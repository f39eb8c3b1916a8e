// The lease of a stream partition: two workers of one partition never both apply a batch.

#include "mongo/lease.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "mongo/memory_view_database.h"
#include "mongo/view_documents.h"
#include "mongo/view_store.h"
#include "test_util.h"

namespace mv::testing {
namespace {

using mongo::Document;

core::ShipmentRow Row(const std::string& id) {
  core::Shipment s;
  s.id = id;
  s.status = core::ShipmentStatus::kBooked;
  s.created_at = T("2026-11-01T10:00:00Z");
  return core::Project("acme", s, T("2026-11-02T12:00:00Z"), core::ProjectionOptions{});
}

// A worker: its lease and its view store fenced by it.
struct Worker {
  Worker(MemoryViewDatabase* db, const core::ViewSet* views, const Clock* clock, std::string owner)
      : lease(db, clock, {"stream", owner, Millis(10000)}) {
    auto s = mongo::MongoViewStore::Open(db, views, clock, {});
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    store = std::move(s).value();
    store->SetFence([this] { return std::optional(lease.Fence()); });
  }
  Status Apply(const std::string& id, core::ChangeToken token) {
    core::ViewBatch b;
    b.list_upserts = {Row(id)};
    b.token = token;
    return store->Apply(b);
  }
  mongo::MongoLease lease;
  std::unique_ptr<mongo::MongoViewStore> store;
};

TEST(MongoLease, AHolderWritesTheOtherWaitsAndALapsedLeaseFencesItsFormerHolderOut) {
  MemoryViewDatabase db;
  const core::ViewSet views = core::ViewSet::Default();
  ManualClock clock(T("2026-11-02T12:00:00Z"));
  Worker a(&db, &views, &clock, "host-a:1:aa");
  Worker b(&db, &views, &clock, "host-b:2:bb");
  MV_ASSERT_OK_AND_ASSIGN(bool a_holds, a.lease.TryAcquire());
  EXPECT_TRUE(a_holds);
  MV_ASSERT_OK_AND_ASSIGN(bool b_holds, b.lease.TryAcquire());
  EXPECT_FALSE(b_holds);
  EXPECT_NE(b.lease.holder().find("host-a:1:aa"), std::string::npos) << b.lease.holder();
  MV_ASSERT_OK(a.Apply("S-a1", 1));
  EXPECT_EQ(b.Apply("S-b1", 2).code(), StatusCode::kConflict) << "not its lease";

  // A stops renewing: once the lease lapsed, A's batches fail even before B takes it.
  clock.Advance(Millis(10001));
  EXPECT_EQ(a.Apply("S-a2", 3).code(), StatusCode::kConflict);
  MV_ASSERT_OK_AND_ASSIGN(b_holds, b.lease.TryAcquire());
  EXPECT_TRUE(b_holds);
  EXPECT_GT(b.lease.epoch(), a.lease.epoch());
  MV_ASSERT_OK(b.Apply("S-b2", 4));
  EXPECT_EQ(a.lease.Renew().code(), StatusCode::kConflict) << "A learns it lost the lease";
  EXPECT_FALSE(a.lease.held());
  MV_ASSERT_OK_AND_ASSIGN(a_holds, a.lease.TryAcquire());
  EXPECT_FALSE(a_holds);

  // A graceful stop releases it at once.
  MV_ASSERT_OK(b.lease.Release());
  MV_ASSERT_OK_AND_ASSIGN(a_holds, a.lease.TryAcquire());
  EXPECT_TRUE(a_holds);
  auto list = db.All(a.store->live().shipment_list);
  std::vector<std::string> ids;
  for (const auto& d : list) ids.push_back(d["id"].get<std::string>());
  EXPECT_EQ(ids, (std::vector<std::string>{"S-a1", "S-b2"}));
}

// Workers racing for one partition's lease while the clock runs out from under them: the
// committed batches, in commit order, have one owner per epoch and epochs never go back.
TEST(MongoLease, RacingWorkersNeverBothApplyBatchesOfOneEpoch) {
  MemoryViewDatabase db;
  const core::ViewSet views = core::ViewSet::Default();
  ManualClock clock(T("2026-11-02T12:00:00Z"));
  std::vector<std::pair<std::string, std::int64_t>> committed;  // owner, epoch
  std::mutex committed_mu;
  db.on_commit = [&](const std::vector<mongo::ViewDatabase::Write>& writes) {
    std::lock_guard lock(committed_mu);
    for (const auto& w : writes) {
      const Document& c = w.command;
      if (c.begin().key() != "update" || c.begin().value() != mongo::kLeases) continue;
      const Document& q = c["updates"][0]["q"];
      if (!q.contains("lastWriteAt") && c["updates"][0]["u"]["$set"].contains("lastWriteAt")) {
        auto epoch = mongo::ReadInt64(q["epoch"]);
        committed.emplace_back(q["owner"].get<std::string>(), epoch.ok() ? *epoch : -2);
      }
    }
  };
  std::vector<std::unique_ptr<Worker>> workers;
  for (int i = 0; i < 3; ++i) {
    workers.push_back(std::make_unique<Worker>(&db, &views, &clock, fmt::format("w{}", i)));
  }
  std::atomic<bool> stop{false};
  std::atomic<int> applied{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&, i] {
      Worker& w = *workers[static_cast<size_t>(i)];
      for (int n = 0; !stop.load(); ++n) {
        auto held = w.lease.TryAcquire();
        if (held.ok() && *held && w.Apply(fmt::format("S-{}-{}", i, n), n + 1).ok()) ++applied;
        std::this_thread::yield();
      }
    });
  }
  // The clock moves on once a batch committed (or after a while), now and then past a
  // lease's life, until enough batches committed across enough takeovers: how fast the
  // machine runs changes how long this takes, not what it shows.
  std::atomic<int> epochs_seen{0};
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  for (int step = 0; std::chrono::steady_clock::now() < until; ++step) {
    const int before = applied.load();
    for (int i = 0; i < 100 && applied.load() == before; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    clock.Advance(Millis(step % 7 == 0 ? 11000 : 500));  // now and then a lease lapses
    {
      std::lock_guard lock(committed_mu);
      std::set<std::int64_t> epochs;
      for (const auto& c : committed) epochs.insert(c.second);
      epochs_seen = static_cast<int>(epochs.size());
    }
    if (applied.load() >= 60 && epochs_seen.load() >= 5) break;
  }
  stop = true;
  for (auto& t : threads) t.join();
  ASSERT_GE(applied.load(), 60);
  std::map<std::int64_t, std::string> owner_of;
  std::int64_t last = 0;
  std::set<std::string> owners;
  for (const auto& [owner, epoch] : committed) {
    EXPECT_GE(epoch, last) << "an older epoch committed after a newer one";
    last = epoch;
    auto [it, fresh] = owner_of.emplace(epoch, owner);
    EXPECT_EQ(it->second, owner) << "two owners committed in epoch " << epoch;
    owners.insert(owner);
  }
  EXPECT_GT(owner_of.size(), 3u) << "the lease changed hands";
  EXPECT_GT(owners.size(), 1u);
}

}  // namespace
}  // namespace mv::testing
