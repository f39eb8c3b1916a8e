#include "metrics/metrics.h"

#include <prometheus/text_serializer.h>

namespace mv::metrics {

prometheus::Histogram::BucketBoundaries LatencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

OrgLabels::OrgLabels(std::vector<std::string> allow, size_t max_orgs)
    : allow_(allow.begin(), allow.end()), max_orgs_(max_orgs) {}

std::string OrgLabels::Of(const std::string& org) {
  if (!allow_.empty()) return allow_.count(org) ? org : kOther;
  std::lock_guard lock(mu_);
  if (admitted_.count(org)) return org;
  if (admitted_.size() >= max_orgs_) return kOther;
  admitted_.insert(org);
  return org;
}

Metrics::Metrics() : registry_(std::make_shared<prometheus::Registry>()) {}

void Metrics::OnCollect(std::function<void()> hook) {
  std::lock_guard lock(hooks_mu_);
  hooks_.push_back(std::move(hook));
}

std::string Metrics::Serialize() {
  {
    std::lock_guard lock(hooks_mu_);
    for (auto& hook : hooks_) hook();
  }
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace mv::metrics
