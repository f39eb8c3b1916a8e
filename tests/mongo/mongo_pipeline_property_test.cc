// The engine's invariants with the MongoDB source in the loop: the embedded store's
// workloads, seen through EmbeddedAsMongo as a MongoDB deployment's change stream and
// collections, decoded and applied by MongoChangeSource and MongoSourceReader:
//  - views maintained incrementally equal a rebuild from a snapshot (MongoSourceReader);
//  - replaying from any earlier token (a reopened stream at that cluster time) converges;
//  - the views equal, byte for byte, those the embedded path builds from the same writes.

#include <gtest/gtest.h>

#include <set>

#include "embedded_as_mongo.h"
#include "mongo/change_source.h"
#include "mongo/source_reader.h"
#include "worker/pipeline_fixture.h"
#include "worker/workload.h"

namespace mv::testing {
namespace {

constexpr int kSeeds = 6;

// The lines of `a` and `b` that differ (at most 12 of each), or "" when they are equal.
std::string Diff(const std::string& a, const std::string& b) {
  auto lines = [](const std::string& s) {
    std::set<std::string> out;
    size_t start = 0;
    for (size_t end; (end = s.find('\n', start)) != std::string::npos; start = end + 1) {
      out.insert(s.substr(start, end - start));
    }
    return out;
  };
  std::set<std::string> x = lines(a), y = lines(b);
  std::string out;
  int n = 0;
  for (const auto& l : x) {
    if (!y.count(l) && n++ < 12) out += "- " + l.substr(0, 160) + "\n";
  }
  n = 0;
  for (const auto& l : y) {
    if (!x.count(l) && n++ < 12) out += "+ " + l.substr(0, 160) + "\n";
  }
  return out;
}

// Pipeline's counterpart over the MongoDB source: the same embedded source store takes
// the writes; the worker reads them as MongoDB change events.
class MongoPipeline {
 public:
  explicit MongoPipeline(Timestamp start) : clock_(start), probe_(registry_, views_.Names()) {
    source_ = Must(storage::sqlite::SourceStore::Open(dir_.File("source.db"), &clock_, {}));
    mirror_ = std::make_unique<EmbeddedAsMongo>(source_.get());
    reader_ = std::make_unique<mongo::MongoSourceReader>(mirror_.get(), mongo::SourceNames{},
                                                         mongo::FieldMapping{});
    store_ = Must(storage::sqlite::SqliteViewStore::Open(dir_.File("views.db"), &views_, &clock_));
    RestartWorker(Fast());
  }
  static worker::WorkerOptions Fast() { return Pipeline::Fast(); }

  // A new worker over a new change stream, as after a restart.
  void RestartWorker(worker::WorkerOptions options) {
    options_ = options;
    worker_.reset();
    changes_ = NewChangeSource();
    worker_ =
        std::make_unique<worker::StreamWorker>(changes_.get(), reader_.get(), store_.get(), &views_,
                                               projection_, &clock_, &probe_, options_);
  }

  Status Drain() { return Pipeline::DrainWorker(*worker_, mirror_->LatestToken()); }

  Result<std::string> Dump() { return Pipeline::Dump(*store_); }

  // A rebuild into a fresh views.db from a MongoDB snapshot.
  Result<std::string> RebuildDump() {
    TempDir other;
    MV_ASSIGN_OR_RETURN(auto store, storage::sqlite::SqliteViewStore::Open(other.File("views.db"),
                                                                           &views_, &clock_));
    auto changes = NewChangeSource();
    worker::StreamWorker w(changes.get(), reader_.get(), store.get(), &views_, projection_, &clock_,
                           nullptr, options_);
    MV_RETURN_IF_ERROR(w.Rebuild().status());
    return Pipeline::Dump(*store);
  }

  // The views the embedded path builds from the same source, in a fresh views.db.
  Result<std::string> EmbeddedDump() {
    TempDir other;
    MV_ASSIGN_OR_RETURN(auto store, storage::sqlite::SqliteViewStore::Open(other.File("views.db"),
                                                                           &views_, &clock_));
    MV_ASSIGN_OR_RETURN(auto oplog, source_->NewChangeSource());
    worker::StreamWorker w(oplog.get(), source_.get(), store.get(), &views_, projection_, &clock_,
                           nullptr, Fast());
    MV_RETURN_IF_ERROR(Pipeline::DrainWorker(w, source_->committed().Get()));
    return Pipeline::Dump(*store);
  }

