// The MongoDB view store's shadows (core::ViewRebuild): rebuilds, reconciliation and the
// next versions of blue/green.

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <functional>
#include <set>

#include "core/exception_queue.h"
#include "core/row_codec.h"
#include "core/stored_versions.h"
#include "mongo/view_documents.h"
#include "mongo/view_store.h"

namespace mv::mongo {

using core::ChangeToken;

// A shadow of a scope of the views in collections of the next generation: always the list
// and the tracking state (its catch-up reads `before` from them), the exception queue and
// the aggregates only when in scope. A shadow of every org is filled without secondary
// indexes and indexed when committed; committing it points the catalog, and then the
// stable names, at its collections. A shadow of one org has its indexes from the start;
// committing it replaces that org's documents of the live collections. Collections not
// committed are dropped with this object.
class MongoViewRebuild final : public core::ViewRebuild {
 public:
  MongoViewRebuild(MongoViewStore* store, core::ViewScope scope, LiveCollections shadow,
                   std::int64_t generation, bool indexed)
      : store_(store),
        scope_(std::move(scope)),
        shadow_(std::move(shadow)),
        generation_(generation),
        indexed_(indexed) {}

  ~MongoViewRebuild() override {
    for (const auto& [view, collection] : shadow_.All()) {
      if (collection.empty() || swapped_.count(collection)) continue;
      if (Status s = DropCollection(*store_->db_, collection); !s.ok()) {
        spdlog::warn("MongoDB views: dropping shadow {}: {} (dropped at the next start)",
                     collection, s.message());
      }
    }
  }

  Result<std::optional<core::ShipmentRow>> FindShipmentRow(const core::ShipmentKey& key) override {
    MV_ASSIGN_OR_RETURN(auto doc, store_->FindById(shadow_.shipment_list, ShipmentId(key)));
    if (!doc) return std::optional<core::ShipmentRow>();
    MV_ASSIGN_OR_RETURN(core::ShipmentRow row, ListRowOf(*doc));
    return std::optional<core::ShipmentRow>(std::move(row));
  }

  Result<std::optional<core::TrackingSummary>> FindTrackingSummary(
      const core::ShipmentKey& key) override {
    MV_ASSIGN_OR_RETURN(auto doc, store_->FindById(shadow_.tracking_state, ShipmentId(key)));
    if (!doc) return std::optional<core::TrackingSummary>();
    MV_ASSIGN_OR_RETURN(core::TrackingState state, TrackingStateOf(*doc));
    return std::optional<core::TrackingSummary>(std::move(state.summary));
  }

  Status Write(const core::ViewBatch& chunk) override {
    MV_ASSIGN_OR_RETURN(std::vector<ViewDatabase::Write> writes,
                        store_->ViewWrites(shadow_, chunk, MongoViewStore::RowWrite::kInsert));
    // Only a rebuild of everything records the snapshot's unusable documents: any other
    // shadow would record again what the live views already hold.
    std::int64_t next = store_->next_dead_letter_;
    if (!scope_.org && scope_.AllViews()) {
      store_->DeadLetterWrites(chunk.dead_letters, store_->clock_->Now(), &next, &writes);
    }
    MV_RETURN_IF_ERROR(store_->Commit(std::move(writes)));
    store_->next_dead_letter_ = next;
    return Status::Ok();
  }

  Status Apply(const core::ViewBatch& batch) override {
    MV_ASSIGN_OR_RETURN(std::vector<ViewDatabase::Write> writes,
                        store_->ViewWrites(shadow_, batch, MongoViewStore::RowWrite::kUpsert));
    return store_->Commit(std::move(writes));
  }

  Result<std::vector<core::ShipmentRow>> DueForSlaChange(Timestamp now, size_t limit) override {
    return store_->ReadDue(shadow_.shipment_list, now, limit, /*remember=*/false);
  }

