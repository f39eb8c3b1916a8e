#include "http/router.h"

#include <gtest/gtest.h>

#include "http/conditional.h"

namespace mv::http {
namespace {

using Kind = Router::Match::Kind;
using Segments = std::vector<std::string>;

TEST(Router, MatchesLiteralsAndPlaceholders) {
  Router r;
  size_t list = r.Add("GET", "/v1/shipments");
  size_t one = r.Add("GET", "/v1/shipments/{id}");
  size_t del = r.Add("DELETE", "/v1/shipments/{id}");
  auto m = r.Find("GET", Segments{"v1", "shipments"});
  EXPECT_EQ(m.kind, Kind::kFound);
  EXPECT_EQ(m.route, list);
  m = r.Find("GET", Segments{"v1", "shipments", "S-1"});
  EXPECT_EQ(m.kind, Kind::kFound);
  EXPECT_EQ(m.route, one);
  EXPECT_EQ(m.params, Segments{"S-1"});
  m = r.Find("DELETE", Segments{"v1", "shipments", "S-1"});
  EXPECT_EQ(m.route, del);
  EXPECT_EQ(r.pattern(one), "/v1/shipments/{id}");
}

TEST(Router, TellsAnUnknownPathFromAWrongMethod) {
  Router r;
  r.Add("GET", "/v1/shipments/{id}");
  r.Add("DELETE", "/v1/shipments/{id}");
  EXPECT_EQ(r.Find("GET", Segments{"v1", "shipments", ""}).kind, Kind::kNoPath)
      << "a placeholder takes a non-empty segment";
  EXPECT_EQ(r.Find("GET", Segments{"v1", "shipments", "S-1", "x"}).kind, Kind::kNoPath);
  EXPECT_EQ(r.Find("GET", Segments{"v2", "shipments", "S-1"}).kind, Kind::kNoPath);
  auto m = r.Find("POST", Segments{"v1", "shipments", "S-1"});
  EXPECT_EQ(m.kind, Kind::kWrongMethod);
  EXPECT_EQ(m.allowed, "GET, DELETE");
}

TEST(Conditional, EntityTagsFollowTheBody) {
  std::string a = EntityTag("{\"open\":1}");
  EXPECT_EQ(a, EntityTag("{\"open\":1}"));
  EXPECT_NE(a, EntityTag("{\"open\":2}"));
  EXPECT_EQ(a.front(), '"');
  EXPECT_EQ(a.back(), '"');
}

TEST(Conditional, IfNoneMatchComparesWeaklyOverAList) {
  std::string tag = "\"abc\"";
  EXPECT_TRUE(NoneMatchHits("\"abc\"", tag));
  EXPECT_TRUE(NoneMatchHits("W/\"abc\"", tag));
  EXPECT_TRUE(NoneMatchHits("\"x\", W/\"abc\" ,\"y\"", tag));
  EXPECT_TRUE(NoneMatchHits("*", tag));
  EXPECT_TRUE(NoneMatchHits("\"abc\"", "W/\"abc\""));
  EXPECT_FALSE(NoneMatchHits("\"abd\"", tag));
  EXPECT_FALSE(NoneMatchHits("", tag));
  EXPECT_FALSE(NoneMatchHits("abc", tag)) << "tags are quoted";
}

}  // namespace
}  // namespace mv::http
