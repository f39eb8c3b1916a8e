#include "mongo/view_layout.h"

#include <fmt/format.h>

#include <algorithm>
#include <regex>

#include "base/time.h"
#include "core/exception_queue.h"
#include "core/stored_versions.h"
#include "mongo/view_documents.h"

namespace mv::mongo {
namespace {

core::VersionState StateOf(const std::string& text) {
  if (text == "building") return core::VersionState::kBuilding;
  if (text == "retired") return core::VersionState::kRetired;
  return core::VersionState::kLive;
}

constexpr std::int64_t kYearOneMillis = -62135596800000;

Document Index(const std::string& name, Document key) {
  return {{"key", std::move(key)}, {"name", name}};
}

// The list's indexes: each filter of GET /v1/shipments, then its order (createdAt, id
// descending); the reference prefix; the SLA due time (only rows that have one); an org's
// rows in key order (rebuilds and reconciliation).
std::vector<Document> ListIndexes() {
  auto by = [](const std::string& field) {
    Document key = {{"organizationId", 1}};
    if (!field.empty()) key[field] = 1;
    key["createdAt"] = -1;
    key["id"] = -1;
    return key;
  };
  std::vector<Document> out = {
      Index("by_created", by("")),
      Index("by_status", by("status")),
      Index("by_customer", by("customerId")),
      Index("by_carrier", by("carrierId")),
      Index("by_sla", by("sla.status")),
      Index("by_reference", {{"organizationId", 1}, {"_referenceKey", 1}}),
  };
  Document due = Index("sla_due", {{"sla.nextChangeAt", 1}});
  // Dates only ({$type: "date"} would be read as the legacy binary {$type, $binary} by
  // libbson's JSON parser): every date compares above year 1, null does not.
  due["partialFilterExpression"] = {
      {"sla.nextChangeAt", {{"$gte", DateValue(FromMillis(kYearOneMillis))}}}};
  out.push_back(std::move(due));
  return out;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> LiveCollections::All() const {
  std::vector<std::pair<std::string, std::string>> out = {
      {core::ViewSet::kShipmentList, shipment_list},
      {core::kExceptionQueueView, exception_queue},
      {core::ViewSet::kTrackingState, tracking_state}};
  for (const auto& [view, collection] : aggregates) out.emplace_back(view, collection);
  return out;
}

std::string LiveCollections::Of(const std::string& view) const {
  for (const auto& [name, collection] : All()) {
    if (name == view) return collection;
  }
  return {};
}

int LiveCollections::VersionOf(const core::ViewSet& views, const std::string& view) const {
  return core::LiveVersionOf(views, aggregate_versions, view);
}

std::string PhysicalName(const std::string& view, int version, std::int64_t generation) {
  return fmt::format("{}__v{}_g{}", view, version, generation);
}

bool IsPhysicalName(const std::string& name) {
  static const std::regex pattern("mv_[a-z_]+__v[0-9]+_g[0-9]+(_p[0-9]+of[0-9]+)?");
  return std::regex_match(name, pattern);
}

const core::AggregateViewSpec* SpecOf(const core::ViewSet& views, const std::string& view,
                                      int version) {
  const core::AggregateView* def = views.Definition(view, version);
  return def != nullptr ? &def->spec() : nullptr;
}

Document IndexCommand(const std::string& collection, const std::string& view,
                      const core::AggregateViewSpec* spec) {
  std::vector<Document> indexes;
  if (view == core::ViewSet::kShipmentList) {
    indexes = ListIndexes();
  } else if (view == core::kExceptionQueueView) {
    indexes.push_back(Index("by_urgency", {{"organizationId", 1},
                                           {"urgency", 1},
                                           {"promisedSort", 1},
                                           {"statusChangedAt", 1},
                                           {"id", 1}}));
  } else if (spec != nullptr) {
    // The key fields in key order: an org's rows in key order, and ranges of the key.
    Document key = Document::object();
    for (const auto& column : spec->key_columns) key[FieldOf(column)] = 1;
    indexes.push_back(Index("by_key", std::move(key)));
    for (size_t i = 0; i < spec->indexes.size(); ++i) {
      Document fields = Document::object();
      for (const auto& column : spec->indexes[i]) fields[FieldOf(column)] = 1;
      indexes.push_back(Index(fmt::format("by_{}", i), std::move(fields)));
    }
  }
  // Every view: an org's rows by key (shadows are compared and committed org by org).
  indexes.push_back(Index("by_org", {{"organizationId", 1}, {"_id", 1}}));
  return {{"createIndexes", collection}, {"indexes", indexes}};
}

Status CreatePhysical(ViewDatabase& db, const std::string& name, const std::string& view,
                      const core::AggregateViewSpec* spec, bool indexes) {
  MV_ASSIGN_OR_RETURN(Document created, db.Command({{"create", name}}));
  MV_RETURN_IF_ERROR(CheckReply(created, "create " + name, {kNamespaceExists}));
  if (!indexes) return Status::Ok();
  MV_ASSIGN_OR_RETURN(Document indexed, db.Command(IndexCommand(name, view, spec)));
  return CheckReply(indexed, "createIndexes " + name);
}

Status DropCollection(ViewDatabase& db, const std::string& name) {
  MV_ASSIGN_OR_RETURN(Document reply, db.Command({{"drop", name}}));
  return CheckReply(reply, "drop " + name, {kNamespaceNotFound});
}

Status PointStableName(ViewDatabase& db, const std::string& view, const std::string& collection) {
  MV_ASSIGN_OR_RETURN(
      Document modified,
      db.Command({{"collMod", view}, {"viewOn", collection}, {"pipeline", Document::array()}}));
  if (ReplyOk(modified)) return Status::Ok();
  if (ReplyCode(modified) != kNamespaceNotFound) {
    return CheckReply(modified, "collMod " + view);
  }
  MV_ASSIGN_OR_RETURN(
      Document created,
      db.Command({{"create", view}, {"viewOn", collection}, {"pipeline", Document::array()}}));
  return CheckReply(created, "create view " + view);
}

Document CatalogDocument(const core::StoredVersion& v) {
  Document doc = {{"_id", v.table},
                  {"view", v.view},
                  {"version", v.version},
                  {"generation", Int64Value(v.generation)},
                  {"state", std::string(core::ToString(v.state))},
                  {"builtAt", nullptr},
                  {"token", Int64Value(v.token)},
                  {"validated", v.validated},
                  {"retiredAt", nullptr}};
  if (v.built_at) doc["builtAt"] = DateValue(*v.built_at);
  if (v.retired_at) doc["retiredAt"] = DateValue(*v.retired_at);
  return doc;
}

Result<core::StoredVersion> StoredVersionOf(const Document& doc) {
  core::StoredVersion v;
  try {
    v.table = doc.at("_id").get<std::string>();
    v.view = doc.at("view").get<std::string>();
    MV_ASSIGN_OR_RETURN(std::int64_t version, ReadInt64(doc.at("version")));
    v.version = static_cast<int>(version);
    MV_ASSIGN_OR_RETURN(v.generation, ReadInt64(doc.at("generation")));
    v.state = StateOf(doc.at("state").get<std::string>());
    if (!doc.at("builtAt").is_null()) {
      MV_ASSIGN_OR_RETURN(v.built_at, ReadDate(doc.at("builtAt")));
    }
    MV_ASSIGN_OR_RETURN(v.token, ReadInt64(doc.at("token")));
    v.validated = doc.at("validated").get<bool>();
    if (!doc.at("retiredAt").is_null()) {
      MV_ASSIGN_OR_RETURN(v.retired_at, ReadDate(doc.at("retiredAt")));
    }
  } catch (const nlohmann::json::exception& e) {
    return Status::Corruption(fmt::format("{}: bad entry {}: {}", kCatalog, doc.dump(), e.what()));
  }
  return v;
}

Result<std::vector<core::StoredVersion>> ReadCatalog(ViewDatabase& db) {
  std::vector<core::StoredVersion> out;
  MV_RETURN_IF_ERROR(
      db.Query(FindCommand(kCatalog, {{"_id", {{"$ne", kEpochId}}}}), [&](Document doc) {
        MV_ASSIGN_OR_RETURN(core::StoredVersion v, StoredVersionOf(doc));
        out.push_back(std::move(v));
        return Status::Ok();
      }));
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return std::tie(a.view, a.version, a.generation) < std::tie(b.view, b.version, b.generation);
  });
  return out;
}

LiveCollections LiveOf(const std::vector<core::StoredVersion>& versions) {
  LiveCollections live;
  for (const auto& v : versions) {
    if (v.state != core::VersionState::kLive) continue;
    if (v.view == core::ViewSet::kShipmentList) {
      live.shipment_list = v.table;
    } else if (v.view == core::kExceptionQueueView) {
      live.exception_queue = v.table;
    } else if (v.view == core::ViewSet::kTrackingState) {
      live.tracking_state = v.table;
    } else {
      live.aggregates[v.view] = v.table;
      live.aggregate_versions[v.view] = v.version;
    }
  }
  return live;
}

ViewDatabase::Write BumpEpoch() {
  Document inc = {{"$inc", {{"epoch", Int64Value(1)}}}};
  return {UpdateCommand(kCatalog, {UpdateStatement({{"_id", kEpochId}}, inc, true)}), 1};
}

Result<std::vector<std::string>> ListCollections(ViewDatabase& db) {
  MV_ASSIGN_OR_RETURN(Document reply, db.Command({{"listCollections", 1}, {"nameOnly", true}}));
  MV_RETURN_IF_ERROR(CheckReply(reply, "listCollections"));
  std::vector<std::string> names;
  try {
    for (const auto& c : reply.at("cursor").at("firstBatch")) {
      names.push_back(c.at("name").get<std::string>());
    }
  } catch (const nlohmann::json::exception& e) {
    return Status::Internal(std::string("listCollections: unexpected reply: ") + e.what());
  }
  return names;
}

}  // namespace mv::mongo
