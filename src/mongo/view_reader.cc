#include "mongo/view_reader.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <set>

#include "base/sha256.h"
#include "base/time.h"
#include "core/exception_queue.h"
#include "core/row_codec.h"
#include "mongo/view_documents.h"

namespace mv::mongo {
namespace {

using api::AtToken;

// The upper bound of the strings that start with `prefix`: the largest code point.
std::string PrefixEnd(const std::string& prefix) { return prefix + "\xF4\x8F\xBF\xBF"; }

// Columns of mv_customer_summary a page may be sorted by (see CustomerSummaryView).
const std::set<std::string>& CustomerSortColumns() {
  static const std::set<std::string> columns = {
      "customer_id",          "shipments",       "open", "delivered", "exceptions",
      "declared_value_micro", "last_shipment_at"};
  return columns;
}

Result<std::string> Text(const Document& doc, const char* field) {
  auto it = doc.find(field);
  if (it == doc.end() || !it->is_string()) {
    return Status::Corruption(fmt::format("stored document without text field {}", field));
  }
  return it->get<std::string>();
}

// A list row as the API layer takes it (core::EncodeRow).
Result<std::string> EncodedRow(const Document& doc) {
  MV_ASSIGN_OR_RETURN(core::ShipmentRow row, ListRowOf(doc));
  return core::EncodeRow(row);
}

// What every partition of the stream has applied: the lowest checkpoint of the partition
// layout written last (the checkpoints of an earlier stream.partitions are left behind).
Result<core::ChangeToken> LowestCheckpoint(const std::vector<Document>& checkpoints) {
  std::int64_t layout = 1;
  std::optional<Timestamp> newest;
  for (const auto& c : checkpoints) {
    auto at = ReadDate(c.value("updatedAt", Document()));
    if (at.ok() && (!newest || *at > *newest)) {
      newest = *at;
      auto n = ReadInt64(c.value("partitions", Document(1)));
      layout = n.ok() ? *n : 1;
    }
  }
  std::optional<core::ChangeToken> lowest;
  for (const auto& c : checkpoints) {
    auto n = ReadInt64(c.value("partitions", Document(1)));
    if ((n.ok() ? *n : 1) != layout) continue;
    MV_ASSIGN_OR_RETURN(std::int64_t t, ReadInt64(c.value("token", Document(0))));
    lowest = lowest ? std::min(*lowest, t) : t;
  }
  return lowest.value_or(0);
}

}  // namespace

Result<core::ChangeToken> MongoViewReader::InSnapshot(const Body& fn) {
  core::ChangeToken token = 0;
  MV_RETURN_IF_ERROR(db_->Snapshot([&](ViewDatabase::SnapshotReads& reads) -> Status {
    MV_ASSIGN_OR_RETURN(auto epochs, reads.Read(FindCommand(kCatalog, {{"_id", kEpochId}})));
    std::int64_t epoch = 0;
    if (!epochs.empty()) {
      MV_ASSIGN_OR_RETURN(epoch, ReadInt64(epochs.front().value("epoch", Document(0))));
    }
    LiveCollections live;
    {
      std::lock_guard lock(mu_);
      if (epoch == epoch_) live = live_;
    }
    if (epoch != epoch_ || live.shipment_list.empty()) {
      MV_ASSIGN_OR_RETURN(auto docs,
                          reads.Read(FindCommand(kCatalog, {{"_id", {{"$ne", kEpochId}}}})));
      std::vector<core::StoredVersion> versions;
      for (const auto& d : docs) {
        MV_ASSIGN_OR_RETURN(core::StoredVersion v, StoredVersionOf(d));
        versions.push_back(std::move(v));
      }
      live = LiveOf(versions);
      if (live.shipment_list.empty()) {
        return Status::Unavailable("the views are not created yet: start the worker first");
      }
      std::lock_guard lock(mu_);
      epoch_ = epoch;
      live_ = live;
    }
    MV_ASSIGN_OR_RETURN(auto checkpoints,
                        reads.Read(FindCommand(kCheckpoints, Document::object())));
    MV_ASSIGN_OR_RETURN(token, LowestCheckpoint(checkpoints));
    return fn(reads, live);
  }));
  return token;
}

const core::AggregateViewSpec* MongoViewReader::LiveSpec(const LiveCollections& live,
                                                         const std::string& view) const {
  return SpecOf(*views_, view, live.VersionOf(*views_, view));
}

Result<AtToken<api::ShipmentPage>> MongoViewReader::ListShipments(
    const std::string& org, const api::ShipmentFilter& f, size_t limit,
    const std::optional<api::ListPosition>& after) {
  Document filter = {{"organizationId", org}};
  if (f.status) filter["status"] = std::string(core::ToString(*f.status));
  if (!f.carrier_id.empty()) filter["carrierId"] = f.carrier_id;
  if (!f.customer_id.empty()) filter["customerId"] = f.customer_id;
  if (f.sla_status) filter["sla.status"] = std::string(core::ToString(*f.sla_status));
  if (f.created_from || f.created_to) {
    Document range = Document::object();
    if (f.created_from) range["$gte"] = DateValue(*f.created_from);
    if (f.created_to) range["$lt"] = DateValue(*f.created_to);
    filter["createdAt"] = std::move(range);
  }
  if (!f.reference_prefix.empty()) {
    std::string key = ReferenceKey(f.reference_prefix);
    filter["_referenceKey"] = {{"$gte", key}, {"$lt", PrefixEnd(key)}};
  }
  if (after) {
    Document older = {{"createdAt", {{"$lt", DateValue(after->created_at)}}}};
    Document same = {{"createdAt", DateValue(after->created_at)}, {"id", {{"$lt", after->id}}}};
    filter["$or"] = Document::array({older, same});
  }
  AtToken<api::ShipmentPage> out;
  MV_ASSIGN_OR_RETURN(
      out.token, InSnapshot([&](auto& reads, const LiveCollections& live) -> Status {
        out.value = {};
        MV_ASSIGN_OR_RETURN(
            auto docs,
            reads.Read(FindCommand(live.shipment_list, filter, {{"createdAt", -1}, {"id", -1}},
                                   static_cast<std::int64_t>(limit) + 1)));
        api::ListPosition last;
        for (const auto& doc : docs) {
          if (out.value.rows.size() == limit) {
            out.value.next = last;  // there is at least one more row
            break;
          }
          MV_ASSIGN_OR_RETURN(std::string row, EncodedRow(doc));
          out.value.rows.push_back(std::move(row));
          MV_ASSIGN_OR_RETURN(last.created_at, ReadDate(doc.value("createdAt", Document())));
          MV_ASSIGN_OR_RETURN(last.id, Text(doc, "id"));
        }
        return Status::Ok();
      }));
  return out;
}

Result<AtToken<std::optional<std::string>>> MongoViewReader::GetShipment(const std::string& org,
                                                                         const std::string& id) {
  AtToken<std::optional<std::string>> out;
  MV_ASSIGN_OR_RETURN(
      out.token, InSnapshot([&](auto& reads, const LiveCollections& live) -> Status {
        MV_ASSIGN_OR_RETURN(auto docs, reads.Read(FindCommand(live.shipment_list,
                                                              {{"_id", ShipmentId({org, id})}})));
        out.value.reset();
        if (!docs.empty()) {
          MV_ASSIGN_OR_RETURN(out.value, EncodedRow(docs.front()));
        }
        return Status::Ok();
      }));
  return out;
}

Result<AtToken<std::vector<api::AggregateRow>>> MongoViewReader::AggregateRows(
    const std::string& view, const std::string& org) {
  AtToken<std::vector<api::AggregateRow>> out;
  MV_ASSIGN_OR_RETURN(
      out.token, InSnapshot([&](auto& reads, const LiveCollections& live) -> Status {
        const core::AggregateViewSpec* spec = LiveSpec(live, view);
        std::string collection = live.Of(view);
        if (spec == nullptr || collection.empty()) return Status::NotFound("no view " + view);
        Document sort = Document::object();
        for (const auto& column : spec->key_columns) sort[FieldOf(column)] = 1;
        MV_ASSIGN_OR_RETURN(auto docs,
                            reads.Read(FindCommand(collection, {{"organizationId", org}}, sort)));
        out.value.clear();
        for (const auto& doc : docs) {
          MV_ASSIGN_OR_RETURN(AggregateValues v, AggregateValuesOf(*spec, doc));
          out.value.push_back({std::move(v.key), std::move(v.measures), v.schema_version});
        }
        return Status::Ok();
      }));
  return out;
}

Result<AtToken<api::DailyMetricsResult>> MongoViewReader::DailyMetrics(
    const std::string& org, const api::DailyMetricsQuery& q) {
  const core::AggregateViewSpec* spec =
      &views_->FindAggregate(core::ViewSet::kDailyMetrics)->spec();
  MV_RETURN_IF_ERROR(api::CheckDailyMetricsGroupBy(*spec, q.group_by));
  using Interval = api::DailyMetricsQuery::Interval;
  Document group_id = Document::object();
  Document sort = Document::object();
  for (const auto& column : q.group_by) {
    std::string field = FieldOf(column);
    if (column == "day" && q.interval == Interval::kWeek) field = "isoWeek";
    if (column == "day" && q.interval == Interval::kMonth) field = "month";
    group_id[column] = "$" + field;
    sort["_id." + column] = 1;
  }
  Document group = {{"_id", group_id.empty() ? Document() : group_id},
                    {"shipments", {{"$sum", "$shipments"}}},
                    {"weightKgMicro", {{"$sum", "$weightKgMicro"}}},
                    {"declaredValueMicro", {{"$sum", "$declaredValueMicro"}}}};
  Document match = {{"organizationId", org}, {"day", {{"$gte", q.from_day}, {"$lte", q.to_day}}}};
  Document pipeline = Document::array();
  pipeline.push_back({{"$match", match}});
  pipeline.push_back({{"$group", group}});
  if (!sort.empty()) pipeline.push_back({{"$sort", sort}});
  pipeline.push_back({{"$limit", static_cast<std::int64_t>(q.max_rows) + 1}});
  AtToken<api::DailyMetricsResult> out;
  MV_ASSIGN_OR_RETURN(
      out.token, InSnapshot([&](auto& reads, const LiveCollections& live) -> Status {
        MV_ASSIGN_OR_RETURN(auto docs,
                            reads.Read({{"aggregate", live.Of(core::ViewSet::kDailyMetrics)},
                                        {"pipeline", pipeline},
                                        {"cursor", Document::object()}}));
        out.value = {};
        for (const auto& doc : docs) {
          if (out.value.rows.size() == q.max_rows) {
            out.value.truncated = true;
            break;
          }
          api::DailyMetricsRow r;
          for (const auto& column : q.group_by) {
            MV_ASSIGN_OR_RETURN(std::string value, Text(doc["_id"], column.c_str()));
            r.key.push_back(std::move(value));
          }
          MV_ASSIGN_OR_RETURN(r.shipments, ReadInt64(doc.value("shipments", Document(0))));
          MV_ASSIGN_OR_RETURN(r.weight_kg_micro,
                              ReadInt64(doc.value("weightKgMicro", Document(0))));
          MV_ASSIGN_OR_RETURN(r.declared_value_micro,
                              ReadInt64(doc.value("declaredValueMicro", Document(0))));
          out.value.rows.push_back(std::move(r));
        }
        return Status::Ok();
      }));
  return out;
}

Result<AtToken<std::vector<api::AggregateRow>>> MongoViewReader::CarrierPerformance(
    const std::string& org, const api::CarrierPerformanceQuery& q) {
  Document filter = {{"organizationId", org},
                     {"week", {{"$gte", q.from_week}, {"$lte", q.to_week}}}};
  if (!q.carrier_id.empty()) filter["carrierId"] = q.carrier_id;
  AtToken<std::vector<api::AggregateRow>> out;
  const std::string view = "mv_carrier_performance";
  MV_ASSIGN_OR_RETURN(
      out.token, InSnapshot([&](auto& reads, const LiveCollections& live) -> Status {
        const core::AggregateViewSpec* spec = LiveSpec(live, view);
        if (spec == nullptr) return Status::Internal("no definition of " + view);
        MV_ASSIGN_OR_RETURN(auto docs, reads.Read(FindCommand(live.Of(view), filter,
                                                              {{"carrierId", 1}, {"week", 1}})));
        out.value.clear();
        for (const auto& doc : docs) {
          MV_ASSIGN_OR_RETURN(AggregateValues v, AggregateValuesOf(*spec, doc));
          out.value.push_back({{v.key[1], v.key[2]}, std::move(v.measures), v.schema_version});
        }
        return Status::Ok();
      }));
  return out;
}

Result<AtToken<api::CustomerPage>> MongoViewReader::CustomerSummary(
    const std::string& org, const api::CustomerSummaryQuery& q,
    const std::optional<api::CustomerPosition>& after) {
  if (!CustomerSortColumns().count(q.sort_column)) {
    return Status::InvalidArgument("customer summaries cannot be sorted by '" + q.sort_column +
                                   "'");
  }
  const bool by_id = q.sort_column == "customer_id";
  const bool by_date = q.sort_column == "last_shipment_at";
  const std::string field = FieldOf(q.sort_column);
  const char* cmp = q.descending ? "$lt" : "$gt";
  const int dir = q.descending ? -1 : 1;
  Document filter = {{"organizationId", org}};
  if (!q.customer_id.empty()) filter["customerId"] = q.customer_id;
  if (after) {
    if (by_id) {
      filter["$and"] = Document::array({{{"customerId", {{cmp, after->customer_id}}}}});
    } else {
      Document value = by_date ? DateValue(FromMillis(after->value)) : Int64Value(after->value);
      Document beyond = {{field, {{cmp, value}}}};
      Document same = {{field, value}, {"customerId", {{cmp, after->customer_id}}}};
      filter["$or"] = Document::array({beyond, same});
    }
  }
  Document sort =
      by_id ? Document{{"customerId", dir}} : Document{{field, dir}, {"customerId", dir}};
  AtToken<api::CustomerPage> out;
  const std::string view = "mv_customer_summary";
  MV_ASSIGN_OR_RETURN(
      out.token, InSnapshot([&](auto& reads, const LiveCollections& live) -> Status {
        const core::AggregateViewSpec* spec = LiveSpec(live, view);
        if (spec == nullptr) return Status::Internal("no definition of " + view);
        MV_ASSIGN_OR_RETURN(auto docs,
                            reads.Read(FindCommand(live.Of(view), filter, sort,
                                                   static_cast<std::int64_t>(q.limit) + 1)));
        out.value = {};
        api::CustomerPosition last;
        for (const auto& doc : docs) {
          if (out.value.rows.size() == q.limit) {
            out.value.next = last;  // there is at least one more row
            break;
          }
          MV_ASSIGN_OR_RETURN(AggregateValues v, AggregateValuesOf(*spec, doc));
          api::CustomerSummaryRow r;
          r.customer_id = v.key[1];
          auto measure = [&](const char* column) -> std::int64_t {
            const auto& cols = spec->measure_columns;
            auto it = std::find(cols.begin(), cols.end(), column);
            return it == cols.end() ? 0 : v.measures[static_cast<size_t>(it - cols.begin())];
          };
          r.shipments = measure("shipments");
          r.open = measure("open");
          r.delivered = measure("delivered");
          r.exceptions = measure("exceptions");
          r.declared_value_micro = measure("declared_value_micro");
          if (!v.maxima.empty()) r.last_shipment_at = v.maxima.front();
          r.schema_version = v.schema_version;
          last.customer_id = r.customer_id;
          last.value = by_id     ? 0
                       : by_date ? r.last_shipment_at.value_or(0)
                                 : measure(q.sort_column.c_str());
          out.value.rows.push_back(std::move(r));
        }
        return Status::Ok();
      }));
  return out;
}

Result<AtToken<api::ExceptionPage>> MongoViewReader::Exceptions(
    const std::string& org, const api::ExceptionFilter& f, size_t limit,
    const std::optional<api::ExceptionPosition>& after) {
  Document match = {{"organizationId", org}};
  if (f.urgency) match["urgency"] = *f.urgency;
  if (after) {
    // (urgency, promisedSort, statusChangedAt, id) > the position's.
    Document u = Int64Value(after->urgency), p = Int64Value(after->promised_sort);
    Document s = DateValue(FromMillis(after->status_changed_at));
    match["$or"] =
        Document::array({{{"urgency", {{"$gt", u}}}},
                         {{"urgency", u}, {"promisedSort", {{"$gt", p}}}},
                         {{"urgency", u}, {"promisedSort", p}, {"statusChangedAt", {{"$gt", s}}}},
                         {{"urgency", u},
                          {"promisedSort", p},
                          {"statusChangedAt", s},
                          {"id", {{"$gt", after->id}}}}});
  }
  AtToken<api::ExceptionPage> out;
  MV_ASSIGN_OR_RETURN(
      out.token, InSnapshot([&](auto& reads, const LiveCollections& live) -> Status {
        Document pipeline = Document::array();
        pipeline.push_back({{"$match", match}});
        pipeline.push_back(
            {{"$sort", {{"urgency", 1}, {"promisedSort", 1}, {"statusChangedAt", 1}, {"id", 1}}}});
        pipeline.push_back({{"$lookup",
                             {{"from", live.shipment_list},
                              {"localField", "_id"},
                              {"foreignField", "_id"},
                              {"as", "row"}}}});
        pipeline.push_back({{"$unwind", "$row"}});
        if (!f.carrier_id.empty())
          pipeline.push_back({{"$match", {{"row.carrierId", f.carrier_id}}}});
        pipeline.push_back({{"$limit", static_cast<std::int64_t>(limit) + 1}});
        MV_ASSIGN_OR_RETURN(auto docs, reads.Read({{"aggregate", live.exception_queue},
                                                   {"pipeline", pipeline},
                                                   {"cursor", Document::object()}}));
        out.value = {};
        api::ExceptionPosition last;
        for (const auto& doc : docs) {
          if (out.value.items.size() == limit) {
            out.value.next = last;  // there is at least one more row
            break;
          }
          MV_ASSIGN_OR_RETURN(core::ExceptionQueueRow entry, ExceptionRowOf(doc));
          api::ExceptionItem item;
          item.urgency = entry.entry.urgency();
          item.reason = std::string(core::ToString(entry.entry.reason));
          MV_ASSIGN_OR_RETURN(item.row, EncodedRow(doc["row"]));
          last.urgency = item.urgency;
          MV_ASSIGN_OR_RETURN(last.promised_sort,
                              ReadInt64(doc.value("promisedSort", Document(0))));
          last.status_changed_at = ToMillis(entry.entry.status_changed_at);
          last.id = entry.key.id;
          out.value.items.push_back(std::move(item));
        }
        return Status::Ok();
      }));
  return out;
}

Result<core::ChangeToken> MongoViewReader::AppliedToken() {
  std::vector<Document> checkpoints;
  MV_RETURN_IF_ERROR(db_->Query(FindCommand(kCheckpoints, Document::object()), [&](Document doc) {
    checkpoints.push_back(std::move(doc));
    return Status::Ok();
  }));
  return LowestCheckpoint(checkpoints);
}

namespace {

Result<api::StoredDeadLetter> DeadLetterOf(const Document& doc) {
  api::StoredDeadLetter out;
  MV_ASSIGN_OR_RETURN(out.id, ReadInt64(doc.value("_id", Document())));
  MV_ASSIGN_OR_RETURN(out.letter.token, ReadInt64(doc.value("token", Document(0))));
  MV_ASSIGN_OR_RETURN(std::string collection, Text(doc, "collection"));
  auto parsed = core::ParseCollection(collection);
  if (!parsed) return Status::Corruption("dead letter with collection " + collection);
  out.letter.collection = *parsed;
  MV_ASSIGN_OR_RETURN(out.letter.org, Text(doc, "organizationId"));
  MV_ASSIGN_OR_RETURN(out.letter.document_id, Text(doc, "documentId"));
  MV_ASSIGN_OR_RETURN(out.letter.reason, Text(doc, "reason"));
  MV_ASSIGN_OR_RETURN(out.letter.document, Text(doc, "document"));
  MV_ASSIGN_OR_RETURN(out.created_at, ReadDate(doc.value("createdAt", Document())));
  return out;
}

Result<std::int64_t> CountOf(ViewDatabase& db, const std::string& collection) {
  MV_ASSIGN_OR_RETURN(Document reply,
                      db.Command({{"count", collection}, {"query", Document::object()}}));
  MV_RETURN_IF_ERROR(CheckReply(reply, "count " + collection));
  return ReadInt64(reply.value("n", Document(0)));
}

}  // namespace

Result<std::vector<api::StoredDeadLetter>> MongoViewReader::List(size_t limit) {
  std::vector<api::StoredDeadLetter> out;
  MV_RETURN_IF_ERROR(db_->Query(FindCommand(kDeadLetters, Document::object(), {{"_id", -1}},
                                            static_cast<std::int64_t>(limit)),
                                [&](Document doc) -> Status {
                                  MV_ASSIGN_OR_RETURN(auto letter, DeadLetterOf(doc));
                                  out.push_back(std::move(letter));
                                  return Status::Ok();
                                }));
  return out;
}

Result<std::int64_t> MongoViewReader::Count() { return CountOf(*db_, kDeadLetters); }

Result<std::optional<api::StoredDeadLetter>> MongoViewReader::Get(std::int64_t id) {
  std::optional<api::StoredDeadLetter> out;
  MV_RETURN_IF_ERROR(
      db_->Query(FindCommand(kDeadLetters, {{"_id", Int64Value(id)}}), [&](Document doc) -> Status {
        MV_ASSIGN_OR_RETURN(out, DeadLetterOf(doc));
        return Status::Ok();
      }));
  return out;
}

Status MongoViewReader::Remove(std::int64_t id) {
  Status s = db_->Transact({{DeleteCommand(kDeadLetters, {{{"_id", Int64Value(id)}}}, 1), 1}});
  if (s.code() == StatusCode::kConflict)
    return Status::NotFound(fmt::format("no dead letter {}", id));
  return s;
}

Result<std::vector<api::CatalogEntry>> MongoViewReader::Entries() {
  MV_ASSIGN_OR_RETURN(auto versions, ReadCatalog(*db_));
  std::vector<api::CatalogEntry> out;
  for (auto& v : versions) {
    MV_ASSIGN_OR_RETURN(std::int64_t rows, CountOf(*db_, v.table));
    out.push_back({std::move(v), rows});
  }
  return out;
}

Result<std::vector<core::StoredVersion>> MongoViewReader::Versions() { return ReadCatalog(*db_); }

Status MongoKeyStore::Prepare() {
  MV_ASSIGN_OR_RETURN(Document created, db_->Command({{"create", kApiKeys}}));
  MV_RETURN_IF_ERROR(CheckReply(created, std::string("create ") + kApiKeys, {kNamespaceExists}));
  Document index = {{"key", {{"keyId", 1}}}, {"name", "by_id"}};
  MV_ASSIGN_OR_RETURN(Document reply, db_->Command({{"createIndexes", kApiKeys},
                                                    {"indexes", Document::array({index})}}));
  return CheckReply(reply, std::string("createIndexes ") + kApiKeys);
}

Result<api::KeyStore::Created> MongoKeyStore::CreateKey(const api::Principal& principal,
                                                        const std::string& name) {
  MV_ASSIGN_OR_RETURN(api::MintedKey minted, api::MintKey(principal, name));
  Document doc = {{"_id", minted.hash},
                  {"keyId", minted.id},
                  {"organizationId", principal.admin ? Document() : Document(principal.org)},
                  {"admin", principal.admin},
                  {"prefix", minted.key.substr(0, 8)},
                  {"name", name},
                  {"createdAt", DateValue(clock_->Now())},
                  {"revokedAt", nullptr}};
  MV_RETURN_IF_ERROR(db_->Transact({{InsertCommand(kApiKeys, {doc}), std::nullopt}}));
  return Created{minted.id, minted.key};
}

Result<api::Principal> MongoKeyStore::Authenticate(const std::string& key) {
  std::string hash = Sha256Hex(key);
  std::optional<api::Principal> found;
  MV_RETURN_IF_ERROR(
      db_->Query(FindCommand(kApiKeys, {{"_id", hash}, {"revokedAt", nullptr}}), [&](Document doc) {
        auto org = doc.find("organizationId");
        found = api::Principal{org != doc.end() && org->is_string() ? org->get<std::string>() : "",
                               doc.value("admin", false), api::KeyIdOf(hash)};
        return Status::Ok();
      }));
  if (!found) return Status::Unauthenticated("unknown or revoked API key");
  return *found;
}

Result<std::vector<api::ApiKeyInfo>> MongoKeyStore::List() {
  std::vector<api::ApiKeyInfo> out;
  MV_RETURN_IF_ERROR(
      db_->Query(FindCommand(kApiKeys, Document::object(), {{"createdAt", 1}, {"_id", 1}}),
                 [&](Document doc) -> Status {
                   api::ApiKeyInfo k;
                   MV_ASSIGN_OR_RETURN(k.id, Text(doc, "keyId"));
                   k.name = doc.value("name", "");
                   auto org = doc.find("organizationId");
                   if (org != doc.end() && org->is_string()) k.org = org->get<std::string>();
                   k.admin = doc.value("admin", false);
                   k.prefix = doc.value("prefix", "");
                   MV_ASSIGN_OR_RETURN(k.created_at, ReadDate(doc.value("createdAt", Document())));
                   auto revoked = doc.find("revokedAt");
                   if (revoked != doc.end() && !revoked->is_null()) {
                     MV_ASSIGN_OR_RETURN(k.revoked_at, ReadDate(*revoked));
                   }
                   out.push_back(std::move(k));
                   return Status::Ok();
                 }));
  return out;
}

Status MongoKeyStore::Revoke(const std::string& id) {
  Document set = {{"$set", {{"revokedAt", DateValue(clock_->Now())}}}};
  Status s = db_->Transact(
      {{UpdateCommand(kApiKeys,
                      {UpdateStatement({{"keyId", id}, {"revokedAt", nullptr}}, set, false, true)}),
        1}});
  if (s.code() != StatusCode::kConflict) return s;
  bool exists = false;
  MV_RETURN_IF_ERROR(db_->Query(FindCommand(kApiKeys, {{"keyId", id}}, nullptr, 1), [&](Document) {
    exists = true;
    return Status::Ok();
  }));
  if (!exists) {
    return Status::NotFound(
        fmt::format("no API key {} (ids look like key-0123456789ab)", id.substr(0, 64)));
  }
  return Status::Conflict(fmt::format("API key {} is revoked already", id));
}

}  // namespace mv::mongo