  Result<std::vector<std::string>> Orgs() override {
    if (scope_.org) return std::vector<std::string>{*scope_.org};
    std::set<std::string> orgs;
    auto add = [&](const std::string& collection) -> Status {
      if (collection.empty()) return Status::Ok();
      MV_ASSIGN_OR_RETURN(Document reply, store_->db_->Command({{"distinct", collection},
                                                                {"key", "organizationId"},
                                                                {"query", Document::object()}}));
      MV_RETURN_IF_ERROR(CheckReply(reply, "distinct " + collection));
      for (const auto& v : reply.value("values", Document::array())) {
        if (v.is_string()) orgs.insert(v.get<std::string>());
      }
      return Status::Ok();
    };
    for (const auto& [view, collection] : store_->live_.All()) MV_RETURN_IF_ERROR(add(collection));
    for (const auto& [view, collection] : shadow_.All()) MV_RETURN_IF_ERROR(add(collection));
    std::vector<std::string> out;
    for (const auto& org : orgs) {
      if (store_->options_.partition.Owns(org)) out.push_back(org);
    }
    return out;
  }

  Result<std::vector<core::ViewDrift>> Compare(const std::string& org) override {
    std::vector<core::ViewDrift> out;
    for (const auto& [view, collection] : shadow_.All()) {
      if (collection.empty() || !scope_.Includes(view)) continue;
      std::string other = store_->live_.Of(view);
      if (scope_.next_version) {
        // The next version is compared with the one built beside the live one.
        const core::StoredVersion* next = store_->FindSide(view, core::VersionState::kBuilding);
        if (next == nullptr) return Status::Conflict("no version of " + view + " is built");
        other = next->table;
      }
      if (other.empty()) return Status::Internal("no live collection for " + view);
      const core::AggregateViewSpec* spec =
          SpecOf(*store_->views_, view, shadow_.VersionOf(*store_->views_, view));
      core::ViewDrift drift;
      drift.view = view;
      drift.org = org;
      MV_ASSIGN_OR_RETURN(auto source_rows, Digest(collection, view, spec, org));
      MV_ASSIGN_OR_RETURN(auto view_rows, Digest(other, view, spec, org));
      core::CompareRows(source_rows, view_rows, &drift);
      out.push_back(std::move(drift));
    }
    return out;
  }

  Status Commit(ChangeToken token) override {
    if (scope_.next_version) return InstallNextVersion();
    if (scope_.org) return Status::Internal("a shadow of one org commits by parts");
    if (!store_->options_.partition.whole()) {
      // Other partitions write the same collections: this partition's orgs are replaced.
      MV_RETURN_IF_ERROR(ReplaceOrgs(scope_));
      MV_RETURN_IF_ERROR(store_->Commit({store_->CheckpointWrite(token, store_->clock_->Now())}));
      store_->fresh_ = false;
      store_->applied_.Reset(token);
      return Status::Ok();
    }
    MV_RETURN_IF_ERROR(Swap(scope_, token));
    store_->applied_.Reset(token);
    return Status::Ok();
  }

  Status CommitPart(const core::ViewScope& part) override {
    MV_RETURN_IF_ERROR(scope_.CheckPart(part));
    if (scope_.next_version) return InstallNextVersion();
    if (!part.org) {
      return store_->options_.partition.whole() ? Swap(part, std::nullopt) : ReplaceOrgs(part);
    }
    return ReplaceOrg(*part.org, part);
  }

 private:
  // The documents of `org` in `collection`, keyed and hashed, sorted by key.
  Result<std::vector<core::RowDigest>> Digest(const std::string& collection,
                                              const std::string& view,
                                              const core::AggregateViewSpec* spec,
                                              const std::string& org) {
    std::vector<core::RowDigest> rows;
    MV_RETURN_IF_ERROR(store_->db_->Query(
        FindCommand(collection, {{"organizationId", org}}), [&](Document doc) -> Status {
          std::string key;
          for (const auto& [field, value] : doc["_id"].items()) {
            if (!key.empty()) key += '\0';
            key += value.is_string() ? value.get<std::string>() : value.dump();
          }
          MV_ASSIGN_OR_RETURN(std::string content, CanonicalContent(view, spec, doc));
          rows.emplace_back(std::move(key), std::hash<std::string>()(content + '\x01' + key));
          return Status::Ok();
        }));
    std::sort(rows.begin(), rows.end());
    return rows;
  }

