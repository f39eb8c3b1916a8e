#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "core/view_batch.h"
#include "core/view_scope.h"

// What the admin API and `viya-mv status` read about the views, whatever backend holds
// them.
namespace mv::api {

// A change the stream could not project, as the view store keeps it.
struct StoredDeadLetter {
  std::int64_t id = 0;
  core::DeadLetter letter;
  Timestamp created_at{};
};

// The dead letters, for operators: listed, and removed once retried. Thread-safe.
class DeadLetters {
 public:
  virtual ~DeadLetters() = default;
  // Newest first, at most `limit`.
  virtual Result<std::vector<StoredDeadLetter>> List(size_t limit) = 0;
  virtual Result<std::int64_t> Count() = 0;
  virtual Result<std::optional<StoredDeadLetter>> Get(std::int64_t id) = 0;
  // NotFound when there is no dead letter `id`.
  virtual Status Remove(std::int64_t id) = 0;
};

// One stored version of a view as the catalog records it, and how many rows it holds.
struct CatalogEntry {
  core::StoredVersion stored;
  std::int64_t rows = 0;
};

// The catalog of stored view versions, read in one snapshot, so a swap committed
// meanwhile is seen whole or not at all. Thread-safe.
class Catalog {
 public:
  virtual ~Catalog() = default;
  // Every stored version with its row count (a count of every table: for reports).
  virtual Result<std::vector<CatalogEntry>> Entries() = 0;
  // Every stored version, without counting rows (cheap: for checks before an operation).
  virtual Result<std::vector<core::StoredVersion>> Versions() = 0;
};

}  // namespace mv::api
