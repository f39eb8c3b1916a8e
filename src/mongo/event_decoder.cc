#include "mongo/event_decoder.h"

#include <fmt/format.h>

#include "base/time.h"
#include "core/domain.h"
#include "mongo/cluster_time.h"
#include "mongo/extended_json.h"

namespace mv::mongo {
namespace {

using nlohmann::json;

// The text of an id value: a string, an ObjectId's hex, or an integer.
std::optional<std::string> IdText(const json& v) {
  json plain = PlainJson(v);
  if (plain.is_string()) return plain.get<std::string>();
  if (plain.is_number_integer()) return std::to_string(plain.get<std::int64_t>());
  return std::nullopt;
}

// A 32-bit unsigned member of a $timestamp, or -1.
std::int64_t Word(const json& ts, const char* name) {
  auto it = ts.find(name);
  if (it == ts.end() || !it->is_number_integer()) return -1;
  std::int64_t v = it->get<std::int64_t>();
  return v >= 0 && v <= 0xffffffffLL ? v : -1;
}

Result<ClusterTime> ClusterTimeOf(const json& event) {
  auto it = event.find("clusterTime");
  if (it != event.end() && it->is_object() && it->contains("$timestamp")) {
    const json& ts = (*it)["$timestamp"];
    std::int64_t t = ts.is_object() ? Word(ts, "t") : -1, i = ts.is_object() ? Word(ts, "i") : -1;
    if (t >= 0 && i >= 0) {
      return ClusterTime{static_cast<std::uint32_t>(t), static_cast<std::uint32_t>(i)};
    }
  }
  return Status::InvalidArgument("change event: no clusterTime");
}

// The org and document id of a delete: from documentKey (a shard key that includes the
// org), else from the pre-image.
Status DeleteKey(core::Collection collection, const json& event, const FieldMapping& mapping,
                 std::string* org, std::string* document_id) {
  const json key = event.value("documentKey", json::object());
  auto before = event.find("fullDocumentBeforeChange");
  if (before != event.end() && before->is_object()) {
    return CanonicalDocument(collection, *before, mapping, org, document_id).status();
  }
  std::optional<std::string> id =
      key.contains(mapping.id) ? IdText(key[mapping.id]) : std::optional<std::string>();
  std::string shown = id.value_or(key.dump());
  if (collection == core::Collection::kTrackingEvents) {
    // A tracking event is named by carrierId/eventId, which only its pre-image has.
    return Status::InvalidArgument(fmt::format(
        "delete of tracking event {}: no pre-image; enable changeStreamPreAndPostImages on "
        "the collection",
        shown));
  }
  std::optional<std::string> key_org =
      key.contains(mapping.org) ? IdText(key[mapping.org]) : std::optional<std::string>();
  if (!id || !key_org) {
    return Status::InvalidArgument(fmt::format(
        "delete of {} {}: its documentKey has no {}; shard the collection on {} or enable "
        "changeStreamPreAndPostImages",
        core::ToString(collection), shown, mapping.org, mapping.org));
  }
  *org = *key_org;
  *document_id = *id;
  return Status::Ok();
}

}  // namespace

std::string FieldMapping::PlatformName(core::Collection collection,
                                       const std::string& canonical) const {
  auto per = renames.find(collection);
  if (per == renames.end()) return canonical;
  auto it = per->second.find(canonical);
  return it == per->second.end() ? canonical : it->second;
}

std::string FieldMapping::CanonicalName(core::Collection collection,
                                        const std::string& platform) const {
  auto per = renames.find(collection);
  if (per == renames.end()) return platform;
  for (const auto& [canonical, name] : per->second) {
    if (name == platform) return canonical;
  }
  return platform;
}

std::optional<core::Collection> SourceNames::CollectionOf(const std::string& name) const {
  if (name == shipments) return core::Collection::kShipments;
  if (name == tracking_events) return core::Collection::kTrackingEvents;
  if (name == customers) return core::Collection::kCustomers;
  if (name == carriers) return core::Collection::kCarriers;
  return std::nullopt;
}

Result<json> CanonicalDocument(core::Collection collection, const json& doc,
                               const FieldMapping& mapping, std::string* org,
                               std::string* document_id) {
  if (!doc.is_object()) return Status::InvalidArgument("document: not an object");
  json out = json::object();
  std::optional<std::string> id, doc_org;
  for (const auto& [name, value] : doc.items()) {
    if (name == mapping.org) {
      doc_org = IdText(value);
      continue;
    }
    if (name == mapping.id) {
      id = IdText(value);
      continue;
    }
    if (name == "_id") continue;  // the platform's own key when the id is another field
    out[mapping.CanonicalName(collection, name)] = PlainJson(value);
  }
  if (!doc_org || doc_org->empty()) {
    return Status::InvalidArgument(fmt::format("{} document {}: no {} (the org field)",
                                               core::ToString(collection), id.value_or("?"),
                                               mapping.org));
  }
  *org = *doc_org;
  if (collection == core::Collection::kTrackingEvents) {
    // Identity is (org, carrierId, eventId); the platform's _id is not part of it.
    auto text = [&](const char* field) {
      auto it = out.find(field);
      return it != out.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    std::string carrier = text("carrierId"), event_id = text("eventId");
    if (carrier.empty() || event_id.empty()) {
      return Status::InvalidArgument(
          fmt::format("tracking event {}: no carrierId or eventId", id.value_or("?")));
    }
    *document_id = carrier + "/" + event_id;
    return out;
  }
  if (!id || id->empty()) {
    return Status::InvalidArgument(fmt::format("{} document of org {}: no {} (the id field)",
                                               core::ToString(collection), *org, mapping.id));
  }
  out["id"] = *id;
  *document_id = *id;
  return out;
}

Result<DecodedEvent> DecodeChangeEvent(const json& event, const SourceNames& names,
                                       const FieldMapping& mapping) {
  if (!event.is_object()) return Status::InvalidArgument("change event: not a document");
  DecodedEvent out;
  auto id = event.find("_id");
  if (id == event.end() || !id->is_object()) {
    return Status::InvalidArgument("change event: no _id (resume token)");
  }
  out.resume_token = id->dump();
  const std::string op = event.value("operationType", "");
  out.what = op;
  if (op == "invalidate") {
    out.kind = DecodedEvent::Kind::kHistoryLost;
    return out;
  }
  const json ns = event.value("ns", json::object());
  const std::string db = ns.value("db", ""), coll = ns.value("coll", "");
  if (op == "dropDatabase") {
    out.kind = db == names.database ? DecodedEvent::Kind::kHistoryLost : DecodedEvent::Kind::kSkip;
    out.what = "dropDatabase " + db;
    return out;
  }
  std::optional<core::Collection> collection =
      db == names.database ? names.CollectionOf(coll) : std::nullopt;
  out.what = op + " " + db + "." + coll;
  if (!collection) return out;  // kSkip
  if (op == "drop" || op == "rename") {
    out.kind = DecodedEvent::Kind::kHistoryLost;
    return out;
  }
  core::ChangeEvent& c = out.change;
  if (op == "insert") {
    c.op = core::Operation::kInsert;
  } else if (op == "update") {
    c.op = core::Operation::kUpdate;
  } else if (op == "replace") {
    c.op = core::Operation::kReplace;
  } else if (op == "delete") {
    c.op = core::Operation::kDelete;
  } else {
    return out;  // create, createIndexes, modify, shardCollection, ...: nothing to apply
  }
  MV_ASSIGN_OR_RETURN(ClusterTime time, ClusterTimeOf(event));
  c.token = Pack(time);
  c.collection = *collection;
  c.wall_time = Timestamp(std::chrono::seconds(time.seconds));
  if (auto wall = event.find("wallTime"); wall != event.end()) {
    json text = PlainJson(*wall);
    if (text.is_string()) {
      if (auto t = ParseRfc3339(text.get<std::string>())) c.wall_time = *t;
    }
  }
  auto full = event.find("fullDocument");
  bool has_post_image = full != event.end() && full->is_object();
  if (c.op == core::Operation::kUpdate && !has_post_image) {
    c.op = core::Operation::kDelete;  // deleted since: updateLookup found nothing
  }
  if (c.op == core::Operation::kDelete) {
    MV_RETURN_IF_ERROR(DeleteKey(c.collection, event, mapping, &c.org, &c.document_id));
    if (auto before = event.find("fullDocumentBeforeChange");
        before != event.end() && before->is_object()) {
      std::string org, id;
      MV_ASSIGN_OR_RETURN(json doc, CanonicalDocument(c.collection, *before, mapping, &org, &id));
      c.before_document = doc.dump();
    }
  } else {
    if (!has_post_image) {
      return Status::InvalidArgument(fmt::format("{} event without fullDocument", op));
    }
    MV_ASSIGN_OR_RETURN(json doc,
                        CanonicalDocument(c.collection, *full, mapping, &c.org, &c.document_id));
    c.full_document = doc.dump();
  }
  if (!core::IsValidId(c.org)) {
    return Status::InvalidArgument(fmt::format("{} {}: org '{}' is not a valid id",
                                               core::ToString(c.collection), c.document_id,
                                               c.org.substr(0, 64)));
  }
  out.kind = DecodedEvent::Kind::kChange;
  return out;
}

}  // namespace mv::mongo
