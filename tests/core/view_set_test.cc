#include "core/view_set.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

namespace core = mv::core;

TEST(ViewSetDefault, AggregatesInOrder) {
  core::ViewSet views = core::ViewSet::Default();
  std::vector<std::string> names;
  for (const auto& v : views.aggregates()) names.push_back(v->spec().name);
  EXPECT_EQ(names, (std::vector<std::string>{"mv_realtime_ops", "mv_daily_metrics",
                                             "mv_carrier_performance", "mv_customer_summary"}));
  for (const std::string& name : names) {
    EXPECT_EQ(views.VersionOf(name), name == "mv_carrier_performance" ? 3 : 2) << name;
    const core::AggregateView* v = views.FindAggregate(name);
    ASSERT_NE(v, nullptr) << name;
    EXPECT_EQ(v->spec().key_columns.at(0), "org") << name;
  }
}

}  // namespace
