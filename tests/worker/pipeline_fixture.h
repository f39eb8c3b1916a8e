#pragma once

// A whole embedded pipeline on real SQLite files: source store + oplog, view store, and a
// stream worker between them, on a ManualClock. Helpers drain the stream, tick the SLA
// clock, rebuild into a second views.db and dump view tables for comparison.

#include <prometheus/text_serializer.h>

#include <memory>
#include <string>

#include "core/view_set.h"
#include "storage/sqlite/source_store.h"
#include "storage/sqlite/view_store.h"
#include "test_util.h"
#include "worker/stream_probe.h"
#include "worker/stream_worker.h"

namespace mv::testing {

class Pipeline {
 public:
  explicit Pipeline(Timestamp start, worker::WorkerOptions options = Fast())
      : clock_(start), options_(options), probe_(registry_, views_.Names()) {
    source_ = Must(storage::sqlite::SourceStore::Open(dir_.File("source.db"), &clock_, {}));
    store_ = Must(storage::sqlite::SqliteViewStore::Open(dir_.File("views.db"), &views_, &clock_));
    RestartWorker(options_);
  }

  // Short waits, and the stream replayed from the start even over a filled source
  // (stream_worker_test covers building new views from a snapshot).
  static worker::WorkerOptions Fast() {
    worker::WorkerOptions o;
    o.batch_max_wait = Millis(0);
    o.idle_wait = Millis(0);
    o.snapshot_new_views = false;
    return o;
  }

  // A new worker over a new change source, as after a process restart: it resumes from
  // the stored checkpoint.
  void RestartWorker(worker::WorkerOptions options) {
    options_ = options;
    worker_.reset();
    change_source_ = Must(source_->NewChangeSource());
    worker_ =
        std::make_unique<worker::StreamWorker>(change_source_.get(), source_.get(), store_.get(),
                                               &views_, projection_, &clock_, &probe_, options_);
  }

  // Closes and reopens views.db with a new worker, as after a process restart (nothing
  // the store remembered survives).
  void ReopenStore() {
    worker_.reset();
    store_.reset();
    store_ = Must(storage::sqlite::SqliteViewStore::Open(dir_.File("views.db"), &views_, &clock_));
    RestartWorker(options_);
  }

  // Applies every committed change, then every due SLA transition.
  Status Drain() { return DrainWorker(*worker_, source_->committed().Get()); }

  // Steps `w` until it has applied everything through `through`, then ticks the SLA clock
  // until nothing is due.
  static Status DrainWorker(worker::StreamWorker& w, core::ChangeToken through) {
    for (;;) {
      MV_ASSIGN_OR_RETURN(size_t n, w.Step(Millis(0)));
      if (n == 0 && w.checkpoint() >= through) break;
    }
    for (;;) {
      MV_ASSIGN_OR_RETURN(size_t n, w.TickSla());
      if (n == 0) return Status::Ok();
    }
  }

  Status TickAll() {
    for (;;) {
      MV_ASSIGN_OR_RETURN(size_t n, worker_->TickSla());
      if (n == 0) return Status::Ok();
    }
  }

  // The views as a rebuild from the source would make them now, in a fresh views.db.
  Result<std::string> RebuildDump() {
    TempDir other;
    MV_ASSIGN_OR_RETURN(auto store, storage::sqlite::SqliteViewStore::Open(other.File("views.db"),
                                                                           &views_, &clock_));
    MV_ASSIGN_OR_RETURN(auto changes, source_->NewChangeSource());
    worker::StreamWorker w(changes.get(), source_.get(), store.get(), &views_, projection_, &clock_,
                           nullptr, options_);
    MV_ASSIGN_OR_RETURN(core::ChangeToken token, w.Rebuild());
    (void)token;
    return Dump(*store);
  }

  // Every view table's rows (and the tracking state's), by logical name.
  static Result<std::string> Dump(storage::sqlite::SqliteViewStore& store) {
    std::string out;
    for (const auto& [view, table] : store.tables().All()) {
      MV_ASSIGN_OR_RETURN(std::string rows, storage::sqlite::DumpTable(store.db(), table));
      out += "== " + view + "\n" + rows;
    }
    return out;
  }
  Result<std::string> Dump() { return Dump(*store_); }

  // Moves the checkpoint back to `token`, as if the views had only applied that much.
  Status RewindCheckpoint(core::ChangeToken token) {
    MV_RETURN_IF_ERROR(RewindStoredCheckpoint(*store_, token));
    RestartWorker(options_);
    return Status::Ok();
  }
  static Status RewindStoredCheckpoint(storage::sqlite::SqliteViewStore& store,
                                       core::ChangeToken token) {
    MV_ASSIGN_OR_RETURN(auto* st, store.db().Prepare("UPDATE mv_checkpoint SET token = ?1"));
    st->Bind(1, token);
    MV_RETURN_IF_ERROR(st->Run());
    store.applied().Reset(token);
    return Status::Ok();
  }

  ManualClock& clock() { return clock_; }
  storage::sqlite::SourceStore& source() { return *source_; }
  storage::sqlite::SqliteViewStore& store() { return *store_; }
  worker::StreamWorker& worker() { return *worker_; }
  worker::StreamProbe& probe() { return probe_; }
  // The probe's series in the Prometheus text format.
  std::string MetricsText() { return prometheus::TextSerializer().Serialize(registry_.Collect()); }
  const core::ViewSet& views() const { return views_; }
  // views.db, for readers of their own.
  std::string views_path() const { return dir_.path() + "/views.db"; }

 private:
  template <typename T>
  static T Must(Result<T> r) {
    if (!r.ok()) throw std::runtime_error(r.status().ToString());
    return std::move(r).value();
  }

  TempDir dir_;
  ManualClock clock_;
  worker::WorkerOptions options_;
  core::ViewSet views_ = core::ViewSet::Default();
  core::ProjectionOptions projection_;
  prometheus::Registry registry_;
  worker::StreamProbe probe_;
  std::unique_ptr<storage::sqlite::SourceStore> source_;
  std::unique_ptr<storage::sqlite::SqliteViewStore> store_;
  std::unique_ptr<core::ChangeSource> change_source_;
  std::unique_ptr<worker::StreamWorker> worker_;
};

}  // namespace mv::testing
