#include "mongo/view_database.h"

#include <fmt/format.h>

#include <algorithm>

namespace mv::mongo {

namespace {

double NumberOf(const Document& v) {
  if (v.is_number()) return v.get<double>();
  if (v.is_boolean()) return v.get<bool>() ? 1 : 0;
  if (v.is_object() && v.size() == 1 && v.begin().value().is_string()) {
    try {
      return std::stod(v.begin().value().get<std::string>());
    } catch (const std::exception&) {
    }
  }
  return 0;
}

}  // namespace

bool ReplyOk(const Document& reply) {
  auto ok = reply.find("ok");
  return ok != reply.end() && NumberOf(*ok) == 1.0;
}

int ReplyCode(const Document& reply) {
  auto code = reply.find("code");
  return code == reply.end() ? 0 : static_cast<int>(NumberOf(*code));
}

Status CheckReply(const Document& reply, const std::string& what,
                  std::initializer_list<int> tolerated) {
  if (ReplyOk(reply)) return Status::Ok();
  int code = ReplyCode(reply);
  if (std::find(tolerated.begin(), tolerated.end(), code) != tolerated.end()) return Status::Ok();
  return Status::Internal(fmt::format("{}: {} ({}): {}", what, reply.value("codeName", "error"),
                                      code, reply.value("errmsg", reply.dump())));
}

Document UpdateCommand(const std::string& collection, std::vector<Document> statements) {
  Document updates = Document::array();
  for (auto& s : statements) updates.push_back(std::move(s));
  return {{"update", collection}, {"updates", std::move(updates)}, {"ordered", true}};
}

Document UpdateStatement(Document q, Document u, bool upsert, bool multi) {
  Document s = Document::object();
  s["q"] = std::move(q);
  s["u"] = std::move(u);
  s["upsert"] = upsert;
  s["multi"] = multi;
  return s;
}

Document DeleteCommand(const std::string& collection, const std::vector<Document>& filters,
                       int limit) {
  Document deletes = Document::array();
  for (const auto& q : filters) {
    Document d = Document::object();
    d["q"] = q;
    d["limit"] = limit;
    deletes.push_back(std::move(d));
  }
  return {{"delete", collection}, {"deletes", std::move(deletes)}, {"ordered", true}};
}

Document InsertCommand(const std::string& collection, std::vector<Document> documents) {
  Document docs = Document::array();
  for (auto& d : documents) docs.push_back(std::move(d));
  return {{"insert", collection}, {"documents", std::move(docs)}, {"ordered", true}};
}

Document FindCommand(const std::string& collection, Document filter, Document sort,
                     std::int64_t limit, Document projection) {
  Document find = Document::object();
  find["find"] = collection;
  find["filter"] = std::move(filter);
  if (!sort.is_null()) find["sort"] = std::move(sort);
  if (limit > 0) find["limit"] = limit;
  if (!projection.is_null()) find["projection"] = std::move(projection);
  return find;
}

}  // namespace mv::mongo
