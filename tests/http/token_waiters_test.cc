#include "http/token_waiters.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>

namespace mv::http {
namespace {

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

TEST(TokenWaiters, CompletesAtOnceWhenTheMarkIsThere) {
  Watermark mark(5);
  TokenWaiters waiters(&mark);
  bool got = false;
  waiters.Wait(5, Steady::now() + 1s, [&](bool reached) { got = reached; });
  EXPECT_TRUE(got);
  EXPECT_EQ(waiters.pending(), 0u);
}

TEST(TokenWaiters, CompletesEachWaitWhenTheMarkReachesItsToken) {
  Watermark mark(0);
  TokenWaiters waiters(&mark);
  std::promise<bool> three, seven;
  waiters.Wait(3, Steady::now() + 10s, [&](bool r) { three.set_value(r); });
  waiters.Wait(7, Steady::now() + 10s, [&](bool r) { seven.set_value(r); });
  EXPECT_EQ(waiters.pending(), 2u);
  mark.Advance(4);
  EXPECT_TRUE(three.get_future().get());
  auto later = seven.get_future();
  EXPECT_EQ(later.wait_for(50ms), std::future_status::timeout) << "7 is not reached yet";
  mark.Advance(7);
  EXPECT_TRUE(later.get());
  EXPECT_EQ(waiters.pending(), 0u);
}

TEST(TokenWaiters, AWaitEndsFalseAtItsDeadline) {
  Watermark mark(0);
  TokenWaiters waiters(&mark);
  std::promise<bool> done;
  auto started = Steady::now();
  waiters.Wait(1, started + 80ms, [&](bool r) { done.set_value(r); });
  EXPECT_FALSE(done.get_future().get());
  EXPECT_GE(Steady::now() - started, 80ms);
}

TEST(TokenWaiters, TheDestructorEndsPendingWaitsFalse) {
  Watermark mark(0);
  std::atomic<int> failed{0};
  {
    TokenWaiters waiters(&mark);
    for (int i = 0; i < 10; ++i) {
      waiters.Wait(100 + i, Steady::now() + 60s, [&](bool r) { failed += r ? 0 : 1; });
    }
  }
  EXPECT_EQ(failed.load(), 10);
}

}  // namespace
}  // namespace mv::http
