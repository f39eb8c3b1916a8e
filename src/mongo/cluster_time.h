#pragma once

#include <string_view>

#include "base/result.h"
#include "core/cluster_time.h"

namespace mv::mongo {

using core::ClusterTime;
using core::FormatClusterTime;
using core::ParseClusterTime;
inline core::ChangeToken Pack(ClusterTime t) { return core::PackClusterTime(t); }
inline ClusterTime Unpack(core::ChangeToken token) { return core::UnpackClusterTime(token); }

// The cluster time a resume token's `_data` starts with. The server's tokens (version 1
// and 2, MongoDB 4.2+) are hex KeyString whose first value is the event's cluster time:
// type byte 0x82, then seconds and increment as big-endian 32-bit words.
// InvalidArgument for any other text.
Result<ClusterTime> ClusterTimeOfResumeToken(std::string_view data_hex);

}  // namespace mv::mongo
