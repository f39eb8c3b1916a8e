#include "mongo/memory_view_database.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "base/time.h"
#include "mongo/driver.h"
#include "mongo/view_documents.h"

namespace mv::testing {
namespace {

using mongo::Document;

// A value's place in BSON's comparison order and, for scalars, its value.
struct Value {
  enum Rank {
    kNull = 2,
    kNumber = 3,
    kString = 4,
    kObject = 5,
    kArray = 6,
    kOid = 8,
    kBool = 9,
    kDate = 10
  };
  Rank rank = kNull;
  long double number = 0;  // numbers, dates (ms), bools
  bool integral = false;
  std::int64_t integer = 0;
  const Document* doc = nullptr;  // strings, objects, arrays
};

Value Classify(const Document* v) {
  Value out;
  if (v == nullptr || v->is_null()) return out;
  if (v->is_boolean()) {
    out.rank = Value::kBool;
    out.number = v->get<bool>() ? 1 : 0;
    return out;
  }
  if (v->is_string()) {
    out.rank = Value::kString;
    out.doc = v;
    return out;
  }
  if (v->is_number()) {
    out.rank = Value::kNumber;
    out.integral = v->is_number_integer();
    if (out.integral) out.integer = v->get<std::int64_t>();
    out.number = v->get<long double>();
    return out;
  }
  if (v->is_array()) {
    out.rank = Value::kArray;
    out.doc = v;
    return out;
  }
  if (v->size() == 1) {
    const std::string& key = v->begin().key();
    const Document& inner = v->begin().value();
    if ((key == "$numberInt" || key == "$numberLong") && inner.is_string()) {
      out.rank = Value::kNumber;
      out.integral = true;
      out.integer = std::stoll(inner.get<std::string>());
      out.number = static_cast<long double>(out.integer);
      return out;
    }
    if ((key == "$numberDouble" || key == "$numberDecimal") && inner.is_string()) {
      out.rank = Value::kNumber;
      out.number = std::stold(inner.get<std::string>());
      out.integral = std::floor(out.number) == out.number && std::fabs(out.number) < 9e18L;
      out.integer = static_cast<std::int64_t>(out.number);
      return out;
    }
    if (key == "$date") {
      out.rank = Value::kDate;
      auto t = mongo::ReadDate(*v);
      out.integral = true;
      out.integer = t.ok() ? ToMillis(*t) : 0;
      out.number = static_cast<long double>(out.integer);
      return out;
    }
    if (key == "$oid") {
      out.rank = Value::kOid;
      out.doc = &inner;
      return out;
    }
  }
  out.rank = Value::kObject;
  out.doc = v;
  return out;
}

int Compare(const Document* a, const Document* b);

int CompareValues(const Value& x, const Value& y) {
  if (x.rank != y.rank) return x.rank < y.rank ? -1 : 1;
  switch (x.rank) {
    case Value::kNull:
      return 0;
    case Value::kNumber:
    case Value::kDate:
    case Value::kBool:
      if (x.integral && y.integral) return x.integer < y.integer ? -1 : x.integer > y.integer;
      return x.number < y.number ? -1 : x.number > y.number;
    case Value::kString:
    case Value::kOid: {
      int c = x.doc->get<std::string>().compare(y.doc->get<std::string>());
      return c < 0 ? -1 : c > 0;
    }
    case Value::kArray: {
      for (size_t i = 0; i < x.doc->size() && i < y.doc->size(); ++i) {
        if (int c = Compare(&(*x.doc)[i], &(*y.doc)[i])) return c;
      }
      return x.doc->size() < y.doc->size() ? -1 : x.doc->size() > y.doc->size();
    }
    case Value::kObject: {
      auto i = x.doc->begin(), j = y.doc->begin();
      // Pair by pair: the values' types, then the field names, then the values.
      for (; i != x.doc->end() && j != y.doc->end(); ++i, ++j) {
        Value a = Classify(&i.value()), b = Classify(&j.value());
        if (a.rank != b.rank) return a.rank < b.rank ? -1 : 1;
        int k = i.key().compare(j.key());
        if (k != 0) return k < 0 ? -1 : 1;
        if (int c = CompareValues(a, b)) return c;
      }
      if (i == x.doc->end() && j == y.doc->end()) return 0;
      return i == x.doc->end() ? -1 : 1;
    }
  }
  return 0;
}

int Compare(const Document* a, const Document* b) {
  return CompareValues(Classify(a), Classify(b));
}

// The value at dotted `path` in `doc`, or null when absent.
const Document* Lookup(const Document& doc, const std::string& path) {
  const Document* at = &doc;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string part =
        path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!at->is_object()) return nullptr;
    auto it = at->find(part);
    if (it == at->end()) return nullptr;
    at = &*it;
    if (dot == std::string::npos) return at;
    start = dot + 1;
  }
}

