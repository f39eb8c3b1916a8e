#include "net/message.h"

#include <gtest/gtest.h>

namespace mv::net {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;
using Segments = std::vector<std::string>;

TEST(Headers, NamesCompareCaseInsensitivelyAndSetReplacesEveryField) {
  Headers h;
  h.Add("Content-Type", "text/plain");
  h.Add("X-A", "1");
  h.Add("x-a", "2");
  EXPECT_EQ(h.Get("content-type"), "text/plain");
  EXPECT_EQ(h.Get("X-A"), "1") << "the first field wins";
  EXPECT_TRUE(h.Has("CONTENT-TYPE"));
  EXPECT_FALSE(h.Has("Content-Length"));
  EXPECT_EQ(h.Get("Content-Length"), "");
  h.Set("X-a", "3");
  EXPECT_EQ(h.size(), 2u);
  EXPECT_EQ(h.Get("x-A"), "3");
  h.Remove("CONTENT-type");
  EXPECT_EQ(h.size(), 1u);
}

TEST(ParseTarget, SplitsThePathAndDecodesEachSegmentAlone) {
  Segments path;
  Pairs query;
  ASSERT_TRUE(ParseTarget("/v1/shipments/S%2D1", &path, &query).ok());
  EXPECT_EQ(path, (Segments{"v1", "shipments", "S-1"}));
  EXPECT_TRUE(query.empty());
  ASSERT_TRUE(ParseTarget("/a%2Fb/c/", &path, &query).ok());
  EXPECT_EQ(path, (Segments{"a/b", "c", ""})) << "%2F stays inside its segment";
  ASSERT_TRUE(ParseTarget("/", &path, &query).ok());
  EXPECT_EQ(path, (Segments{""}));
}

TEST(ParseTarget, DecodesTheQueryInOrderWithPlusAsSpace) {
  Segments path;
  Pairs query;
  ASSERT_TRUE(ParseTarget("/x?b=2&a=hello+world%21&&flag&e=&b=3", &path, &query).ok());
  EXPECT_EQ(path, (Segments{"x"}));
  EXPECT_EQ(query, (Pairs{{"b", "2"}, {"a", "hello world!"}, {"flag", ""}, {"e", ""}, {"b", "3"}}));
}

TEST(ParseTarget, KeepsAPercentThatStartsNoEscape) {
  Segments path;
  Pairs query;
  ASSERT_TRUE(ParseTarget("/x?c=%%%&d=%4&e=%zz&f=%41", &path, &query).ok());
  EXPECT_EQ(query, (Pairs{{"c", "%%%"}, {"d", "%4"}, {"e", "%zz"}, {"f", "A"}}));
}

TEST(ParseTarget, RejectsTargetsThatAreNotPaths) {
  Segments path;
  Pairs query;
  for (const char* target : {"", "*", "http://example.com/x", "v1/shipments"}) {
    EXPECT_EQ(ParseTarget(target, &path, &query).code(), StatusCode::kInvalidArgument) << target;
  }
}

}  // namespace
}  // namespace mv::net
