#pragma once

#include <cstddef>

#include "core/aggregate_sums.h"
#include "core/interfaces.h"
#include "core/shipment_row.h"
#include "core/view_batch.h"
#include "core/view_set.h"

namespace mv::core {

// Projects a consistent snapshot of the source into the rows of a fresh set of views (a
// rebuild), shipment by shipment. Nothing is stored before, so every shipment's rows are
// inserts: the shipment's row, its queue entry, its tracking summary, and contributions
// to the aggregates, which are summed over all the shipments added until taken (taken
// when the snapshot passes to the next org, a rebuild writes each aggregate row once).
//
// Row batches come out in the order shipments were added (a snapshot's (org, id) order).
// The result equals a BatchBuilder over an empty store fed the same documents.
//
// Not thread-safe. No I/O.
class SnapshotBuilder {
 public:
  SnapshotBuilder(const ViewSet& views, const ProjectionOptions& options, Timestamp now);

  // Adds one shipment of the snapshot. Returns InvalidArgument naming the first document
  // that cannot be used; the rest of the shipment (its valid events, or its document) is
  // still added.
  Status Add(const SourceShipment& shipment);

  // Shipments added since the last TakeRows.
  size_t pending_rows() const { return pending_; }
  // The list, exception-queue and tracking rows of the shipments added since the last
  // call, in that order; no aggregate deltas.
  ViewBatch TakeRows();

  // Distinct aggregate keys summed since the last TakeAggregates (what they hold in
  // memory is about proportional).
  size_t aggregate_keys() const { return sums_.keys(); }
  // The aggregate deltas summed since the last call (added to what an earlier call gave,
  // they make the views' rows).
  ViewBatch TakeAggregates();

 private:
  ProjectionOptions options_;
  Timestamp now_;
  AggregateSums sums_;
  ViewBatch rows_;
  size_t pending_ = 0;
};

}  // namespace mv::core