  // Replaces the documents of every org of this partition (in the live views or the
  // shadow) of the views in `part` with the shadow's, org by org.
  Status ReplaceOrgs(const core::ViewScope& part) {
    MV_ASSIGN_OR_RETURN(std::vector<std::string> orgs, Orgs());
    for (const auto& org : orgs) MV_RETURN_IF_ERROR(ReplaceOrg(org, part));
    return Status::Ok();
  }

  // Replaces the documents of `org` of the views in `part` with the shadow's: in one
  // transaction when they fit the store's bound, else by upserting the shadow's documents
  // and then deleting the live ones it lacks, a bounded transaction at a time (readers
  // may then see the org half old and half new for a moment, never without its rows).
  Status ReplaceOrg(const std::string& org, const core::ViewScope& part) {
    struct Move {
      std::string live;
      std::vector<Document> docs;
    };
    std::vector<Move> moves;
    size_t total = 0;
    for (const auto& [view, live] : store_->live_.All()) {
      if (!part.Includes(view) || !scope_.Includes(view)) continue;
      std::string from = shadow_.Of(view);
      if (from.empty() || live.empty()) continue;
      Move m{live, {}};
      MV_RETURN_IF_ERROR(
          store_->db_->Query(FindCommand(from, {{"organizationId", org}}), [&](Document doc) {
            m.docs.push_back(std::move(doc));
            return Status::Ok();
          }));
      total += m.docs.size() + 1;
      moves.push_back(std::move(m));
    }
    const size_t bound = std::max<size_t>(store_->MaxWritesPerBatch(), 1);
    if (total <= bound) {
      std::vector<ViewDatabase::Write> writes;
      for (auto& m : moves) {
        writes.push_back({DeleteCommand(m.live, {{{"organizationId", org}}}, 0), std::nullopt});
        if (!m.docs.empty()) writes.push_back({InsertCommand(m.live, std::move(m.docs)), {}});
      }
      MV_RETURN_IF_ERROR(store_->Commit(std::move(writes)));
    } else {
      for (auto& m : moves) MV_RETURN_IF_ERROR(ReplaceInParts(org, m.live, m.docs, bound));
    }
    store_->rows_.Clear();
    store_->tracking_.Clear();
    return Status::Ok();
  }

  Status ReplaceInParts(const std::string& org, const std::string& live,
                        const std::vector<Document>& docs, size_t bound) {
    std::set<std::string> kept;
    for (size_t i = 0; i < docs.size(); i += bound) {
      std::vector<Document> statements;
      for (size_t j = i; j < std::min(docs.size(), i + bound); ++j) {
        kept.insert(docs[j]["_id"].dump());
        statements.push_back(UpdateStatement({{"_id", docs[j]["_id"]}}, docs[j], true));
      }
      MV_RETURN_IF_ERROR(store_->Commit({{UpdateCommand(live, std::move(statements)), {}}}));
    }
    std::vector<Document> gone;
    MV_RETURN_IF_ERROR(store_->db_->Query(
        FindCommand(live, {{"organizationId", org}}, nullptr, 0, {{"_id", 1}}), [&](Document doc) {
          if (!kept.count(doc["_id"].dump())) gone.push_back({{"_id", doc["_id"]}});
          return Status::Ok();
        }));
    for (size_t i = 0; i < gone.size(); i += bound) {
      std::vector<Document> part(
          gone.begin() + static_cast<std::ptrdiff_t>(i),
          gone.begin() + static_cast<std::ptrdiff_t>(std::min(gone.size(), i + bound)));
      MV_RETURN_IF_ERROR(store_->Commit({{DeleteCommand(live, part, 1), {}}}));
    }
    return Status::Ok();
  }

