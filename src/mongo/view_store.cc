#include "mongo/view_store.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>
#include <utility>

#include "base/time.h"
#include "core/exception_queue.h"
#include "core/row_codec.h"
#include "core/stored_versions.h"
#include "mongo/view_documents.h"

namespace mv::mongo {
namespace {

using core::ChangeToken;
using Write = ViewDatabase::Write;

// The writes of a list of replacing upserts (or inserts) keyed by ShipmentId.
void RowWrites(const std::string& collection, std::vector<Document> docs, bool insert,
               std::vector<Write>* writes) {
  if (docs.empty()) return;
  if (insert) {
    writes->push_back({InsertCommand(collection, std::move(docs)), std::nullopt});
    return;
  }
  std::vector<Document> statements;
  statements.reserve(docs.size());
  for (auto& d : docs) {
    Document q = {{"_id", d["_id"]}};
    statements.push_back(UpdateStatement(std::move(q), std::move(d), /*upsert=*/true));
  }
  writes->push_back({UpdateCommand(collection, std::move(statements)), std::nullopt});
}

void DeleteWrites(const std::string& collection, const std::vector<core::ShipmentKey>& keys,
                  std::vector<Write>* writes) {
  if (keys.empty()) return;
  std::vector<Document> filters;
  filters.reserve(keys.size());
  for (const auto& k : keys) filters.push_back({{"_id", ShipmentId(k)}});
  writes->push_back({DeleteCommand(collection, filters, 1), std::nullopt});
}

// The value of list column `column` ("org", "customer_id", "created_at", ...) in `row`,
// as the list document holds it.
std::optional<Document> ListValue(const core::ShipmentRow& row, const std::string& column) {
  // The columns max measures group and order by, without building the whole document.
  if (column == "org") return Document(row.org);
  if (column == "customer_id") return Document(row.shipment.customer_id);
  if (column == "carrier_id") return Document(row.shipment.carrier_id);
  if (column == "created_at") return DateValue(row.shipment.created_at);
  Document doc = ListDocument(row);
  auto it = doc.find(FieldOf(column));
  if (it == doc.end()) return std::nullopt;
  return *it;
}

}  // namespace

Result<std::unique_ptr<MongoViewStore>> MongoViewStore::Open(ViewDatabase* db,
                                                             const core::ViewSet* views,
                                                             const Clock* clock,
                                                             MongoViewStoreOptions options) {
  std::unique_ptr<MongoViewStore> store(new MongoViewStore(db, views, clock, std::move(options)));
  Status loaded = store->LoadCatalog();
  // Partition workers starting together over new views: one created them first.
  if (loaded.code() == StatusCode::kConflict) loaded = store->LoadCatalog();
  MV_RETURN_IF_ERROR(loaded);
  MV_ASSIGN_OR_RETURN(ChangeToken token, store->Checkpoint());
  store->applied_.Reset(token);
  std::int64_t last = 0;
  MV_RETURN_IF_ERROR(db->Query(FindCommand(kDeadLetters, Document::object(), {{"_id", -1}}, 1),
                               [&](Document doc) -> Status {
                                 MV_ASSIGN_OR_RETURN(last, ReadInt64(doc["_id"]));
                                 return Status::Ok();
                               }));
  store->next_dead_letter_ = last + 1;
  return store;
}

MongoViewStore::~MongoViewStore() = default;

bool MongoViewStore::Defines(const std::string& view, int version) const {
  if (views_->FindAggregate(view) != nullptr) return views_->Definition(view, version) != nullptr;
  return views_->VersionOf(view) == version;
}

Result<LiveCollections> MongoViewStore::CreateGeneration(std::int64_t generation,
                                                         const std::map<std::string, int>& versions,
                                                         bool indexes) {
  LiveCollections out;
  for (const std::string& view :
       {std::string(core::ViewSet::kShipmentList), std::string(core::kExceptionQueueView),
        std::string(core::ViewSet::kTrackingState)}) {
    std::string name = PhysicalName(view, views_->VersionOf(view), generation);
    MV_RETURN_IF_ERROR(CreatePhysical(*db_, name, view, nullptr, indexes));
    if (view == core::ViewSet::kShipmentList) out.shipment_list = name;
    if (view == core::kExceptionQueueView) out.exception_queue = name;
    if (view == core::ViewSet::kTrackingState) out.tracking_state = name;
  }
  for (const auto& v : views_->aggregates()) {
    const std::string& view = v->spec().name;
    auto chosen = versions.find(view);
    int version = chosen != versions.end() ? chosen->second : v->spec().version;
    std::string name = PhysicalName(view, version, generation);
    MV_RETURN_IF_ERROR(CreatePhysical(*db_, name, view, SpecOf(*views_, view, version), indexes));
    out.aggregates[view] = name;
    out.aggregate_versions[view] = version;
  }
  return out;
}

Status MongoViewStore::DropEntries(const std::vector<core::StoredVersion>& entries) {
  if (entries.empty()) return Status::Ok();
  std::vector<Document> ids;
  for (const auto& e : entries) ids.push_back({{"_id", e.table}});
  MV_RETURN_IF_ERROR(Commit({{DeleteCommand(kCatalog, ids, 1), std::nullopt}, BumpEpoch()}));
  for (const auto& e : entries) MV_RETURN_IF_ERROR(DropCollection(*db_, e.table));
  return Status::Ok();
}

Status MongoViewStore::LoadCatalog() {
  MV_ASSIGN_OR_RETURN(std::vector<core::StoredVersion> stored, ReadCatalog(*db_));
  LiveCollections live = LiveOf(stored);
  std::string outdated;  // why the stored views cannot be used, if they cannot
  for (const auto& v : stored) {
    generation_ = std::max(generation_, v.generation);
    if (v.state == core::VersionState::kLive && !Defines(v.view, v.version) && outdated.empty()) {
      outdated = fmt::format("{} is stored at definition version {}, this build maintains {}",
                             v.view, v.version, views_->VersionOf(v.view));
    }
  }
  if (!stored.empty() && outdated.empty()) {
    for (const auto& [view, collection] : live.All()) {
      if (collection.empty()) outdated = view + " is not stored";
    }
    for (const auto& v : views_->aggregates()) {
      if (!live.aggregates.count(v->spec().name)) outdated = v->spec().name + " is not stored";
    }
  }
  if (!outdated.empty()) {
    spdlog::warn("MongoDB views: {}; dropping the stored views and rebuilding them from the source",
                 outdated);
    MV_RETURN_IF_ERROR(DropEntries(stored));
    stored.clear();
  }
  if (stored.empty()) {
    ++generation_;
    MV_ASSIGN_OR_RETURN(live, CreateGeneration(generation_, {}, /*indexes=*/true));
    std::vector<Document> entries;
    Timestamp now = clock_->Now();
    for (const auto& [view, collection] : live.All()) {
      core::StoredVersion v;
      v.view = view;
      v.version = live.VersionOf(*views_, view);
      v.generation = generation_;
      v.state = core::VersionState::kLive;
      v.table = collection;
      v.built_at = now;
      entries.push_back(CatalogDocument(v));
    }
    MV_RETURN_IF_ERROR(Commit({{InsertCommand(kCatalog, std::move(entries)), std::nullopt},
                               BumpEpoch(),
                               CheckpointWrite(0, now)}));
    fresh_ = true;
  } else {
    std::vector<core::StoredVersion> undefined;
    for (const auto& v : stored) {
      if (v.state == core::VersionState::kLive || Defines(v.view, v.version)) continue;
      spdlog::warn("MongoDB views: dropping {} v{} ({}): this build does not define that version",
                   v.view, v.version, core::ToString(v.state));
      undefined.push_back(v);
    }
    MV_RETURN_IF_ERROR(DropEntries(undefined));
    // Views that never applied a change are as new: built from a snapshot, not by replay.
    MV_ASSIGN_OR_RETURN(ChangeToken token, Checkpoint());
    bool empty = true;
    MV_RETURN_IF_ERROR(
        db_->Query(FindCommand(live.shipment_list, Document::object(), nullptr, 1), [&](Document) {
          empty = false;
          return Status::Ok();
        }));
    fresh_ = token == 0 && empty;
  }
  live_ = std::move(live);
  // Collections an interrupted rebuild left behind: named by no catalog entry.
  MV_RETURN_IF_ERROR(ReloadSideVersions());
  std::set<std::string> named;
  for (const auto& [view, collection] : live_.All()) named.insert(collection);
  for (const auto& v : side_) named.insert(v.table);
  MV_ASSIGN_OR_RETURN(std::vector<std::string> collections, ListCollections(*db_));
  // A partition drops only its own shadows: another partition's may be in use.
  const std::string own_suffix = "_" + options_.partition.Id();
  for (const auto& c : collections) {
    bool mine = options_.partition.whole() || c.ends_with(own_suffix);
    if (IsPhysicalName(c) && !named.count(c) && mine) {
      spdlog::info("MongoDB views: dropping {} (no catalog entry names it)", c);
      MV_RETURN_IF_ERROR(DropCollection(*db_, c));
    }
  }
  for (const auto& [view, collection] : live_.All()) {
    MV_RETURN_IF_ERROR(PointStableName(*db_, view, collection));
  }
  return Status::Ok();
}

Status MongoViewStore::ReloadSideVersions() {
  MV_ASSIGN_OR_RETURN(auto stored, ReadCatalog(*db_));
  side_.clear();
  for (auto& v : stored) {
    if (v.state != core::VersionState::kLive) side_.push_back(std::move(v));
  }
  return Status::Ok();
}

Result<std::vector<core::StoredVersion>> MongoViewStore::Versions() { return ReadCatalog(*db_); }

std::vector<std::string> MongoViewStore::VersionsToBuild() {
  return core::VersionsToBuild(*views_, live_.aggregate_versions, side_);
}

const core::StoredVersion* MongoViewStore::FindSide(const std::string& view,
                                                    core::VersionState state) const {
  return core::FindSideVersion(side_, view, state);
}

Status MongoViewStore::MarkValidated(const std::string& view) {
  const core::StoredVersion* next = FindSide(view, core::VersionState::kBuilding);
  if (next == nullptr) return Status::Conflict("no version of " + view + " is being built");
  Document set = {{"$set", {{"validated", true}}}};
  MV_RETURN_IF_ERROR(Commit(
      {{UpdateCommand(kCatalog, {UpdateStatement({{"_id", next->table}}, set, false)}), 1}}));
  return ReloadSideVersions();
}

Status MongoViewStore::MakeLive(const core::StoredVersion& next) {
  auto live = live_.aggregates.find(next.view);
  if (live == live_.aggregates.end()) return Status::Internal("no live collection of " + next.view);
  Document retire = {{"$set", {{"state", "retired"}, {"retiredAt", DateValue(clock_->Now())}}}};
  Document promote = {{"$set", {{"state", "live"}, {"retiredAt", nullptr}}}};
  MV_RETURN_IF_ERROR(Commit(
      {{UpdateCommand(kCatalog, {UpdateStatement({{"_id", live->second}}, retire, false)}), 1},
       {UpdateCommand(kCatalog, {UpdateStatement({{"_id", next.table}}, promote, false)}), 1},
       BumpEpoch()}));
  spdlog::info("MongoDB views: {} v{} ({}) is live; v{} ({}) retired", next.view, next.version,
               next.table, live_.aggregate_versions[next.view], live->second);
  live->second = next.table;
  live_.aggregate_versions[next.view] = next.version;
  MV_RETURN_IF_ERROR(PointStableName(*db_, next.view, next.table));
  return ReloadSideVersions();
}

Status MongoViewStore::SwitchVersion(const std::string& view) {
  MV_ASSIGN_OR_RETURN(core::StoredVersion next,
                      core::VersionToSwitchTo(*views_, live_.aggregate_versions, side_, view));
  return MakeLive(next);
}

Status MongoViewStore::RollbackVersion(const std::string& view) {
  MV_ASSIGN_OR_RETURN(core::StoredVersion retired,
                      core::VersionToRollBackTo(*views_, live_.aggregate_versions, side_, view));
  return MakeLive(retired);
}

Result<int> MongoViewStore::DropRetired(const std::optional<std::string>& view,
                                        std::optional<Timestamp> retired_before) {
  std::vector<core::StoredVersion> drop = core::RetiredVersions(side_, view, retired_before);
  MV_RETURN_IF_ERROR(DropEntries(drop));
  for (const auto& v : drop) {
    spdlog::info("MongoDB views: dropped retired {} v{} ({})", v.view, v.version, v.table);
  }
  MV_RETURN_IF_ERROR(ReloadSideVersions());
  return static_cast<int>(drop.size());
}

Status MongoViewStore::DropSideVersions() {
  if (side_.empty()) return Status::Ok();
  MV_RETURN_IF_ERROR(DropEntries(side_));
  spdlog::warn("MongoDB views: dropped {} versions kept beside the live ones: they missed changes",
               side_.size());
  return ReloadSideVersions();
}

Result<std::optional<Document>> MongoViewStore::FindById(const std::string& collection,
                                                         const Document& id) {
  std::optional<Document> found;
  MV_RETURN_IF_ERROR(
      db_->Query(FindCommand(collection, {{"_id", id}}, nullptr, 1), [&](Document doc) {
        found = std::move(doc);
        return Status::Ok();
      }));
  return found;
}

void MongoViewStore::Unreadable(const core::ShipmentKey& key, const char* what, const Status& why) {
  spdlog::error(
      "MongoDB views: the stored {} of {}/{} cannot be read ({}); re-deriving it from the source",
      what, key.org, key.id, why.message());
  unreadable_.push_back(key);
}

std::vector<core::ShipmentKey> MongoViewStore::TakeUnreadableRows() {
  std::vector<core::ShipmentKey> keys = std::exchange(unreadable_, {});
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

Result<std::optional<core::ShipmentRow>> MongoViewStore::FindShipmentRow(
    const core::ShipmentKey& key) {
  if (const std::optional<std::string>* cached = rows_.Find(key)) {
    if (!*cached) return std::optional<core::ShipmentRow>();
    MV_ASSIGN_OR_RETURN(core::ShipmentRow row, core::DecodeRow(key.org, **cached));
    return std::optional<core::ShipmentRow>(std::move(row));
  }
  MV_ASSIGN_OR_RETURN(auto doc, FindById(live_.shipment_list, ShipmentId(key)));
  if (!doc) {
    rows_.Put(key, std::nullopt);
    return std::optional<core::ShipmentRow>();
  }
  auto row = ListRowOf(*doc);
  if (!row.ok()) {
    Unreadable(key, "row", row.status());
    rows_.Put(key, std::nullopt);
    return std::optional<core::ShipmentRow>();
  }
  rows_.Put(key, core::EncodeRow(*row));
  return std::optional<core::ShipmentRow>(std::move(row).value());
}

Result<std::optional<core::TrackingSummary>> MongoViewStore::FindTrackingSummary(
    const core::ShipmentKey& key) {
  if (const std::optional<std::string>* cached = tracking_.Find(key)) {
    if (!*cached) return std::optional<core::TrackingSummary>();
    MV_ASSIGN_OR_RETURN(core::TrackingSummary summary, core::DecodeTrackingSummary(**cached));
    return std::optional<core::TrackingSummary>(std::move(summary));
  }
  MV_ASSIGN_OR_RETURN(auto doc, FindById(live_.tracking_state, ShipmentId(key)));
  if (!doc) {
    tracking_.Put(key, std::nullopt);
    return std::optional<core::TrackingSummary>();
  }
  auto state = TrackingStateOf(*doc);
  if (!state.ok()) {
    Unreadable(key, "tracking summary", state.status());
    tracking_.Put(key, std::nullopt);
    return std::optional<core::TrackingSummary>();
  }
  tracking_.Put(key, core::EncodeTrackingSummary(state->summary));
  return std::optional<core::TrackingSummary>(std::move(state->summary));
}

Result<ChangeToken> MongoViewStore::Checkpoint() {
  MV_ASSIGN_OR_RETURN(auto doc, FindById(kCheckpoints, Document(options_.partition.Id())));
  if (!doc) return ChangeToken{0};
  return ReadInt64(doc->value("token", Document(0)));
}

ViewDatabase::Write MongoViewStore::CheckpointWrite(ChangeToken token, Timestamp now) const {
  Document set = {{"$set",
                   {{"token", Int64Value(token)},
                    {"partitions", options_.partition.count},
                    {"updatedAt", DateValue(now)}}}};
  return {UpdateCommand(kCheckpoints, {UpdateStatement({{"_id", options_.partition.Id()}}, set,
                                                       /*upsert=*/true)}),
          1};
}

void MongoViewStore::DeadLetterWrites(const std::vector<core::DeadLetter>& letters, Timestamp now,
                                      std::int64_t* next,
                                      std::vector<ViewDatabase::Write>* writes) const {
  if (letters.empty()) return;
  std::vector<Document> docs;
  for (const auto& l : letters) {
    docs.push_back({{"_id", Int64Value((*next)++)},
                    {"token", Int64Value(l.token)},
                    {"collection", std::string(core::ToString(l.collection))},
                    {"organizationId", l.org},
                    {"documentId", l.document_id},
                    {"reason", l.reason},
                    {"document", l.document},
                    {"createdAt", DateValue(now)}});
  }
  writes->push_back({InsertCommand(kDeadLetters, std::move(docs)), std::nullopt});
}

Status MongoViewStore::Commit(std::vector<ViewDatabase::Write> writes) {
  if (fence_) {
    if (auto fence = fence_()) writes.push_back(std::move(*fence));
  }
  return db_->Transact(writes);
}

const std::vector<core::AggregateDelta>* MongoViewStore::DeltasOf(const core::ViewBatch& batch,
                                                                  const std::string& view,
                                                                  int version) const {
  const core::AggregateView* def = views_->Definition(view, version);
  if (def == nullptr) return nullptr;
  const auto& deltas =
      def == views_->FindAggregate(view) ? batch.aggregate_deltas : batch.previous_version_deltas;
  auto found = deltas.find(view);
  return found == deltas.end() ? nullptr : &found->second;
}

Result<std::optional<std::int64_t>> MongoViewStore::RecomputeMax(
    const core::AggregateViewSpec& spec, const core::MaxMeasure& max,
    const std::vector<std::string>& key, const std::string& list, const core::ViewBatch& batch) {
  // The group's rows after this batch: the committed ones it does not change, and its own.
  std::set<std::string> changed;
  for (const auto& r : batch.list_upserts) changed.insert(r.org + '\0' + r.shipment.id);
  for (const auto& k : batch.list_deletes) changed.insert(k.org + '\0' + k.id);
  Document filter = Document::object();
  for (size_t i = 0; i < spec.key_columns.size(); ++i) {
    // A list document leaves an empty id out (no customer): "" groups those too.
    filter[FieldOf(spec.key_columns[i])] =
        key[i].empty() ? Document{{"$in", Document::array({"", nullptr})}} : Document(key[i]);
  }
  auto in_group = [&](const core::ShipmentRow& row) {
    for (size_t i = 0; i < spec.key_columns.size(); ++i) {
      auto v = ListValue(row, spec.key_columns[i]);
      if (!v || *v != Document(key[i])) return false;
    }
    return true;
  };
  std::optional<std::int64_t> best;
  auto offer = [&](std::int64_t v) { best = best ? std::max(*best, v) : v; };
  for (const auto& row : batch.list_upserts) {
    if (!in_group(row)) continue;
    auto v = ListValue(row, max.list_column);
    if (v && !v->is_null()) {
      MV_ASSIGN_OR_RETURN(Timestamp t, ReadDate(*v));
      offer(ToMillis(t));
    }
  }
  const std::string field = FieldOf(max.list_column);
  MV_RETURN_IF_ERROR(db_->Query(
      FindCommand(list, filter, {{field, -1}}, static_cast<std::int64_t>(changed.size()) + 1,
                  {{"_id", 1}, {field, 1}}),
      [&](Document doc) -> Status {
        MV_ASSIGN_OR_RETURN(core::ShipmentKey k, ShipmentKeyOf(doc));
        if (changed.count(k.org + '\0' + k.id)) return Status::Ok();
        auto v = doc.find(field);
        if (v != doc.end() && !v->is_null()) {
          MV_ASSIGN_OR_RETURN(Timestamp t, ReadDate(*v));
          offer(ToMillis(t));
        }
        return Status::Ok();
      }));
  return best;
}

Status MongoViewStore::AggregateWrites(const core::AggregateViewSpec& spec,
                                       const std::string& collection, const std::string& list,
                                       const core::ViewBatch& batch,
                                       const std::vector<core::AggregateDelta>& deltas,
                                       std::vector<Write>* writes) {
  std::vector<Document> updates, recomputes, zero;
  const std::string count = FieldOf(spec.measure_columns.front());
  for (const auto& d : deltas) {
    Document id = AggregateId(spec, d.key);
    Document update = AggregateUpdate(spec, d);
    if (!update.is_null()) updates.push_back(UpdateStatement({{"_id", id}}, update, true));
    for (size_t m = 0; m < spec.max_measures.size(); ++m) {
      const auto& retracted = d.max_retracted[m];
      const auto& added = d.max_added[m];
      if (!retracted || (added && *added >= *retracted)) continue;
      // The retraction may have removed the group's maximum: if the stored one is not above
      // what was retracted, it is recomputed from the list.
      MV_ASSIGN_OR_RETURN(auto value, RecomputeMax(spec, spec.max_measures[m], d.key, list, batch));
      const std::string field = FieldOf(spec.max_measures[m].column);
      Document q = {{"_id", id}, {field, {{"$lte", DateValue(FromMillis(*retracted))}}}};
      Document set = {{"$set", {{field, value ? DateValue(FromMillis(*value)) : Document()}}}};
      recomputes.push_back(UpdateStatement(std::move(q), std::move(set), false));
    }
    if (d.measures.front() < 0) zero.push_back({{"_id", id}, {count, 0}});
  }
  if (!updates.empty()) writes->push_back({UpdateCommand(collection, std::move(updates)), {}});
  if (!recomputes.empty()) {
    writes->push_back({UpdateCommand(collection, std::move(recomputes)), {}});
  }
  // A row whose count reached zero goes.
  if (!zero.empty()) writes->push_back({DeleteCommand(collection, zero, 1), {}});
  return Status::Ok();
}

Result<std::vector<Write>> MongoViewStore::ViewWrites(const LiveCollections& target,
                                                      const core::ViewBatch& batch, RowWrite mode) {
  std::vector<Write> writes;
  const bool insert = mode == RowWrite::kInsert;
  if (!target.shipment_list.empty()) {
    std::vector<Document> docs;
    docs.reserve(batch.list_upserts.size());
    for (const auto& r : batch.list_upserts) docs.push_back(ListDocument(r));
    RowWrites(target.shipment_list, std::move(docs), insert, &writes);
    DeleteWrites(target.shipment_list, batch.list_deletes, &writes);
  }
  if (!target.exception_queue.empty()) {
    std::vector<Document> docs;
    for (const auto& r : batch.exception_upserts) docs.push_back(ExceptionDocument(r));
    RowWrites(target.exception_queue, std::move(docs), insert, &writes);
    DeleteWrites(target.exception_queue, batch.exception_deletes, &writes);
  }
  if (!target.tracking_state.empty()) {
    std::vector<Document> docs;
    for (const auto& t : batch.tracking_upserts) docs.push_back(TrackingDocument(t));
    // A snapshot's chunk may carry the summary of a shipment a later chunk updates.
    RowWrites(target.tracking_state, std::move(docs), /*insert=*/false, &writes);
    DeleteWrites(target.tracking_state, batch.tracking_deletes, &writes);
  }
  for (const auto& [view, deltas] : batch.aggregate_deltas) {
    if (views_->FindAggregate(view) == nullptr) {
      return Status::Internal("batch names unknown view " + view);
    }
  }
  const std::string& list =
      target.shipment_list.empty() ? live_.shipment_list : target.shipment_list;
  for (const auto& [view, collection] : target.aggregates) {
    int version = target.VersionOf(*views_, view);
    const std::vector<core::AggregateDelta>* deltas = DeltasOf(batch, view, version);
    if (deltas == nullptr) continue;
    MV_RETURN_IF_ERROR(AggregateWrites(*SpecOf(*views_, view, version), collection, list, batch,
                                       *deltas, &writes));
  }
  return writes;
}

void MongoViewStore::RememberCommitted(const core::ViewBatch& batch) {
  for (const auto& key : batch.list_deletes) rows_.Put(key, std::nullopt);
  for (const auto& row : batch.list_upserts) {
    rows_.Put({row.org, row.shipment.id}, core::EncodeRow(row));
  }
  for (const auto& state : batch.tracking_upserts) {
    tracking_.Put(state.key, core::EncodeTrackingSummary(state.summary));
  }
  for (const auto& key : batch.tracking_deletes) tracking_.Put(key, std::nullopt);
}

Status MongoViewStore::Apply(const core::ViewBatch& batch) {
  if (!batch.HasViewChanges() && batch.dead_letters.empty() && !batch.token) return Status::Ok();
  Timestamp now = clock_->Now();
  MV_ASSIGN_OR_RETURN(std::vector<Write> writes, ViewWrites(live_, batch, RowWrite::kUpsert));
  for (const auto& side : side_) {
    const std::vector<core::AggregateDelta>* deltas = DeltasOf(batch, side.view, side.version);
    const core::AggregateViewSpec* spec = SpecOf(*views_, side.view, side.version);
    if (deltas == nullptr || spec == nullptr) continue;
    MV_RETURN_IF_ERROR(
        AggregateWrites(*spec, side.table, live_.shipment_list, batch, *deltas, &writes));
  }
  std::int64_t next_letter = next_dead_letter_;
  DeadLetterWrites(batch.dead_letters, now, &next_letter, &writes);
  if (batch.token) writes.push_back(CheckpointWrite(*batch.token, now));
  MV_RETURN_IF_ERROR(Commit(std::move(writes)));
  next_dead_letter_ = next_letter;
  RememberCommitted(batch);
  if (batch.token) {
    applied_.Advance(*batch.token);
    fresh_ = false;
  }
  return Status::Ok();
}

Result<std::vector<core::ShipmentRow>> MongoViewStore::ReadDue(const std::string& collection,
                                                               Timestamp now, size_t limit,
                                                               bool remember) {
  std::vector<core::ShipmentRow> rows;
  Document filter = {{"sla.nextChangeAt", {{"$lte", DateValue(now)}}}};
  if (!options_.partition.whole()) {
    filter["_orgHash"] = {
        {"$mod", Document::array({options_.partition.count, options_.partition.index})}};
  }
  MV_RETURN_IF_ERROR(db_->Query(
      FindCommand(collection, filter, {{"sla.nextChangeAt", 1}}, static_cast<std::int64_t>(limit)),
      [&](Document doc) -> Status {
        auto key = ShipmentKeyOf(doc);
        if (!key.ok()) return key.status();
        auto row = ListRowOf(doc);
        if (!row.ok()) {
          Unreadable(*key, "row", row.status());
          return Status::Ok();
        }
        if (remember) rows_.Put(*key, core::EncodeRow(*row));
        rows.push_back(std::move(row).value());
        return Status::Ok();
      }));
  return rows;
}

Result<std::vector<core::ShipmentRow>> MongoViewStore::DueForSlaChange(Timestamp now,
                                                                       size_t limit) {
  return ReadDue(live_.shipment_list, now, limit, /*remember=*/true);
}

}  // namespace mv::mongo
