#include "mongo/source_reader.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/domain.h"

namespace mv::mongo {
namespace {

using nlohmann::json;

constexpr int kScanAttempts = 3;

// Documents of one sorted cursor, canonical, with a one-document lookahead.
struct Stream {
  std::unique_ptr<DocumentCursor> cursor;
  std::optional<json> head;  // canonical
  std::string org, id;       // of head; for tracking events the shipment id
};

}  // namespace

Result<core::ChangeToken> MongoSourceReader::ScanShipments(
    const std::optional<std::string>& org,
    const std::function<Status(const core::SourceShipment&)>& fn) {
  // The stream resumes from here: anything the scan sees after it is applied again.
  MV_ASSIGN_OR_RETURN(ClusterTime position, reader_->ClusterTimeNow());
  const std::string shipment_id =
      mapping_.PlatformName(core::Collection::kTrackingEvents, "shipmentId");
  std::optional<std::pair<std::string, std::string>> last;  // (org, id) passed on
  // Filter: of `org`, and after `last` once a cursor was reopened.
  auto filter = [&](const std::string& id_field) {
    json f = json::object();
    if (org) f[mapping_.org] = *org;
    if (last) {
      json after =
          json::array({{{mapping_.org, {{"$gt", last->first}}}},
                       {{mapping_.org, last->first}, {id_field, {{"$gt", last->second}}}}});
      f = org ? json{{"$and", json::array({f, {{"$or", after}}})}} : json{{"$or", after}};
    }
    return f;
  };
  bool final_error = false;  // a document or the callback failed: no retry
  auto advance = [&](Stream& s, core::Collection collection) -> Status {
    MV_ASSIGN_OR_RETURN(auto doc, s.cursor->Next());
    s.head.reset();
    if (!doc) return Status::Ok();
    std::string doc_org, doc_id;
    auto canonical = CanonicalDocument(collection, *doc, mapping_, &doc_org, &doc_id);
    if (!canonical.ok()) {
      final_error = true;
      return canonical.status();
    }
    s.org = doc_org;
    if (collection == core::Collection::kTrackingEvents) {
      auto it = canonical->find("shipmentId");
      doc_id = it != canonical->end() && it->is_string() ? it->get<std::string>() : "";
    }
    s.id = doc_id;
    s.head = std::move(*canonical);
    return Status::Ok();
  };
  for (int attempt = 1;; ++attempt) {
    Status scan = [&]() -> Status {
      Stream shipments, events;
      MV_ASSIGN_OR_RETURN(
          shipments.cursor,
          reader_->Find(names_.shipments, filter(mapping_.id),
                        CollectionReader::Sort{{mapping_.org, 1}, {mapping_.id, 1}}, std::nullopt));
      MV_ASSIGN_OR_RETURN(
          events.cursor,
          reader_->Find(names_.tracking_events, filter(shipment_id),
                        CollectionReader::Sort{{mapping_.org, 1}, {shipment_id, 1}}, std::nullopt));
      MV_RETURN_IF_ERROR(advance(shipments, core::Collection::kShipments));
      MV_RETURN_IF_ERROR(advance(events, core::Collection::kTrackingEvents));
      while (shipments.head || events.head) {
        // The smaller (org, id) of the two heads goes next, with all of its events.
        auto key = [](const Stream& s) { return std::make_pair(s.org, s.id); };
        core::SourceShipment out;
        if (shipments.head && (!events.head || key(shipments) <= key(events))) {
          std::tie(out.org, out.id) = key(shipments);
          out.json = shipments.head->dump();
          MV_RETURN_IF_ERROR(advance(shipments, core::Collection::kShipments));
        } else {
          std::tie(out.org, out.id) = key(events);
        }
        while (events.head && key(events) == std::make_pair(out.org, out.id)) {
          out.events.push_back(events.head->dump());
          MV_RETURN_IF_ERROR(advance(events, core::Collection::kTrackingEvents));
        }
        if (Status s = fn(out); !s.ok()) {
          final_error = true;
          return s;
        }
        last = std::make_pair(out.org, out.id);
      }
      return Status::Ok();
    }();
    if (scan.ok()) return Pack(position);
    // A failure of the callback, or of a document, is final; a cursor's may be transient.
    if (attempt >= kScanAttempts || final_error) return scan;
    spdlog::warn("snapshot scan: {}; reopening after {}", scan.message(),
                 last ? last->first + "/" + last->second : std::string("the start"));
  }
}

Result<std::int64_t> MongoSourceReader::CountShipments(const std::optional<std::string>& org) {
  json filter = json::object();
  if (org) filter[mapping_.org] = *org;
  return reader_->Count(names_.shipments, filter);
}

Result<std::vector<std::string>> MongoSourceReader::TrackingEventsOf(
    const std::string& org, const std::string& shipment_id) {
  const std::string field = mapping_.PlatformName(core::Collection::kTrackingEvents, "shipmentId");
  MV_ASSIGN_OR_RETURN(auto cursor, reader_->Find(names_.tracking_events,
                                                 {{mapping_.org, org}, {field, shipment_id}},
                                                 CollectionReader::Sort{}, std::nullopt));
  std::vector<std::string> docs;
  for (;;) {
    MV_ASSIGN_OR_RETURN(auto doc, cursor->Next());
    if (!doc) return docs;
    std::string doc_org, doc_id;
    MV_ASSIGN_OR_RETURN(json canonical, CanonicalDocument(core::Collection::kTrackingEvents, *doc,
                                                          mapping_, &doc_org, &doc_id));
    docs.push_back(canonical.dump());
  }
}

Result<std::optional<json>> MongoSourceReader::FindOne(core::Collection collection,
                                                       const std::string& collection_name,
                                                       const std::string& org,
                                                       const std::string& id) {
  MV_ASSIGN_OR_RETURN(auto cursor,
                      reader_->Find(collection_name, {{mapping_.org, org}, {mapping_.id, id}},
                                    CollectionReader::Sort{}, 1));
  MV_ASSIGN_OR_RETURN(auto doc, cursor->Next());
  if (!doc) return std::optional<json>();
  std::string doc_org, doc_id;
  MV_ASSIGN_OR_RETURN(json canonical,
                      CanonicalDocument(collection, *doc, mapping_, &doc_org, &doc_id));
  return std::optional<json>(std::move(canonical));
}

Result<std::optional<core::Customer>> MongoSourceReader::GetCustomer(const std::string& org,
                                                                     const std::string& id) {
  MV_ASSIGN_OR_RETURN(auto doc, FindOne(core::Collection::kCustomers, names_.customers, org, id));
  if (!doc) return std::optional<core::Customer>();
  MV_ASSIGN_OR_RETURN(core::Customer c, core::ParseCustomer(id, *doc));
  return std::optional<core::Customer>(std::move(c));
}

Result<std::optional<core::Carrier>> MongoSourceReader::GetCarrier(const std::string& org,
                                                                   const std::string& id) {
  MV_ASSIGN_OR_RETURN(auto doc, FindOne(core::Collection::kCarriers, names_.carriers, org, id));
  if (!doc) return std::optional<core::Carrier>();
  MV_ASSIGN_OR_RETURN(core::Carrier c, core::ParseCarrier(id, *doc));
  return std::optional<core::Carrier>(std::move(c));
}

}  // namespace mv::mongo
