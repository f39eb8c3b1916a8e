#include "cache/lookup_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "cache/fake_lookup_reader.h"
#include "test_util.h"

namespace mv::cache {
namespace {

using namespace std::chrono_literals;
using mv::testing::FakeLookupReader;
using mv::testing::T;

class LookupCacheTest : public ::testing::Test {
 protected:
  LookupCacheTest() {
    source_.PutCustomer("org1", {"c1", "Acme"});
    source_.PutCarrier("org1", {"dhl", "DHL", {{"express", {{"days", 1}}}}});
  }

  // The name of customer `id` of `org` through the cache; "<absent>" or "<error>" otherwise.
  static std::string Name(LookupCache& cache, const std::string& org, const std::string& id) {
    auto r = cache.Customer(org, id);
    if (!r.ok()) return "<error>";
    return *r == nullptr ? "<absent>" : (*r)->name;
  }

  FakeLookupReader source_;
  ManualClock clock_{T("2024-05-01T10:00:00Z")};
};

TEST_F(LookupCacheTest, SecondReadIsAHit) {
  LookupCache cache(&source_, &clock_, {});
  EXPECT_EQ(Name(cache, "org1", "c1"), "Acme");
  EXPECT_EQ(Name(cache, "org1", "c1"), "Acme");
  EXPECT_EQ(source_.customer_reads(), 1);

  LookupCache::Stats s = cache.CustomerStats();
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.misses, 1u);
  EXPECT_EQ(s.entries, 1u);
}

TEST_F(LookupCacheTest, CarrierKeepsItsServiceLevels) {
  LookupCache cache(&source_, &clock_, {});
  MV_ASSERT_OK_AND_ASSIGN(auto first, cache.Carrier("org1", "dhl"));
  MV_ASSERT_OK_AND_ASSIGN(auto second, cache.Carrier("org1", "dhl"));
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->name, "DHL");
  EXPECT_EQ(first->services["express"]["days"], 1);
  EXPECT_EQ(second, first);
  EXPECT_EQ(source_.carrier_reads(), 1);
  EXPECT_EQ(cache.CarrierStats().hits, 1u);
  EXPECT_EQ(cache.CustomerStats().misses, 0u);
}

TEST_F(LookupCacheTest, EntryExpiresAfterTheTtlNotBefore) {
  LookupCache cache(&source_, &clock_, {.ttl = 10min});
  EXPECT_EQ(Name(cache, "org1", "c1"), "Acme");
  source_.PutCustomer("org1", {"c1", "Acme Ltd"});

  clock_.Advance(10min - 1ms);
  EXPECT_EQ(Name(cache, "org1", "c1"), "Acme");
  EXPECT_EQ(source_.customer_reads(), 1);

  clock_.Advance(1ms);
  EXPECT_EQ(Name(cache, "org1", "c1"), "Acme Ltd");
  EXPECT_EQ(source_.customer_reads(), 2);
  EXPECT_EQ(cache.CustomerStats().expirations, 1u);
  EXPECT_EQ(cache.CustomerStats().misses, 2u);
}

TEST_F(LookupCacheTest, DefaultTtlIsFifteenMinutes) {
  LookupCache cache(&source_, &clock_, {});
  EXPECT_EQ(Name(cache, "org1", "c1"), "Acme");
  clock_.Advance(15min - 1ms);
  EXPECT_EQ(Name(cache, "org1", "c1"), "Acme");
  EXPECT_EQ(source_.customer_reads(), 1);
  clock_.Advance(1ms);
  EXPECT_EQ(Name(cache, "org1", "c1"), "Acme");
  EXPECT_EQ(source_.customer_reads(), 2);
}

TEST_F(LookupCacheTest, InvalidationDropsTheEntryAtOnce) {
  LookupCache cache(&source_, &clock_, {});
  EXPECT_EQ(Name(cache, "org1", "c1"), "Acme");
  source_.PutCustomer("org1", {"c1", "Acme Ltd"});
  EXPECT_EQ(Name(cache, "org1", "c1"), "Acme");  // cached until told

  cache.InvalidateCustomer("org1", "c1");
  EXPECT_EQ(cache.CustomerStats().entries, 0u);
  EXPECT_EQ(Name(cache, "org1", "c1"), "Acme Ltd");
  EXPECT_EQ(source_.customer_reads(), 2);
  EXPECT_EQ(cache.CustomerStats().invalidations, 1u);
}

TEST_F(LookupCacheTest, InvalidationOfAnAbsentEntryCountsNothing) {
  LookupCache cache(&source_, &clock_, {});
  cache.InvalidateCustomer("org1", "c1");
  EXPECT_EQ(cache.CustomerStats().invalidations, 0u);
}

