#include "core/cluster_time.h"

#include <algorithm>
#include <charconv>
#include <limits>

namespace mv::core {

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

}  // namespace

constexpr std::uint32_t kMaxIncrement = 0x7fffffffu;

ChangeToken PackClusterTime(ClusterTime t) {
  return static_cast<ChangeToken>((static_cast<std::uint64_t>(t.seconds) << 31) |
                                  std::min(t.increment, kMaxIncrement));
}

ClusterTime UnpackClusterTime(ChangeToken token) {
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

Result<ChangeToken> ParseTokenText(std::string_view text) {
  if (text.find('.') != std::string_view::npos) {
    MV_ASSIGN_OR_RETURN(ClusterTime t, ParseClusterTime(text));
    return PackClusterTime(t);
  }
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v < 0) {
    return Status::InvalidArgument(
        "a token is a non-negative integer, or a cluster time <seconds>.<increment>");
  }
  return v;
}

}  // namespace mv::core
