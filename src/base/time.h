#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/clock.h"

namespace mv {

// Parses an RFC 3339 date-time ("2026-11-01T10:00:00Z", "2026-11-01T12:00:00.250+02:00").
// Returns nullopt for anything else, including dates that do not exist.
std::optional<Timestamp> ParseRfc3339(std::string_view text);

// Formats as RFC 3339 UTC: "2026-11-01T10:00:00Z", with ".mmm" only when the
// milliseconds are not zero. ParseRfc3339(FormatRfc3339(t)) == t.
std::string FormatRfc3339(Timestamp t);
// The same text, appended to `out` (no allocation beyond `out`'s growth).
void AppendRfc3339(std::string* out, Timestamp t);

inline std::int64_t ToMillis(Timestamp t) { return t.time_since_epoch().count(); }
inline Timestamp FromMillis(std::int64_t ms) { return Timestamp(Millis(ms)); }

}  // namespace mv