TEST_F(LookupCacheTest, CollectionsAndOrgsAreSeparateKeys) {
  source_.PutCarrier("org1", {"c1", "Carrier c1", {}});
  source_.PutCustomer("org2", {"c1", "Other org's c1"});
  source_.PutCustomer("a", {"bc", "a/bc"});
  source_.PutCustomer("ab", {"c", "ab/c"});
  LookupCache cache(&source_, &clock_, {});

  EXPECT_EQ(Name(cache, "org1", "c1"), "Acme");
  EXPECT_EQ(Name(cache, "org2", "c1"), "Other org's c1");
  EXPECT_EQ(Name(cache, "a", "bc"), "a/bc");
  EXPECT_EQ(Name(cache, "ab", "c"), "ab/c");
  MV_ASSERT_OK_AND_ASSIGN(auto carrier, cache.Carrier("org1", "c1"));
  ASSERT_NE(carrier, nullptr);
  EXPECT_EQ(carrier->name, "Carrier c1");

  // Invalidating the customer leaves the carrier and the other org's customer cached.
  cache.InvalidateCustomer("org1", "c1");
  EXPECT_EQ(Name(cache, "org2", "c1"), "Other org's c1");
  MV_ASSERT_OK(cache.Carrier("org1", "c1"));
  EXPECT_EQ(source_.customer_reads(), 4);
  EXPECT_EQ(source_.carrier_reads(), 1);
}

TEST_F(LookupCacheTest, AbsenceIsCachedUntilInvalidated) {
  LookupCache cache(&source_, &clock_, {});
  EXPECT_EQ(Name(cache, "org1", "c2"), "<absent>");
  EXPECT_EQ(Name(cache, "org1", "c2"), "<absent>");
  EXPECT_EQ(source_.customer_reads(), 1);
  EXPECT_EQ(cache.CustomerStats().hits, 1u);
  EXPECT_EQ(cache.CustomerStats().entries, 1u);

  source_.PutCustomer("org1", {"c2", "Newco"});
  cache.InvalidateCustomer("org1", "c2");
  EXPECT_EQ(Name(cache, "org1", "c2"), "Newco");
}

TEST_F(LookupCacheTest, AbsenceExpiresLikeAnyEntry) {
  LookupCache cache(&source_, &clock_, {.ttl = 1min});
  EXPECT_EQ(Name(cache, "org1", "c2"), "<absent>");
  source_.PutCustomer("org1", {"c2", "Newco"});
  EXPECT_EQ(Name(cache, "org1", "c2"), "<absent>");
  clock_.Advance(1min);
  EXPECT_EQ(Name(cache, "org1", "c2"), "Newco");
}

TEST_F(LookupCacheTest, EmptyIdIsLookedUpLikeAnyOther) {
  LookupCache cache(&source_, &clock_, {});
  EXPECT_EQ(Name(cache, "org1", ""), "<absent>");
  EXPECT_EQ(Name(cache, "", ""), "<absent>");
  EXPECT_EQ(Name(cache, "org1", ""), "<absent>");
  EXPECT_EQ(source_.customer_reads(), 2);
}

TEST_F(LookupCacheTest, SourceErrorIsReturnedAndNotCached) {
  LookupCache cache(&source_, &clock_, {});
  source_.SetFailure(Status::IOError("disk on fire"));
  EXPECT_EQ(cache.Customer("org1", "c1").status().code(), StatusCode::kIOError);
  EXPECT_EQ(cache.Carrier("org1", "dhl").status().code(), StatusCode::kIOError);
  EXPECT_EQ(cache.Customer("org1", "c1").status().code(), StatusCode::kIOError);
  EXPECT_EQ(source_.customer_reads(), 2);
  EXPECT_EQ(cache.CustomerStats().entries, 0u);
  EXPECT_EQ(cache.CustomerStats().misses, 2u);

  source_.SetFailure(Status::Ok());
  EXPECT_EQ(Name(cache, "org1", "c1"), "Acme");
  EXPECT_EQ(Name(cache, "org1", "c1"), "Acme");
  EXPECT_EQ(source_.customer_reads(), 3);
}

TEST_F(LookupCacheTest, FullShardEvictsTheLeastRecentlyUsed) {
  for (const char* id : {"a", "b", "c"}) source_.PutCustomer("org1", {id, id});
  LookupCache cache(&source_, &clock_, {.max_entries = 2, .shards = 1});
  EXPECT_EQ(Name(cache, "org1", "a"), "a");
  EXPECT_EQ(Name(cache, "org1", "b"), "b");
  EXPECT_EQ(Name(cache, "org1", "a"), "a");  // a is now the most recently used
  EXPECT_EQ(Name(cache, "org1", "c"), "c");  // evicts b
  EXPECT_EQ(cache.CustomerStats().evictions, 1u);
  EXPECT_EQ(cache.CustomerStats().entries, 2u);
  EXPECT_EQ(source_.customer_reads(), 3);

  EXPECT_EQ(Name(cache, "org1", "a"), "a");
  EXPECT_EQ(Name(cache, "org1", "c"), "c");
  EXPECT_EQ(source_.customer_reads(), 3);
  EXPECT_EQ(Name(cache, "org1", "b"), "b");  // evicts a
  EXPECT_EQ(source_.customer_reads(), 4);
  EXPECT_EQ(cache.CustomerStats().evictions, 2u);
}

