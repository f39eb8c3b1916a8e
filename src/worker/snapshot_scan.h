#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "core/engine.h"
#include "core/interfaces.h"
#include "core/view_set.h"

namespace mv::worker {

struct SnapshotScanOptions {
  size_t chunk_rows = 10000;           // shipments per pushed chunk of rows
  size_t max_aggregate_keys = 250000;  // aggregate sums held before they are pushed
};

struct SnapshotScanStats {
  size_t shipments = 0;
  size_t unusable = 0;            // shipments with a document that could not be projected
  std::vector<std::string> orgs;  // the orgs the snapshot held, in order
};

// Reads one consistent snapshot of the source (of `org`, or of every org), projects it
// and hands the rows and aggregate sums to `push` in chunks; `progress` is called after
// each chunk with the shipments read so far. Returns the snapshot's change token. Runs
// on the caller's thread; stops at the first error `push` returns.
Result<core::ChangeToken> ScanSnapshot(core::SourceReader* source, const core::ViewSet& views,
                                       const core::ProjectionOptions& projection, Timestamp now,
                                       const std::optional<std::string>& org,
                                       const SnapshotScanOptions& options,
                                       const std::function<Status(core::ViewBatch)>& push,
                                       const std::function<void(size_t)>& progress,
                                       SnapshotScanStats* stats);

}  // namespace mv::worker