void Set(Document& doc, const std::string& path, Document value) {
  Document* at = &doc;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string part =
        path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (dot == std::string::npos) {
      (*at)[part] = std::move(value);
      return;
    }
    if (!at->contains(part) || !(*at)[part].is_object()) (*at)[part] = Document::object();
    at = &(*at)[part];
    start = dot + 1;
  }
}

const std::set<std::string>& Operators() {
  static const std::set<std::string> ops = {"$eq", "$ne",  "$gt",     "$gte",  "$lt", "$lte",
                                            "$in", "$nin", "$exists", "$type", "$mod"};
  return ops;
}

bool IsOperatorObject(const Document& v) {
  return v.is_object() && !v.empty() && Operators().count(v.begin().key()) > 0;
}

const char* TypeName(const Value& v) {
  switch (v.rank) {
    case Value::kNull:
      return "null";
    case Value::kNumber:
      return "number";
    case Value::kString:
      return "string";
    case Value::kObject:
      return "object";
    case Value::kArray:
      return "array";
    case Value::kOid:
      return "objectId";
    case Value::kBool:
      return "bool";
    case Value::kDate:
      return "date";
  }
  return "?";
}

bool Matches(const Document& doc, const Document& filter);

// True when `field` equals `value`, or, being an array, holds an element that does (how
// MongoDB matches a value against an array field).
bool Holds(const Document* field, const Document& value) {
  if (Compare(field, &value) == 0) return true;
  if (field == nullptr || !field->is_array()) return false;
  for (const auto& e : *field) {
    if (Compare(&e, &value) == 0) return true;
  }
  return false;
}

bool FieldMatches(const Document* field, const Document& cond) {
  if (!IsOperatorObject(cond)) return Holds(field, cond);
  for (const auto& [op, arg] : cond.items()) {
    Value f = Classify(field), a = Classify(&arg);
    bool same_type = f.rank == a.rank;
    bool ok = true;
    if (op == "$eq")
      ok = Holds(field, arg);
    else if (op == "$ne")
      ok = !Holds(field, arg);
    else if (op == "$gt")
      ok = same_type && CompareValues(f, a) > 0;
    else if (op == "$gte")
      ok = same_type && CompareValues(f, a) >= 0;
    else if (op == "$lt")
      ok = same_type && CompareValues(f, a) < 0;
    else if (op == "$lte")
      ok = same_type && CompareValues(f, a) <= 0;
    else if (op == "$in" || op == "$nin") {
      bool any = false;
      for (const auto& v : arg) any = any || Holds(field, v);
      ok = op == "$in" ? any : !any;
    } else if (op == "$exists")
      ok = (field != nullptr) == arg.get<bool>();
    else if (op == "$type")
      ok = field != nullptr && arg.get<std::string>() == TypeName(f);
    else if (op == "$mod") {
      Value d = Classify(&arg[0]), r = Classify(&arg[1]);
      ok = f.rank == Value::kNumber && d.integer != 0 && f.integer % d.integer == r.integer;
    }
    if (!ok) return false;
  }
  return true;
}

bool Matches(const Document& doc, const Document& filter) {
  for (const auto& [key, cond] : filter.items()) {
    if (key == "$and" || key == "$or") {
      bool any = false, all = true;
      for (const auto& f : cond) {
        bool m = Matches(doc, f);
        any = any || m;
        all = all && m;
      }
      if (key == "$and" ? !all : !any) return false;
      continue;
    }
    if (!FieldMatches(Lookup(doc, key), cond)) return false;
  }
  return true;
}

void SortDocs(std::vector<Document>& docs, const Document& sort) {
  std::stable_sort(docs.begin(), docs.end(), [&](const Document& a, const Document& b) {
    for (const auto& [field, dir] : sort.items()) {
      int d = static_cast<int>(Classify(&dir).integer);
      int c = Compare(Lookup(a, field), Lookup(b, field));
      if (c != 0) return d > 0 ? c < 0 : c > 0;
    }
    return false;
  });
}

