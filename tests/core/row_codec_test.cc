// The stored encodings are exact (decode(encode(x)) == x for every field combination),
// deterministic, and refuse anything that is not one of them.
#include "core/row_codec.h"

#include <gtest/gtest.h>

#include <random>

#include "test_util.h"

namespace mv::core {
namespace {

using mv::testing::T;

class RandomState {
 public:
  explicit RandomState(std::uint64_t seed) : rng_(seed) {}

  ShipmentRow Row() {
    ShipmentRow row;
    row.org = "acme";
    Shipment& s = row.shipment;
    s.id = "S-" + std::to_string(rng_() % 100000);
    s.reference = Maybe() ? "" : "PO-\xc3\xa9" + std::to_string(rng_() % 1000);
    s.customer_id = Maybe() ? "" : "C-1";
    s.carrier_id = Maybe() ? "" : "dhl";
    s.service = Maybe() ? "" : "express";
    s.currency = Maybe() ? "" : "EUR";
    s.status = static_cast<ShipmentStatus>(rng_() % kShipmentStatusCount);
    row.document.status = static_cast<ShipmentStatus>(rng_() % kShipmentStatusCount);
    row.sla.status = static_cast<SlaStatus>(rng_() % 6);
    s.created_at = Time();
    for (auto* t :
         {&s.status_changed_at, &s.promised_delivery_at, &s.picked_up_at, &s.out_for_delivery_at,
          &s.delivered_at, &row.document.status_changed_at, &row.document.picked_up_at,
          &row.document.out_for_delivery_at, &row.document.delivered_at, &row.sla.next_change_at}) {
      if (!Maybe()) *t = Time();
    }
    if (!Maybe()) s.weight_kg = static_cast<double>(rng_() % 100000) / 7.0;
    if (!Maybe()) s.declared_value = 0.1 * static_cast<double>(rng_() % 1000);
    s.origin = Address();
    s.destination = Address();
    if (!Maybe()) row.last_event = LastEvent{"DL", Time(), Maybe() ? "" : "Amsterdam"};
    row.schema_version = static_cast<int>(1 + rng_() % 300);
    return row;
  }

  TrackingSummary Summary() {
    TrackingSummary t;
    for (auto* slot : {&t.picked_up_at, &t.out_for_delivery_at, &t.delivered_at}) {
      if (!Maybe()) *slot = Time();
    }
    if (!Maybe()) t.latest_mapped = EventOrder{Time(), "dhl", "E-" + std::to_string(rng_() % 99)};
    t.latest_mapped_status = static_cast<ShipmentStatus>(rng_() % kShipmentStatusCount);
    if (!Maybe()) t.latest = EventOrder{Time(), "ups", "E-1"};
    t.latest_code = Maybe() ? "" : "XYZ";
    t.latest_location = Maybe() ? "" : "Rotterdam";
    return t;
  }

 private:
  bool Maybe() { return rng_() % 3 == 0; }
  // Before and after the epoch, with and without milliseconds.
  Timestamp Time() {
    std::int64_t ms = static_cast<std::int64_t>(rng_() % 4'000'000'000'000ULL) - 500'000'000'000LL;
    return FromMillis(Maybe() ? ms - ms % 1000 : ms);
  }
  core::Address Address() {
    core::Address a;
    switch (rng_() % 4) {
      case 0:
        return a;
      case 1:
        return {{"country", "NL"}, {"postalCode", "1012"}};
      case 2:
        a.Set("country", std::nullopt);
        a.Set("city", "K\xc3\xb6ln");
        return a;
      default:
        a.Set("", "");  // an empty key and value are members too
        return a;
    }
  }
  std::mt19937_64 rng_;
};

TEST(RowCodec, EveryRowRoundTripsExactlyAndEncodesDeterministically) {
  RandomState random(1);
  for (int i = 0; i < 5000; ++i) {
    ShipmentRow row = random.Row();
    std::string bytes = EncodeRow(row);
    auto back = DecodeRow("acme", bytes);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    ASSERT_EQ(*back, row) << "row " << i;
    ASSERT_EQ(EncodeRow(*back), bytes);
  }
}

TEST(RowCodec, EverySummaryRoundTripsExactly) {
  RandomState random(2);
  for (int i = 0; i < 5000; ++i) {
    TrackingSummary t = random.Summary();
    auto back = DecodeTrackingSummary(EncodeTrackingSummary(t));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    ASSERT_EQ(*back, t);
  }
}

TEST(RowCodec, TruncatedOrExtendedBytesAreCorruption) {
  RandomState random(3);
  for (int i = 0; i < 50; ++i) {
    std::string row = EncodeRow(random.Row());
    for (size_t n = 0; n < row.size(); ++n) {
      EXPECT_EQ(DecodeRow("acme", row.substr(0, n)).status().code(), StatusCode::kCorruption)
          << "prefix of " << n << " bytes";
    }
    EXPECT_EQ(DecodeRow("acme", row + "x").status().code(), StatusCode::kCorruption);
    std::string summary = EncodeTrackingSummary(random.Summary());
    for (size_t n = 0; n < summary.size(); ++n) {
      EXPECT_EQ(DecodeTrackingSummary(summary.substr(0, n)).status().code(),
                StatusCode::kCorruption);
    }
  }
  EXPECT_FALSE(DecodeRow("acme", "{\"id\":\"S-1\"}").ok()) << "JSON is not the binary form";
}

TEST(RowCodec, ARowIsSmall) {
  ShipmentRow row;
  row.shipment.id = "S-100001";
  row.shipment.reference = "PO-77";
  row.shipment.customer_id = "C-9";
  row.shipment.carrier_id = "dhl";
  row.shipment.service = "express";
  row.shipment.currency = "EUR";
  row.shipment.created_at = T("2026-11-01T10:00:00Z");
  row.shipment.status_changed_at = T("2026-11-01T12:00:00Z");
  row.shipment.promised_delivery_at = T("2026-11-03T17:00:00Z");
  row.shipment.weight_kg = 2.5;
  row.shipment.declared_value = 120;
  row.shipment.origin = {{"country", "NL"}, {"postalCode", "1012"}};
  row.shipment.destination = {{"country", "DE"}};
  row.sla.next_change_at = T("2026-11-03T13:00:00Z");
  EXPECT_LT(EncodeRow(row).size(), 140u);
}

}  // namespace
}  // namespace mv::core
