#pragma once

#include <string>
#include <string_view>

#include "base/result.h"
#include "core/domain.h"
#include "core/tracking.h"

// Shipment and tracking-event documents given as JSON text (the change stream's
// post-images). A well-formed document is read by a streaming parser straight into its
// struct; anything else goes through the DOM path (ParseShipment / ParseTrackingEvent),
// so that the result and every error message are exactly the DOM path's. Thread-safe.
namespace mv::core {

// InvalidArgument (with the reason) when the text is not a valid shipment.
Result<Shipment> ParseShipmentText(std::string_view json_text);
// InvalidArgument when the text is not a valid tracking event.
Result<TrackingEvent> ParseTrackingEventText(std::string_view json_text);

// The DOM path alone; the streaming path must always agree with it.
Result<Shipment> ParseShipmentTextByDom(std::string_view json_text);
Result<TrackingEvent> ParseTrackingEventTextByDom(std::string_view json_text);

}  // namespace mv::core