  Status Index(const std::string& view, const std::string& collection) {
    const core::AggregateViewSpec* spec =
        SpecOf(*store_->views_, view, shadow_.VersionOf(*store_->views_, view));
    MV_ASSIGN_OR_RETURN(Document reply, store_->db_->Command(IndexCommand(collection, view, spec)));
    return CheckReply(reply, "createIndexes " + collection);
  }

  // The catalog entry of this shadow's `collection` of `view`, built now at `token`.
  core::StoredVersion Built(const std::string& view, const std::string& collection,
                            core::VersionState state, ChangeToken token, Timestamp now) const {
    core::StoredVersion v;
    v.view = view;
    v.version = shadow_.VersionOf(*store_->views_, view);
    v.generation = generation_;
    v.state = state;
    v.table = collection;
    v.built_at = now;
    v.token = static_cast<std::int64_t>(token);
    return v;
  }

  // Records the shadow's aggregates in scope as their next version, built beside the live
  // one (replacing any other stored version of that definition), indexed; the live views
  // go on serving.
  Status InstallNextVersion() {
    Timestamp now = store_->clock_->Now();
    std::vector<core::StoredVersion> replaced, installed;
    for (const auto& [view, collection] : shadow_.aggregates) {
      if (!scope_.Includes(view) || swapped_.count(collection)) continue;
      core::StoredVersion next =
          Built(view, collection, core::VersionState::kBuilding, store_->applied_.Get(), now);
      for (const auto& side : store_->side_) {
        if (side.view == view && side.version == next.version) replaced.push_back(side);
      }
      if (!indexed_) MV_RETURN_IF_ERROR(Index(view, collection));
      installed.push_back(std::move(next));
    }
    std::vector<ViewDatabase::Write> writes;
    std::vector<Document> gone, added;
    for (const auto& v : replaced) gone.push_back({{"_id", v.table}});
    for (const auto& v : installed) added.push_back(CatalogDocument(v));
    if (!gone.empty()) writes.push_back({DeleteCommand(kCatalog, gone, 1), std::nullopt});
    if (!added.empty()) writes.push_back({InsertCommand(kCatalog, std::move(added)), {}});
    writes.push_back(BumpEpoch());
    MV_RETURN_IF_ERROR(store_->Commit(std::move(writes)));
    for (const auto& v : replaced) MV_RETURN_IF_ERROR(DropCollection(*store_->db_, v.table));
    store_->generation_ = std::max(store_->generation_, generation_);
    for (const auto& v : installed) {
      swapped_.insert(v.table);
      spdlog::info("MongoDB views: {} v{} built beside the live v{} ({})", v.view, v.version,
                   store_->live_.VersionOf(*store_->views_, v.view), v.table);
    }
    return store_->ReloadSideVersions();
  }

