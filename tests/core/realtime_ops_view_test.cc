#include "core/realtime_ops_view.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "test_util.h"
#include "view_test_util.h"

namespace {

using mv::testing::ContributionsOf;
using mv::testing::DeltaOf;
using mv::testing::Sums;
using mv::testing::ViewRow;
using View = mv::core::RealtimeOpsView;
namespace core = mv::core;

// Measures: shipments, booked, picked_up, in_transit, out_for_delivery, delivered,
// exception, returned, cancelled, open, at_risk, breached, exceptions.
using Measures = std::vector<std::int64_t>;

TEST(RealtimeOpsView, Spec) {
  View view;
  const auto& spec = view.spec();
  EXPECT_EQ(spec.name, "mv_realtime_ops");
  EXPECT_EQ(spec.version, 2);
  EXPECT_EQ(spec.key_columns, std::vector<std::string>{"org"});
  EXPECT_EQ(
      spec.measure_columns,
      (std::vector<std::string>{"shipments", "status_booked", "status_picked_up",
                                "status_in_transit", "status_out_for_delivery", "status_delivered",
                                "status_exception", "status_returned", "status_cancelled", "open",
                                "at_risk", "breached", "exceptions"}));
  EXPECT_TRUE(spec.max_measures.empty());
}

TEST(RealtimeOpsView, OpenAtRisk) {
  View view;
  auto row = ViewRow();
  row.sla.status = core::SlaStatus::kAtRisk;
  auto out = ContributionsOf(view, row);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].key, std::vector<std::string>{"acme"});
  EXPECT_EQ(out[0].measures, (Measures{1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1, 0, 0}));
  EXPECT_TRUE(out[0].maxima.empty());
}

TEST(RealtimeOpsView, ExceptionBreached) {
  View view;
  auto row = ViewRow();
  row.shipment.status = core::ShipmentStatus::kException;
  row.sla.status = core::SlaStatus::kBreached;
  EXPECT_EQ(ContributionsOf(view, row)[0].measures,
            (Measures{1, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 1, 1}));
}

TEST(RealtimeOpsView, DeliveryLeavesTheOpenCounts) {
  View view;
  auto before = ViewRow();
  before.sla.status = core::SlaStatus::kBreached;
  auto after = before;
  after.shipment.status = core::ShipmentStatus::kDelivered;
  after.sla.status = core::SlaStatus::kMissed;
  EXPECT_EQ(DeltaOf(view, before, after),
            (Sums{{{"acme"}, {0, 0, 0, -1, 0, 1, 0, 0, 0, -1, 0, -1, 0}}}));
}

}  // namespace
