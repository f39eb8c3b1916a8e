#include "base/work_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

namespace {

using mv::WorkQueue;

TEST(WorkQueue, RunsEverySubmittedTaskAndTheDestructorDrains) {
  std::atomic<int> ran{0};
  {
    WorkQueue q(3, 1000);
    for (int i = 0; i < 500; ++i) ASSERT_TRUE(q.Submit([&] { ++ran; }));
  }
  EXPECT_EQ(ran.load(), 500);
}

TEST(WorkQueue, RefusesWhenTheQueueIsFull) {
  WorkQueue q(1, 2);
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  std::promise<void> started;
  ASSERT_TRUE(q.Submit([&, gate] {
    started.set_value();
    gate.wait();
  }));
  started.get_future().wait();  // the one thread is busy; the queue is empty
  EXPECT_TRUE(q.Submit([] {}));
  EXPECT_TRUE(q.Submit([] {}));
  EXPECT_FALSE(q.Submit([] {})) << "a third queued task exceeds max_queued = 2";
  release.set_value();
}

TEST(WorkQueue, TasksRunOnTheQueuesThreads) {
  WorkQueue q(2, 10);
  std::promise<std::thread::id> where;
  ASSERT_TRUE(q.Submit([&] { where.set_value(std::this_thread::get_id()); }));
  EXPECT_NE(where.get_future().get(), std::this_thread::get_id());
}

}  // namespace