  // Points the catalog at the shadow's collections of the views in `part` (every org),
  // after indexing them, then the stable names, and drops the collections they replace;
  // with `token`, sets the checkpoint in the catalog's transaction.
  Status Swap(const core::ViewScope& part, std::optional<ChangeToken> token) {
    Timestamp now = store_->clock_->Now();
    LiveCollections merged = store_->live_;
    std::vector<std::pair<std::string, std::string>> taken;  // view, shadow collection
    std::vector<std::string> old;
    for (const auto& [view, collection] : shadow_.All()) {
      if (collection.empty() || !part.Includes(view) || !scope_.Includes(view) ||
          swapped_.count(collection)) {
        continue;
      }
      taken.emplace_back(view, collection);
    }
    if (taken.empty()) return Status::Ok();
    std::vector<Document> entries, retired;
    for (const auto& [view, collection] : taken) {
      if (!indexed_) MV_RETURN_IF_ERROR(Index(view, collection));
      core::StoredVersion v = Built(view, collection, core::VersionState::kLive,
                                    token ? *token : store_->applied_.Get(), now);
      entries.push_back(CatalogDocument(v));
      std::string replaced = store_->live_.Of(view);
      if (!replaced.empty()) {
        old.push_back(replaced);
        retired.push_back({{"_id", replaced}});
      }
      if (view == core::ViewSet::kShipmentList) merged.shipment_list = collection;
      if (view == core::kExceptionQueueView) merged.exception_queue = collection;
      if (view == core::ViewSet::kTrackingState) merged.tracking_state = collection;
      if (merged.aggregates.count(view)) {
        merged.aggregates[view] = collection;
        merged.aggregate_versions[view] = v.version;
      }
    }
    std::vector<ViewDatabase::Write> writes;
    if (!retired.empty()) writes.push_back({DeleteCommand(kCatalog, retired, 1), std::nullopt});
    writes.push_back({InsertCommand(kCatalog, std::move(entries)), std::nullopt});
    writes.push_back(BumpEpoch());
    if (token) writes.push_back(store_->CheckpointWrite(*token, now));
    MV_RETURN_IF_ERROR(store_->Commit(std::move(writes)));
    for (const auto& [view, collection] : taken) swapped_.insert(collection);
    store_->rows_.Clear();
    store_->tracking_.Clear();
    store_->live_ = std::move(merged);
    store_->generation_ = std::max(store_->generation_, generation_);
    store_->fresh_ = false;
    // The catalog is committed: a failure from here on is completed at the next start.
    for (const auto& [view, collection] : taken) {
      MV_RETURN_IF_ERROR(PointStableName(*store_->db_, view, collection));
    }
    for (const auto& c : old) MV_RETURN_IF_ERROR(DropCollection(*store_->db_, c));
    indexed_ = true;
    return Status::Ok();
  }

  MongoViewStore* store_;
  core::ViewScope scope_;
  LiveCollections shadow_;
  std::int64_t generation_;
  bool indexed_;
  std::set<std::string> swapped_;  // shadow collections the catalog now names
};

Result<std::unique_ptr<core::ViewRebuild>> MongoViewStore::BeginRebuild(
    const core::ViewScope& scope) {
  std::int64_t generation = generation_ + 1;
  const bool indexed = scope.org.has_value();
  if (scope.next_version && !options_.partition.whole()) {
    return Status::InvalidArgument(
        "a next version is built with stream.partitions = 1 in this release (the build and the "
        "switch span every org)");
  }
  MV_ASSIGN_OR_RETURN(core::LiveVersions versions,
                      core::ShadowVersions(*views_, live_.aggregate_versions, scope));
  LiveCollections shadow;
  auto make = [&](const std::string& view, int version) -> Result<std::string> {
    std::string name = PhysicalName(view, version, generation);
    if (!options_.partition.whole()) name += "_" + options_.partition.Id();
    // A shadow of this generation left by an earlier operation must not lend it rows.
    MV_RETURN_IF_ERROR(DropCollection(*db_, name));
    MV_RETURN_IF_ERROR(CreatePhysical(*db_, name, view, SpecOf(*views_, view, version), indexed));
    return name;
  };
  MV_ASSIGN_OR_RETURN(shadow.shipment_list, make(core::ViewSet::kShipmentList,
                                                 views_->VersionOf(core::ViewSet::kShipmentList)));
  MV_ASSIGN_OR_RETURN(
      shadow.tracking_state,
      make(core::ViewSet::kTrackingState, views_->VersionOf(core::ViewSet::kTrackingState)));
  if (scope.Includes(core::kExceptionQueueView) && !scope.next_version) {
    MV_ASSIGN_OR_RETURN(shadow.exception_queue, make(core::kExceptionQueueView,
                                                     views_->VersionOf(core::kExceptionQueueView)));
  }
  for (const auto& [view, version] : versions) {
    if (!scope.Includes(view)) continue;
    MV_ASSIGN_OR_RETURN(shadow.aggregates[view], make(view, version));
    shadow.aggregate_versions[view] = version;
  }
  return std::unique_ptr<core::ViewRebuild>(
      new MongoViewRebuild(this, scope, std::move(shadow), generation, indexed));
}

}  // namespace mv::mongo
