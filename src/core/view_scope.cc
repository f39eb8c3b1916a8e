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

Status ViewScope::CheckPart(const ViewScope& part) const {
  if (org && part.org != org) {
    return Status::InvalidArgument("the part " + part.Describe() + " is outside the shadow of " +
                                   Describe());
  }
  if (next_version && part.org) {
    return Status::InvalidArgument("a next version is committed for every org");
  }
  return Status::Ok();
}

void CompareRows(const std::vector<RowDigest>& source, const std::vector<RowDigest>& view,
                 ViewDrift* drift) {
  drift->source_rows = static_cast<std::int64_t>(source.size());
  drift->view_rows = static_cast<std::int64_t>(view.size());
  std::uint64_t source_sum = 0, view_sum = 0;
  for (const auto& r : source) source_sum += r.second;
  for (const auto& r : view) view_sum += r.second;
  drift->checksum_match = source_sum == view_sum && source.size() == view.size();
  auto mismatch = [&](const std::string& key) {
    ++drift->mismatched;
    if (drift->sample_keys.size() < 10) {
      std::string shown = key;
      std::replace(shown.begin(), shown.end(), '\0', '/');
      drift->sample_keys.push_back(std::move(shown));
    }
  };
  size_t i = 0, j = 0;
  while (i < source.size() || j < view.size()) {
    if (j == view.size() || (i < source.size() && source[i].first < view[j].first)) {
      mismatch(source[i++].first);
    } else if (i == source.size() || view[j].first < source[i].first) {
      mismatch(view[j++].first);
    } else {
      if (source[i].second != view[j].second) mismatch(source[i].first);
      ++i;
      ++j;
    }
  }
}

}  // namespace mv::core
