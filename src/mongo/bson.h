#pragma once

#include <bson/bson.h>

#include <nlohmann/json.hpp>
#include <string>

#include "base/result.h"

// libbson at the boundary of the driver layer (driver.cc, view_driver.cc): Extended JSON in
// and out, owned documents. Only the driver layer includes this header.
namespace mv::mongo {

// Starts libmongoc once per process and sends its log to the process log.
void InitDriver();

// An owned bson_t (bson_t's alignment attributes keep it out of std::unique_ptr).
class BsonPtr {
 public:
  explicit BsonPtr(bson_t* b) : b_(b) {}
  BsonPtr(BsonPtr&& o) noexcept : b_(o.b_) { o.b_ = nullptr; }
  BsonPtr& operator=(BsonPtr&&) = delete;
  ~BsonPtr() {
    if (b_ != nullptr) bson_destroy(b_);
  }
  const bson_t* get() const { return b_; }
  bson_t* get() { return b_; }

 private:
  bson_t* b_;
};

// BSON from Extended JSON text; Internal when it does not parse.
Result<BsonPtr> Bson(const std::string& text);
// Relaxed Extended JSON of a document, parsed (null for none).
nlohmann::json ToJson(const bson_t* doc);
// Canonical Extended JSON of a document, parsed with its key order (null for none).
nlohmann::ordered_json ToCanonical(const bson_t* doc);

}  // namespace mv::mongo
