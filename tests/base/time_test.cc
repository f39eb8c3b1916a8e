#include "base/time.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <random>
#include <string>

namespace {

using mv::FormatRfc3339;
using mv::FromMillis;
using mv::ParseRfc3339;
using mv::Timestamp;
using mv::ToMillis;

// Expected instants are epoch milliseconds computed independently (Python's
// datetime.fromisoformat(...).timestamp()), not copied from this implementation.
constexpr std::int64_t k20261101T10 = 1793527200000;  // 2026-11-01T10:00:00Z

std::optional<std::int64_t> ParseMillis(std::string_view s) {
  auto t = ParseRfc3339(s);
  if (!t) return std::nullopt;
  return ToMillis(*t);
}

TEST(ParseRfc3339, Epoch) { EXPECT_EQ(ParseMillis("1970-01-01T00:00:00Z"), 0); }

TEST(ParseRfc3339, UtcZulu) {
  EXPECT_EQ(ParseMillis("2026-11-01T10:00:00Z"), k20261101T10);
  EXPECT_EQ(ParseMillis("2000-01-01T00:00:00Z"), 946684800000);
}

TEST(ParseRfc3339, AgreesWithChronoCivilCalendar) {
  using namespace std::chrono;
  Timestamp expected = time_point_cast<milliseconds>(sys_days{year{2026} / 11 / 1} + hours{10});
  EXPECT_EQ(ParseRfc3339("2026-11-01T10:00:00Z"), expected);
}

TEST(ParseRfc3339, LowercaseSeparators) {
  EXPECT_EQ(ParseMillis("2026-11-01t10:00:00z"), k20261101T10);
}

TEST(ParseRfc3339, Offsets) {
  EXPECT_EQ(ParseMillis("2026-11-01T12:00:00+02:00"), k20261101T10);
  EXPECT_EQ(ParseMillis("2026-11-01T05:30:00-04:30"), k20261101T10);
  EXPECT_EQ(ParseMillis("2026-11-01T10:00:00+00:00"), k20261101T10);
  EXPECT_EQ(ParseMillis("2026-11-01T10:00:00-00:00"), k20261101T10);
  // An offset that crosses midnight and the month boundary.
  EXPECT_EQ(ParseMillis("2026-10-31T23:00:00-11:00"), k20261101T10);
}

TEST(ParseRfc3339, FractionalSeconds) {
  EXPECT_EQ(ParseMillis("2026-11-01T10:00:00.250Z"), k20261101T10 + 250);
  EXPECT_EQ(ParseMillis("2026-11-01T10:00:00.5Z"), k20261101T10 + 500);
  EXPECT_EQ(ParseMillis("2026-11-01T10:00:00.05Z"), k20261101T10 + 50);
  EXPECT_EQ(ParseMillis("2026-11-01T10:00:00.001Z"), k20261101T10 + 1);
  EXPECT_EQ(ParseMillis("2026-11-01T12:00:00.250+02:00"), k20261101T10 + 250);
  // Beyond millisecond precision: truncated, not rounded.
  EXPECT_EQ(ParseMillis("2026-11-01T10:00:00.123456789Z"), k20261101T10 + 123);
  EXPECT_EQ(ParseMillis("2026-11-01T10:00:00.9999Z"), k20261101T10 + 999);
}

TEST(ParseRfc3339, LeapDayExistsInLeapYears) {
  EXPECT_EQ(ParseMillis("2024-02-29T23:59:59.999Z"), 1709251199999);
  EXPECT_TRUE(ParseRfc3339("2000-02-29T00:00:00Z"));  // divisible by 400
}

TEST(ParseRfc3339, RejectsDatesThatDoNotExist) {
  EXPECT_FALSE(ParseRfc3339("2026-02-30T10:00:00Z"));
  EXPECT_FALSE(ParseRfc3339("2026-02-29T10:00:00Z"));  // 2026 is not a leap year
  EXPECT_FALSE(ParseRfc3339("1900-02-29T10:00:00Z"));  // divisible by 100, not 400
  EXPECT_FALSE(ParseRfc3339("2026-04-31T10:00:00Z"));
  EXPECT_FALSE(ParseRfc3339("2026-13-01T10:00:00Z"));
  EXPECT_FALSE(ParseRfc3339("2026-00-01T10:00:00Z"));
  EXPECT_FALSE(ParseRfc3339("2026-01-00T10:00:00Z"));
  EXPECT_FALSE(ParseRfc3339("2026-01-32T10:00:00Z"));
}

TEST(ParseRfc3339, RejectsTimesThatDoNotExist) {
  EXPECT_FALSE(ParseRfc3339("2026-11-01T24:00:00Z"));
  EXPECT_FALSE(ParseRfc3339("2026-11-01T10:60:00Z"));
  EXPECT_FALSE(ParseRfc3339("2026-11-01T10:00:61Z"));
  EXPECT_FALSE(ParseRfc3339("2026-11-01T10:00:00+24:00"));
  EXPECT_FALSE(ParseRfc3339("2026-11-01T10:00:00+02:60"));
}

TEST(ParseRfc3339, LeapSecondIsClampedToTheSecondBefore) {
  EXPECT_EQ(ParseRfc3339("2016-12-31T23:59:60Z"), ParseRfc3339("2016-12-31T23:59:59Z"));
}

TEST(ParseRfc3339, RejectsGarbageAndPartialForms) {
  for (const char* bad : {
           "",
           "garbage",
           "2026",
           "2026-11-01",            // a date is not a date-time
           "2026-11-01T10:00:00",   // no offset
           "2026-11-01T10:00Z",     // no seconds
           "2026-11-01 10:00:00Z",  // space separator is not accepted
           "2026-11-01X10:00:00Z",
           "2026/11/01T10:00:00Z",
           "2026-11-01T10:00:00.Z",     // fraction without digits
           "2026-11-01T10:00:00.123",   // fraction, no offset
           "2026-11-01T10:00:00+0200",  // offset without colon
           "2026-11-01T10:00:00+02",    // truncated offset
           "2026-11-01T10:00:00+02:0",  // truncated offset
           "2026-11-01T10:00:00ZZ",     // trailing junk
           "2026-11-01T10:00:00Z ",     // trailing space
           " 2026-11-01T10:00:00Z",     // leading space
           "2026-11-01T10:00:00+02:00x",
           "2026-1-01T10:00:00Z",
           "20a6-11-01T10:00:00Z",
           "2026-11-01T1a:00:00Z",
           "-026-11-01T10:00:00Z",
           "+2026-11-01T10:00:00Z",
       }) {
    EXPECT_FALSE(ParseRfc3339(bad)) << "accepted '" << bad << "'";
  }
}

TEST(ParseRfc3339, DoesNotReadPastTheView) {
  // The view ends before the offset; the characters after it must not be read.
  std::string text = "2026-11-01T10:00:00Z";
  EXPECT_FALSE(ParseRfc3339(std::string_view(text).substr(0, text.size() - 1)));
}

TEST(FormatRfc3339, WholeSecondsHaveNoFraction) {
  EXPECT_EQ(FormatRfc3339(FromMillis(k20261101T10)), "2026-11-01T10:00:00Z");
  EXPECT_EQ(FormatRfc3339(FromMillis(0)), "1970-01-01T00:00:00Z");
}

TEST(FormatRfc3339, MillisecondsArePaddedToThreeDigits) {
  EXPECT_EQ(FormatRfc3339(FromMillis(k20261101T10 + 250)), "2026-11-01T10:00:00.250Z");
  EXPECT_EQ(FormatRfc3339(FromMillis(k20261101T10 + 5)), "2026-11-01T10:00:00.005Z");
  EXPECT_EQ(FormatRfc3339(FromMillis(1709251199999)), "2024-02-29T23:59:59.999Z");
}

TEST(FormatRfc3339, BeforeTheEpoch) {
  EXPECT_EQ(FormatRfc3339(FromMillis(-1)), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatRfc3339(FromMillis(-86400000)), "1969-12-31T00:00:00Z");
}

// The hand-written formatter against printf's, over instants from year -50 to 10050.
TEST(FormatRfc3339, AgreesWithPrintfEverywhere) {
  std::mt19937_64 rng(7);
  const std::int64_t lo = -64'000'000'000'000, hi = 255'000'000'000'000;
  for (int i = 0; i < 200000; ++i) {
    std::int64_t ms = lo + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(hi - lo));
    if (i % 3 == 0) ms -= ms % 1000;  // whole seconds too
    mv::Timestamp t = FromMillis(ms);
    using namespace std::chrono;
    auto days = floor<std::chrono::days>(t);
    year_month_day ymd{days};
    hh_mm_ss hms{t - days};
    char want[64];
    int n =
        std::snprintf(want, sizeof want, "%04d-%02u-%02uT%02lld:%02lld:%02lld", int(ymd.year()),
                      unsigned(ymd.month()), unsigned(ymd.day()), (long long)hms.hours().count(),
                      (long long)hms.minutes().count(), (long long)hms.seconds().count());
    if (hms.subseconds().count() != 0) {
      std::snprintf(want + n, sizeof want - n, ".%03lld", (long long)hms.subseconds().count());
    }
    std::string got;
    mv::AppendRfc3339(&got, t);
    ASSERT_EQ(got, std::string(want) + "Z") << ms;
  }
}

