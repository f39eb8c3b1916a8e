#include "core/change_event.h"

#include <array>

namespace mv::core {
namespace {
constexpr std::array<std::string_view, 4> kCollections = {"shipments", "tracking_events",
                                                          "customers", "carriers"};
constexpr std::array<std::string_view, 4> kOperations = {"insert", "update", "replace", "delete"};
}  // namespace

std::string_view ToString(Collection c) { return kCollections[static_cast<size_t>(c)]; }
std::string_view ToString(Operation op) { return kOperations[static_cast<size_t>(op)]; }

std::optional<Collection> ParseCollection(std::string_view s) {
  for (size_t i = 0; i < kCollections.size(); ++i) {
    if (kCollections[i] == s) return static_cast<Collection>(i);
  }
  return std::nullopt;
}

std::optional<Operation> ParseOperation(std::string_view s) {
  for (size_t i = 0; i < kOperations.size(); ++i) {
    if (kOperations[i] == s) return static_cast<Operation>(i);
  }
  return std::nullopt;
}

}  // namespace mv::core
