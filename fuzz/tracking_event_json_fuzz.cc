// ParseTrackingEventText (the simdjson fast path with the DOM fallback) must agree with
// ParseTrackingEventTextByDom on every input: the same ok-ness, an equal TrackingEvent when
// ok, the same status code and message when not. A parsed event written back as JSON
// (TrackingEventToJson) must parse to the same event.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/document_text.h"
#include "core/tracking.h"
#include "fuzz_check.h"

namespace {

using mv::core::TrackingEvent;

std::string Show(const TrackingEvent& e) {
  return mv::core::TrackingEventToJson(e).dump(-1, ' ', false,
                                               nlohmann::json::error_handler_t::replace);
}

std::string Show(const mv::Result<TrackingEvent>& r) {
  return r.ok() ? "ok " + Show(*r) : "error " + r.status().ToString();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto fast = mv::core::ParseTrackingEventText(text);
  const auto dom = mv::core::ParseTrackingEventTextByDom(text);
  const std::string both =
      "ParseTrackingEventText:      " + Show(fast) + "\nParseTrackingEventTextByDom: " + Show(dom);
  FUZZ_CHECK(fast.ok() == dom.ok(), both);
  if (!fast.ok()) {
    FUZZ_CHECK(fast.status().code() == dom.status().code(), both);
    FUZZ_CHECK(fast.status().message() == dom.status().message(), both);
    return 0;
  }
  FUZZ_CHECK(*fast == *dom, both);

  std::string written;
  try {
    written = mv::core::TrackingEventToJson(*fast).dump();
  } catch (const nlohmann::json::exception& e) {
    FUZZ_CHECK(false,
               std::string("TrackingEventToJson(e).dump() threw: ") + e.what() + "\n" + both);
  }
  const auto again = mv::core::ParseTrackingEventText(written);
  FUZZ_CHECK(again.ok() && *again == *fast, "TrackingEventToJson(e).dump(): " + written +
                                                "\nparsed again: " + Show(again) +
                                                "\nfirst parse: " + Show(*fast));
  return 0;
}
