#include "worker/stream_worker.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <utility>

#include "worker/change_fold.h"
#include "worker/chunk_writer.h"
#include "worker/snapshot_scan.h"

namespace mv::worker {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

StreamWorker::StreamWorker(core::ChangeSource* source, core::SourceReader* snapshots,
                           core::ViewStore* store, const core::ViewSet* views,
                           core::ProjectionOptions projection, const Clock* clock,
                           StreamProbe* probe, WorkerOptions options)
    : source_(source),
      snapshots_(snapshots),
      store_(store),
      views_(views),
      projection_(std::move(projection)),
      clock_(clock),
      probe_(probe),
      options_(options) {}

Status StreamWorker::ApplyBatch(std::span<const core::ChangeEvent> events) {
  auto started = std::chrono::steady_clock::now();
  core::BatchBuilder builder(*views_, projection_, store_, clock_->Now());
  for (const auto& e : events) MV_RETURN_IF_ERROR(FoldChange(builder, *snapshots_, e));
  core::ViewBatch batch = builder.Finish(events.back().token);
  // Too large for one transaction of the store: each half is applied on its own (the
  // second reads the first's rows as its `before`), split where the token changes.
  if (size_t max = store_->MaxWritesPerBatch(); max > 0 && batch.Writes() > max) {
    size_t half = events.size() / 2;
    size_t split = 0;
    for (size_t d = 0; d <= half && split == 0; ++d) {
      for (size_t at : {half + d, half - d}) {
        if (at > 0 && at < events.size() && events[at - 1].token != events[at].token) {
          split = at;
          break;
        }
      }
    }
    if (split > 0) {
      MV_RETURN_IF_ERROR(ApplyBatch(events.first(split)));
      return ApplyBatch(events.subspan(split));
    }
  }
  // Before the views advance: a reader that waits for this batch's token must not be
  // served a name the batch changed. The source already holds the new documents.
  if (on_lookup_change_) {
    for (const auto& e : events) {
      if (e.collection == core::Collection::kCustomers ||
          e.collection == core::Collection::kCarriers) {
        on_lookup_change_(e.collection, e.org, e.document_id);
      }
    }
  }
  // Before the views advance: an org's staleness series exists once a reader can see its
  // first change (the store wakes minToken waiters as it commits).
  if (on_orgs_applied_) {
    std::vector<std::string> orgs;
    for (const auto& [org, oldest] : batch.oldest_event_by_org) orgs.push_back(org);
    on_orgs_applied_(orgs);
  }
  MV_RETURN_IF_ERROR(store_->Apply(batch));
  checkpoint_.store(events.back().token);

  Timestamp committed = clock_->Now();
  std::vector<double> lags;
  lags.reserve(events.size());
  for (const auto& e : events) {
    lags.push_back(std::chrono::duration<double>(committed - e.wall_time).count());
  }
  if (probe_) {
    probe_->BatchApplied(events.size(), SecondsSince(started), lags);
    for (const auto& letter : batch.dead_letters) {
      probe_->Error("poison", core::ViewSet::kShipmentList);
      spdlog::warn("dead letter: {} {}/{} at token {}: {}", core::ToString(letter.collection),
                   letter.org, letter.document_id, letter.token, letter.reason);
    }
  }
  return Status::Ok();
}

Result<size_t> StreamWorker::Step(Millis wait) {
  if (!checkpoint_loaded_) {
    MV_ASSIGN_OR_RETURN(core::ChangeToken token, store_->Checkpoint());
    checkpoint_.store(token);
    checkpoint_loaded_ = true;
    // New views over a source that has data: a bulk rebuild from a snapshot is far
    // cheaper than replaying the stream (which may not even reach back to the start).
    if (options_.snapshot_new_views && store_->RebuildRequired()) {
      MV_ASSIGN_OR_RETURN(core::ChangeToken latest, source_->LatestToken());
      if (latest > token) {
        spdlog::info("views are new and the source has {} changes: rebuilding from a snapshot",
                     latest);
        MV_ASSIGN_OR_RETURN(core::ChangeToken rebuilt,
                            Rebuild(OperationKind::kBackfill, "the start-up (new views)"));
        spdlog::info("rebuild done; the stream resumes after token {}", rebuilt);
        return size_t{0};
      }
    }
  }
  // A burst is read as one consolidated batch: the source lingers for more.
  auto events =
      source_->Read(checkpoint_.load(), options_.batch_max_events, wait, options_.batch_max_wait);
  if (!events.ok() && events.status().code() == StatusCode::kHistoryLost) {
    if (probe_) probe_->Error("history_lost");
    spdlog::error("change stream history lost ({}); rebuilding all views from the source",
                  events.status().message());
    MV_ASSIGN_OR_RETURN(core::ChangeToken token,
                        Rebuild(OperationKind::kRebuild, "the stream (history lost)"));
    spdlog::info("rebuild done; the stream resumes after token {}", token);
    return size_t{0};
  }
  if (!events.ok()) return events.status();
  std::vector<core::ChangeEvent> batch = std::move(events).value();
  if (batch.empty()) {
    // An idle stream's position still advances: the checkpoint alone is stored.
    if (core::ChangeToken quiet = source_->QuietThrough(); quiet > checkpoint_.load()) {
      core::ViewBatch advance;
      advance.token = quiet;
      MV_RETURN_IF_ERROR(store_->Apply(advance));
      checkpoint_.store(quiet);
    }
    return size_t{0};
  }
  MV_RETURN_IF_ERROR(ApplyBatch(batch));
  RepairUnreadableRows();
  return batch.size();
}

Result<size_t> StreamWorker::TickSla() {
  auto started = std::chrono::steady_clock::now();
  Timestamp now = clock_->Now();
  MV_ASSIGN_OR_RETURN(auto due, store_->DueForSlaChange(now, options_.sla_tick_max_rows));
  if (due.empty()) return size_t{0};
  core::BatchBuilder builder(*views_, projection_, store_, now);
  for (const auto& row : due) MV_RETURN_IF_ERROR(builder.Reevaluate(row));
  core::ViewBatch batch = builder.Finish(std::nullopt);
  MV_RETURN_IF_ERROR(store_->Apply(batch));
  RepairUnreadableRows();
  if (probe_) probe_->SlaTickApplied(due.size(), SecondsSince(started));
  return due.size();
}

Result<core::ChangeToken> StreamWorker::Rebuild(OperationKind kind, const std::string& reason) {
  auto started = std::chrono::steady_clock::now();
  Timestamp now = clock_->Now();
  // A running operation's shadow was built against the stream being re-based.
  if (runner_) runner_->Abort("the views were rebuilt from a new snapshot");
  std::optional<Operation> op;
  if (operations_) {
    op = operations_->Record(kind, core::ViewScope{}, reason, now, OperationPhase::kSnapshot);
    auto total = snapshots_->CountShipments(std::nullopt);
    op->rows_total = total.ok() ? *total : 0;
    operations_->Update(*op);
  }
  auto fail = [&](const Status& s) {
    if (op) {
      op->phase = OperationPhase::kFailed;
      op->error = s.ToString();
      op->finished_at = clock_->Now();
      operations_->Update(*op);
    }
    return s;
  };
  auto rebuild = store_->BeginRebuild();
  if (!rebuild.ok()) return fail(rebuild.status());
  // This thread reads and projects the snapshot while the writer stores the chunk before.
  ChunkWriter writer(rebuild->get());
  auto last_report = started;
  SnapshotScanOptions scan{options_.rebuild_chunk_rows, options_.rebuild_max_aggregate_keys};
  auto progress = [&](size_t rows) {
    double rate = static_cast<double>(rows) / std::max(1e-9, SecondsSince(started));
    if (op) {
      op->rows_done = static_cast<std::int64_t>(rows);
      op->rows_per_second = rate;
      if (rate > 0 && op->rows_total >= op->rows_done) {
        op->eta_seconds = static_cast<double>(op->rows_total - op->rows_done) / rate;
      }
      operations_->Update(*op);
    }
    if (std::chrono::steady_clock::now() - last_report >= std::chrono::seconds(5)) {
      last_report = std::chrono::steady_clock::now();
      spdlog::info("rebuild: {} shipments projected ({:.0f}/s){}", rows, rate,
                   op && op->rows_total > 0 ? fmt::format(", {:.0f}%", op->percent()) : "");
    }
  };
  SnapshotScanStats stats;
  auto token = ScanSnapshot(
      snapshots_, *views_, projection_, now, std::nullopt, scan,
      [&](core::ViewBatch chunk) { return writer.Push(std::move(chunk)); }, progress, &stats);
  if (!token.ok()) return fail(token.status());
  double scanned = SecondsSince(started);
  if (Status s = writer.Finish(); !s.ok()) return fail(s);
  if (op) {
    op->phase = OperationPhase::kSwapping;
    operations_->Update(*op);
  }
  auto committing = std::chrono::steady_clock::now();
  if (Status s = (*rebuild)->Commit(*token); !s.ok()) return fail(s);
  // Versions kept beside the live ones did not see the changes this rebuild replaces;
  // the next versions among them are built again.
  if (Status s = store_->DropSideVersions(); !s.ok()) return fail(s);
  if (runner_) runner_->RecheckVersions();
  checkpoint_.store(*token);
  checkpoint_loaded_ = true;
  if (on_orgs_applied_) on_orgs_applied_(stats.orgs);
  if (probe_) {
    probe_->RebuildDone(SecondsSince(started));
    for (size_t i = 0; i < stats.unusable; ++i) {
      probe_->Error("poison", core::ViewSet::kShipmentList);
    }
  }
  if (op) {
    op->phase = OperationPhase::kDone;
    op->token = *token;
    op->rows_done = static_cast<std::int64_t>(stats.shipments);
    op->rows_total = std::max(op->rows_total, op->rows_done);
    op->eta_seconds = 0;
    op->finished_at = clock_->Now();
    operations_->Update(*op);
  }
  spdlog::info(
      "rebuild: {} shipments in {:.2f}s (reading and projecting {:.2f}s, writing {:.2f}s, "
      "indexing {:.2f}s), views at token {}",
      stats.shipments, SecondsSince(started), scanned, writer.busy_seconds(),
      SecondsSince(committing), *token);
  return *token;
}

void StreamWorker::SetOperations(Operations* operations, OperationRunnerOptions options) {
  operations_ = operations;
  options.scan = {options_.rebuild_chunk_rows, options_.rebuild_max_aggregate_keys};
  options.sla_max_rows = options_.sla_tick_max_rows;
  runner_ = std::make_unique<OperationRunner>(operations, source_, snapshots_, store_, views_,
                                              &projection_, clock_, probe_, options);
}

bool StreamWorker::StepOperations() { return runner_ && runner_->Step(checkpoint_.load()); }

void StreamWorker::RepairUnreadableRows() {
  std::vector<core::ShipmentKey> unreadable = store_->TakeUnreadableRows();
  if (unreadable.empty()) return;
  if (probe_) {
    probe_->DriftFound(core::ViewSet::kShipmentList, static_cast<std::int64_t>(unreadable.size()));
  }
  std::set<std::string> orgs;
  for (const auto& key : unreadable) orgs.insert(key.org);
  for (const auto& org : orgs) {
    if (!operations_) {
      spdlog::warn("views of org {} may be off after unreadable rows; rebuild them", org);
      continue;
    }
    auto id = operations_->Submit(OperationKind::kRebuild, core::ViewScope{{}, org}, false,
                                  "the stream (unreadable rows)", clock_->Now());
    if (id.ok()) {
      spdlog::warn("unreadable rows of org {} were re-derived; {} rebuilds its views", org, *id);
    } else {
      spdlog::warn("unreadable rows of org {} were re-derived; no rebuild queued: {}", org,
                   id.status().message());
    }
  }
}

Status StreamWorker::Run() {
  Millis backoff = options_.retry_backoff;
  auto next_tick = std::chrono::steady_clock::now();
  bool operation_running = false;
  while (!stop_.load()) {
    Status status = Status::Ok();
    // While an operation runs, the loop comes back to it sooner.
    auto applied =
        Step(operation_running ? std::min(options_.idle_wait, Millis(2)) : options_.idle_wait);
    if (!applied.ok()) status = applied.status();
    if (status.ok() && std::chrono::steady_clock::now() >= next_tick) {
      auto ticked = TickSla();
      if (!ticked.ok()) status = ticked.status();
      next_tick = std::chrono::steady_clock::now() + options_.sla_tick_interval;
    }
    if (status.ok()) operation_running = StepOperations();
    if (status.ok() && scheduler_ != nullptr) scheduler_->Tick();
    if (status.ok()) {
      healthy_.store(true);
      backoff = options_.retry_backoff;
      continue;
    }
    healthy_.store(false);
    if (probe_) probe_->Error("storage");
    spdlog::error("stream worker: {}; retrying in {} ms", status.ToString(), backoff.count());
    auto until = std::chrono::steady_clock::now() + backoff;
    while (!stop_.load() && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(Millis(10));
    }
    backoff = std::min(backoff * 2, options_.retry_backoff_max);
  }
  if (runner_) runner_->Abort("the worker stopped");
  healthy_.store(false);
  return Status::Ok();
}

}  // namespace mv::worker
