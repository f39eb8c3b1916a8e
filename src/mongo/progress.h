#pragma once

#include "api/source.h"
#include "base/watermark.h"
#include "core/cluster_time.h"

namespace mv::mongo {

// How far a MongoDB source has got, as this process knows it: the newest cluster time its
// change stream has returned or scanned through (MongoChangeSource advances it). Cluster
// times do not count changes, per-org staleness would need reading ahead, and a client's
// operationTime may be newer than anything seen yet (so `minToken` waits rather than
// refuses). Thread-safe.
class MongoProgress final : public api::SourceProgress {
 public:
  const Watermark& committed() const override { return seen_; }
  Watermark& seen() { return seen_; }
  Result<std::map<std::string, Timestamp>> OldestChangeByOrgAfter(core::ChangeToken) override {
    return std::map<std::string, Timestamp>{};
  }
  std::optional<std::int64_t> ChangesAfter(core::ChangeToken) const override {
    return std::nullopt;
  }
  bool BoundsClientTokens() const override { return false; }
  // The seconds of cluster time between what the views applied and what the stream saw.
  std::optional<double> SecondsBehind(core::ChangeToken applied) const override {
    core::ChangeToken seen = seen_.Get();
    if (seen <= applied) return 0.0;
    return static_cast<double>(core::UnpackClusterTime(seen).seconds) -
           static_cast<double>(core::UnpackClusterTime(applied).seconds);
  }

 private:
  Watermark seen_;
};

}  // namespace mv::mongo
