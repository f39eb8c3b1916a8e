#include "mongo/bson.h"

#include <fmt/format.h>
#include <mongoc/mongoc.h>
#include <spdlog/spdlog.h>

#include <mutex>

namespace mv::mongo {
namespace {

// The driver's own log goes to the process log: its warnings as warnings, the rest at
// debug level (server monitoring is chatty).
void LogToSpdlog(mongoc_log_level_t level, const char* domain, const char* message, void*) {
  if (level <= MONGOC_LOG_LEVEL_WARNING) {
    spdlog::warn("mongoc {}: {}", domain, message);
  } else {
    spdlog::debug("mongoc {}: {}", domain, message);
  }
}

}  // namespace

void InitDriver() {
  static std::once_flag once;
  std::call_once(once, [] {
    mongoc_init();
    mongoc_log_set_handler(&LogToSpdlog, nullptr);
  });
}

Result<BsonPtr> Bson(const std::string& text) {
  bson_error_t error;
  bson_t* b = bson_new_from_json(reinterpret_cast<const uint8_t*>(text.data()),
                                 static_cast<ssize_t>(text.size()), &error);
  if (b == nullptr) return Status::Internal(fmt::format("BSON from JSON: {}", error.message));
  return BsonPtr(b);
}

nlohmann::json ToJson(const bson_t* doc) {
  if (doc == nullptr) return nullptr;
  size_t len = 0;
  char* text = bson_as_relaxed_extended_json(doc, &len);
  if (text == nullptr) return nullptr;
  nlohmann::json out = nlohmann::json::parse(text, text + len, nullptr, false);
  bson_free(text);
  return out;
}

nlohmann::ordered_json ToCanonical(const bson_t* doc) {
  if (doc == nullptr) return nullptr;
  size_t len = 0;
  char* text = bson_as_canonical_extended_json(doc, &len);
  if (text == nullptr) return nullptr;
  nlohmann::ordered_json out = nlohmann::ordered_json::parse(text, text + len, nullptr, false);
  bson_free(text);
  return out;
}

}  // namespace mv::mongo
