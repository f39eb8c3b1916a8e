#include "worker/stream_worker.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <string>
#include <thread>
#include <utility>

#include "core/snapshot_builder.h"
#include "worker/chunk_writer.h"

namespace mv::worker {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

StreamWorker::StreamWorker(core::ChangeSource* source, core::SourceReader* snapshots,
                           core::ViewStore* store, const core::ViewSet* views,
                           core::ProjectionOptions projection, const Clock* clock,
                           metrics::StreamProbe* probe, WorkerOptions options)
    : source_(source),
      snapshots_(snapshots),
      store_(store),
      views_(views),
      projection_(std::move(projection)),
      clock_(clock),
      probe_(probe),
      options_(options) {}

Status StreamWorker::ApplyBatch(const std::vector<core::ChangeEvent>& events) {
  auto started = std::chrono::steady_clock::now();
  core::BatchBuilder builder(*views_, projection_, store_, clock_->Now());
  for (const auto& e : events) MV_RETURN_IF_ERROR(builder.Add(e));
  core::ViewBatch batch = builder.Finish(events.back().token);
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
  // Also before: an org's staleness series exists once a reader can see its first
  // change (the store wakes minToken waiters as it commits).
  if (probe_) {
    std::vector<std::string> orgs;
    for (const auto& [org, oldest] : batch.oldest_event_by_org) orgs.push_back(org);
    probe_->OrgsSeen(orgs);
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
        MV_ASSIGN_OR_RETURN(core::ChangeToken rebuilt, Rebuild());
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
    MV_ASSIGN_OR_RETURN(core::ChangeToken token, Rebuild());
    spdlog::info("rebuild done; the stream resumes after token {}", token);
    return size_t{0};
  }
  if (!events.ok()) return events.status();
  std::vector<core::ChangeEvent> batch = std::move(events).value();
  if (batch.empty()) return size_t{0};
  MV_RETURN_IF_ERROR(ApplyBatch(batch));
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
  if (probe_) probe_->SlaTickApplied(due.size(), SecondsSince(started));
  return due.size();
}

Result<core::ChangeToken> StreamWorker::Rebuild() {
  auto started = std::chrono::steady_clock::now();
  Timestamp now = clock_->Now();
  MV_ASSIGN_OR_RETURN(auto rebuild, store_->BeginRebuild());
  // This thread reads and projects the snapshot while the writer stores the chunk before.
  core::SnapshotBuilder builder(*views_, projection_, now);
  ChunkWriter writer(rebuild.get());
  size_t rows = 0;
  size_t poison = 0;
  std::string org;
  auto last_report = started;
  MV_ASSIGN_OR_RETURN(
      core::ChangeToken token,
      snapshots_->ScanShipments(std::nullopt, [&](const core::SourceShipment& shipment) -> Status {
        // Aggregates are keyed by org first, and the scan is in org order: the sums of an
        // org are complete once the scan has passed it, and written while it goes on.
        if (shipment.org != org) {
          if (builder.aggregate_keys() > 0) {
            MV_RETURN_IF_ERROR(writer.Push(builder.TakeRows()));
            MV_RETURN_IF_ERROR(writer.Push(builder.TakeAggregates()));
          }
          org = shipment.org;
        }
        Status s = builder.Add(shipment);
        if (!s.ok()) {
          ++poison;
          spdlog::warn("rebuild: shipment {}/{}: a document cannot be used: {}", shipment.org,
                       shipment.id, s.message());
        }
        ++rows;
        if (builder.pending_rows() >= options_.rebuild_chunk_rows) {
          MV_RETURN_IF_ERROR(writer.Push(builder.TakeRows()));
          if (builder.aggregate_keys() >= options_.rebuild_max_aggregate_keys) {
            MV_RETURN_IF_ERROR(writer.Push(builder.TakeAggregates()));
          }
          if (std::chrono::steady_clock::now() - last_report >= std::chrono::seconds(5)) {
            last_report = std::chrono::steady_clock::now();
            spdlog::info("rebuild: {} shipments projected ({:.0f}/s)", rows,
                         static_cast<double>(rows) / SecondsSince(started));
          }
        }
        return Status::Ok();
      }));
  MV_RETURN_IF_ERROR(writer.Push(builder.TakeRows()));
  MV_RETURN_IF_ERROR(writer.Push(builder.TakeAggregates()));
  double scanned = SecondsSince(started);
  MV_RETURN_IF_ERROR(writer.Finish());
  auto committing = std::chrono::steady_clock::now();
  MV_RETURN_IF_ERROR(rebuild->Commit(token));
  checkpoint_.store(token);
  checkpoint_loaded_ = true;
  if (probe_) {
    probe_->RebuildDone(SecondsSince(started));
    for (size_t i = 0; i < poison; ++i) probe_->Error("poison", core::ViewSet::kShipmentList);
  }
  spdlog::info(
      "rebuild: {} shipments in {:.2f}s (reading and projecting {:.2f}s, writing {:.2f}s, "
      "indexing {:.2f}s), views at token {}",
      rows, SecondsSince(started), scanned, writer.busy_seconds(), SecondsSince(committing), token);
  return token;
}

Status StreamWorker::Run() {
  Millis backoff = options_.retry_backoff;
  auto next_tick = std::chrono::steady_clock::now();
  while (!stop_.load()) {
    Status status = Status::Ok();
    auto applied = Step(options_.idle_wait);
    if (!applied.ok()) status = applied.status();
    if (status.ok() && std::chrono::steady_clock::now() >= next_tick) {
      auto ticked = TickSla();
      if (!ticked.ok()) status = ticked.status();
      next_tick = std::chrono::steady_clock::now() + options_.sla_tick_interval;
    }
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
  healthy_.store(false);
  return Status::Ok();
}

}  // namespace mv::worker
