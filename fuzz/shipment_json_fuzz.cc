// ParseShipmentText (the simdjson fast path with the DOM fallback) must agree with
// ParseShipmentTextByDom on every input: the same ok-ness, an equal Shipment when ok, the
// same status code and message when not. A parsed shipment written back as JSON
// (ShipmentToJson) must parse to the same shipment.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/document_text.h"
#include "core/domain.h"
#include "fuzz_check.h"

namespace {

using mv::core::Shipment;

std::string Show(const Shipment& s) {
  return mv::core::ShipmentToJson(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string Show(const mv::Result<Shipment>& r) {
  return r.ok() ? "ok " + Show(*r) : "error " + r.status().ToString();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto fast = mv::core::ParseShipmentText(text);
  const auto dom = mv::core::ParseShipmentTextByDom(text);
  const std::string both =
      "ParseShipmentText:      " + Show(fast) + "\nParseShipmentTextByDom: " + Show(dom);
  FUZZ_CHECK(fast.ok() == dom.ok(), both);
  if (!fast.ok()) {
    FUZZ_CHECK(fast.status().code() == dom.status().code(), both);
    FUZZ_CHECK(fast.status().message() == dom.status().message(), both);
    return 0;
  }
  FUZZ_CHECK(*fast == *dom, both);

  std::string written;
  try {
    written = mv::core::ShipmentToJson(*fast).dump();
  } catch (const nlohmann::json::exception& e) {
    FUZZ_CHECK(false, std::string("ShipmentToJson(s).dump() threw: ") + e.what() + "\n" + both);
  }
  const auto again = mv::core::ParseShipmentText(written);
  FUZZ_CHECK(again.ok() && *again == *fast, "ShipmentToJson(s).dump(): " + written +
                                                "\nparsed again: " + Show(again) +
                                                "\nfirst parse: " + Show(*fast));
  return 0;
}
