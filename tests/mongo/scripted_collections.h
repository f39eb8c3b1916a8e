#pragma once

// Scripted collections for the snapshot reader's tests: documents per collection, the
// find filters the reader uses (equality, $gt, $and, $or) evaluated as a server would,
// results in the requested sort order, and a cursor failure injected where a test wants.

#include <algorithm>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "mongo/source_reader.h"

namespace mv::testing {

using nlohmann::json;

class ScriptedCollections final : public mongo::CollectionReader {
 public:
  std::map<std::string, std::vector<json>> docs;
  mongo::ClusterTime now{1000, 1};
  // The next cursor of this collection fails after returning this many documents.
  std::map<std::string, int> fail_after;
  std::vector<json> filters;  // of every Find, in order

  Result<std::unique_ptr<mongo::DocumentCursor>> Find(const std::string& collection,
                                                      const json& filter, const Sort& sort,
                                                      std::optional<std::int64_t> limit) override {
    filters.push_back(filter);
    std::vector<json> out;
    for (const json& d : docs[collection]) {
      if (Matches(d, filter)) out.push_back(d);
    }
    std::stable_sort(out.begin(), out.end(), [&](const json& a, const json& b) {
      for (const auto& [field, dir] : sort) {
        std::string x = a.value(field, ""), y = b.value(field, "");
        if (x != y) return dir > 0 ? x < y : x > y;
      }
      return false;
    });
    if (limit && out.size() > static_cast<size_t>(*limit)) out.resize(*limit);
    int fail = -1;
    if (auto it = fail_after.find(collection); it != fail_after.end()) {
      fail = it->second;
      fail_after.erase(it);
    }
    return std::unique_ptr<mongo::DocumentCursor>(new Cursor(std::move(out), fail));
  }
  Result<std::int64_t> Count(const std::string& collection, const json& filter) override {
    std::int64_t n = 0;
    for (const json& d : docs[collection]) n += Matches(d, filter) ? 1 : 0;
    return n;
  }
  Result<mongo::ClusterTime> ClusterTimeNow() override { return now; }

 private:
  static bool Matches(const json& doc, const json& filter) {
    for (const auto& [key, cond] : filter.items()) {
      if (key == "$and" || key == "$or") {
        bool any = false, all = true;
        for (const json& f : cond) {
          bool m = Matches(doc, f);
          any = any || m;
          all = all && m;
        }
        if (key == "$and" ? !all : !any) return false;
        continue;
      }
      std::string value = doc.value(key, "");
      if (cond.is_object() && cond.contains("$gt")) {
        if (!(value > cond["$gt"].get<std::string>())) return false;
      } else if (value != cond.get<std::string>()) {
        return false;
      }
    }
    return true;
  }

  class Cursor final : public mongo::DocumentCursor {
   public:
    Cursor(std::vector<json> docs, int fail_after) : docs_(std::move(docs)), fail_(fail_after) {}
    Result<std::optional<json>> Next() override {
      if (fail_ >= 0 && next_ == static_cast<size_t>(fail_)) {
        return Status::Unavailable("connection reset by the scripted server");
      }
      if (next_ == docs_.size()) return std::optional<json>();
      return std::optional<json>(docs_[next_++]);
    }

   private:
    std::vector<json> docs_;
    int fail_;
    size_t next_ = 0;
  };
};

}  // namespace mv::testing
