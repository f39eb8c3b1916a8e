#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"
#include "core/change_event.h"

namespace mv::mongo {

// A MongoDB cluster time (BSON Timestamp): seconds and an increment within the second.
// Every change event carries one; they order the stream. Packed into a core::ChangeToken
// as (seconds << 31 | increment), which keeps that order over every 32-bit second (past
// 2038) as long as increments stay below 2^31 (a second with more operations than that
// does not occur; larger increments are clamped), so the engine, checkpoints and
// `minToken` waits treat MongoDB positions like the embedded sequence numbers.
struct ClusterTime {
  std::uint32_t seconds = 0;
  std::uint32_t increment = 0;
  auto operator<=>(const ClusterTime&) const = default;
};

core::ChangeToken Pack(ClusterTime t);
ClusterTime Unpack(core::ChangeToken token);

// "<seconds>.<increment>", what a driver session reports as operationTime.
std::string FormatClusterTime(ClusterTime t);
// InvalidArgument unless `text` is "<seconds>.<increment>" with both in 32 bits.
Result<ClusterTime> ParseClusterTime(std::string_view text);

// The cluster time a resume token's `_data` starts with. The server's tokens (version 1
// and 2, MongoDB 4.2+) are hex KeyString whose first value is the event's cluster time:
// type byte 0x82, then seconds and increment as big-endian 32-bit words.
// InvalidArgument for any other text.
Result<ClusterTime> ClusterTimeOfResumeToken(std::string_view data_hex);

}  // namespace mv::mongo
