#include "base/schedule.h"

#include <charconv>

namespace mv {
namespace {

constexpr std::string_view kScheduleForms =
    "expected \"off\", \"every N<s|m|h|d>\" (e.g. \"every 15m\") or \"daily HH:MM\" (UTC)";

bool ParseNumber(std::string_view text, int64_t* out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

std::string TwoDigits(int n) { return (n < 10 ? "0" : "") + std::to_string(n); }

}  // namespace

Result<Schedule> Schedule::Parse(std::string_view text) {
  auto bad = [&] {
    return Status::InvalidArgument("'" + std::string(text) + "': " + std::string(kScheduleForms));
  };
  Schedule s;
  if (text == "off") return s;
  if (text.starts_with("every ")) {
    std::string_view amount = text.substr(6);
    if (amount.size() < 2) return bad();
    int64_t n = 0;
    if (!ParseNumber(amount.substr(0, amount.size() - 1), &n) || n <= 0 || n > 9999) {
      return bad();
    }
    switch (amount.back()) {
      case 's':
        s.every = std::chrono::seconds(n);
        break;
      case 'm':
        s.every = std::chrono::minutes(n);
        break;
      case 'h':
        s.every = std::chrono::hours(n);
        break;
      case 'd':
        s.every = std::chrono::hours(24 * n);
        break;
      default:
        return bad();
    }
    s.kind = Kind::kEvery;
    return s;
  }
  if (text.starts_with("daily ")) {
    std::string_view hhmm = text.substr(6);
    int64_t h = 0, m = 0;
    if (hhmm.size() != 5 || hhmm[2] != ':' || !ParseNumber(hhmm.substr(0, 2), &h) ||
        !ParseNumber(hhmm.substr(3), &m) || h > 23 || m > 59) {
      return bad();
    }
    s.kind = Kind::kDaily;
    s.minute_of_day = static_cast<int>(h * 60 + m);
    return s;
  }
  return bad();
}

std::string Schedule::ToString() const {
  switch (kind) {
    case Kind::kOff:
      return "off";
    case Kind::kEvery: {
      auto seconds = std::chrono::duration_cast<std::chrono::seconds>(every).count();
      if (seconds % 86400 == 0) return "every " + std::to_string(seconds / 86400) + "d";
      if (seconds % 3600 == 0) return "every " + std::to_string(seconds / 3600) + "h";
      if (seconds % 60 == 0) return "every " + std::to_string(seconds / 60) + "m";
      return "every " + std::to_string(seconds) + "s";
    }
    case Kind::kDaily:
      return "daily " + TwoDigits(minute_of_day / 60) + ":" + TwoDigits(minute_of_day % 60);
  }
  return "off";
}

std::optional<Timestamp> Schedule::NextAfter(Timestamp t) const {
  switch (kind) {
    case Kind::kOff:
      return std::nullopt;
    case Kind::kEvery:
      return t + every;
    case Kind::kDaily: {
      Timestamp day = std::chrono::floor<std::chrono::days>(t);
      Timestamp at = day + std::chrono::minutes(minute_of_day);
      return at > t ? at : at + std::chrono::days(1);
    }
  }
  return std::nullopt;
}

}  // namespace mv
