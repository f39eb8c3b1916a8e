#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "base/result.h"
#include "core/change_event.h"

namespace mv::mongo {

// The platform's database and the names of its four collections.
struct SourceNames {
  std::string database = "viya";
  std::string shipments = "shipments";
  std::string tracking_events = "tracking_events";
  std::string customers = "customers";
  std::string carriers = "carriers";

  std::optional<core::Collection> CollectionOf(const std::string& name) const;
};

// How the platform's documents name the canonical fields (DESIGN.md section 5): the org
// and id fields, and per collection the API's field names that differ.
struct FieldMapping {
  std::string org = "organizationId";
  std::string id = "_id";
  // Per collection: canonical name ("createdAt") -> the platform's name ("created").
  std::map<core::Collection, std::map<std::string, std::string>> renames;

  // The platform's name of canonical field `canonical`, and back.
  std::string PlatformName(core::Collection collection, const std::string& canonical) const;
  std::string CanonicalName(core::Collection collection, const std::string& platform) const;
};

// A platform document of `collection` as the canonical document viya-mv's parsers take:
// fields renamed, BSON types made plain (PlainJson), the org field removed and the id
// under "id" (shipments, customers, carriers). Sets `org` and the change's document id
// (a tracking event's is "carrierId/eventId"). InvalidArgument when the document lacks
// its org or id.
Result<nlohmann::json> CanonicalDocument(core::Collection collection, const nlohmann::json& doc,
                                         const FieldMapping& mapping, std::string* org,
                                         std::string* document_id);

// One change-stream event, decoded.
struct DecodedEvent {
  enum class Kind {
    kChange,       // a change of one of the four collections: `change`
    kSkip,         // nothing for the views (another collection, an index build, ...)
    kHistoryLost,  // drop, rename, dropDatabase, invalidate: the stream cannot go on
  };
  Kind kind = Kind::kSkip;
  core::ChangeEvent change;  // its token is the packed cluster time (cluster_time.h)
  std::string resume_token;  // the event's _id, as Extended JSON text: where to resume after it
  std::string what;          // kSkip, kHistoryLost: what the event was, for logs
};

// Decodes an event of a change stream opened with fullDocument: "updateLookup", as
// Extended JSON (bson_as_relaxed_extended_json). An update whose post-image is null (the
// document was deleted since) is a delete. A delete's org comes from documentKey (the
// shard key of a sharded collection) or the pre-image (fullDocumentBeforeChange);
// without either it is InvalidArgument naming the document, as is any event that does
// not have the shape of the change-stream spec.
Result<DecodedEvent> DecodeChangeEvent(const nlohmann::json& event, const SourceNames& names,
                                       const FieldMapping& mapping);

}  // namespace mv::mongo