TEST_F(LookupCacheTest, AnExpiredColdEntryMakingRoomCountsAsExpired) {
  for (const char* id : {"a", "b"}) source_.PutCustomer("org1", {id, id});
  LookupCache cache(&source_, &clock_, {.ttl = 1min, .max_entries = 1, .shards = 1});
  EXPECT_EQ(Name(cache, "org1", "a"), "a");
  clock_.Advance(1min);
  EXPECT_EQ(Name(cache, "org1", "b"), "b");
  EXPECT_EQ(cache.CustomerStats().evictions, 0u);
  EXPECT_EQ(cache.CustomerStats().expirations, 1u);
}

TEST_F(LookupCacheTest, BoundIsTotalPerCollectionAcrossShards) {
  LookupCache cache(&source_, &clock_, {.max_entries = 10});
  for (int i = 0; i < 100; ++i) {
    source_.PutCustomer("org1", {"c" + std::to_string(i), "n"});
    MV_ASSERT_OK(cache.Customer("org1", "c" + std::to_string(i)));
    ASSERT_LE(cache.CustomerStats().entries, 10u);
  }
  LookupCache::Stats s = cache.CustomerStats();
  EXPECT_GT(s.entries, 0u);
  EXPECT_EQ(s.evictions, 100 - s.entries);
  EXPECT_EQ(s.misses, 100u);
}

TEST_F(LookupCacheTest, ZeroEntriesCachesNothing) {
  LookupCache cache(&source_, &clock_, {.max_entries = 0});
  EXPECT_EQ(Name(cache, "org1", "c1"), "Acme");
  EXPECT_EQ(Name(cache, "org1", "c1"), "Acme");
  EXPECT_EQ(source_.customer_reads(), 2);
  EXPECT_EQ(cache.CustomerStats().entries, 0u);
  EXPECT_EQ(cache.CustomerStats().evictions, 0u);
}

// A read-through that read the old document before an invalidation must not install it
// after the invalidation: the next read sees the new document.
TEST_F(LookupCacheTest, ReadInFlightDuringInvalidationDoesNotInstallItsStaleValue) {
  LookupCache cache(&source_, &clock_, {});
  source_.HoldNextCustomerRead();
  std::string in_flight;
  std::thread reader([&] { in_flight = Name(cache, "org1", "c1"); });
  source_.WaitUntilHeld();  // the reader has read "Acme" and not returned yet

  source_.PutCustomer("org1", {"c1", "Acme Ltd"});
  cache.InvalidateCustomer("org1", "c1");
  source_.Release();
  reader.join();

  EXPECT_EQ(in_flight, "Acme");  // a read that started before the change may see it
  EXPECT_EQ(Name(cache, "org1", "c1"), "Acme Ltd");
  EXPECT_EQ(Name(cache, "org1", "c1"), "Acme Ltd");
  EXPECT_EQ(source_.customer_reads(), 2);
}

// Readers race an invalidator that renames customers; run under ASan/UBSan in the
// sanitizer build. Afterwards every read sees the last name.
TEST_F(LookupCacheTest, ConcurrentReadsAndInvalidations) {
  constexpr int kCustomers = 20;
  constexpr int kReaders = 6;
  constexpr int kReadsPerReader = 4000;
  constexpr int kRenames = 300;
  auto id = [](int i) { return "c" + std::to_string(i); };
  auto name = [](int i, int version) {
    return "c" + std::to_string(i) + "-v" + std::to_string(version);
  };
  for (int i = 0; i < kCustomers; ++i) source_.PutCustomer("org1", {id(i), name(i, 0)});
  // Fewer entries than keys, so evictions race too.
  LookupCache cache(&source_, &clock_, {.max_entries = 12});

  std::atomic<int> errors{0};
  std::atomic<int> wrong_names{0};
  std::vector<std::thread> threads;
  for (int r = 0; r < kReaders; ++r) {
    threads.emplace_back([&, r] {
      for (int n = 0; n < kReadsPerReader; ++n) {
        int i = (n * 7 + r) % kCustomers;
        auto c = cache.Customer("org1", id(i));
        if (!c.ok() || *c == nullptr) {
          ++errors;
          continue;
        }
        if ((*c)->id != id(i) || (*c)->name.rfind(id(i) + "-v", 0) != 0) ++wrong_names;
        MV_EXPECT_OK(cache.Carrier("org1", "dhl"));
      }
    });
  }
  threads.emplace_back([&] {
    for (int v = 1; v <= kRenames; ++v) {
      int i = v % kCustomers;
      source_.PutCustomer("org1", {id(i), name(i, v)});
      cache.InvalidateCustomer("org1", id(i));
      if (v % 50 == 0) clock_.Advance(15min);  // some expirations as well
    }
  });
  for (auto& t : threads) t.join();

  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(wrong_names.load(), 0);
  LookupCache::Stats s = cache.CustomerStats();
  EXPECT_EQ(s.hits + s.misses, static_cast<uint64_t>(kReaders * kReadsPerReader));
  EXPECT_LE(s.entries, 12u);
  for (int i = 0; i < kCustomers; ++i) {
    int last = kRenames - (kRenames - i) % kCustomers;  // the last rename of customer i
    EXPECT_EQ(Name(cache, "org1", id(i)), name(i, last)) << id(i);
  }
}

}  // namespace
}  // namespace mv::cache
