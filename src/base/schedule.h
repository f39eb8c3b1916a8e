#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/result.h"

namespace mv {

// When a job runs: never, every fixed interval, or once a day at a UTC time.
struct Schedule {
  enum class Kind { kOff, kEvery, kDaily };
  Kind kind = Kind::kOff;
  Millis every{0};        // kEvery
  int minute_of_day = 0;  // kDaily: minutes after 00:00 UTC

  // "off", "every 90s" / "every 15m" / "every 6h" / "every 2d", "daily 02:00" (UTC).
  // InvalidArgument saying what is accepted otherwise.
  static Result<Schedule> Parse(std::string_view text);
  std::string ToString() const;
  // The first run after `t`: t + every, or the next HH:MM strictly after t; nullopt when
  // off.
  std::optional<Timestamp> NextAfter(Timestamp t) const;
};

}  // namespace mv
