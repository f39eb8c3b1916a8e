#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"
#include "core/change_event.h"

namespace mv::core {

// A MongoDB cluster time (BSON Timestamp): seconds and an increment within the second.
// Every change event of a MongoDB source carries one; they order its stream. Packed into
// a ChangeToken as (seconds << 31 | increment), which keeps that order over every 32-bit
// second (past 2038) as long as increments stay below 2^31 (a second with more operations
// than that does not occur; larger increments are clamped), so the engine, checkpoints
// and `minToken` waits treat MongoDB positions like the embedded sequence numbers.
struct ClusterTime {
  std::uint32_t seconds = 0;
  std::uint32_t increment = 0;
  auto operator<=>(const ClusterTime&) const = default;
};

ChangeToken PackClusterTime(ClusterTime t);
ClusterTime UnpackClusterTime(ChangeToken token);

// "<seconds>.<increment>", what a MongoDB driver session reports as operationTime.
std::string FormatClusterTime(ClusterTime t);
// InvalidArgument unless `text` is "<seconds>.<increment>" with both in 32 bits.
Result<ClusterTime> ParseClusterTime(std::string_view text);

// A token as a client gives it (`minToken`): the decimal number viya-mv answers
// (X-Change-Token, X-View-Token), or a cluster time "<seconds>.<increment>" after a write
// to the platform's MongoDB, packed. InvalidArgument for anything else.
Result<ChangeToken> ParseTokenText(std::string_view text);

}  // namespace mv::core
