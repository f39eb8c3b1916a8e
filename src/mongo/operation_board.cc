#include "mongo/operation_board.h"

#include "mongo/extended_json.h"
#include "mongo/view_documents.h"

namespace mv::mongo {
namespace {

using nlohmann::json;

// The state, else the request, of a stored document, as plain JSON.
std::optional<json> Shown(const Document& doc) {
  for (const char* field : {"state", "request"}) {
    auto it = doc.find(field);
    if (it != doc.end() && it->is_object()) return PlainJson(json(*it));
  }
  return std::nullopt;
}

}  // namespace

Status MongoOperationBoard::Prepare() {
  MV_ASSIGN_OR_RETURN(Document created, db_->Command({{"create", kOperations}}));
  MV_RETURN_IF_ERROR(CheckReply(created, std::string("create ") + kOperations, {kNamespaceExists}));
  Document index = {{"key", {{"createdAt", -1}}}, {"name", "by_created"}};
  MV_ASSIGN_OR_RETURN(Document reply, db_->Command({{"createIndexes", kOperations},
                                                    {"indexes", Document::array({index})}}));
  return CheckReply(reply, std::string("createIndexes ") + kOperations);
}

Status MongoOperationBoard::Request(const json& request) {
  Timestamp now = clock_->Now();
  Document doc = {{"_id", request.value("id", "")}, {"request", Document(request)},
                  {"takenBy", Document::array()},   {"state", nullptr},
                  {"createdAt", DateValue(now)},    {"updatedAt", DateValue(now)}};
  Status s = db_->Transact({{InsertCommand(kOperations, {doc}), 1}});
  if (s.code() == StatusCode::kConflict) {
    return Status::Conflict("operation " + request.value("id", "") + " exists already");
  }
  return s;
}

Result<std::vector<json>> MongoOperationBoard::TakeRequests(const std::string& partition) {
  std::vector<Document> open;
  MV_RETURN_IF_ERROR(db_->Query(
      FindCommand(kOperations, {{"request", {{"$ne", nullptr}}}, {"takenBy", {{"$ne", partition}}}},
                  {{"createdAt", 1}, {"_id", 1}}),
      [&](Document d) {
        open.push_back(std::move(d));
        return Status::Ok();
      }));
  std::vector<json> out;
  for (const auto& d : open) {
    Document filter = {{"_id", d["_id"]}, {"takenBy", {{"$ne", partition}}}};
    Document take = {{"$addToSet", {{"takenBy", partition}}}};
    // Taken once per partition: a second worker of it (a rolling update) finds it gone.
    Status s =
        db_->Transact({{UpdateCommand(kOperations, {UpdateStatement(filter, take, false)}), 1}});
    if (s.code() == StatusCode::kConflict) continue;
    MV_RETURN_IF_ERROR(s);
    out.push_back(PlainJson(json(d["request"])));
  }
  return out;
}

Status MongoOperationBoard::Publish(const json& state) {
  Timestamp now = clock_->Now();
  Document update = {
      {"$set", {{"state", Document(state)}, {"updatedAt", DateValue(now)}}},
      {"$setOnInsert",
       {{"request", nullptr}, {"takenBy", Document::array()}, {"createdAt", DateValue(now)}}}};
  return db_->Transact(
      {{UpdateCommand(kOperations,
                      {UpdateStatement({{"_id", state.value("id", "")}}, update, true)}),
        1}});
}

Result<std::vector<json>> MongoOperationBoard::List(size_t limit) {
  std::vector<json> out;
  MV_RETURN_IF_ERROR(
      db_->Query(FindCommand(kOperations, Document::object(), {{"createdAt", -1}, {"_id", -1}},
                             static_cast<std::int64_t>(limit)),
                 [&](Document d) {
                   if (auto shown = Shown(d)) out.push_back(std::move(*shown));
                   return Status::Ok();
                 }));
  return out;
}

Result<std::optional<json>> MongoOperationBoard::Get(const std::string& id) {
  std::optional<json> out;
  MV_RETURN_IF_ERROR(db_->Query(FindCommand(kOperations, {{"_id", id}}), [&](Document d) {
    out = Shown(d);
    return Status::Ok();
  }));
  return out;
}

}  // namespace mv::mongo