Document Project(const Document& doc, const Document& projection) {
  bool include = false;
  for (const auto& [field, v] : projection.items()) {
    if (field != "_id" && Classify(&v).integer != 0) include = true;
  }
  if (!include) {
    Document out = doc;
    for (const auto& [field, v] : projection.items()) {
      if (Classify(&v).integer == 0) out.erase(field);
    }
    return out;
  }
  Document out = Document::object();
  if (!projection.contains("_id") || Classify(&projection["_id"]).integer != 0) {
    if (doc.contains("_id")) out["_id"] = doc["_id"];
  }
  for (const auto& [field, v] : projection.items()) {
    if (field == "_id" || Classify(&v).integer == 0) continue;
    if (const Document* value = Lookup(doc, field)) Set(out, field, *value);
  }
  return out;
}

Document Int(std::int64_t n) { return {{"$numberLong", std::to_string(n)}}; }

Document Ok(Document reply = Document::object()) {
  reply["ok"] = {{"$numberDouble", "1.0"}};
  return reply;
}

Document Error(int code, const std::string& name, const std::string& message) {
  return {{"ok", {{"$numberDouble", "0.0"}}},
          {"errmsg", message},
          {"code", {{"$numberInt", std::to_string(code)}}},
          {"codeName", name}};
}

// A number as the result of $inc: int32 stays int32 unless it overflows.
Document AddNumbers(const Document* base, const Document& delta) {
  Value a = Classify(base), d = Classify(&delta);
  if (base == nullptr || a.rank == Value::kNull) return delta;
  if (a.integral && d.integral && a.rank == Value::kNumber) {
    std::int64_t sum = a.integer + d.integer;
    bool int32 = base->is_object() && base->begin().key() == "$numberInt" && delta.is_object() &&
                 delta.begin().key() == "$numberInt" && sum >= INT32_MIN && sum <= INT32_MAX;
    if (int32) return {{"$numberInt", std::to_string(sum)}};
    return Int(sum);
  }
  return {{"$numberDouble", fmt::format("{}", static_cast<double>(a.number + d.number))}};
}

Status ApplyUpdate(Document& doc, const Document& update, bool inserting) {
  for (const auto& [op, fields] : update.items()) {
    for (const auto& [path, value] : fields.items()) {
      if (op == "$set" || (op == "$setOnInsert" && inserting)) {
        Set(doc, path, value);
      } else if (op == "$setOnInsert") {
      } else if (op == "$unset") {
        doc.erase(path);
      } else if (op == "$inc") {
        Set(doc, path, AddNumbers(Lookup(doc, path), value));
      } else if (op == "$addToSet") {
        const Document* current = Lookup(doc, path);
        Document items = current && current->is_array() ? *current : Document::array();
        if (!Holds(&items, value)) items.push_back(value);
        Set(doc, path, std::move(items));
      } else if (op == "$max" || op == "$min") {
        const Document* current = Lookup(doc, path);
        int c = Compare(current, &value);
        if (current == nullptr || (op == "$max" ? c < 0 : c > 0)) Set(doc, path, value);
      } else {
        return Status::Internal("memory MongoDB: unsupported update operator " + op);
      }
    }
  }
  return Status::Ok();
}

// The document an upsert starts from: the filter's equality fields.
Document UpsertSeed(const Document& filter) {
  Document doc = Document::object();
  if (filter.contains("_id") && !IsOperatorObject(filter["_id"])) doc["_id"] = filter["_id"];
  for (const auto& [key, cond] : filter.items()) {
    if (key == "_id" || key[0] == '$' || IsOperatorObject(cond)) continue;
    Set(doc, key, cond);
  }
  return doc;
}

Result<Document> Canonical(const Document& doc) { return mongo::ThroughBsonCanonical(doc); }

}  // namespace

Result<std::vector<Document>> MemoryViewDatabase::ReadCollection(const std::string& name) {
  auto it = collections_.find(name);
  if (it == collections_.end()) return std::vector<Document>();
  if (it->second.view_on) {
    MV_ASSIGN_OR_RETURN(auto docs, ReadCollection(*it->second.view_on));
    if (!it->second.pipeline.empty()) {
      return Status::Internal("memory MongoDB: views with a pipeline are not interpreted");
    }
    return docs;
  }
  std::vector<Document> out;
  out.reserve(it->second.docs.size());
  for (const auto& [id, doc] : it->second.docs) out.push_back(doc);
  return out;
}