TEST(Rfc3339, RoundTripFromInstants) {
  for (std::int64_t ms : {std::int64_t{0}, std::int64_t{1}, std::int64_t{-1}, std::int64_t{999},
                          k20261101T10, k20261101T10 + 1, k20261101T10 + 999,
                          std::int64_t{1709251199999}, std::int64_t{253402300799999}}) {
    Timestamp t = FromMillis(ms);
    EXPECT_EQ(ParseRfc3339(FormatRfc3339(t)), t) << ms << " -> " << FormatRfc3339(t);
  }
}

// BUG (src/base/time.cc): ParseRfc3339 accepts local times whose UTC instant falls outside
// years 0000..9999 ("9999-12-31T23:30:00-01:00" is 10000-01-01T00:30Z), and FormatRfc3339
// then writes text ParseRfc3339 rejects, breaking the documented round trip
// ParseRfc3339(FormatRfc3339(t)) == t. Either side may be fixed (reject such instants when
// parsing, or format/parse them); the round trip of every accepted input must hold.
TEST(Rfc3339, RoundTripOfEveryAcceptedInputAtTheEdgesOfTheRange) {
  for (const char* text : {"0000-01-01T00:00:00Z", "9999-12-31T23:59:59.999Z",
                           "0000-01-01T00:30:00+01:00", "9999-12-31T23:30:00-01:00"}) {
    auto t = ParseRfc3339(text);
    if (!t) continue;  // rejecting is fine
    EXPECT_EQ(ParseRfc3339(FormatRfc3339(*t)), t) << text << " -> " << FormatRfc3339(*t);
  }
}

TEST(Rfc3339, RoundTripNormalizesToUtc) {
  auto t = ParseRfc3339("2026-11-01T12:00:00.250+02:00");
  ASSERT_TRUE(t);
  EXPECT_EQ(FormatRfc3339(*t), "2026-11-01T10:00:00.250Z");
}

TEST(Rfc3339, MillisConversionsAreInverse) {
  EXPECT_EQ(ToMillis(FromMillis(k20261101T10)), k20261101T10);
  EXPECT_EQ(ToMillis(FromMillis(-5)), -5);
}

}  // namespace
