// Holds the in-memory FakeViewStore (used by the engine tests) to the same ViewStore
// conformance suite as the real backends, so the engine tests rest on a faithful fake.

#include "core/fake_view_store.h"

#include "storage/view_store_conformance.h"

namespace mv::testing {
namespace {

class FakeHarness final : public ViewStoreHarness {
 public:
  explicit FakeHarness(const core::ViewSet* views) : store_(views) {}
  core::ViewStore* store() override { return &store_; }
  AggregateTable Aggregate(const std::string& view, const std::string& org) override {
    AggregateTable out;
    auto it = store_.state().aggregates.find(view);
    if (it == store_.state().aggregates.end()) return out;
    for (const auto& [key, measures] : it->second) {
      if (!key.empty() && key[0] == org) out[key] = measures;
    }
    return out;
  }
  std::map<std::string, core::ExceptionEntry> Exceptions(const std::string& org) override {
    std::map<std::string, core::ExceptionEntry> out;
    for (const auto& [key, entry] : store_.state().exceptions) {
      if (key.org == org) out[key.id] = entry;
    }
    return out;
  }

 private:
  FakeViewStore store_;
};

INSTANTIATE_TEST_SUITE_P(Fake, ViewStoreConformance,
                         ::testing::Values(ConformanceBackend{
                             "fake",
                             [](const core::ViewSet* views,
                                const Clock*) -> std::unique_ptr<ViewStoreHarness> {
                               return std::make_unique<FakeHarness>(views);
                             }}),
                         ConformanceBackendName);

}  // namespace
}  // namespace mv::testing
