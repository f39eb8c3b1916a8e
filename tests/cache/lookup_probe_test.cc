#include "cache/lookup_probe.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "base/clock.h"
#include "cache/fake_lookup_reader.h"
#include "cache/lookup_cache.h"
#include "metrics/metrics.h"
#include "test_util.h"

namespace mv::cache {
namespace {

using namespace std::chrono_literals;
using mv::testing::FakeLookupReader;
using mv::testing::T;
using ::testing::HasSubstr;
using ::testing::Not;

class LookupProbeTest : public ::testing::Test {
 protected:
  LookupProbeTest() : probe_(metrics_.registry(), &cache_) {
    source_.PutCustomer("org1", {"c1", "Acme"});
    source_.PutCarrier("org1", {"dhl", "DHL", {}});
    metrics_.OnCollect([this] { probe_.Refresh(); });
  }

  FakeLookupReader source_;
  ManualClock clock_{T("2024-05-01T10:00:00Z")};
  cache::LookupCache cache_{&source_, &clock_, {.ttl = 1min, .max_entries = 1, .shards = 1}};
  metrics::Metrics metrics_;
  LookupProbe probe_;
};

TEST_F(LookupProbeTest, EverySeriesStartsAtZero) {
  std::string text = metrics_.Serialize();
  for (const char* cache : {"customers", "carriers"}) {
    for (const char* name :
         {"viya_mv_lookup_cache_hits_total", "viya_mv_lookup_cache_misses_total",
          "viya_mv_lookup_cache_evictions_total", "viya_mv_lookup_cache_expirations_total",
          "viya_mv_lookup_cache_invalidations_total", "viya_mv_lookup_cache_entries"}) {
      EXPECT_THAT(text, HasSubstr(std::string(name) + "{cache=\"" + cache + "\"} 0\n"));
    }
  }
}

TEST_F(LookupProbeTest, SeriesFollowTheCacheStats) {
  for (int i = 0; i < 3; ++i) MV_ASSERT_OK(cache_.Customer("org1", "c1"));  // 1 miss, 2 hits
  MV_ASSERT_OK(cache_.Customer("org1", "c2"));                              // miss, evicts c1
  cache_.InvalidateCustomer("org1", "c2");
  MV_ASSERT_OK(cache_.Carrier("org1", "dhl"));
  clock_.Advance(1min);
  MV_ASSERT_OK(cache_.Carrier("org1", "dhl"));  // expired: a miss again

  std::string text = metrics_.Serialize();
  EXPECT_THAT(text, HasSubstr("viya_mv_lookup_cache_hits_total{cache=\"customers\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("viya_mv_lookup_cache_misses_total{cache=\"customers\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("viya_mv_lookup_cache_evictions_total{cache=\"customers\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("viya_mv_lookup_cache_invalidations_total{cache=\"customers\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("viya_mv_lookup_cache_entries{cache=\"customers\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("viya_mv_lookup_cache_hits_total{cache=\"carriers\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("viya_mv_lookup_cache_misses_total{cache=\"carriers\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("viya_mv_lookup_cache_expirations_total{cache=\"carriers\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("viya_mv_lookup_cache_entries{cache=\"carriers\"} 1\n"));
}

// Counters advance by the growth since the last refresh, never by the running total again.
TEST_F(LookupProbeTest, RepeatedRefreshesDoNotDoubleCount) {
  MV_ASSERT_OK(cache_.Customer("org1", "c1"));
  MV_ASSERT_OK(cache_.Customer("org1", "c1"));
  metrics_.Serialize();
  metrics_.Serialize();
  MV_ASSERT_OK(cache_.Customer("org1", "c1"));
  std::string text = metrics_.Serialize();
  EXPECT_THAT(text, HasSubstr("viya_mv_lookup_cache_hits_total{cache=\"customers\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("viya_mv_lookup_cache_misses_total{cache=\"customers\"} 1\n"));
  EXPECT_THAT(text, Not(HasSubstr("viya_mv_lookup_cache_hits_total{cache=\"customers\"} 3\n")));
}

}  // namespace
}  // namespace mv::cache
