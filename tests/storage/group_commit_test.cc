// Group commit: concurrent writes share transactions, each still all or nothing.
#include "storage/sqlite/group_commit.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "test_util.h"

namespace mv::storage::sqlite {
namespace {

using mv::testing::TempDir;

std::int64_t Count(Database& db, const std::string& sql) {
  auto st = db.Prepare(sql);
  if (!st.ok() || !(*st)->Step().ok()) return -1;
  std::int64_t n = (*st)->ColumnInt(0);
  (*st)->Reset();
  return n;
}

TEST(GroupCommit, ConcurrentWritesCommitTogetherAndAFailingOneIsUndoneAlone) {
  TempDir dir;
  auto db = Database::Open(dir.File("g.db"), {});
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)->Exec("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)").ok());
  GroupCommit writes(db->get());
  constexpr int kThreads = 8, kEach = 200;
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        int k = t * kEach + i;
        Status s = writes.Run([&]() -> Status {
          auto st = (*db)->Prepare("INSERT INTO t (k, v) VALUES (?1, 'x')");
          if (!st.ok()) return st.status();
          (*st)->Bind(1, k);
          Status run = (*st)->Run();
          if (!run.ok()) return run;
          // Every 10th write fails after writing: its row must not survive.
          if (k % 10 == 0) return Status::InvalidArgument("refused");
          return Status::Ok();
        });
        if (!s.ok()) ++failed;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), kThreads * kEach / 10);
  auto reader = Database::Open(dir.File("g.db"), {});
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(Count(**reader, "SELECT count(*) FROM t"), kThreads * kEach * 9 / 10);
  EXPECT_EQ(Count(**reader, "SELECT count(*) FROM t WHERE k % 10 = 0"), 0);
  EXPECT_EQ(writes.writes(), kThreads * kEach);
  EXPECT_LT(writes.transactions(), writes.writes()) << "concurrent writes shared no commit";
}

TEST(GroupCommit, AFailedCommitFailsEveryWriteOfItsGroup) {
  TempDir dir;
  auto db = Database::Open(dir.File("g.db"), {});
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)->Exec("CREATE TABLE t (k INTEGER PRIMARY KEY) ").ok());
  // A deferred foreign key fails at commit, not at the write.
  ASSERT_TRUE((*db)
                  ->Exec("CREATE TABLE c (p INTEGER REFERENCES t (k) DEFERRABLE INITIALLY "
                         "DEFERRED)")
                  .ok());
  GroupCommit writes(db->get());
  Status s = writes.Run([&]() { return (*db)->Exec("INSERT INTO c (p) VALUES (42)"); });
  EXPECT_FALSE(s.ok()) << "the commit's error reaches the writer";
  EXPECT_EQ(Count(**db, "SELECT count(*) FROM c"), 0);
  EXPECT_TRUE(writes.Run([&]() { return (*db)->Exec("INSERT INTO t (k) VALUES (1)"); }).ok())
      << "the connection is usable after a failed commit";
}

}  // namespace
}  // namespace mv::storage::sqlite
