#include "core/sla.h"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>

#include "test_util.h"

namespace {

using namespace std::chrono_literals;
using mv::Timestamp;
using mv::core::EvaluateSla;
using mv::core::ShipmentStatus;
using mv::core::SlaPolicy;
using mv::core::SlaState;
using mv::core::SlaStatus;
using mv::testing::T;

constexpr ShipmentStatus kOpen[] = {ShipmentStatus::kBooked, ShipmentStatus::kPickedUp,
                                    ShipmentStatus::kInTransit, ShipmentStatus::kOutForDelivery};
constexpr ShipmentStatus kAll[] = {ShipmentStatus::kBooked,    ShipmentStatus::kPickedUp,
                                   ShipmentStatus::kInTransit, ShipmentStatus::kOutForDelivery,
                                   ShipmentStatus::kDelivered, ShipmentStatus::kException,
                                   ShipmentStatus::kReturned,  ShipmentStatus::kCancelled};

// Promised 2026-11-03T17:00Z with the default 4 h window: at risk from 13:00.
const Timestamp kPromised = T("2026-11-03T17:00:00Z");
const Timestamp kRiskFrom = T("2026-11-03T13:00:00Z");
const SlaPolicy kPolicy;

SlaState Eval(ShipmentStatus s, Timestamp now, std::optional<Timestamp> delivered = std::nullopt,
              std::optional<Timestamp> promised = kPromised) {
  return EvaluateSla(s, promised, delivered, now, kPolicy);
}

TEST(EvaluateSla, DefaultWindowIsFourHours) { EXPECT_EQ(kPolicy.at_risk_window, 4h); }

TEST(EvaluateSla, NoPromiseIsNoneForEveryStatus) {
  for (auto s : kAll) {
    for (Timestamp now : {T("2026-01-01T00:00:00Z"), T("2030-01-01T00:00:00Z")}) {
      EXPECT_EQ(Eval(s, now, std::nullopt, std::nullopt), (SlaState{SlaStatus::kNone, {}}));
      EXPECT_EQ(Eval(s, now, now, std::nullopt), (SlaState{SlaStatus::kNone, {}}));
    }
  }
}

TEST(EvaluateSla, OnTrackChangesAtTheStartOfTheWindow) {
  for (auto s : kOpen) {
    EXPECT_EQ(Eval(s, T("2026-11-01T10:00:00Z")), (SlaState{SlaStatus::kOnTrack, kRiskFrom}));
    EXPECT_EQ(Eval(s, kRiskFrom - 1ms), (SlaState{SlaStatus::kOnTrack, kRiskFrom}));
  }
}

TEST(EvaluateSla, AtRiskInsideTheWindowChangesAtThePromise) {
  for (auto s : kOpen) {
    EXPECT_EQ(Eval(s, kRiskFrom), (SlaState{SlaStatus::kAtRisk, kPromised})) << "boundary";
    EXPECT_EQ(Eval(s, T("2026-11-03T15:00:00Z")), (SlaState{SlaStatus::kAtRisk, kPromised}));
    EXPECT_EQ(Eval(s, kPromised - 1ms), (SlaState{SlaStatus::kAtRisk, kPromised}));
  }
}

TEST(EvaluateSla, BreachedFromThePromiseOnAndNeverChangesAgain) {
  for (auto s : kOpen) {
    EXPECT_EQ(Eval(s, kPromised), (SlaState{SlaStatus::kBreached, {}})) << "boundary";
    EXPECT_EQ(Eval(s, kPromised + 1ms), (SlaState{SlaStatus::kBreached, {}}));
    EXPECT_EQ(Eval(s, T("2027-01-01T00:00:00Z")), (SlaState{SlaStatus::kBreached, {}}));
  }
}

TEST(EvaluateSla, ExceptionIsAtRiskAnyTimeBeforeThePromise) {
  EXPECT_EQ(Eval(ShipmentStatus::kException, T("2026-11-01T10:00:00Z")),
            (SlaState{SlaStatus::kAtRisk, kPromised}));
  EXPECT_EQ(Eval(ShipmentStatus::kException, kRiskFrom + 1h),
            (SlaState{SlaStatus::kAtRisk, kPromised}));
  EXPECT_EQ(Eval(ShipmentStatus::kException, kPromised), (SlaState{SlaStatus::kBreached, {}}));
}

TEST(EvaluateSla, DeliveredIsMetOrMissedWhateverTheClock) {
  for (Timestamp now : {T("2026-11-01T00:00:00Z"), kPromised, T("2027-01-01T00:00:00Z")}) {
    EXPECT_EQ(Eval(ShipmentStatus::kDelivered, now, kPromised - 1h),
              (SlaState{SlaStatus::kMet, {}}));
    EXPECT_EQ(Eval(ShipmentStatus::kDelivered, now, kPromised), (SlaState{SlaStatus::kMet, {}}))
        << "delivered exactly at the promise is on time";
    EXPECT_EQ(Eval(ShipmentStatus::kDelivered, now, kPromised + 1ms),
              (SlaState{SlaStatus::kMissed, {}}));
  }
}

TEST(EvaluateSla, DeliveredWithoutATimeCountsAsMet) {
  EXPECT_EQ(Eval(ShipmentStatus::kDelivered, kPromised + 24h), (SlaState{SlaStatus::kMet, {}}));
}

TEST(EvaluateSla, ReturnedAndCancelledAreNone) {
  for (auto s : {ShipmentStatus::kReturned, ShipmentStatus::kCancelled}) {
    for (Timestamp now : {T("2026-11-01T00:00:00Z"), kRiskFrom, kPromised, kPromised + 24h}) {
      EXPECT_EQ(Eval(s, now), (SlaState{SlaStatus::kNone, {}})) << mv::core::ToString(s);
    }
  }
}

TEST(EvaluateSla, CustomWindow) {
  SlaPolicy one_hour{1h};
  EXPECT_EQ(EvaluateSla(ShipmentStatus::kInTransit, kPromised, {}, kPromised - 2h, one_hour),
            (SlaState{SlaStatus::kOnTrack, kPromised - 1h}));
  EXPECT_EQ(EvaluateSla(ShipmentStatus::kInTransit, kPromised, {}, kPromised - 1h, one_hour),
            (SlaState{SlaStatus::kAtRisk, kPromised}));
  SlaPolicy none{0ms};
  EXPECT_EQ(EvaluateSla(ShipmentStatus::kInTransit, kPromised, {}, kPromised - 1ms, none),
            (SlaState{SlaStatus::kOnTrack, kPromised}));
  EXPECT_EQ(EvaluateSla(ShipmentStatus::kInTransit, kPromised, {}, kPromised, none),
            (SlaState{SlaStatus::kBreached, {}}));
}

// The contract of next_change_at: the state is constant from `now` until just before
// next_change_at and differs at it; with no next_change_at it never changes again.
TEST(EvaluateSla, NextChangeAtIsExactlyWhenTheStatusChanges) {
  for (auto s : kAll) {
    for (Timestamp now = T("2026-11-02T00:00:00Z"); now <= T("2026-11-04T00:00:00Z");
         now += 30min) {
      SlaState state = Eval(s, now);
      if (state.next_change_at) {
        ASSERT_GT(*state.next_change_at, now);
        Timestamp just_before = *state.next_change_at - 1ms;
        EXPECT_EQ(Eval(s, just_before), state) << mv::FormatRfc3339(now);
        EXPECT_NE(Eval(s, *state.next_change_at).status, state.status) << mv::FormatRfc3339(now);
      } else {
        EXPECT_EQ(Eval(s, now + 1000h).status, state.status) << mv::FormatRfc3339(now);
      }
    }
  }
}

}  // namespace
