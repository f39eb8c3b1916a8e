// The binary row codecs on arbitrary bytes: DecodeRow("acme", bytes) and
// DecodeTrackingSummary(bytes). Checks: the only error is Corruption; a decoded value
// encoded again decodes to an equal value (doubles compared bit for bit, so that a NaN
// weight, which the codec carries exactly, counts as equal to itself), and encodes to the
// same bytes again (the encoding is deterministic).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "core/row_codec.h"
#include "core/shipment_row.h"
#include "core/tracking.h"
#include "fuzz_check.h"

namespace {

bool SameBits(const std::optional<double>& a, const std::optional<double>& b) {
  if (a.has_value() != b.has_value()) return false;
  return !a || std::memcmp(&*a, &*b, sizeof(double)) == 0;
}

bool SameRow(mv::core::ShipmentRow a, mv::core::ShipmentRow b) {
  if (!SameBits(a.shipment.weight_kg, b.shipment.weight_kg) ||
      !SameBits(a.shipment.declared_value, b.shipment.declared_value)) {
    return false;
  }
  a.shipment.weight_kg.reset();
  b.shipment.weight_kg.reset();
  a.shipment.declared_value.reset();
  b.shipment.declared_value.reset();
  return a == b;
}

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

template <typename T>
void CheckCorruption(const mv::Result<T>& r) {
  if (r.ok()) return;
  FUZZ_CHECK(r.status().code() == mv::StatusCode::kCorruption, r.status().ToString());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);

  const auto row = mv::core::DecodeRow("acme", bytes);
  CheckCorruption(row);
  if (row.ok()) {
    FUZZ_CHECK(row->org == "acme", row->org);
    const std::string encoded = mv::core::EncodeRow(*row);
    const auto again = mv::core::DecodeRow("acme", encoded);
    FUZZ_CHECK(again.ok(), "input " + Hex(bytes) + "\nencoded " + Hex(encoded) + ": " +
                               again.status().ToString());
    FUZZ_CHECK(SameRow(*again, *row), "input " + Hex(bytes) + "\nencoded " + Hex(encoded) +
                                          "\ndecodes to a different row");
    FUZZ_CHECK(mv::core::EncodeRow(*again) == encoded, "input " + Hex(bytes));
  }

  const auto summary = mv::core::DecodeTrackingSummary(bytes);
  CheckCorruption(summary);
  if (summary.ok()) {
    const std::string encoded = mv::core::EncodeTrackingSummary(*summary);
    const auto again = mv::core::DecodeTrackingSummary(encoded);
    FUZZ_CHECK(again.ok(), "input " + Hex(bytes) + "\nencoded " + Hex(encoded) + ": " +
                               again.status().ToString());
    FUZZ_CHECK(*again == *summary, "input " + Hex(bytes) + "\nencoded " + Hex(encoded) +
                                       "\ndecodes to a different summary");
    FUZZ_CHECK(mv::core::EncodeTrackingSummary(*again) == encoded, "input " + Hex(bytes));
  }
  return 0;
}
