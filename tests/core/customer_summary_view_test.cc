#include "core/customer_summary_view.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "test_util.h"
#include "view_test_util.h"

namespace {

using mv::testing::ContributionsOf;
using mv::testing::DeltaOf;
using mv::testing::SumOf;
using mv::testing::Sums;
using mv::testing::T;
using mv::testing::ViewRow;
using Key = std::vector<std::string>;
using Measures = std::vector<std::int64_t>;
using View = mv::core::CustomerSummaryView;
namespace core = mv::core;

// 2026-11-01T10:00:00Z in epoch milliseconds: 20758 days * 86 400 000 + 10 h * 3 600 000.
constexpr std::int64_t kCreatedMs = 1'793'527'200'000;

TEST(CustomerSummaryView, Spec) {
  View view;
  const auto& spec = view.spec();
  EXPECT_EQ(spec.name, "mv_customer_summary");
  EXPECT_EQ(spec.version, 2);
  EXPECT_EQ(spec.key_columns, (Key{"org", "customer_id"}));
  EXPECT_EQ(spec.measure_columns,
            (Key{"shipments", "open", "delivered", "exceptions", "declared_value_micro"}));
  ASSERT_EQ(spec.max_measures.size(), 1u);
  EXPECT_EQ(spec.max_measures[0].column, "last_shipment_at");
  EXPECT_EQ(spec.max_measures[0].list_column, "created_at");
  EXPECT_EQ(spec.indexes, (std::vector<Key>{{"org", "shipments", "customer_id"},
                                            {"org", "open", "customer_id"},
                                            {"org", "declared_value_micro", "customer_id"},
                                            {"org", "last_shipment_at", "customer_id"}}));
}

TEST(CustomerSummaryView, OpenShipment) {
  View view;
  auto out = ContributionsOf(view, ViewRow());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].key, (Key{"acme", "C-9"}));
  EXPECT_EQ(out[0].measures, (Measures{1, 1, 0, 0, 120'000'000}));
  EXPECT_EQ(out[0].maxima, (Measures{kCreatedMs}));
}

TEST(CustomerSummaryView, CountsByStatus) {
  View view;
  auto row = ViewRow();
  struct Case {
    core::ShipmentStatus status;
    Measures measures;
  };
  const Case cases[] = {
      {core::ShipmentStatus::kBooked, {1, 1, 0, 0, 120'000'000}},
      {core::ShipmentStatus::kOutForDelivery, {1, 1, 0, 0, 120'000'000}},
      {core::ShipmentStatus::kDelivered, {1, 0, 1, 0, 120'000'000}},
      {core::ShipmentStatus::kException, {1, 1, 0, 1, 120'000'000}},  // still open
      {core::ShipmentStatus::kReturned, {1, 0, 0, 0, 120'000'000}},
      {core::ShipmentStatus::kCancelled, {1, 0, 0, 0, 120'000'000}},
  };
  for (const Case& c : cases) {
    row.shipment.status = c.status;
    EXPECT_EQ(ContributionsOf(view, row)[0].measures, c.measures) << core::ToString(c.status);
  }
}

TEST(CustomerSummaryView, EmptyCustomerStillContributes) {
  View view;
  auto row = ViewRow();
  row.shipment.customer_id = "";
  row.shipment.declared_value.reset();
  row.shipment.created_at = T("1970-01-01T00:00:01.5Z");
  auto out = ContributionsOf(view, row);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].key, (Key{"acme", ""}));
  EXPECT_EQ(out[0].measures, (Measures{1, 1, 0, 0, 0}));
  EXPECT_EQ(out[0].maxima, (Measures{1500}));
}

TEST(CustomerSummaryView, DeliveryMovesOpenToDelivered) {
  View view;
  auto before = ViewRow();
  auto after = before;
  after.shipment.status = core::ShipmentStatus::kDelivered;
  after.shipment.delivered_at = T("2026-11-03T12:00:00Z");
  EXPECT_EQ(DeltaOf(view, before, after), (Sums{{{"acme", "C-9"}, {0, -1, 1, 0, 0}}}));
}

TEST(CustomerSummaryView, CustomersAddUp) {
  View view;
  auto a = ViewRow("S-1");
  auto b = ViewRow("S-2");
  b.shipment.status = core::ShipmentStatus::kException;
  b.shipment.declared_value = 0.5;
  auto c = ViewRow("S-3");
  c.shipment.customer_id = "C-10";
  c.shipment.status = core::ShipmentStatus::kDelivered;
  EXPECT_EQ(SumOf(view, {a, b, c}), (Sums{
                                        {{"acme", "C-9"}, {2, 2, 0, 1, 120'500'000}},
                                        {{"acme", "C-10"}, {1, 0, 1, 0, 120'000'000}},
                                    }));
}

}  // namespace
