#include "core/stored_versions.h"

#include <fmt/format.h>

#include <algorithm>

namespace mv::core {

int LiveVersionOf(const ViewSet& views, const LiveVersions& live, const std::string& view) {
  auto it = live.find(view);
  return it != live.end() ? it->second : views.VersionOf(view);
}

const StoredVersion* FindSideVersion(const std::vector<StoredVersion>& side,
                                     const std::string& view, VersionState state) {
  const StoredVersion* found = nullptr;
  for (const auto& v : side) {
    if (v.view != view || v.state != state) continue;
    if (found == nullptr || v.retired_at > found->retired_at) found = &v;
  }
  return found;
}

std::vector<std::string> VersionsToBuild(const ViewSet& views, const LiveVersions& live,
                                         const std::vector<StoredVersion>& side) {
  std::vector<std::string> out;
  for (const auto& v : views.aggregates()) {
    const std::string& name = v->spec().name;
    if (LiveVersionOf(views, live, name) == v->spec().version) continue;
    bool stored = std::any_of(side.begin(), side.end(), [&](const StoredVersion& s) {
      return s.view == name && s.version == v->spec().version;
    });
    if (!stored) out.push_back(name);
  }
  return out;
}

Result<StoredVersion> VersionToSwitchTo(const ViewSet& views, const LiveVersions& live,
                                        const std::vector<StoredVersion>& side,
                                        const std::string& view) {
  const StoredVersion* next = FindSideVersion(side, view, VersionState::kBuilding);
  if (next == nullptr || !next->built_at) {
    return Status::Conflict(fmt::format("{} has no built version to switch to (v{} is live)", view,
                                        LiveVersionOf(views, live, view)));
  }
  if (!next->validated) {
    return Status::Conflict(
        fmt::format("{} v{} is built but not validated yet", view, next->version));
  }
  return *next;
}

Result<StoredVersion> VersionToRollBackTo(const ViewSet& views, const LiveVersions& live,
                                          const std::vector<StoredVersion>& side,
                                          const std::string& view) {
  const StoredVersion* retired = FindSideVersion(side, view, VersionState::kRetired);
  if (retired == nullptr) {
    return Status::Conflict(fmt::format("{} has no retired version to roll back to (v{} is live)",
                                        view, LiveVersionOf(views, live, view)));
  }
  return *retired;
}

std::vector<StoredVersion> RetiredVersions(const std::vector<StoredVersion>& side,
                                           const std::optional<std::string>& view,
                                           std::optional<Timestamp> retired_before) {
  std::vector<StoredVersion> out;
  for (const auto& v : side) {
    if (v.state != VersionState::kRetired || (view && v.view != *view)) continue;
    if (retired_before && v.retired_at && *v.retired_at > *retired_before) continue;
    out.push_back(v);
  }
  return out;
}

Result<LiveVersions> ShadowVersions(const ViewSet& views, const LiveVersions& live,
                                    const ViewScope& scope) {
  LiveVersions versions = live;
  if (!scope.next_version) return versions;
  if (scope.org || scope.views.empty()) {
    return Status::InvalidArgument("a next version is built for named views of every org");
  }
  for (const auto& view : scope.views) {
    const AggregateView* newest = views.FindAggregate(view);
    if (newest == nullptr) {
      return Status::InvalidArgument(view + " has one version: it is rebuilt, not migrated");
    }
    if (newest->spec().version == LiveVersionOf(views, live, view)) {
      return Status::Conflict(
          fmt::format("{} v{} is live: this build defines no newer version of it", view,
                      newest->spec().version));
    }
    versions[view] = newest->spec().version;
  }
  return versions;
}

}  // namespace mv::core
