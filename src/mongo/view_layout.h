#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"
#include "core/view_scope.h"
#include "core/view_set.h"
#include "mongo/view_database.h"

// The layout of the views database (README, "MongoDB mode"), shared by the writer
// (view_store) and the readers (view_reader):
//
//   mv_<view>__v<version>_g<generation>   one physical collection per view, definition
//                                         version and generation, named by the catalog
//   mv_<view>                             the stable name: a read-only MongoDB view on
//                                         the live physical collection, switched with
//                                         collMod, so the platform's own query handlers
//                                         read one name through every rebuild and switch
//   mv_catalog      one document per physical collection (core::StoredVersion), and
//                   {_id: "epoch"}, bumped by every change of which collections are live
//   mv_checkpoints  {_id: <stream>, token, updatedAt}: what the views have applied
//   mv_dead_letters the changes the stream could not project
//   mv_api_keys     the API keys' hashes
namespace mv::mongo {

inline constexpr const char* kCatalog = "mv_catalog";
inline constexpr const char* kCheckpoints = "mv_checkpoints";
inline constexpr const char* kDeadLetters = "mv_dead_letters";
inline constexpr const char* kApiKeys = "mv_api_keys";
inline constexpr const char* kEpochId = "epoch";

// The live physical collection of every view, as the catalog records them.
struct LiveCollections {
  std::string shipment_list;
  std::string exception_queue;
  std::string tracking_state;
  std::map<std::string, std::string> aggregates;  // view name -> collection
  std::map<std::string, int> aggregate_versions;  // view name -> definition version

  // Every (view, collection) pair: the list, the queue, the tracking state, then the
  // aggregates by name.
  std::vector<std::pair<std::string, std::string>> All() const;
  // The collection of `view` (empty when there is none).
  std::string Of(const std::string& view) const;
  int VersionOf(const core::ViewSet& views, const std::string& view) const;
};

// "mv_daily_metrics__v2_g7". The shadows of a partitioned stream's rebuilds carry the
// partition too ("..._g8_p1of4"): partitions rebuild at the same time.
std::string PhysicalName(const std::string& view, int version, std::int64_t generation);
// True for a name PhysicalName makes (with or without a partition).
bool IsPhysicalName(const std::string& name);

// The definition of `view` at `version` in `views` (null for the list, the queue and the
// tracking state, which have no aggregate spec).
const core::AggregateViewSpec* SpecOf(const core::ViewSet& views, const std::string& view,
                                      int version);

// The createIndexes command of a physical collection of `view` (spec: its aggregate
// definition, or null): the indexes the API's queries and the worker's reads need.
Document IndexCommand(const std::string& collection, const std::string& view,
                      const core::AggregateViewSpec* spec);

// Creates physical collection `name` (an existing one is fine) with its indexes.
Status CreatePhysical(ViewDatabase& db, const std::string& name, const std::string& view,
                      const core::AggregateViewSpec* spec, bool indexes);
Status DropCollection(ViewDatabase& db, const std::string& name);

// Points the read-only view `view` at `collection` (creating it when missing).
Status PointStableName(ViewDatabase& db, const std::string& view, const std::string& collection);

// The catalog's documents, both ways.
Document CatalogDocument(const core::StoredVersion& v);
Result<core::StoredVersion> StoredVersionOf(const Document& doc);
// Every stored version (by view, version, generation) and the live collections among them.
Result<std::vector<core::StoredVersion>> ReadCatalog(ViewDatabase& db);
LiveCollections LiveOf(const std::vector<core::StoredVersion>& versions);
// The write that bumps the catalog epoch (inside the transaction that changes it).
ViewDatabase::Write BumpEpoch();

// The names of every collection of the database.
Result<std::vector<std::string>> ListCollections(ViewDatabase& db);

}  // namespace mv::mongo
