#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "core/tracking.h"

namespace mv::http {

// The body of POST /v1/tracking-events, validated.
struct TrackingBody {
  std::vector<core::TrackingEvent> events;  // in the order sent
  std::optional<std::string> org;           // the `org` the events name, if any
};

// Parses one event object, a JSON array of them, or NDJSON (`content_type`
// application/x-ndjson or application/ndjson: one event object per non-empty line). All
// or nothing: the first invalid event is an InvalidArgument naming it ("events[3].
// occurredAt: ..." in an array, "line 4: ..." in NDJSON, the field alone for a single
// object); more than `max_events` events is PayloadTooLarge.
Result<TrackingBody> ParseTrackingBody(const std::string& body, const std::string& content_type,
                                       size_t max_events);

}  // namespace mv::http