Result<std::vector<Document>> MemoryViewDatabase::Read(const Document& command) {
  MV_ASSIGN_OR_RETURN(Document cmd, Canonical(command));
  const std::string kind = cmd.begin().key();
  const std::string name = cmd.begin().value().get<std::string>();
  MV_ASSIGN_OR_RETURN(std::vector<Document> docs, ReadCollection(name));
  if (kind == "find") {
    Document filter = cmd.value("filter", Document::object());
    std::vector<Document> out;
    for (auto& d : docs) {
      if (Matches(d, filter)) out.push_back(std::move(d));
    }
    if (cmd.contains("sort")) SortDocs(out, cmd["sort"]);
    if (cmd.contains("limit")) {
      auto limit = static_cast<size_t>(Classify(&cmd["limit"]).integer);
      if (limit > 0 && out.size() > limit) out.resize(limit);
    }
    if (cmd.contains("projection")) {
      for (auto& d : out) d = Project(d, cmd["projection"]);
    }
    return out;
  }
  if (kind != "aggregate") return Status::Internal("memory MongoDB: not a read: " + kind);
  for (const auto& stage : cmd.at("pipeline")) {
    const std::string op = stage.begin().key();
    const Document& arg = stage.begin().value();
    if (op == "$match") {
      std::vector<Document> kept;
      for (auto& d : docs) {
        if (Matches(d, arg)) kept.push_back(std::move(d));
      }
      docs = std::move(kept);
    } else if (op == "$sort") {
      SortDocs(docs, arg);
    } else if (op == "$limit") {
      auto limit = static_cast<size_t>(Classify(&arg).integer);
      if (docs.size() > limit) docs.resize(limit);
    } else if (op == "$group") {
      std::vector<std::pair<Document, Document>> groups;  // key, accumulated document
      for (const auto& d : docs) {
        Document key;
        const Document& id = arg.at("_id");
        auto eval = [&](const Document& expr) -> Document {
          if (expr.is_string() && expr.get<std::string>().starts_with("$")) {
            const Document* v = Lookup(d, expr.get<std::string>().substr(1));
            return v ? *v : Document();
          }
          return expr;
        };
        if (id.is_object() && !id.empty() && id.begin().key()[0] != '$') {
          key = Document::object();
          for (const auto& [k, expr] : id.items()) key[k] = eval(expr);
        } else {
          key = eval(id);
        }
        auto g = std::find_if(groups.begin(), groups.end(),
                              [&](const auto& e) { return Compare(&e.first, &key) == 0; });
        if (g == groups.end()) {
          groups.emplace_back(key, Document{{"_id", key}});
          g = groups.end() - 1;
        }
        for (const auto& [field, acc] : arg.items()) {
          if (field == "_id") continue;
          if (acc.begin().key() != "$sum") {
            return Status::Internal("memory MongoDB: unsupported accumulator " + acc.begin().key());
          }
          Document v = eval(acc.begin().value());
          if (Classify(&v).rank != Value::kNumber) v = Int(0);
          g->second[field] = AddNumbers(g->second.contains(field) ? &g->second[field] : nullptr, v);
        }
      }
      docs.clear();
      for (auto& [key, doc] : groups) docs.push_back(std::move(doc));
    } else if (op == "$lookup") {
      MV_ASSIGN_OR_RETURN(auto from, ReadCollection(arg.at("from").get<std::string>()));
      const std::string local = arg.at("localField").get<std::string>();
      const std::string foreign = arg.at("foreignField").get<std::string>();
      for (auto& d : docs) {
        Document joined = Document::array();
        for (const auto& f : from) {
          if (Compare(Lookup(d, local), Lookup(f, foreign)) == 0) joined.push_back(f);
        }
        Set(d, arg.at("as").get<std::string>(), std::move(joined));
      }
    } else if (op == "$unwind") {
      const std::string path = arg.get<std::string>().substr(1);
      std::vector<Document> out;
      for (const auto& d : docs) {
        const Document* items = Lookup(d, path);
        if (items == nullptr || !items->is_array()) continue;
        for (const auto& item : *items) {
          Document copy = d;
          Set(copy, path, item);
          out.push_back(std::move(copy));
        }
      }
      docs = std::move(out);
    } else {
      return Status::Internal("memory MongoDB: unsupported stage " + op);
    }
  }
  return docs;
}

