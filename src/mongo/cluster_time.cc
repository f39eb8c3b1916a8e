#include "mongo/cluster_time.h"

namespace mv::mongo {
namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Result<ClusterTime> ClusterTimeOfResumeToken(std::string_view hex) {
  constexpr size_t kDigits = 2 + 16;  // type byte, seconds, increment
  if (hex.size() < kDigits || HexDigit(hex[0]) != 8 || HexDigit(hex[1]) != 2) {
    return Status::InvalidArgument("resume token: not a cluster-time token");
  }
  std::uint64_t words = 0;
  for (size_t i = 2; i < kDigits; ++i) {
    int d = HexDigit(hex[i]);
    if (d < 0) return Status::InvalidArgument("resume token: not hex");
    words = words << 4 | static_cast<std::uint64_t>(d);
  }
  return ClusterTime{static_cast<std::uint32_t>(words >> 32),
                     static_cast<std::uint32_t>(words & 0xffffffffu)};
}

}  // namespace mv::mongo
