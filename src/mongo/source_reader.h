#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"
#include "core/interfaces.h"
#include "mongo/cluster_time.h"
#include "mongo/event_decoder.h"

namespace mv::mongo {

// Documents one query returns, in order. Not thread-safe.
class DocumentCursor {
 public:
  virtual ~DocumentCursor() = default;
  // The next document (Extended JSON), nullopt at the end.
  virtual Result<std::optional<nlohmann::json>> Next() = 0;
};

// The driver's part of the snapshot and lookup reads: find (majority read concern),
// count and the cluster's time. driver.cc implements it with libmongoc; tests with a
// script. Thread-safe.
class CollectionReader {
 public:
  virtual ~CollectionReader() = default;
  // Sort keys in order, each 1 or -1 (a list: JSON objects here keep no key order).
  using Sort = std::vector<std::pair<std::string, int>>;
  virtual Result<std::unique_ptr<DocumentCursor>> Find(const std::string& collection,
                                                       const nlohmann::json& filter,
                                                       const Sort& sort,
                                                       std::optional<std::int64_t> limit) = 0;
  virtual Result<std::int64_t> Count(const std::string& collection,
                                     const nlohmann::json& filter) = 0;
  virtual Result<ClusterTime> ClusterTimeNow() = 0;
};

// Snapshot and lookup reads of the platform's collections. A scan first takes the
// cluster time, then reads shipments and tracking events (majority read concern) sorted
// by (org, id) and merges them: what it returns may include changes after that time,
// which the stream, resumed from it, applies again (replay converges). A cursor that
// fails mid-scan is reopened after the last shipment passed on, a few times.
// Needs the indexes {org: 1, id: 1} on shipments and {org: 1, shipmentId: 1} on
// tracking events (README, MongoDB mode). Thread-safe.
class MongoSourceReader final : public core::SourceReader, public core::LookupReader {
 public:
  MongoSourceReader(CollectionReader* reader, SourceNames names, FieldMapping mapping)
      : reader_(reader), names_(std::move(names)), mapping_(std::move(mapping)) {}

  Result<core::ChangeToken> ScanShipments(
      const std::optional<std::string>& org,
      const std::function<Status(const core::SourceShipment&)>& fn) override;
  Result<std::int64_t> CountShipments(const std::optional<std::string>& org) override;
  Result<std::vector<std::string>> TrackingEventsOf(const std::string& org,
                                                    const std::string& shipment_id) override;
  Result<std::optional<core::Customer>> GetCustomer(const std::string& org,
                                                    const std::string& id) override;
  Result<std::optional<core::Carrier>> GetCarrier(const std::string& org,
                                                  const std::string& id) override;

 private:
  // The canonical document of `collection` keyed (org, id), if there is one.
  Result<std::optional<nlohmann::json>> FindOne(core::Collection collection,
                                                const std::string& collection_name,
                                                const std::string& org, const std::string& id);

  CollectionReader* reader_;
  const SourceNames names_;
  const FieldMapping mapping_;
};

}  // namespace mv::mongo
