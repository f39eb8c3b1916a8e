#pragma once

// The embedded source store seen as a MongoDB deployment: its oplog rendered as the change
// events a server returns (cluster times, resume tokens, documentKey with the org as shard
// key, fullDocument with organizationId, _id, BSON dates and ObjectIds; replaces shown
// alternately as updates), and its collections as the documents a find returns. The
// MongoDB source, decoder and reader then run on the workloads the embedded backend's
// properties use, and their views can be compared with the embedded path's.

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "base/time.h"
#include "mongo/change_source.h"
#include "mongo/source_reader.h"
#include "scripted_cluster.h"
#include "scripted_collections.h"
#include "storage/sqlite/source_store.h"

namespace mv::testing {

class EmbeddedAsMongo final : public mongo::StreamDriver, public mongo::CollectionReader {
 public:
  explicit EmbeddedAsMongo(storage::sqlite::SourceStore* source) : source_(source) {}

  // Oplog sequence n is cluster time (1000000 + n / 1000, n % 1000): unique, ordered, and
  // with increments in use.
  static mongo::ClusterTime TimeOf(core::ChangeToken seq) {
    return {static_cast<std::uint32_t>(1'000'000 + seq / 1000),
            static_cast<std::uint32_t>(seq % 1000)};
  }
  static core::ChangeToken SeqOf(mongo::ClusterTime t) {
    return (static_cast<core::ChangeToken>(t.seconds) - 1'000'000) * 1000 + t.increment;
  }
  core::ChangeToken LatestToken() const { return mongo::Pack(TimeOf(source_->committed().Get())); }

  Result<std::unique_ptr<mongo::ChangeCursor>> Open(std::optional<mongo::ClusterTime> start,
                                                    Millis) override {
    MV_ASSIGN_OR_RETURN(auto oplog, source_->NewChangeSource());
    core::ChangeToken after = start ? SeqOf(*start) - 1 : source_->committed().Get();
    return std::unique_ptr<mongo::ChangeCursor>(new Cursor(this, std::move(oplog), after));
  }
  Result<mongo::ClusterTime> ClusterTimeNow() override {
    return TimeOf(source_->committed().Get());
  }

  Result<std::unique_ptr<mongo::DocumentCursor>> Find(const std::string& collection,
                                                      const json& filter, const Sort& sort,
                                                      std::optional<std::int64_t> limit) override {
    MV_RETURN_IF_ERROR(Load(collection, filter));
    return documents_.Find(collection, filter, sort, limit);
  }
  Result<std::int64_t> Count(const std::string& collection, const json& filter) override {
    MV_RETURN_IF_ERROR(Load(collection, filter));
    return documents_.Count(collection, filter);
  }

  // A canonical document of `collection` as the platform stores it.
  static json PlatformDocument(core::Collection collection, const std::string& org,
                               const std::string& canonical_text) {
    json doc = json::parse(canonical_text);
    doc["organizationId"] = org;
    if (collection == core::Collection::kTrackingEvents) {
      std::string key = doc.value("carrierId", "") + "/" + doc.value("eventId", "");
      doc["_id"] = {{"$oid", fmt::format("{:024x}", std::hash<std::string>()(org + key))}};
    } else {
      doc["_id"] = doc["id"];
      doc.erase("id");
    }
    for (const char* field : {"createdAt", "occurredAt", "deliveredAt"}) {
      if (doc.contains(field) && doc[field].is_string()) doc[field] = {{"$date", doc[field]}};
    }
    return doc;
  }

 private:
  static const char* NameOf(core::Collection c) {
    switch (c) {
      case core::Collection::kShipments:
        return "shipments";
      case core::Collection::kTrackingEvents:
        return "tracking_events";
      case core::Collection::kCustomers:
        return "customers";
      case core::Collection::kCarriers:
        return "carriers";
    }
    return "";
  }

