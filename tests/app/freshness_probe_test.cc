#include "app/freshness_probe.h"

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <chrono>
#include <string>

namespace mv::app {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class FreshnessProbeTest : public ::testing::Test {
 protected:
  FreshnessProbe Make(std::vector<std::string> allow, size_t max_orgs) {
    FreshnessProbe::Options o;
    o.views = {"mv_a", "mv_b"};
    o.staleness_target_seconds = 0.5;
    o.org_allow = std::move(allow);
    o.max_orgs = max_orgs;
    return FreshnessProbe(registry_, o);
  }
  // The value of one sample, or -1 when there is none.
  double Sample(const std::string& name_and_labels) {
    std::string text = prometheus::TextSerializer().Serialize(registry_.Collect());
    size_t at = text.find("\n" + name_and_labels + " ");
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(at + name_and_labels.size() + 2));
  }

  prometheus::Registry registry_;
  Clock::time_point t0_ = Clock::now();
};

TEST_F(FreshnessProbeTest, CheckpointAgeCountsOnlyWhileBehindAndStill) {
  FreshnessProbe probe = Make({}, 10);
  FreshnessProbe::Reading r;
  r.applied = 10;
  r.caught_up = true;
  probe.Update(r, t0_);
  probe.Update(r, t0_ + 600s);  // idle for ten minutes: nothing waits, nothing stalled
  EXPECT_EQ(Sample("viya_mv_checkpoint_age_seconds"), 0);

  r.caught_up = false;  // a change arrives and the checkpoint stands still
  r.lag_events = 3;
  probe.Update(r, t0_ + 601s);
  probe.Update(r, t0_ + 631s);
  EXPECT_EQ(Sample("viya_mv_checkpoint_age_seconds"), 30) << "counted from when it fell behind";
  EXPECT_EQ(Sample("viya_mv_change_stream_lag_events"), 3);

  r.applied = 11;  // it moves, still behind: the age starts again
  probe.Update(r, t0_ + 640s);
  EXPECT_EQ(Sample("viya_mv_checkpoint_age_seconds"), 0);
  probe.Update(r, t0_ + 650s);
  EXPECT_EQ(Sample("viya_mv_checkpoint_age_seconds"), 10);
  EXPECT_EQ(Sample("viya_mv_staleness_target_seconds"), 0.5);
}

TEST_F(FreshnessProbeTest, OrgsPastTheCapShareTheOtherLabelWithTheirMaximum) {
  FreshnessProbe probe = Make({}, 2);
  probe.OrgsSeen({"acme", "globex"});
  EXPECT_EQ(Sample("viya_mv_staleness_seconds{mv=\"mv_a\",org=\"acme\"}"), 0);
  FreshnessProbe::Reading r;
  r.caught_up = false;
  r.staleness_by_org = {{"acme", 4}, {"initech", 7}, {"umbrella", 9}};
  probe.Update(r, t0_);
  for (const char* view : {"mv_a", "mv_b"}) {
    std::string v = view;
    EXPECT_EQ(Sample("viya_mv_staleness_seconds{mv=\"" + v + "\",org=\"acme\"}"), 4);
    EXPECT_EQ(Sample("viya_mv_staleness_seconds{mv=\"" + v + "\",org=\"globex\"}"), 0);
    EXPECT_EQ(Sample("viya_mv_staleness_seconds{mv=\"" + v + "\",org=\"other\"}"), 9);
  }
  EXPECT_EQ(Sample("viya_mv_staleness_seconds{mv=\"mv_a\",org=\"initech\"}"), -1);
  // Caught up: every series stays, at 0.
  probe.Update(FreshnessProbe::Reading{}, t0_ + 1s);
  EXPECT_EQ(Sample("viya_mv_staleness_seconds{mv=\"mv_b\",org=\"other\"}"), 0);
  EXPECT_EQ(Sample("viya_mv_staleness_seconds{mv=\"mv_b\",org=\"acme\"}"), 0);
}

TEST_F(FreshnessProbeTest, AnAllowListNamesTheOnlyLabelledOrgs) {
  FreshnessProbe probe = Make({"globex"}, 100);
  FreshnessProbe::Reading r;
  r.caught_up = false;
  r.staleness_by_org = {{"acme", 4}, {"globex", 2}};
  r.dead_letters = 5;
  probe.Update(r, t0_);
  EXPECT_EQ(Sample("viya_mv_staleness_seconds{mv=\"mv_a\",org=\"globex\"}"), 2);
  EXPECT_EQ(Sample("viya_mv_staleness_seconds{mv=\"mv_a\",org=\"other\"}"), 4);
  EXPECT_EQ(Sample("viya_mv_staleness_seconds{mv=\"mv_a\",org=\"acme\"}"), -1);
  EXPECT_EQ(Sample("viya_mv_dead_letters"), 5);
}

}  // namespace
}  // namespace mv::app
