#include "core/cluster_time.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace mv::core {
namespace {

TEST(ParseTokenText, ANumberOrAClusterTime) {
  MV_ASSERT_OK_AND_ASSIGN(ChangeToken n, ParseTokenText("42"));
  EXPECT_EQ(n, 42);
  MV_ASSERT_OK_AND_ASSIGN(ChangeToken zero, ParseTokenText("0"));
  EXPECT_EQ(zero, 0);
  // What a MongoDB driver session reports as operationTime after a write.
  MV_ASSERT_OK_AND_ASSIGN(ChangeToken t, ParseTokenText("1764842400.7"));
  EXPECT_EQ(t, PackClusterTime({1764842400, 7}));
  EXPECT_EQ(UnpackClusterTime(t), (ClusterTime{1764842400, 7}));
  EXPECT_LT(PackClusterTime({1764842400, 7}), PackClusterTime({1764842400, 8}));
  EXPECT_LT(PackClusterTime({1764842400, 0x7fffffff}), PackClusterTime({1764842401, 0}));
  for (const char* bad :
       {"", "-1", "abc", "1.", ".5", "1.2.3", "1e3", "9223372036854775808", "4294967296.0", " 1"}) {
    auto r = ParseTokenText(bad);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << "'" << bad << "'";
  }
}

}  // namespace
}  // namespace mv::core
