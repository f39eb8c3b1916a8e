// Unit tests of the API row codecs and the per-request name look-ups (src/http/rows.h,
// src/http/names.h), over a fake lookup source.

#include "http/rows.h"

#include <gtest/gtest.h>

#include <random>

#include "base/time.h"
#include "cache/fake_lookup_reader.h"
#include "core/carrier_performance_view.h"
#include "core/shipment_row.h"
#include "test_util.h"

namespace mv::testing {
namespace {

using http::JsonWriter;
using http::Names;
using http::WriteShipmentItem;
using nlohmann::json;

// The item WriteShipmentItem writes for `row`, parsed back.
json ShipmentItem(const core::ShipmentRow& row, Names& names,
                  const api::ExceptionItem* exception = nullptr) {
  std::string text;
  JsonWriter w(&text);
  WriteShipmentItem(w, row, names, exception);
  json item = json::parse(text, nullptr, false);
  EXPECT_FALSE(item.is_discarded()) << "not JSON: " << text;
  return item;
}

// What a row writer writes, parsed back.
template <typename Write>
json Written(Write write) {
  std::string text;
  JsonWriter w(&text);
  write(w);
  json item = json::parse(text, nullptr, false);
  EXPECT_FALSE(item.is_discarded()) << "not JSON: " << text;
  return item;
}

json CarrierPerformanceRowJson(const api::AggregateRow& row, Names& names) {
  std::vector<std::int64_t> buckets;
  return Written([&](JsonWriter& w) { http::WriteCarrierPerformanceRow(w, row, names, buckets); });
}
json CustomerSummaryItem(const api::CustomerSummaryRow& row, Names& names) {
  return Written([&](JsonWriter& w) { http::WriteCustomerSummaryItem(w, row, names); });
}
json DailyMetricsRowJson(const std::vector<std::string>& fields, const api::DailyMetricsRow& row) {
  return Written([&](JsonWriter& w) { http::WriteDailyMetricsRow(w, fields, row); });
}

class RowsTest : public ::testing::Test {
 protected:
  RowsTest() {
    source_.PutCustomer("acme", {"C-1", "Acme Retail"});
    source_.PutCarrier("acme", {"dhl", "DHL", json{{"express", {{"transitDays", 1}}}}});
  }

  // A cache that keeps nothing: every look-up it is asked for reaches the source.
  cache::LookupCache NoCache() { return cache::LookupCache(&source_, &clock_, {Millis(0), 0, 1}); }

  core::ShipmentRow StoredRow(const std::string& id, const std::string& customer,
                              const std::string& carrier, const std::string& service) {
    core::Shipment s;
    s.id = id;
    s.customer_id = customer;
    s.carrier_id = carrier;
    s.service = service;
    s.created_at = T("2026-11-01T10:00:00Z");
    return core::Project("acme", s, T("2026-11-02T00:00:00Z"), {});
  }