  json Render(const core::ChangeEvent& e) const {
    mongo::ClusterTime t = TimeOf(e.token);
    std::string op = e.op == core::Operation::kDelete   ? "delete"
                     : e.op == core::Operation::kInsert ? "insert"
                     : e.token % 2 == 0                 ? "update"
                                                        : "replace";
    json out = {{"_id", ResumeToken(t.seconds, t.increment)},
                {"operationType", op},
                {"clusterTime", {{"$timestamp", {{"t", t.seconds}, {"i", t.increment}}}}},
                {"wallTime", {{"$date", FormatRfc3339(e.wall_time)}}},
                {"ns", {{"db", "viya"}, {"coll", NameOf(e.collection)}}}};
    if (e.full_document) {
      out["fullDocument"] = PlatformDocument(e.collection, e.org, *e.full_document);
      out["documentKey"] = {{"_id", out["fullDocument"]["_id"]}, {"organizationId", e.org}};
      if (op == "update") {
        out["updateDescription"] = {{"updatedFields", json::object()},
                                    {"removedFields", json::array()}};
      }
    } else {
      out["documentKey"] = {{"_id", e.document_id}, {"organizationId", e.org}};
      if (e.op != core::Operation::kDelete) out["fullDocument"] = nullptr;  // deleted since
    }
    return out;
  }

  class Cursor final : public mongo::ChangeCursor {
   public:
    Cursor(EmbeddedAsMongo* mirror, std::unique_ptr<core::ChangeSource> oplog,
           core::ChangeToken after)
        : mirror_(mirror), oplog_(std::move(oplog)), after_(after) {}
    mongo::CursorStep Next() override {
      if (buffer_.empty()) {
        auto events = oplog_->Read(after_, 64, Millis(0));
        if (!events.ok()) {
          return {mongo::CursorStep::Kind::kError,
                  {{"ok", 0}, {"code", 286}, {"errmsg", events.status().message()}}};
        }
        for (auto& e : *events) buffer_.push_back(std::move(e));
      }
      if (buffer_.empty()) {
        mongo::ClusterTime t = TimeOf(mirror_->source_->committed().Get());
        return {mongo::CursorStep::Kind::kIdle, ResumeToken(t.seconds, t.increment)};
      }
      core::ChangeEvent e = std::move(buffer_.front());
      buffer_.pop_front();
      after_ = e.token;
      return {mongo::CursorStep::Kind::kEvent, mirror_->Render(e)};
    }

   private:
    EmbeddedAsMongo* mirror_;
    std::unique_ptr<core::ChangeSource> oplog_;
    core::ChangeToken after_;
    std::deque<core::ChangeEvent> buffer_;
  };

  // The current documents of `collection` (of the filter's org and id, for lookups).
  Status Load(const std::string& collection, const json& filter) {
    std::vector<json>& docs = documents_.docs[collection];
    docs.clear();
    if (collection == "shipments" || collection == "tracking_events") {
      auto token = source_->ScanShipments(std::nullopt, [&](const core::SourceShipment& s) {
        if (collection == "shipments" && s.json) {
          docs.push_back(PlatformDocument(core::Collection::kShipments, s.org, *s.json));
        }
        if (collection == "tracking_events") {
          for (const auto& e : s.events) {
            docs.push_back(PlatformDocument(core::Collection::kTrackingEvents, s.org, e));
          }
        }
        return Status::Ok();
      });
      return token.status();
    }
    const std::string org = filter.value("organizationId", ""), id = filter.value("_id", "");
    if (collection == "customers") {
      MV_ASSIGN_OR_RETURN(auto c, source_->GetCustomer(org, id));
      if (c)
        docs.push_back(
            PlatformDocument(core::Collection::kCustomers, org, core::CustomerToJson(*c).dump()));
    } else if (collection == "carriers") {
      MV_ASSIGN_OR_RETURN(auto c, source_->GetCarrier(org, id));
      if (c)
        docs.push_back(
            PlatformDocument(core::Collection::kCarriers, org, core::CarrierToJson(*c).dump()));
    }
    return Status::Ok();
  }

  storage::sqlite::SourceStore* source_;
  ScriptedCollections documents_;
};

}  // namespace mv::testing
