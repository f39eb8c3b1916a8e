// Database: the WAL's size and its truncation (what keeps views.db's WAL bounded).
#include "storage/sqlite/sqlite_db.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace mv::storage::sqlite {
namespace {

using mv::testing::TempDir;

TEST(SqliteDb, TruncateWalEmptiesTheWalAndKeepsEveryCommittedRow) {
  TempDir dir;
  Database::Options options;
  options.wal_autocheckpoint_pages = 0;  // nothing checkpoints on its own
  auto db = Database::Open(dir.File("w.db"), options);
  ASSERT_TRUE(db.ok());
  EXPECT_EQ((*db)->WalBytes(), 0) << "a new database has no WAL content";
  ASSERT_TRUE((*db)->Exec("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)").ok());
  for (int i = 0; i < 200; ++i) {
    auto st = (*db)->Prepare("INSERT INTO t (k, v) VALUES (?1, hex(randomblob(500)))");
    ASSERT_TRUE(st.ok());
    (*st)->Bind(1, i);
    ASSERT_TRUE((*st)->Run().ok());
  }
  std::int64_t before = (*db)->WalBytes();
  EXPECT_GT(before, 100 * 1000) << "200 rows of 1 KB went to the WAL";
  auto truncated = (*db)->TruncateWal();
  ASSERT_TRUE(truncated.ok()) << truncated.status().ToString();
  EXPECT_EQ(*truncated, before) << "it reports the size it found";
  EXPECT_EQ((*db)->WalBytes(), 0);

  auto reader = Database::Open(dir.File("w.db"), {});
  ASSERT_TRUE(reader.ok());
  auto count = (*reader)->Prepare("SELECT count(*) FROM t");
  ASSERT_TRUE(count.ok());
  ASSERT_TRUE((*count)->Step().ok());
  EXPECT_EQ((*count)->ColumnInt(0), 200);
}

}  // namespace
}  // namespace mv::storage::sqlite
