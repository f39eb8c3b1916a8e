// ParseRfc3339 on arbitrary text. Checks: a parsed instant formats (FormatRfc3339) to text
// that parses back to the same instant, and the formatted text is itself accepted. The
// same round trip for an instant taken from the input's first 8 bytes, folded into the
// years 0000..9999 that the parser accepts.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "base/time.h"
#include "fuzz_check.h"

namespace {

void CheckRoundTrip(mv::Timestamp t, std::string_view from) {
  const std::string formatted = mv::FormatRfc3339(t);
  const auto again = mv::ParseRfc3339(formatted);
  FUZZ_CHECK(again.has_value() && *again == t,
             std::string(from) + " -> " + std::to_string(mv::ToMillis(t)) + " ms -> " + formatted +
                 " -> " + (again ? std::to_string(mv::ToMillis(*again)) + " ms" : "not parsed"));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (const auto t = mv::ParseRfc3339(text)) CheckRoundTrip(*t, text);

  if (size >= sizeof(std::int64_t)) {
    using namespace std::chrono;
    std::int64_t raw = 0;
    std::memcpy(&raw, data, sizeof raw);
    const std::int64_t first = mv::ToMillis(mv::Timestamp(sys_days(year(0) / January / 1)));
    const std::int64_t last = mv::ToMillis(mv::Timestamp(sys_days(year(10000) / January / 1))) - 1;
    const auto span = static_cast<std::uint64_t>(last - first) + 1;
    const auto ms = first + static_cast<std::int64_t>(static_cast<std::uint64_t>(raw) % span);
    CheckRoundTrip(mv::FromMillis(ms), "8 input bytes");
  }
  return 0;
}
