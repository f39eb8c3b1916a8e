#include "worker/snapshot_scan.h"

#include <spdlog/spdlog.h>

#include "core/snapshot_builder.h"

namespace mv::worker {

Result<core::ChangeToken> ScanSnapshot(core::SourceReader* source, const core::ViewSet& views,
                                       const core::ProjectionOptions& projection, Timestamp now,
                                       const std::optional<std::string>& org,
                                       const SnapshotScanOptions& options,
                                       const std::function<Status(core::ViewBatch)>& push,
                                       const std::function<void(size_t)>& progress,
                                       SnapshotScanStats* stats) {
  core::SnapshotBuilder builder(views, projection, now);
  std::string current_org;
  MV_ASSIGN_OR_RETURN(
      core::ChangeToken token,
      source->ScanShipments(org, [&](const core::SourceShipment& shipment) -> Status {
        // Aggregates are keyed by org first, and the scan is in org order: the sums of an
        // org are complete once the scan has passed it, and pushed while it goes on.
        if (shipment.org != current_org) {
          if (builder.aggregate_keys() > 0) {
            MV_RETURN_IF_ERROR(push(builder.TakeRows()));
            MV_RETURN_IF_ERROR(push(builder.TakeAggregates()));
          }
          current_org = shipment.org;
          stats->orgs.push_back(current_org);
        }
        Status s = builder.Add(shipment);
        if (!s.ok()) {
          ++stats->unusable;
          spdlog::warn("snapshot: shipment {}/{}: a document cannot be used: {}", shipment.org,
                       shipment.id, s.message());
        }
        ++stats->shipments;
        if (builder.pending_rows() >= options.chunk_rows) {
          MV_RETURN_IF_ERROR(push(builder.TakeRows()));
          if (builder.aggregate_keys() >= options.max_aggregate_keys) {
            MV_RETURN_IF_ERROR(push(builder.TakeAggregates()));
          }
          if (progress) progress(stats->shipments);
        }
        return Status::Ok();
      }));
  MV_RETURN_IF_ERROR(push(builder.TakeRows()));
  MV_RETURN_IF_ERROR(push(builder.TakeAggregates()));
  if (progress) progress(stats->shipments);
  return token;
}

}  // namespace mv::worker
