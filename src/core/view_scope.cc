#include "core/view_scope.h"

#include <algorithm>

#include "core/view_set.h"

namespace mv::core {

bool ViewScope::Includes(const std::string& view) const {
  if (views.empty()) return true;
  if (std::find(views.begin(), views.end(), view) != views.end()) return true;
  return view == ViewSet::kTrackingState &&
         std::find(views.begin(), views.end(), ViewSet::kShipmentList) != views.end();
}

bool ViewScope::Overlaps(const ViewScope& other) const {
  if (org && other.org && *org != *other.org) return false;
  if (views.empty() || other.views.empty()) return true;
  auto shared = [](const ViewScope& a, const ViewScope& b) {
    return std::any_of(a.views.begin(), a.views.end(),
                       [&](const std::string& v) { return b.Includes(v); });
  };
  return shared(*this, other) || shared(other, *this);
}

std::string ViewScope::Describe() const {
  std::string what;
  if (views.empty()) {
    what = "every view";
  } else {
    for (const auto& v : views) what += (what.empty() ? "" : ", ") + v;
  }
  return (next_version ? "the next version of " : "") + what +
         (org ? " of org " + *org : " of every org");
}

std::string_view ToString(VersionState state) {
  switch (state) {
    case VersionState::kBuilding:
      return "building";
    case VersionState::kLive:
      return "live";
    case VersionState::kRetired:
      return "retired";
  }
  return "live";
}

}  // namespace mv::core