  Status RewindCheckpoint(core::ChangeToken token) {
    MV_RETURN_IF_ERROR(Pipeline::RewindStoredCheckpoint(*store_, token));
    RestartWorker(options_);
    return Status::Ok();
  }

  ManualClock& clock() { return clock_; }
  storage::sqlite::SourceStore& source() { return *source_; }
  worker::StreamWorker& worker() { return *worker_; }
  const mongo::MongoChangeSource& changes() const { return *changes_; }

 private:
  template <typename T>
  static T Must(Result<T> r) {
    if (!r.ok()) throw std::runtime_error(r.status().ToString());
    return std::move(r).value();
  }
  std::unique_ptr<mongo::MongoChangeSource> NewChangeSource() {
    mongo::MongoChangeSourceOptions o;
    o.idle_checkpoint_interval = Millis(0);
    o.retry_pause = Millis(0);
    return std::make_unique<mongo::MongoChangeSource>(mirror_.get(), mongo::SourceNames{},
                                                      mongo::FieldMapping{}, o);
  }

  TempDir dir_;
  ManualClock clock_;
  worker::WorkerOptions options_;
  core::ViewSet views_ = core::ViewSet::Default();
  core::ProjectionOptions projection_;
  prometheus::Registry registry_;
  worker::StreamProbe probe_;
  std::unique_ptr<storage::sqlite::SourceStore> source_;
  std::unique_ptr<EmbeddedAsMongo> mirror_;
  std::unique_ptr<mongo::MongoSourceReader> reader_;
  std::unique_ptr<storage::sqlite::SqliteViewStore> store_;
  std::unique_ptr<mongo::MongoChangeSource> changes_;
  std::unique_ptr<worker::StreamWorker> worker_;
};

TEST(MongoPipelineProperty, IncrementalEqualsRebuildAndTheEmbeddedPath) {
  for (int seed = 1; seed <= kSeeds; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    MongoPipeline p(T("2026-11-01T08:00:00Z"));
    Workload w(seed);
    RunRandomWorkload(p, w, 300);
    MV_ASSERT_OK(p.Drain());
    MV_ASSERT_OK_AND_ASSIGN(std::string incremental, p.Dump());
    ASSERT_NE(incremental.find("org-"), std::string::npos) << "nothing to compare";
    MV_ASSERT_OK_AND_ASSIGN(std::string rebuilt, p.RebuildDump());
    ASSERT_EQ(Diff(incremental, rebuilt), "") << "incremental (-) vs rebuilt (+)";
    MV_ASSERT_OK_AND_ASSIGN(std::string embedded, p.EmbeddedDump());
    ASSERT_EQ(Diff(incremental, embedded), "") << "MongoDB path (-) vs embedded path (+)";
    EXPECT_EQ(p.changes().undecodable(), 0);
  }
}

TEST(MongoPipelineProperty, ReplayFromAnyEarlierClusterTimeConverges) {
  for (int seed = 1; seed <= kSeeds; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    MongoPipeline p(T("2026-11-01T08:00:00Z"));
    Workload w(seed * 7919);
    RunRandomWorkload(p, w, 250);
    MV_ASSERT_OK(p.Drain());
    MV_ASSERT_OK_AND_ASSIGN(std::string before, p.Dump());
    const core::ChangeToken latest_seq = p.source().committed().Get();
    ASSERT_GT(latest_seq, 10);
    for (int replay = 0; replay < 4; ++replay) {
      core::ChangeToken from = mongo::Pack(EmbeddedAsMongo::TimeOf(w.Pick(0, latest_seq)));
      SCOPED_TRACE("replay from cluster time " + mongo::FormatClusterTime(mongo::Unpack(from)));
      MV_ASSERT_OK(p.RewindCheckpoint(from));
      worker::WorkerOptions o = MongoPipeline::Fast();
      o.batch_max_events = static_cast<size_t>(w.Pick(1, 60));
      p.RestartWorker(o);
      MV_ASSERT_OK(p.Drain());
      MV_ASSERT_OK_AND_ASSIGN(std::string after, p.Dump());
      ASSERT_EQ(Diff(before, after), "") << "before (-) vs after the replay (+)";
    }
  }
}

}  // namespace
}  // namespace mv::testing