  FakeLookupReader source_;
  ManualClock clock_{T("2026-11-02T00:00:00Z")};
};

TEST_F(RowsTest, ShipmentItemDropsInternalFieldsAndAddsNames) {
  cache::LookupCache cache = NoCache();
  Names names(&cache, "acme");
  core::ShipmentRow stored = StoredRow("S-1", "C-1", "dhl", "express");
  json item = ShipmentItem(stored, names);
  json want = core::RowToJson(stored);
  ASSERT_TRUE(want.contains("_document")) << "the row's own JSON has it";
  want.erase("_document");
  want["customerName"] = "Acme Retail";
  want["carrierName"] = "DHL";
  want["serviceLevel"] = {{"transitDays", 1}};
  EXPECT_EQ(item, want);

  json unknown = ShipmentItem(StoredRow("S-2", "C-2", "ups", "express"), names);
  EXPECT_TRUE(unknown["customerName"].is_null());
  EXPECT_TRUE(unknown["carrierName"].is_null());
  EXPECT_TRUE(unknown["serviceLevel"].is_null());
  json none = ShipmentItem(StoredRow("S-3", "", "", ""), names);
  EXPECT_TRUE(none["customerName"].is_null());
  EXPECT_FALSE(none.contains("_document"));

  api::ExceptionItem exception{"", 1, "breached"};
  json queued = ShipmentItem(stored, names, &exception);
  EXPECT_EQ(queued["reason"], "breached");
  EXPECT_EQ(queued["urgency"], 1);
}

// Every field combination the row codec round-trips is written exactly as RowToJson has
// it, strings with any bytes included (invalid UTF-8 becomes U+FFFD, never broken JSON).
TEST_F(RowsTest, WrittenItemsMatchTheRowsJsonForEveryFieldCombination) {
  Names names(nullptr, "acme");
  std::mt19937_64 rng(11);
  auto maybe = [&] { return rng() % 2 == 0; };
  for (int i = 0; i < 3000; ++i) {
    core::ShipmentRow row = StoredRow("S-" + std::to_string(i), maybe() ? "C-1" : "",
                                      maybe() ? "dhl" : "", maybe() ? "express" : "");
    core::Shipment& s = row.shipment;
    s.reference =
        maybe() ? "" : (maybe() ? "PO \"q\" \\ \n\t\x01 caf\xc3\xa9 \xf0\x9f\x98\x80" : "r");
    s.currency = maybe() ? "" : "EUR";
    s.status = static_cast<core::ShipmentStatus>(rng() % core::kShipmentStatusCount);
    for (auto* t : {&s.status_changed_at, &s.promised_delivery_at, &s.picked_up_at,
                    &s.out_for_delivery_at, &s.delivered_at, &row.sla.next_change_at}) {
      if (maybe()) *t = FromMillis(static_cast<std::int64_t>(rng() % 4'000'000'000'000ULL));
    }
    if (maybe()) s.weight_kg = static_cast<double>(rng() % 100000) / 7.0;
    if (maybe()) s.declared_value = maybe() ? 120.0 : 1e9;
    s.origin = core::Address();
    if (maybe()) {
      s.origin.Set("country", "NL");
      s.origin.Set("city", std::nullopt);
    }
    // Address keys come from documents: any text, escaped as keys.
    if (maybe()) s.origin.Set("line \"1\"\\\n\u00e9", "x");
    s.destination = maybe() ? core::Address{{"country", "DE"}} : core::Address();
    row.sla.status = static_cast<core::SlaStatus>(rng() % 6);
    if (maybe()) row.last_event = core::LastEvent{"DL", T("2026-11-02T10:00:00.123Z"), "Köln"};
    json want = core::RowToJson(row);
    want.erase("_document");
    want["customerName"] = nullptr;
    want["carrierName"] = nullptr;
    want["serviceLevel"] = nullptr;
    ASSERT_EQ(ShipmentItem(row, names), want) << i;
  }
  // Bytes that are not UTF-8 (stored ones never are; the writer holds anyway).
  core::ShipmentRow odd = StoredRow("S-x", "", "", "");
  odd.shipment.reference =
      "a\xff"
      "b\xc3";
  json item = ShipmentItem(odd, names);
  EXPECT_EQ(item["reference"], "a\ufffdb\ufffd");
}

TEST_F(RowsTest, EachDistinctIdIsLookedUpOncePerRequest) {
  cache::LookupCache cache = NoCache();
  Names names(&cache, "acme");
  for (int i = 0; i < 5; ++i) {
    ShipmentItem(StoredRow("S-" + std::to_string(i), "C-1", "dhl", "express"), names);
    ShipmentItem(StoredRow("T-" + std::to_string(i), "C-9", "ups", ""), names);
  }
  EXPECT_EQ(source_.customer_reads(), 2);  // C-1, C-9 (absent ones are remembered too)
  EXPECT_EQ(source_.carrier_reads(), 2);   // dhl, ups
  // Empty ids are never looked up.
  ShipmentItem(StoredRow("U-1", "", "", ""), names);
  EXPECT_EQ(source_.customer_reads(), 2);
  // A new request looks up again.
  Names next(&cache, "acme");
  EXPECT_EQ(next.CarrierName("dhl"), "DHL");
  EXPECT_EQ(source_.carrier_reads(), 3);
}

TEST_F(RowsTest, LookupErrorsAnswerNullNamesWithoutFailingTheRead) {
  cache::LookupCache cache = NoCache();
  source_.SetFailure(Status::IOError("disk on fire"));
  Names names(&cache, "acme");
  json item = ShipmentItem(StoredRow("S-1", "C-1", "dhl", "express"), names);
  EXPECT_TRUE(item["customerName"].is_null());
  EXPECT_TRUE(item["carrierName"].is_null());
  EXPECT_TRUE(item["serviceLevel"].is_null());
  // No cache at all: names are null too.
  Names without(nullptr, "acme");
  EXPECT_TRUE(without.CustomerName("C-1").is_null());
}

TEST_F(RowsTest, CarrierPerformanceRowFigures) {
  cache::LookupCache cache = NoCache();
  Names names(&cache, "acme");
  core::CarrierPerformanceView view;
  api::AggregateRow row;
  row.key = {"dhl", "2026-W45"};
  row.measures.assign(view.spec().measure_columns.size(), 0);
  row.measures[0] = 5;  // shipped
  row.measures[1] = 4;  // delivered
  row.measures[2] = 3;  // on time
  row.measures[3 + core::CarrierPerformanceView::TransitBucket(std::chrono::hours(2))] = 2;
  row.measures.back() = 2;  // beyond 180 days
  json got = CarrierPerformanceRowJson(row, names);
  EXPECT_EQ(got["carrierId"], "dhl");
  EXPECT_EQ(got["carrierName"], "DHL");
  EXPECT_EQ(got["week"], "2026-W45");
  EXPECT_EQ(got["shipped"], 5);
  EXPECT_EQ(got["delivered"], 4);
  EXPECT_EQ(got["deliveredOnTime"], 3);
  EXPECT_DOUBLE_EQ(got["onTimeRate"].get<double>(), 0.75);
  // p50: the 2nd of 4, 2 h (within 2%); p95: the 4th, beyond 180 days, answered as the
  // bound of that bucket.
  EXPECT_NEAR(got["transitHours"]["p50"].get<double>(), 2.0, 0.04);
  EXPECT_GE(got["transitHours"]["p95"].get<double>(), 180 * 24.0);

  for (auto& m : row.measures) m = 0;
  row.measures[0] = 1;
  json empty = CarrierPerformanceRowJson(row, names);
  EXPECT_TRUE(empty["onTimeRate"].is_null()) << empty;
  EXPECT_EQ(empty["transitHours"], json({{"p50", nullptr}, {"p95", nullptr}})) << empty;
}

TEST_F(RowsTest, CustomerAndDailyRows) {
  cache::LookupCache cache = NoCache();
  Names names(&cache, "acme");
  api::CustomerSummaryRow c;
  c.customer_id = "C-1";
  c.shipments = 3;
  c.open = 2;
  c.delivered = 1;
  c.exceptions = 1;
  c.declared_value_micro = 120500000;
  c.last_shipment_at = ToMillis(T("2026-11-01T10:00:00.250Z"));
  c.schema_version = 2;
  EXPECT_EQ(CustomerSummaryItem(c, names), json({{"customerId", "C-1"},
                                                 {"customerName", "Acme Retail"},
                                                 {"shipments", 3},
                                                 {"open", 2},
                                                 {"delivered", 1},
                                                 {"exceptions", 1},
                                                 {"declaredValue", 120.5},
                                                 {"lastShipmentAt", "2026-11-01T10:00:00.250Z"},
                                                 {"_schemaVersion", 2}}));
  c.last_shipment_at.reset();
  EXPECT_TRUE(CustomerSummaryItem(c, names)["lastShipmentAt"].is_null());

  api::DailyMetricsRow d;
  d.key = {"2026-11-01", "dhl"};
  d.shipments = 2;
  d.weight_kg_micro = 3750000;
  d.declared_value_micro = 1;
  EXPECT_EQ(DailyMetricsRowJson({"day", "carrierId"}, d), json({{"day", "2026-11-01"},
                                                                {"carrierId", "dhl"},
                                                                {"shipments", 2},
                                                                {"weightKg", 3.75},
                                                                {"declaredValue", 0.000001}}));
}

}  // namespace
}  // namespace mv::testing