Status MemoryViewDatabase::ApplyWrite(const Document& command, std::int64_t* n, Undo* undo) {
  MV_ASSIGN_OR_RETURN(Document cmd, Canonical(command));
  const std::string kind = cmd.begin().key();
  const std::string name = cmd.begin().value().get<std::string>();
  *n = 0;
  // Like MongoDB, only an insert or an upsert creates a collection.
  if (kind == "delete" && !collections_.count(name)) return Status::Ok();
  if (!undo->count(name)) {
    auto existing = collections_.find(name);
    undo->emplace(name,
                  existing == collections_.end() ? std::nullopt : std::optional(existing->second));
  }
  Collection& c = collections_[name];
  if (c.view_on) return Status::Internal("memory MongoDB: " + name + " is a read-only view");
  if (kind == "insert") {
    for (const auto& d : cmd.at("documents")) {
      std::string id = d.at("_id").dump();
      if (c.docs.count(id)) {
        return Status::Conflict(
            fmt::format("E11000 duplicate key error collection: {} dup key: {}", name, id));
      }
      c.docs[id] = d;
      ++*n;
    }
    return Status::Ok();
  }
  if (kind == "update") {
    for (const auto& s : cmd.at("updates")) {
      const Document& q = s.at("q");
      const Document& u = s.at("u");
      bool multi = s.value("multi", false), upsert = s.value("upsert", false);
      bool operators = u.is_object() && !u.empty() && u.begin().key()[0] == '$';
      std::int64_t matched = 0;
      for (auto& [id, doc] : c.docs) {
        if (!Matches(doc, q)) continue;
        ++matched;
        if (operators) {
          MV_RETURN_IF_ERROR(ApplyUpdate(doc, u, false));
        } else {
          if (u.contains("_id") && Compare(&u["_id"], &doc["_id"]) != 0) {
            return Status::Internal("memory MongoDB: a replacement may not change _id");
          }
          Document replaced = {{"_id", doc["_id"]}};
          for (const auto& [k, v] : u.items()) {
            if (k != "_id") replaced[k] = v;
          }
          doc = std::move(replaced);
        }
        if (!multi) break;
      }
      if (matched == 0 && upsert) {
        Document doc;
        if (operators) {
          doc = UpsertSeed(q);
          MV_RETURN_IF_ERROR(ApplyUpdate(doc, u, true));
        } else {
          doc = u;
          if (!doc.contains("_id") && q.contains("_id")) {
            Document with_id = {{"_id", q["_id"]}};
            for (const auto& [k, v] : doc.items()) with_id[k] = v;
            doc = std::move(with_id);
          }
        }
        if (!doc.contains("_id")) return Status::Internal("memory MongoDB: upsert without _id");
        // The filter matched nothing, yet the _id it names exists: the insert collides.
        if (c.docs.count(doc["_id"].dump())) {
          return Status::Conflict(fmt::format(
              "E11000 duplicate key error collection: {} dup key: {}", name, doc["_id"].dump()));
        }
        c.docs[doc["_id"].dump()] = doc;
        matched = 1;
      }
      *n += matched;
    }
    return Status::Ok();
  }
  if (kind == "delete") {
    for (const auto& d : cmd.at("deletes")) {
      bool one = Classify(&d.at("limit")).integer == 1;
      for (auto it = c.docs.begin(); it != c.docs.end();) {
        if (Matches(it->second, d.at("q"))) {
          it = c.docs.erase(it);
          ++*n;
          if (one) break;
        } else {
          ++it;
        }
      }
    }
    return Status::Ok();
  }
  return Status::Internal("memory MongoDB: not a write: " + kind);
}

Status MemoryViewDatabase::Transact(const std::vector<Write>& writes) {
  std::lock_guard lock(mu_);
  if (fail_transact && fail_transact(writes)) {
    return Status::Unavailable("memory MongoDB: injected transaction failure");
  }
  Undo undo;  // all or nothing
  for (const auto& w : writes) {
    std::int64_t n = 0;
    Status s = ApplyWrite(w.command, &n, &undo);
    if (s.ok() && w.expect_matched && n != *w.expect_matched) {
      s = Status::Conflict(fmt::format("memory MongoDB: {} matched {}, not {}", w.command.dump(), n,
                                       *w.expect_matched));
    }
    if (!s.ok()) {
      for (auto& [name, was] : undo) {
        if (was) {
          collections_[name] = std::move(*was);
        } else {
          collections_.erase(name);
        }
      }
      return s;
    }
  }
  ++transactions_;
  if (on_commit) on_commit(writes);
  return Status::Ok();
}

Status MemoryViewDatabase::Query(const Document& command,
                                 const std::function<Status(Document)>& fn) {
  std::vector<Document> docs;
  {
    std::lock_guard lock(mu_);
    MV_ASSIGN_OR_RETURN(docs, Read(command));
  }
  for (auto& d : docs) MV_RETURN_IF_ERROR(fn(std::move(d)));
  return Status::Ok();
}

