// ParseTrackingBody, the body of POST /v1/tracking-events. The first input byte picks the
// Content-Type (JSON, both NDJSON spellings, NDJSON with parameters and odd case, and
// types that are neither); the rest is the body. Checks: the only errors are
// InvalidArgument and PayloadTooLarge; a parsed body has 1..max_events events, each of
// which TrackingEventToJson / ParseTrackingEvent carry unchanged.
#include <array>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "core/tracking.h"
#include "fuzz_check.h"
#include "http/tracking_body.h"

namespace {

constexpr std::size_t kMaxEvents = 10000;

constexpr std::array<const char*, 6> kContentTypes = {
    "application/json",   "application/x-ndjson",
    "application/ndjson", "Application/X-NDJSON ; charset=utf-8",
    "text/plain",         "",
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string content_type = kContentTypes[data[0] % kContentTypes.size()];
  const std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  const auto parsed = mv::http::ParseTrackingBody(body, content_type, kMaxEvents);
  if (!parsed.ok()) {
    const mv::StatusCode code = parsed.status().code();
    FUZZ_CHECK(code == mv::StatusCode::kInvalidArgument || code == mv::StatusCode::kPayloadTooLarge,
               parsed.status().ToString());
    FUZZ_CHECK(!parsed.status().message().empty(), parsed.status().ToString());
    return 0;
  }
  const auto& events = parsed->events;
  FUZZ_CHECK(!events.empty() && events.size() <= kMaxEvents,
             "events: " + std::to_string(events.size()));
  for (const auto& event : events) {
    const nlohmann::json doc = mv::core::TrackingEventToJson(event);
    const auto again = mv::core::ParseTrackingEvent(doc);
    FUZZ_CHECK(again.ok() && *again == event,
               doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + " -> " +
                   (again.ok() ? std::string("a different event") : again.status().ToString()));
  }
  return 0;
}
