#include "mongo/cluster_time.h"

#include <algorithm>
#include <charconv>
#include <limits>

namespace mv::mongo {
namespace {

Result<std::uint32_t> Word(std::string_view text, std::string_view what) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() ||
      v > std::numeric_limits<std::uint32_t>::max()) {
    return Status::InvalidArgument("cluster time: " + std::string(what) +
                                   " must be a 32-bit unsigned number");
  }
  return static_cast<std::uint32_t>(v);
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

constexpr std::uint32_t kMaxIncrement = 0x7fffffffu;

core::ChangeToken Pack(ClusterTime t) {
  return static_cast<core::ChangeToken>((static_cast<std::uint64_t>(t.seconds) << 31) |
                                        std::min(t.increment, kMaxIncrement));
}

ClusterTime Unpack(core::ChangeToken token) {
  auto u = static_cast<std::uint64_t>(token);
  return {static_cast<std::uint32_t>(u >> 31), static_cast<std::uint32_t>(u & kMaxIncrement)};
}

std::string FormatClusterTime(ClusterTime t) {
  return std::to_string(t.seconds) + "." + std::to_string(t.increment);
}

Result<ClusterTime> ParseClusterTime(std::string_view text) {
  size_t dot = text.find('.');
  if (dot == std::string_view::npos) {
    return Status::InvalidArgument("cluster time: expected <seconds>.<increment>");
  }
  MV_ASSIGN_OR_RETURN(std::uint32_t seconds, Word(text.substr(0, dot), "seconds"));
  MV_ASSIGN_OR_RETURN(std::uint32_t increment, Word(text.substr(dot + 1), "increment"));
  return ClusterTime{seconds, increment};
}

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
