#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "core/view_scope.h"
#include "core/view_set.h"

// The blue/green decisions every view store makes the same way (DESIGN.md section 6), over
// the catalog's stored versions: `live` is the definition version of each aggregate's live
// version (views.VersionOf for one not named), `side` the versions beside the live ones.
// Pure functions.
namespace mv::core {

using LiveVersions = std::map<std::string, int>;

int LiveVersionOf(const ViewSet& views, const LiveVersions& live, const std::string& view);

// The version of `view` in `state` beside the live one (the most recently retired one for
// kRetired), or null.
const StoredVersion* FindSideVersion(const std::vector<StoredVersion>& side,
                                     const std::string& view, VersionState state);

// The aggregates whose newest definition is stored in no state while an older one is
// live: their next version is to be built beside the live one.
std::vector<std::string> VersionsToBuild(const ViewSet& views, const LiveVersions& live,
                                         const std::vector<StoredVersion>& side);

// The version SwitchVersion makes live (the built, validated next one), or Conflict saying
// why there is none.
Result<StoredVersion> VersionToSwitchTo(const ViewSet& views, const LiveVersions& live,
                                        const std::vector<StoredVersion>& side,
                                        const std::string& view);
// The version RollbackVersion makes live again (the most recently retired one), or
// Conflict.
Result<StoredVersion> VersionToRollBackTo(const ViewSet& views, const LiveVersions& live,
                                          const std::vector<StoredVersion>& side,
                                          const std::string& view);
// The retired versions (of `view`, or of every view) retired at or before `retired_before`
// (none: all of them).
std::vector<StoredVersion> RetiredVersions(const std::vector<StoredVersion>& side,
                                           const std::optional<std::string>& view,
                                           std::optional<Timestamp> retired_before);

// The definition version of each aggregate a shadow of `scope` holds: the live ones, and
// for a next version the scope's newest definitions. InvalidArgument for a next version of
// one org, of no named view, or of a view with one definition; Conflict when the newest
// definition is the live one.
Result<LiveVersions> ShadowVersions(const ViewSet& views, const LiveVersions& live,
                                    const ViewScope& scope);

}  // namespace mv::core
