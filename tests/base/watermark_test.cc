#include "base/watermark.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include "base/clock.h"

namespace {

using namespace std::chrono_literals;
using mv::Watermark;
using SteadyClock = std::chrono::steady_clock;

TEST(Watermark, StartsAtTheInitialValue) {
  EXPECT_EQ(Watermark().Get(), 0);
  EXPECT_EQ(Watermark(17).Get(), 17);
}

TEST(Watermark, AdvanceNeverLowers) {
  Watermark w(5);
  w.Advance(9);
  EXPECT_EQ(w.Get(), 9);
  w.Advance(3);
  EXPECT_EQ(w.Get(), 9);
  w.Advance(9);
  EXPECT_EQ(w.Get(), 9);
}

TEST(Watermark, ResetMayLower) {
  Watermark w(9);
  w.Reset(2);
  EXPECT_EQ(w.Get(), 2);
  w.Advance(4);
  EXPECT_EQ(w.Get(), 4);
}

TEST(Watermark, WaitReturnsAtOnceWhenAlreadyThere) {
  Watermark w(10);
  auto start = SteadyClock::now();
  EXPECT_TRUE(w.WaitUntilAtLeast(10, 5s));
  EXPECT_TRUE(w.WaitUntilAtLeast(3, 5s));
  EXPECT_TRUE(w.WaitForAbove(9, 5s));
  EXPECT_LT(SteadyClock::now() - start, 1s);
}

TEST(Watermark, WaitTimesOut) {
  Watermark w(10);
  auto start = SteadyClock::now();
  EXPECT_FALSE(w.WaitUntilAtLeast(11, 50ms));
  EXPECT_FALSE(w.WaitForAbove(10, 50ms));
  EXPECT_GE(SteadyClock::now() - start, 100ms);
  EXPECT_EQ(w.Get(), 10);
}

TEST(Watermark, ZeroTimeoutIsAPoll) {
  Watermark w(1);
  EXPECT_FALSE(w.WaitUntilAtLeast(2, 0ms));
  EXPECT_TRUE(w.WaitUntilAtLeast(1, 0ms));
}

TEST(Watermark, AdvanceWakesAWaiterEarly) {
  Watermark w(0);
  auto start = SteadyClock::now();
  auto waiter = std::async(std::launch::async, [&] { return w.WaitForAbove(4, 10s); });
  std::this_thread::sleep_for(50ms);
  w.Advance(3);  // not enough: the waiter keeps waiting
  EXPECT_EQ(waiter.wait_for(50ms), std::future_status::timeout);
  w.Advance(5);
  ASSERT_EQ(waiter.wait_for(5s), std::future_status::ready);
  EXPECT_TRUE(waiter.get());
  EXPECT_LT(SteadyClock::now() - start, 5s);
}

TEST(Watermark, ResetWakesAWaiter) {
  Watermark w(0);
  auto waiter = std::async(std::launch::async, [&] { return w.WaitUntilAtLeast(100, 10s); });
  std::this_thread::sleep_for(20ms);
  w.Reset(100);
  ASSERT_EQ(waiter.wait_for(5s), std::future_status::ready);
  EXPECT_TRUE(waiter.get());
}

TEST(Watermark, ManyWaitersAllWake) {
  Watermark w(0);
  std::vector<std::future<bool>> waiters;
  for (int i = 1; i <= 4; ++i) {
    waiters.push_back(
        std::async(std::launch::async, [&w, i] { return w.WaitUntilAtLeast(i, 10s); }));
  }
  std::this_thread::sleep_for(20ms);
  w.Advance(4);
  for (auto& f : waiters) {
    ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
    EXPECT_TRUE(f.get());
  }
}

TEST(ManualClock, MovesOnlyWhenTold) {
  mv::ManualClock clock(mv::Timestamp(mv::Millis(1000)));
  EXPECT_EQ(clock.Now().time_since_epoch().count(), 1000);
  clock.Advance(250ms);
  EXPECT_EQ(clock.Now().time_since_epoch().count(), 1250);
  clock.Set(mv::Timestamp(mv::Millis(5)));
  EXPECT_EQ(clock.Now().time_since_epoch().count(), 5);
}

TEST(Watermark, ListenersHearEveryChangeUntilUnlistened) {
  Watermark w(0);
  int calls = 0;
  int id = w.Listen([&] { ++calls; });
  w.Advance(3);
  w.Advance(2);  // no change: not heard
  w.Reset(1);
  EXPECT_EQ(calls, 2);
  w.Unlisten(id);
  w.Advance(10);
  EXPECT_EQ(calls, 2);
}

}  // namespace