Status MemoryViewDatabase::Snapshot(const std::function<Status(SnapshotReads&)>& fn) {
  struct Reads final : SnapshotReads {
    MemoryViewDatabase* db;
    Result<std::vector<Document>> Read(const Document& command) override {
      return db->Read(command);
    }
  } reads;
  reads.db = this;
  std::lock_guard lock(mu_);
  return fn(reads);
}

Result<Document> MemoryViewDatabase::Command(const Document& command) {
  std::lock_guard lock(mu_);
  MV_ASSIGN_OR_RETURN(Document cmd, Canonical(command));
  const std::string kind = cmd.begin().key();
  const Document& target = cmd.begin().value();
  const std::string name = target.is_string() ? target.get<std::string>() : "";
  if (fail_command && fail_command(kind, name)) {
    return Status::Unavailable("memory MongoDB: injected failure of " + kind);
  }
  auto found = collections_.find(name);
  if (kind == "create") {
    if (found != collections_.end()) {
      return Error(mongo::kNamespaceExists, "NamespaceExists", "Collection already exists");
    }
    Collection c;
    if (cmd.contains("viewOn")) {
      c.view_on = cmd["viewOn"].get<std::string>();
      c.pipeline = cmd.value("pipeline", Document::array());
    }
    collections_[name] = std::move(c);
    return Ok();
  }
  if (kind == "collMod") {
    if (found == collections_.end() || !found->second.view_on) {
      return Error(mongo::kNamespaceNotFound, "NamespaceNotFound", "ns does not exist: " + name);
    }
    found->second.view_on = cmd.at("viewOn").get<std::string>();
    found->second.pipeline = cmd.value("pipeline", Document::array());
    return Ok();
  }
  if (kind == "drop") {
    if (found == collections_.end()) {
      return Error(mongo::kNamespaceNotFound, "NamespaceNotFound", "ns not found");
    }
    collections_.erase(found);
    return Ok();
  }
  if (kind == "createIndexes") {
    Collection& c = collections_[name];
    for (const auto& index : cmd.at("indexes")) {
      if (!index.contains("key") || index["key"].empty() || !index.contains("name")) {
        return Error(67, "CannotCreateIndex", "index without key or name");
      }
      c.indexes.push_back(index);
    }
    return Ok();
  }
  if (kind == "listCollections") {
    Document batch = Document::array();
    for (const auto& [n, c] : collections_) {
      batch.push_back({{"name", n}, {"type", c.view_on ? "view" : "collection"}});
    }
    return Ok({{"cursor", {{"id", Int(0)}, {"firstBatch", batch}}}});
  }
  if (kind == "distinct" || kind == "count") {
    MV_ASSIGN_OR_RETURN(auto docs, ReadCollection(name));
    Document query = cmd.value("query", Document::object());
    std::vector<Document> values;
    std::int64_t count = 0;
    for (const auto& d : docs) {
      if (!Matches(d, query)) continue;
      ++count;
      if (kind == "count") continue;
      const Document* v = Lookup(d, cmd.at("key").get<std::string>());
      if (v == nullptr) continue;
      bool seen = std::any_of(values.begin(), values.end(),
                              [&](const Document& x) { return Compare(&x, v) == 0; });
      if (!seen) values.push_back(*v);
    }
    if (kind == "count") return Ok({{"n", Int(count)}});
    Document out = Document::array();
    for (auto& v : values) out.push_back(std::move(v));
    return Ok({{"values", out}});
  }
  return Error(59, "CommandNotFound", "memory MongoDB: no such command: " + kind);
}

std::vector<Document> MemoryViewDatabase::All(const std::string& collection) {
  std::lock_guard lock(mu_);
  auto docs = ReadCollection(collection);
  if (!docs.ok()) return {};
  SortDocs(*docs, {{"_id", 1}});
  return *docs;
}

std::string MemoryViewDatabase::ViewOn(const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = collections_.find(name);
  return it == collections_.end() || !it->second.view_on ? "" : *it->second.view_on;
}

std::vector<std::string> MemoryViewDatabase::Collections() {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [name, c] : collections_) out.push_back(name);
  return out;
}

std::vector<Document> MemoryViewDatabase::Indexes(const std::string& collection) {
  std::lock_guard lock(mu_);
  auto it = collections_.find(collection);
  return it == collections_.end() ? std::vector<Document>() : it->second.indexes;
}

}  // namespace mv::testing
