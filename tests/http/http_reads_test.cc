// The report and queue reads end to end (DESIGN.md section 8): names on every read, the
// exception queue, daily metrics, carrier performance and customer summaries, each read
// back with minToken after writing a small data set through the API. Expected figures
// are worked out by hand (or, for the bigger sets, from the documents the test wrote),
// never by calling the code under test.

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "core/customer_summary_view.h"
#include "http_fixture.h"

namespace mv::testing {
namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

constexpr auto kHour = std::chrono::hours(1);
constexpr auto kDay = std::chrono::hours(24);

// A shipment document with the fields these tests set.
json Doc(const std::string& id, const std::string& status, const std::string& created_at,
         const std::string& carrier = "", const std::string& customer = "") {
  json d = {{"id", id}, {"status", status}, {"createdAt", created_at}};
  if (!carrier.empty()) d["carrierId"] = carrier;
  if (!customer.empty()) d["customerId"] = customer;
  return d;
}

std::map<std::string, json> ById(const std::vector<json>& items) {
  std::map<std::string, json> out;
  for (const auto& item : items) out[item.value("id", "<no id>")] = item;
  return out;
}

std::vector<std::string> IdsOf(const std::vector<json>& items, const char* field = "id") {
  std::vector<std::string> ids;
  for (const auto& item : items) ids.push_back(item.value(field, "<none>"));
  return ids;
}

// ---------------------------------------------------------------------------------------
// Names.

class NamesTest : public HttpApiFixture {};

TEST_F(NamesTest, ShipmentItemsCarryCustomerAndCarrierNamesAndServiceLevel) {
  std::string key = TenantKey("acme");
  json services = {{"express", {{"transitDays", 1}}}};
  TokenOf(Put("/v1/carriers/dhl", key, {{"name", "DHL"}, {"services", services}}));
  TokenOf(Put("/v1/customers/C-1", key, {{"name", "Acme Retail"}}));
  Timestamp created = NowSeconds() - kDay;
  json n1 = Doc("N-1", "booked", Rfc(created), "dhl", "C-1");
  n1["service"] = "express";
  json n2 = Doc("N-2", "booked", Rfc(created), "dhl", "C-2");  // C-2 has no document
  n2["service"] = "economy";                                   // not among dhl's services
  json n3 = Doc("N-3", "booked", Rfc(created));                // no customer, no carrier
  json n4 = Doc("N-4", "booked", Rfc(created), "ups", "C-1");  // ups has no document
  n4["service"] = "express";
  json n5 = Doc("N-5", "exception", Rfc(created), "dhl", "C-1");
  n5["service"] = "express";
  std::int64_t token = Write(key, json::array({n1, n2, n3, n4, n5}));

  auto items = ById(ReadAll(key, "/v1/shipments", {}, token));
  ASSERT_EQ(items.size(), 5u);
  auto expect_names = [](const json& item, const json& customer, const json& carrier,
                         const json& level) {
    EXPECT_EQ(item.value("customerName", json("<missing>")), customer) << item;
    EXPECT_EQ(item.value("carrierName", json("<missing>")), carrier) << item;
    EXPECT_EQ(item.value("serviceLevel", json("<missing>")), level) << item;
  };
  expect_names(items["N-1"], "Acme Retail", "DHL", json{{"transitDays", 1}});
  expect_names(items["N-2"], nullptr, "DHL", nullptr);
  expect_names(items["N-3"], nullptr, nullptr, nullptr);
  expect_names(items["N-4"], "Acme Retail", nullptr, nullptr);
  expect_names(Read(key, "/v1/shipments/N-1", {}, token), "Acme Retail", "DHL",
               json{{"transitDays", 1}});
  std::vector<json> queue = ReadAll(key, "/v1/exceptions", {}, token);
  ASSERT_EQ(queue.size(), 1u);
  expect_names(queue[0], "Acme Retail", "DHL", json{{"transitDays", 1}});

  // Renamed carrier and customer: the next read with the write's token shows the new names.
  //
  // The worker drops the cache entries of a batch's customers and carriers before the
  // batch becomes visible, so a read waiting on the write's token never gets the old name.
  json new_services = {{"express", {{"transitDays", 2}}}, {"economy", {{"transitDays", 5}}}};
  TokenOf(Put("/v1/carriers/dhl", key, {{"name", "DHL Express"}, {"services", new_services}}));
  std::int64_t renamed = TokenOf(Put("/v1/customers/C-1", key, {{"name", "Acme B.V."}}));
  items = ById(ReadAll(key, "/v1/shipments", {}, renamed));
  expect_names(items["N-1"], "Acme B.V.", "DHL Express", json{{"transitDays", 2}});
  expect_names(items["N-2"], nullptr, "DHL Express", json{{"transitDays", 5}});
  expect_names(items["N-4"], "Acme B.V.", nullptr, nullptr);
  expect_names(Read(key, "/v1/shipments/N-1", {}, renamed), "Acme B.V.", "DHL Express",
               json{{"transitDays", 2}});
  queue = ReadAll(key, "/v1/exceptions", {}, renamed);
  ASSERT_EQ(queue.size(), 1u);
  expect_names(queue[0], "Acme B.V.", "DHL Express", json{{"transitDays", 2}});

  // Another org's carrier of the same id lends no name.
  std::string other = TenantKey("globex");
  std::int64_t t = Write(other, Doc("G-1", "booked", Rfc(created), "dhl", "C-1"));
  expect_names(Read(other, "/v1/shipments/G-1", {}, t), nullptr, nullptr, nullptr);
}

// ---------------------------------------------------------------------------------------
// The exception queue.

class ExceptionsTest : public HttpApiFixture {
 protected:
  void SetUp() override {
    HttpApiFixture::SetUp();
    if (HasFatalFailure()) return;
    key_ = TenantKey("acme");
    now_ = NowSeconds();
    Timestamp created = now_ - 3 * kDay;
    changed_ = now_ - 2 * kDay;
    auto doc = [&](const std::string& id, const std::string& status,
                   std::optional<Timestamp> promised, const std::string& carrier) {
      json d = Doc(id, status, Rfc(created), carrier, "C-1");
      d["statusChangedAt"] = Rfc(changed_);
      if (promised) d["promisedDeliveryAt"] = Rfc(*promised);
      return d;
    };
    json docs = json::array({
        doc("B-1", "in_transit", now_ - 5 * kHour, "dhl"),        // breached
        doc("B-2", "in_transit", now_ - 1 * kHour, "ups"),        // breached
        doc("B-3", "exception", now_ - 3 * kHour, "dhl"),         // breached wins over exception
        doc("E-1", "exception", now_ + 10 * kDay, "ups"),         // exception
        doc("E-2", "exception", std::nullopt, "dhl"),             // exception, no promise: last
        doc("R-1", "out_for_delivery", now_ + 2 * kHour, "dhl"),  // at risk
        doc("R-2", "booked", now_ + 1 * kHour, "ups"),            // at risk
        doc("OK-1", "in_transit", now_ + 10 * kDay, "dhl"),       // on track: not queued
        doc("OK-2", "booked", std::nullopt, "dhl"),               // no promise: not queued
    });
    json late = doc("D-1", "delivered", now_ - 5 * kHour, "dhl");  // closed: not queued
    late["deliveredAt"] = Rfc(now_ - 4 * kHour);
    docs.push_back(late);
    // Ties on urgency, promise and statusChangedAt: ordered by id.
    for (const std::string id : {"T-3", "T-1", "T-10", "T-2"}) {
      docs.push_back(doc(id, "in_transit", now_ - 2 * kHour, "dhl"));
    }
    token_ = Write(key_, docs);
  }

  std::string key_;
  Timestamp now_{}, changed_{};
  std::int64_t token_ = 0;
};

TEST_F(ExceptionsTest, QueueOrderIsBreachedThenExceptionThenAtRiskThenByPromise) {
  const std::vector<std::string> order = {"B-1", "B-3", "T-1", "T-10", "T-2", "T-3",
                                          "B-2", "E-1", "E-2", "R-2",  "R-1"};
  for (int limit : {1, 2, 3, 4, 11, 50}) {
    size_t pages = 0;
    std::vector<json> items =
        ReadAll(key_, "/v1/exceptions", {{"limit", std::to_string(limit)}}, token_, &pages);
    EXPECT_EQ(IdsOf(items), order) << "limit " << limit;
    EXPECT_EQ(pages, (order.size() + limit - 1) / limit) << "limit " << limit;
  }
  std::vector<json> items = ReadAll(key_, "/v1/exceptions", {}, token_);
  std::vector<std::pair<std::string, int>> reasons;
  for (const auto& item : items) reasons.emplace_back(item["reason"], item["urgency"]);
  std::vector<std::pair<std::string, int>> want(7, {"breached", 1});
  want.insert(want.end(), 2, {"exception", 2});
  want.insert(want.end(), 2, {"at_risk", 3});
  EXPECT_EQ(reasons, want);

  // Each item is the full shipment item.
  ASSERT_EQ(items.size(), order.size());
  const json& b3 = items[1];
  EXPECT_EQ(b3["id"], "B-3");
  EXPECT_EQ(b3["status"], "exception");
  EXPECT_EQ(b3["carrierId"], "dhl");
  EXPECT_EQ(b3["customerId"], "C-1");
  EXPECT_EQ(b3["promisedDeliveryAt"], Rfc(now_ - 3 * kHour));
  EXPECT_EQ(b3["statusChangedAt"], Rfc(changed_));
  EXPECT_EQ(b3["sla"]["status"], "breached") << b3;
  EXPECT_EQ(b3["_schemaVersion"], 3);
  for (const char* field : {"origin", "destination", "createdAt", "lastEvent", "customerName",
                            "carrierName", "serviceLevel"}) {
    EXPECT_TRUE(b3.contains(field)) << field << " missing in " << b3;
  }
  // The same row as GET /v1/shipments/{id}, plus reason and urgency.
  json single = Read(key_, "/v1/shipments/B-3", {}, token_);
  json without = b3;
  without.erase("reason");
  without.erase("urgency");
  EXPECT_EQ(without, single);
}

TEST_F(ExceptionsTest, FiltersAndTheQueueFollowingWrites) {
  EXPECT_EQ(
      IdsOf(ReadAll(key_, "/v1/exceptions", {{"reason", "breached"}, {"limit", "2"}}, token_)),
      (std::vector<std::string>{"B-1", "B-3", "T-1", "T-10", "T-2", "T-3", "B-2"}));
  EXPECT_EQ(IdsOf(ReadAll(key_, "/v1/exceptions", {{"reason", "exception"}}, token_)),
            (std::vector<std::string>{"E-1", "E-2"}));
  EXPECT_EQ(IdsOf(ReadAll(key_, "/v1/exceptions", {{"reason", "at_risk"}}, token_)),
            (std::vector<std::string>{"R-2", "R-1"}));
  EXPECT_EQ(IdsOf(ReadAll(key_, "/v1/exceptions", {{"carrierId", "ups"}, {"limit", "1"}}, token_)),
            (std::vector<std::string>{"B-2", "E-1", "R-2"}));
  EXPECT_EQ(
      IdsOf(ReadAll(key_, "/v1/exceptions", {{"carrierId", "ups"}, {"reason", "at_risk"}}, token_)),
      (std::vector<std::string>{"R-2"}));
  EXPECT_TRUE(ReadAll(key_, "/v1/exceptions", {{"carrierId", "fedex"}}, token_).empty());

  // B-1 is delivered, E-2 gets a promise in the past (now breached), OK-1 an exception.
  json b1 = Doc("B-1", "delivered", Rfc(now_ - 3 * kDay), "dhl", "C-1");
  b1["deliveredAt"] = Rfc(now_);
  json e2 = Doc("E-2", "exception", Rfc(now_ - 3 * kDay), "dhl", "C-1");
  e2["statusChangedAt"] = Rfc(changed_);
  e2["promisedDeliveryAt"] = Rfc(now_ - 6 * kHour);
  json ok1 = Doc("OK-1", "exception", Rfc(now_ - 3 * kDay), "dhl", "C-1");
  ok1["statusChangedAt"] = Rfc(changed_);
  std::int64_t t = Write(key_, json::array({b1, e2, ok1}));
  EXPECT_EQ(IdsOf(ReadAll(key_, "/v1/exceptions", {}, t)),
            (std::vector<std::string>{"E-2", "B-3", "T-1", "T-10", "T-2", "T-3", "B-2", "E-1",
                                      "OK-1", "R-2", "R-1"}));
}

TEST_F(ExceptionsTest, BadParametersAre400) {
  std::string shipments_cursor =
      Read(key_, "/v1/shipments", {{"limit", "1"}}, token_)["nextCursor"].get<std::string>();
  const std::vector<std::pair<Params, std::string>> bad = {
      {{{"reason", "late"}}, "reason"},
      {{{"reason", "Breached"}}, "reason"},
      {{{"carrierId", "bad id"}}, "carrierId"},
      {{{"limit", "0"}}, "limit"},
      {{{"limit", "501"}}, "limit"},
      {{{"cursor", "garbage!!"}}, "cursor"},
      {{{"cursor", shipments_cursor}}, "cursor"},
      {{{"status", "exception"}}, "status"},
      {{{"minToken", "x"}}, "minToken"},
  };
  for (const auto& [params, names] : bad) {
    HttpReply r = Get(WithQuery("/v1/exceptions", params), key_);
    EXPECT_EQ(r.status, 400) << names << ": " << r;
    EXPECT_EQ(r.ErrorCode(), "invalid_argument") << r;
    EXPECT_NE(r.ErrorMessage().find(names), std::string::npos) << r;
  }
}

// ---------------------------------------------------------------------------------------
// Daily metrics.

class DailyMetricsTest : public HttpApiFixture {
 protected:
  void SetUp() override {
    HttpApiFixture::SetUp();
    if (HasFatalFailure()) return;
    key_ = TenantKey("acme");
    auto doc = [](const std::string& id, const std::string& status, const std::string& created,
                  const std::string& carrier, const std::string& service, const std::string& from,
                  const std::string& to, double weight, std::optional<double> value) {
      json d = Doc(id, status, created, carrier);
      if (!service.empty()) d["service"] = service;
      d["origin"] = {{"country", from}};
      d["destination"] = {{"country", to}};
      d["weightKg"] = weight;
      if (value) d["declaredValue"] = *value;
      return d;
    };
    json delivered =
        doc("D-3", "delivered", "2026-11-01T12:00:00Z", "dhl", "express", "NL", "DE", 1, 10);
    delivered["deliveredAt"] = "2026-11-02T12:00:00Z";
    json docs = json::array({
        doc("D-1", "booked", "2026-11-01T10:00:00Z", "dhl", "express", "NL", "DE", 2.5, 100),
        doc("D-2", "booked", "2026-11-01T23:59:59Z", "dhl", "express", "NL", "DE", 1.25, 50.5),
        delivered,
        doc("D-4", "booked", "2026-11-02T00:00:00Z", "ups", "", "NL", "FR", 4, 20),
        // 2026-11-03T01:00+02:00 is 2026-11-02T23:00Z: day 2026-11-02.
        doc("D-5", "exception", "2026-11-03T01:00:00+02:00", "dhl", "economy", "BE", "DE", 10,
            std::nullopt),
        doc("D-6", "in_transit", "2026-11-05T10:00:00Z", "ups", "", "NL", "FR", 0.5, 5),
        doc("D-7", "booked", "2026-10-31T23:59:59Z", "dhl", "express", "NL", "DE", 100, 1000),
        doc("D-8", "booked", "2026-11-06T00:00:00Z", "dhl", "express", "NL", "DE", 100, 1000),
    });
    Write(key_, docs);
    // Another org on the same days never shows up.
    std::string other = TenantKey("globex");
    token_ = Write(other, doc("G-1", "booked", "2026-11-01T10:00:00Z", "dhl", "express", "NL", "DE",
                              999, 999));
  }

  json Rows(Params params) {
    json page = Read(key_, "/v1/metrics/daily", params, token_);
    return page.is_object() ? page["rows"] : json(nullptr);
  }

  std::string key_;
  std::int64_t token_ = 0;
};

TEST_F(DailyMetricsTest, EveryDimensionByDefault) {
  json page =
      Read(key_, "/v1/metrics/daily", {{"from", "2026-11-01"}, {"to", "2026-11-05"}}, token_);
  EXPECT_EQ(page["from"], "2026-11-01");
  EXPECT_EQ(page["to"], "2026-11-05");
  auto row = [](const std::string& day, const std::string& carrier, const std::string& service,
                const std::string& from, const std::string& to, const std::string& status,
                int shipments, double weight, double value) {
    return json{{"day", day},
                {"carrierId", carrier},
                {"service", service},
                {"originCountry", from},
                {"destinationCountry", to},
                {"status", status},
                {"shipments", shipments},
                {"weightKg", weight},
                {"declaredValue", value}};
  };
  EXPECT_EQ(page["rows"],
            json::array({row("2026-11-01", "dhl", "express", "NL", "DE", "booked", 2, 3.75, 150.5),
                         row("2026-11-01", "dhl", "express", "NL", "DE", "delivered", 1, 1, 10),
                         row("2026-11-02", "dhl", "economy", "BE", "DE", "exception", 1, 10, 0),
                         row("2026-11-02", "ups", "", "NL", "FR", "booked", 1, 4, 20),
                         row("2026-11-05", "ups", "", "NL", "FR", "in_transit", 1, 0.5, 5)}));
}

TEST_F(DailyMetricsTest, GroupBySumsOverTheDroppedDimensionsAndOmitsThem) {
  Params range = {{"from", "2026-11-01"}, {"to", "2026-11-05"}};
  auto with = [&](const std::string& group_by) {
    Params p = range;
    p.emplace_back("groupBy", group_by);
    return Rows(p);
  };
  EXPECT_EQ(
      with("carrierId"),
      json::array(
          {{{"carrierId", "dhl"}, {"shipments", 4}, {"weightKg", 14.75}, {"declaredValue", 160.5}},
           {{"carrierId", "ups"}, {"shipments", 2}, {"weightKg", 4.5}, {"declaredValue", 25}}}));
  // Ordered by the kept dimensions in the order given.
  EXPECT_EQ(with("status,day"), json::array({{{"status", "booked"},
                                              {"day", "2026-11-01"},
                                              {"shipments", 2},
                                              {"weightKg", 3.75},
                                              {"declaredValue", 150.5}},
                                             {{"status", "booked"},
                                              {"day", "2026-11-02"},
                                              {"shipments", 1},
                                              {"weightKg", 4},
                                              {"declaredValue", 20}},
                                             {{"status", "delivered"},
                                              {"day", "2026-11-01"},
                                              {"shipments", 1},
                                              {"weightKg", 1},
                                              {"declaredValue", 10}},
                                             {{"status", "exception"},
                                              {"day", "2026-11-02"},
                                              {"shipments", 1},
                                              {"weightKg", 10},
                                              {"declaredValue", 0}},
                                             {{"status", "in_transit"},
                                              {"day", "2026-11-05"},
                                              {"shipments", 1},
                                              {"weightKg", 0.5},
                                              {"declaredValue", 5}}}));
  EXPECT_EQ(with("destinationCountry, originCountry"), json::array({{{"destinationCountry", "DE"},
                                                                     {"originCountry", "BE"},
                                                                     {"shipments", 1},
                                                                     {"weightKg", 10},
                                                                     {"declaredValue", 0}},
                                                                    {{"destinationCountry", "DE"},
                                                                     {"originCountry", "NL"},
                                                                     {"shipments", 3},
                                                                     {"weightKg", 4.75},
                                                                     {"declaredValue", 160.5}},
                                                                    {{"destinationCountry", "FR"},
                                                                     {"originCountry", "NL"},
                                                                     {"shipments", 2},
                                                                     {"weightKg", 4.5},
                                                                     {"declaredValue", 25}}}));
  // Nothing kept: the totals.
  EXPECT_EQ(with(""),
            json::array({{{"shipments", 6}, {"weightKg", 19.25}, {"declaredValue", 185.5}}}));
  // Inclusive bounds: one day each.
  EXPECT_EQ(
      Rows({{"from", "2026-10-31"}, {"to", "2026-10-31"}, {"groupBy", "day"}}),
      json::array(
          {{{"day", "2026-10-31"}, {"shipments", 1}, {"weightKg", 100}, {"declaredValue", 1000}}}));
  EXPECT_EQ(Rows({{"from", "2026-11-06"}, {"to", "2026-11-06"}, {"groupBy", "service"}}),
            json::array({{{"service", "express"},
                          {"shipments", 1},
                          {"weightKg", 100},
                          {"declaredValue", 1000}}}));
  EXPECT_EQ(Rows({{"from", "2026-11-07"}, {"to", "2026-12-01"}}), json::array());
}

// Weeks (ISO, Monday to Sunday) and months sum their days; the range is widened to whole
// periods and answered widened. 2026-10-31 (Sat) and 11-01 (Sun) are in 2026-W44; 11-02
// (Mon), 11-05 and 11-06 in 2026-W45.
TEST_F(DailyMetricsTest, WeeksAndMonthsSumTheirDaysOverWholePeriods) {
  Params range = {{"from", "2026-10-31"}, {"to", "2026-11-06"}};
  auto page = [&](const std::string& interval, const std::string& group_by) {
    Params p = range;
    p.emplace_back("interval", interval);
    p.emplace_back("groupBy", group_by);
    return Read(key_, "/v1/metrics/daily", p, token_);
  };
  json weeks = page("week", "week");
  EXPECT_EQ(weeks["interval"], "week");
  EXPECT_EQ(weeks["from"], "2026-10-26");
  EXPECT_EQ(weeks["to"], "2026-11-08");
  EXPECT_EQ(weeks["rows"], json::array({{{"week", "2026-W44"},
                                         {"shipments", 4},
                                         {"weightKg", 104.75},
                                         {"declaredValue", 1160.5}},
                                        {{"week", "2026-W45"},
                                         {"shipments", 4},
                                         {"weightKg", 114.5},
                                         {"declaredValue", 1025}}}));
  EXPECT_EQ(page("week", "day")["rows"], weeks["rows"]) << "day names the time dimension too";
  json months = page("month", "month,carrierId");
  EXPECT_EQ(months["from"], "2026-10-01");
  EXPECT_EQ(months["to"], "2026-11-30");
  for (const auto& r : months["rows"]) EXPECT_TRUE(r.contains("month") && r.contains("carrierId"));
  json by_month = page("month", "month")["rows"];
  EXPECT_EQ(
      by_month,
      json::array(
          {{{"month", "2026-10"}, {"shipments", 1}, {"weightKg", 100}, {"declaredValue", 1000}},
           {{"month", "2026-11"},
            {"shipments", 7},
            {"weightKg", 119.25},
            {"declaredValue", 1185.5}}}));
  // Every dimension by default, the period first and named after the interval.
  json all = page("week", "")["rows"];
  EXPECT_EQ(all.size(), 1u);
  json full = Read(key_, "/v1/metrics/daily",
                   {{"from", "2026-11-02"}, {"to", "2026-11-02"}, {"interval", "week"}}, token_);
  ASSERT_FALSE(full["rows"].empty());
  EXPECT_TRUE(full["rows"][0].contains("week") && full["rows"][0].contains("status"));
  EXPECT_FALSE(full["rows"][0].contains("day"));
  // Three years by month is one request; the limit is rows, not days.
  json years = Read(
      key_, "/v1/metrics/daily",
      {{"from", "2024-01-01"}, {"to", "2026-12-31"}, {"interval", "month"}, {"groupBy", "month"}},
      token_);
  EXPECT_EQ(years["rows"], by_month);
}

TEST_F(DailyMetricsTest, DefaultRangeIsTheLast30DaysAndBadRangesAre400) {
  // 2025-11-06 .. 2026-11-06 is 366 days, and longer ranges are fine too.
  EXPECT_EQ(Read(key_, "/v1/metrics/daily",
                 {{"from", "2025-11-06"}, {"to", "2026-11-06"}, {"groupBy", "day"}}, token_)["rows"]
                .size(),
            5u);
  EXPECT_EQ(Read(key_, "/v1/metrics/daily",
                 {{"from", "2020-01-01"}, {"to", "2026-11-06"}, {"groupBy", "day"}}, token_)["rows"]
                .size(),
            5u);
  // The default range, in an org of its own (the fixed days above may be recent).
  std::string fresh = TenantKey("initech");
  Timestamp now = NowSeconds();
  std::int64_t t = Write(fresh, json::array({Doc("R-1", "booked", Rfc(now - 2 * kDay), "recent"),
                                             Doc("R-2", "booked", Rfc(now - 40 * kDay), "old")}));
  json page = Read(fresh, "/v1/metrics/daily", {{"groupBy", "carrierId"}}, t);
  EXPECT_EQ(
      page["rows"],
      json::array(
          {{{"carrierId", "recent"}, {"shipments", 1}, {"weightKg", 0}, {"declaredValue", 0}}}));
  // "to" is today (UTC) and "from" 29 days before it.
  std::chrono::year_month_day today{std::chrono::floor<std::chrono::days>(now)};
  std::string today_text =
      fmt::format("{:04d}-{:02d}-{:02d}", static_cast<int>(today.year()),
                  static_cast<unsigned>(today.month()), static_cast<unsigned>(today.day()));
  EXPECT_EQ(page["to"], today_text);

  const std::vector<std::pair<Params, std::string>> bad = {
      {{{"from", "2026-11-05"}, {"to", "2026-11-01"}}, "from"},
      {{{"from", "1990-01-01"}, {"to", "2026-11-06"}}, "10000"},  // 13459 days
      {{{"interval", "year"}}, "interval"},
      {{{"interval", "week"}, {"groupBy", "month"}}, "month"},
      {{{"from", "2026-02-30"}}, "from"},
      {{{"to", "2026-11-1"}}, "to"},
      {{{"from", "2026-11-01T00:00:00Z"}}, "from"},
      {{{"to", "yesterday"}}, "to"},
      {{{"groupBy", "day,weekday"}}, "weekday"},
      {{{"groupBy", "day,day"}}, "day"},
      {{{"groupBy", "carrier_id"}}, "carrier_id"},
      {{{"groupBy", "day,"}}, "groupBy"},
      {{{"carrierId", "dhl"}}, "carrierId"},
  };
  for (const auto& [params, names] : bad) {
    HttpReply r = Get(WithQuery("/v1/metrics/daily", params), key_);
    EXPECT_EQ(r.status, 400) << WithQuery("/v1/metrics/daily", params) << ": " << r;
    EXPECT_EQ(r.ErrorCode(), "invalid_argument") << r;
    EXPECT_NE(r.ErrorMessage().find(names), std::string::npos) << r;
  }
}

TEST_F(DailyMetricsTest, MoreThanTenThousandRowsIs400) {
  // 10001 distinct carriers on one day: 10001 rows by carrier, one row by day.
  json a = json::array(), b = json::array();
  for (int i = 0; i < 10001; ++i) {
    (i < 5000 ? a : b)
        .push_back(Doc("M-" + std::to_string(i), "booked", "2026-09-01T10:00:00Z",
                       "c" + std::to_string(i)));
  }
  Write(key_, a);
  std::int64_t t = Write(key_, b);
  // 10001 shipments may take the worker longer than a read's bounded wait.
  ASSERT_TRUE(app_->backend().applied().WaitUntilAtLeast(t, std::chrono::seconds(60)));
  Params range = {{"from", "2026-09-01"}, {"to", "2026-09-01"}};
  Params by_carrier = range;
  by_carrier.emplace_back("groupBy", "carrierId");
  by_carrier.emplace_back("minToken", std::to_string(t));
  HttpReply r = Get(WithQuery("/v1/metrics/daily", by_carrier), key_);
  EXPECT_EQ(r.status, 400) << r;
  EXPECT_NE(r.ErrorMessage().find("10000"), std::string::npos) << r;
  EXPECT_NE(r.ErrorMessage().find("groupBy"), std::string::npos) << r;
  Params by_day = range;
  by_day.emplace_back("groupBy", "day");
  EXPECT_EQ(
      Read(key_, "/v1/metrics/daily", by_day, t)["rows"],
      json::array(
          {{{"day", "2026-09-01"}, {"shipments", 10001}, {"weightKg", 0}, {"declaredValue", 0}}}));
}

// ---------------------------------------------------------------------------------------
// Carrier performance.

class CarrierPerformanceTest : public HttpApiFixture {
 protected:
  void SetUp() override {
    HttpApiFixture::SetUp();
    if (HasFatalFailure()) return;
    key_ = TenantKey("acme");
    TokenOf(Put("/v1/carriers/dhl", key_, {{"name", "DHL"}}));
    auto doc = [](const std::string& id, const std::string& carrier, const std::string& status,
                  const std::string& created, const std::string& picked,
                  const std::string& delivered, const std::string& promised) {
      json d = Doc(id, status, created, carrier);
      if (!picked.empty()) d["pickedUpAt"] = picked;
      if (!delivered.empty()) d["deliveredAt"] = delivered;
      if (!promised.empty()) d["promisedDeliveryAt"] = promised;
      return d;
    };
    json docs = json::array({
        // 2026-W45 (Mon 2026-11-02 .. Sun 2026-11-08).
        // 26 h transit, on time.
        doc("P-1", "dhl", "delivered", "2026-11-01T00:00:00Z", "2026-11-02T10:00:00Z",
            "2026-11-03T12:00:00Z", "2026-11-04T00:00:00Z"),
        // 72 h transit, late.
        doc("P-2", "dhl", "delivered", "2026-11-02T00:00:00Z", "2026-11-03T08:00:00Z",
            "2026-11-06T08:00:00Z", "2026-11-05T00:00:00Z"),
        doc("P-3", "dhl", "in_transit", "2026-11-03T00:00:00Z", "2026-11-04T00:00:00Z", "", ""),
        // 1 h transit, on time.
        doc("P-5", "ups", "delivered", "2026-11-04T00:00:00Z", "2026-11-05T00:00:00Z",
            "2026-11-05T01:00:00Z", "2026-11-06T00:00:00Z"),
        doc("P-8", "fedex", "in_transit", "2026-11-01T00:00:00Z", "2026-11-08T23:59:59Z", "", ""),
        // 2026-W44, outside most ranges below.
        doc("P-6", "dhl", "delivered", "2026-10-27T00:00:00Z", "2026-10-28T00:00:00Z",
            "2026-10-29T00:00:00Z", "2026-10-30T00:00:00Z"),
        // Never picked up: not in carrier performance.
        doc("P-7", "dhl", "booked", "2026-11-03T00:00:00Z", "", "", ""),
    });
    // P-4's milestones come from tracking events: picked up and delivered in 2026-W46
    // after 6 h, without a promise (so not on time).
    json p4 = doc("P-4", "dhl", "booked", "2026-11-08T00:00:00Z", "", "", "");
    p4["statusChangedAt"] = "2026-11-08T00:00:00Z";
    docs.push_back(p4);
    Write(key_, docs);
    json events = json::array({{{"eventId", "E-1"},
                                {"shipmentId", "P-4"},
                                {"carrierId", "dhl"},
                                {"code", "PU"},
                                {"occurredAt", "2026-11-09T09:00:00Z"}},
                               {{"eventId", "E-2"},
                                {"shipmentId", "P-4"},
                                {"carrierId", "dhl"},
                                {"code", "DL"},
                                {"occurredAt", "2026-11-09T15:00:00Z"}}});
    token_ = TokenOf(Post("/v1/tracking-events", key_, events));
    // Another org in the same weeks never shows up.
    std::string other = TenantKey("globex");
    token_ = Write(other, doc("G-1", "dhl", "delivered", "2026-11-01T00:00:00Z",
                              "2026-11-02T10:00:00Z", "2026-11-02T11:00:00Z", ""));
  }

  json Rows(Params params) {
    json page = Read(key_, "/v1/carriers/performance", params, token_);
    return page.is_object() ? page["rows"] : json(nullptr);
  }

  // A row without transitHours (compared separately, within the histogram's 2%).
  static json Row(const std::string& carrier, const json& name, const std::string& week,
                  int shipped, int delivered, int on_time, const json& rate) {
    return {{"carrierId", carrier}, {"carrierName", name},    {"week", week},
            {"shipped", shipped},   {"delivered", delivered}, {"deliveredOnTime", on_time},
            {"onTimeRate", rate}};
  }

  static void ExpectTransit(const json& row, const json& p50, const json& p95) {
    ASSERT_TRUE(row.contains("transitHours") && row["transitHours"].is_object()) << row;
    const json& t = row["transitHours"];
    for (const auto& [name, want] : {std::pair{"p50", p50}, std::pair{"p95", p95}}) {
      if (want.is_null()) {
        EXPECT_TRUE(t.contains(name) && t[name].is_null()) << name << " in " << row;
      } else {
        ASSERT_TRUE(t[name].is_number()) << name << " in " << row;
        EXPECT_NEAR(t[name].get<double>(), want.get<double>(), 0.02 * want.get<double>())
            << name << " in " << row;
      }
    }
  }

  std::string key_;
  std::int64_t token_ = 0;
};

TEST_F(CarrierPerformanceTest, RowsPerCarrierAndWeekWithRatesAndTransitPercentiles) {
  json page =
      Read(key_, "/v1/carriers/performance", {{"from", "2026-W45"}, {"to", "2026-W46"}}, token_);
  EXPECT_EQ(page["from"], "2026-W45");
  EXPECT_EQ(page["to"], "2026-W46");
  json rows = page["rows"];
  ASSERT_TRUE(rows.is_array()) << page;
  ASSERT_EQ(rows.size(), 4u) << rows;
  json without = rows;
  for (auto& r : without) r.erase("transitHours");
  EXPECT_EQ(without, json::array({Row("dhl", "DHL", "2026-W45", 3, 2, 1, 0.5),
                                  Row("dhl", "DHL", "2026-W46", 1, 1, 0, 0.0),
                                  Row("fedex", nullptr, "2026-W45", 1, 0, 0, nullptr),
                                  Row("ups", nullptr, "2026-W45", 1, 1, 1, 1.0)}));
  // dhl W45: transits of 26 h and 72 h. Nearest rank: p50 -> ceil(1.0) = the 1st, 26 h;
  // p95 -> ceil(1.9) = the 2nd, 72 h.
  ExpectTransit(rows[0], 26.0, 72.0);
  ExpectTransit(rows[1], 6.0, 6.0);          // dhl W46: one 6 h transit
  ExpectTransit(rows[2], nullptr, nullptr);  // nothing delivered
  ExpectTransit(rows[3], 1.0, 1.0);          // ups: one 1 h transit
  for (const auto& r : rows) {
    EXPECT_EQ(r.size(), 8u) << "exactly the contract's fields: " << r;
  }

  // Dates stand for their ISO weeks; a carrier filter.
  EXPECT_EQ(Rows({{"from", "2026-11-08"}, {"to", "2026-11-15"}}), rows);
  json ups = Rows({{"from", "2026-W45"}, {"to", "2026-W46"}, {"carrierId", "ups"}});
  ASSERT_EQ(ups.size(), 1u);
  EXPECT_EQ(ups[0], rows[3]);
  json w44 = Rows({{"from", "2026-W44"}, {"to", "2026-W44"}});
  ASSERT_EQ(w44.size(), 1u) << w44;
  EXPECT_EQ(w44[0]["week"], "2026-W44");
  EXPECT_EQ(w44[0]["shipped"], 1);
  EXPECT_EQ(w44[0]["deliveredOnTime"], 1);
  EXPECT_TRUE(Rows({{"from", "2026-W47"}, {"to", "2026-W53"}}).empty());
}

TEST_F(CarrierPerformanceTest, DefaultIsTheTwelveWeeksEndingThisWeekAndBadWeeksAre400) {
  // In an org of its own (the fixed weeks of the set may be recent).
  std::string fresh = TenantKey("initech");
  Timestamp now = NowSeconds();
  json recent = Doc("Q-1", "delivered", Rfc(now - 3 * kDay), "recent");
  recent["pickedUpAt"] = Rfc(now - 2 * kDay);  // this week or the one before
  recent["deliveredAt"] = Rfc(now - kDay);
  json old = Doc("Q-2", "in_transit", Rfc(now - 101 * kDay), "old");
  old["pickedUpAt"] = Rfc(now - 100 * kDay);  // 14 weeks or more ago
  std::int64_t t = Write(fresh, json::array({recent, old}));
  json page = Read(fresh, "/v1/carriers/performance", {}, t);
  ASSERT_EQ(page["rows"].size(), 1u) << page;
  EXPECT_EQ(page["rows"][0]["carrierId"], "recent") << page;
  EXPECT_EQ(page["rows"][0]["delivered"], 1) << page;

  const std::vector<std::pair<Params, std::string>> bad = {
      {{{"from", "2026-W46"}, {"to", "2026-W45"}}, "from"},
      {{{"from", "2025-W53"}}, "from"},  // 2025 has 52 weeks
      {{{"to", "2026-W54"}}, "to"},
      {{{"from", "2026-W00"}}, "from"},
      {{{"from", "2026W45"}}, "from"},
      {{{"from", "2026-w45"}}, "from"},
      {{{"to", "2026-11-31"}}, "to"},
      {{{"carrierId", "bad id"}}, "carrierId"},
      {{{"groupBy", "week"}}, "groupBy"},
  };
  for (const auto& [params, names] : bad) {
    HttpReply r = Get(WithQuery("/v1/carriers/performance", params), key_);
    EXPECT_EQ(r.status, 400) << WithQuery("/v1/carriers/performance", params) << ": " << r;
    EXPECT_NE(r.ErrorMessage().find(names), std::string::npos) << r;
  }
}

// ---------------------------------------------------------------------------------------
// Customer summaries.

class CustomerSummaryTest : public HttpApiFixture {
 protected:
  struct Expected {
    std::string id;
    std::int64_t shipments = 0, open = 0, delivered = 0, exceptions = 0;
    double value = 0;
    Timestamp last{};
  };

  void SetUp() override {
    HttpApiFixture::SetUp();
    if (HasFatalFailure()) return;
    key_ = TenantKey("acme");
    TokenOf(Put("/v1/customers/C-1", key_, {{"name", "Acme Retail"}}));
    const std::vector<std::string> statuses = {"booked", "delivered", "exception", "in_transit",
                                               "cancelled"};
    Timestamp base = ParseRfc3339("2026-11-01T00:00:00Z").value();
    json docs = json::array();
    // 40 shipments over 12 customers (ids not zero-padded), many ties on every column.
    for (int i = 0; i < 40; ++i) {
      std::string customer = i == 39 ? "" : "C-" + std::to_string(i % 12);
      const std::string& status = statuses[static_cast<size_t>(i) % statuses.size()];
      Timestamp created = base + std::chrono::hours(i % 7);
      json d = Doc("S-" + std::to_string(i), status, Rfc(created), "dhl", customer);
      double value = (i % 4) * 10.5;
      if (value > 0) d["declaredValue"] = value;
      docs.push_back(d);
      Expected& e = expected_[customer];
      e.id = customer;
      e.shipments += 1;
      e.open += status != "delivered" && status != "cancelled";
      e.delivered += status == "delivered";
      e.exceptions += status == "exception";
      e.value += value;
      e.last = std::max(e.last, created);
    }
    Write(key_, docs);
    std::string other = TenantKey("globex");
    token_ = Write(other, Doc("G-1", "booked", "2026-11-01T00:00:00Z", "dhl", "C-1"));
  }

  // The expected ids in `sort` order, ties broken by id in the same direction.
  std::vector<std::string> Order(const std::string& sort) const {
    bool desc = sort.front() == '-';
    std::string field = desc ? sort.substr(1) : sort;
    auto value = [&](const Expected& e) -> double {
      if (field == "shipments") return static_cast<double>(e.shipments);
      if (field == "open") return static_cast<double>(e.open);
      if (field == "delivered") return static_cast<double>(e.delivered);
      if (field == "exceptions") return static_cast<double>(e.exceptions);
      if (field == "declaredValue") return e.value;
      if (field == "lastShipmentAt") return static_cast<double>(ToMillis(e.last));
      return 0;
    };
    std::vector<Expected> all;
    for (const auto& [id, e] : expected_) all.push_back(e);
    std::sort(all.begin(), all.end(), [&](const Expected& a, const Expected& b) {
      auto ka = std::make_pair(value(a), a.id);
      auto kb = std::make_pair(value(b), b.id);
      return desc ? ka > kb : ka < kb;
    });
    std::vector<std::string> ids;
    for (const auto& e : all) ids.push_back(e.id);
    return ids;
  }

  std::string key_;
  std::map<std::string, Expected> expected_;
  std::int64_t token_ = 0;
};

TEST_F(CustomerSummaryTest, ItemsCarryEveryFigureAndTheName) {
  std::vector<json> items = ReadAll(key_, "/v1/customers/summary", {{"limit", "500"}}, token_);
  ASSERT_EQ(items.size(), expected_.size());
  for (const auto& item : items) {
    const Expected& e = expected_[item.value("customerId", "<none>")];
    json want = {{"customerId", e.id},
                 {"customerName", e.id == "C-1" ? json("Acme Retail") : json(nullptr)},
                 {"shipments", e.shipments},
                 {"open", e.open},
                 {"delivered", e.delivered},
                 {"exceptions", e.exceptions},
                 {"declaredValue", e.value},
                 {"lastShipmentAt", Rfc(e.last)},
                 {"_schemaVersion", core::CustomerSummaryView().spec().version}};
    EXPECT_EQ(item, want);
  }
  // By hand for C-1: shipments 1, 13, 25, 37 -> statuses delivered, in_transit, booked,
  // exception; values 10.5, 10.5, 10.5, 10.5; created at +1 h, +6 h, +4 h, +2 h.
  json c1 = Read(key_, "/v1/customers/summary", {{"customerId", "C-1"}}, token_);
  EXPECT_EQ(c1, json({{"items", json::array({{{"customerId", "C-1"},
                                              {"customerName", "Acme Retail"},
                                              {"shipments", 4},
                                              {"open", 3},
                                              {"delivered", 1},
                                              {"exceptions", 1},
                                              {"declaredValue", 42.0},
                                              {"lastShipmentAt", "2026-11-01T06:00:00Z"},
                                              {"_schemaVersion", 2}}})},
                      {"nextCursor", nullptr}}));
  EXPECT_EQ(Read(key_, "/v1/customers/summary", {{"customerId", "C-404"}}, token_)["items"],
            json::array());
}

TEST_F(CustomerSummaryTest, EverySortPagesThroughEveryCustomerOnceWithTiesByCustomerId) {
  for (const std::string field : {"customerId", "shipments", "open", "delivered", "exceptions",
                                  "declaredValue", "lastShipmentAt"}) {
    for (const std::string& sort : {field, "-" + field}) {
      for (int limit : {1, 4, 13}) {
        size_t pages = 0;
        std::vector<json> items =
            ReadAll(key_, "/v1/customers/summary",
                    {{"sort", sort}, {"limit", std::to_string(limit)}}, token_, &pages);
        EXPECT_EQ(IdsOf(items, "customerId"), Order(sort)) << sort << " limit " << limit;
        EXPECT_EQ(pages, (expected_.size() + limit - 1) / limit) << sort << " limit " << limit;
      }
    }
  }
  // The default is -shipments with 50 per page.
  json first = Read(key_, "/v1/customers/summary", {}, token_);
  EXPECT_EQ(IdsOf(first["items"].get<std::vector<json>>(), "customerId"), Order("-shipments"));
  EXPECT_TRUE(first["nextCursor"].is_null());
}

TEST_F(CustomerSummaryTest, CursorsAreBoundToTheirSortAndBadParametersAre400) {
  json page = Read(key_, "/v1/customers/summary", {{"sort", "-shipments"}, {"limit", "2"}}, token_);
  std::string cursor = page["nextCursor"].get<std::string>();
  // The default sort is -shipments: the cursor continues it.
  json next = Read(key_, "/v1/customers/summary", {{"limit", "2"}, {"cursor", cursor}}, token_);
  std::vector<std::string> order = Order("-shipments");
  EXPECT_EQ(IdsOf(next["items"].get<std::vector<json>>(), "customerId"),
            (std::vector<std::string>{order[2], order[3]}));
  std::string shipments_cursor =
      Read(key_, "/v1/shipments", {{"limit", "1"}}, token_)["nextCursor"].get<std::string>();
  const std::vector<std::pair<Params, std::string>> bad = {
      {{{"sort", "open"}, {"cursor", cursor}}, "sort"},
      {{{"sort", "shipments"}, {"cursor", cursor}}, "sort"},
      {{{"cursor", shipments_cursor}}, "cursor"},
      {{{"cursor", "garbage!!"}}, "cursor"},
      {{{"sort", "name"}}, "sort"},
      {{{"sort", "--shipments"}}, "sort"},
      {{{"sort", "+shipments"}}, "sort"},
      {{{"sort", "declared_value"}}, "sort"},
      {{{"sort", ""}}, "sort"},
      {{{"limit", "0"}}, "limit"},
      {{{"limit", "501"}}, "limit"},
      {{{"customerId", "bad id"}}, "customerId"},
      {{{"q", "x"}}, "q"},
  };
  for (const auto& [params, names] : bad) {
    HttpReply r = Get(WithQuery("/v1/customers/summary", params), key_);
    EXPECT_EQ(r.status, 400) << WithQuery("/v1/customers/summary", params) << ": " << r;
    EXPECT_EQ(r.ErrorCode(), "invalid_argument") << r;
    EXPECT_NE(r.ErrorMessage().find(names), std::string::npos) << r;
  }
}

// ---------------------------------------------------------------------------------------
// Tenant isolation and the common contract of the new reads.

class ReportIsolationTest : public HttpApiFixture {
 protected:
  void SetUp() override {
    HttpApiFixture::SetUp();
    if (HasFatalFailure()) return;
    a_ = TenantKey("org-a");
    b_ = TenantKey("org-b");
    admin_ = AdminKey();
    Timestamp now = NowSeconds();
    auto docs = [&](const std::string& prefix, const std::string& carrier,
                    const std::string& customer, int n) {
      json out = json::array();
      for (int i = 0; i < n; ++i) {
        json d = Doc(prefix + std::to_string(i), "exception", Rfc(now - kDay), carrier, customer);
        d["pickedUpAt"] = Rfc(now - kDay);
        out.push_back(d);
      }
      return out;
    };
    Write(a_, docs("A-", "dhl", "C-A", 2));
    token_ = Write(b_, docs("B-", "ups", "C-B", 3));
  }

  std::string a_, b_, admin_;
  std::int64_t token_ = 0;
};

const std::vector<std::string> kReportPaths = {"/v1/exceptions", "/v1/metrics/daily",
                                               "/v1/carriers/performance", "/v1/customers/summary"};

TEST_F(ReportIsolationTest, EachOrgSeesOnlyItsOwnRows) {
  auto check = [&](const std::string& key, Params extra, int n, const std::string& carrier,
                   const std::string& customer, const std::string& prefix) {
    std::vector<json> queue = ReadAll(key, "/v1/exceptions", extra, token_);
    EXPECT_EQ(queue.size(), static_cast<size_t>(n));
    for (const auto& item : queue) {
      EXPECT_EQ(item["id"].get<std::string>().rfind(prefix, 0), 0u) << item;
    }
    json daily = Read(key, "/v1/metrics/daily", extra, token_)["rows"];
    ASSERT_EQ(daily.size(), 1u) << daily;
    EXPECT_EQ(daily[0]["carrierId"], carrier);
    EXPECT_EQ(daily[0]["shipments"], n);
    json perf = Read(key, "/v1/carriers/performance", extra, token_)["rows"];
    ASSERT_EQ(perf.size(), 1u) << perf;
    EXPECT_EQ(perf[0]["carrierId"], carrier);
    EXPECT_EQ(perf[0]["shipped"], n);
    std::vector<json> customers = ReadAll(key, "/v1/customers/summary", extra, token_);
    ASSERT_EQ(customers.size(), 1u);
    EXPECT_EQ(customers[0]["customerId"], customer);
    EXPECT_EQ(customers[0]["shipments"], n);
  };
  check(a_, {}, 2, "dhl", "C-A", "A-");
  check(b_, {}, 3, "ups", "C-B", "B-");
  check(admin_, {{"org", "org-b"}}, 3, "ups", "C-B", "B-");
  check(a_, {{"org", "org-a"}}, 2, "dhl", "C-A", "A-");
  // An org without data: empty answers.
  std::string c = TenantKey("org-c");
  EXPECT_TRUE(ReadAll(c, "/v1/exceptions", {}, token_).empty());
  EXPECT_EQ(Read(c, "/v1/metrics/daily", {}, token_)["rows"], json::array());
  EXPECT_EQ(Read(c, "/v1/carriers/performance", {}, token_)["rows"], json::array());
  EXPECT_TRUE(ReadAll(c, "/v1/customers/summary", {}, token_).empty());
}

TEST_F(ReportIsolationTest, NamingAnotherOrgIsForbiddenAndAdminsMustNameOne) {
  for (const auto& path : kReportPaths) {
    HttpReply other = Get(path + "?org=org-b", a_);
    EXPECT_EQ(other.status, 403) << path << ": " << other;
    EXPECT_EQ(other.ErrorCode(), "permission_denied") << other;
    HttpReply admin = Get(path, admin_);
    EXPECT_EQ(admin.status, 400) << path << ": " << admin;
    EXPECT_NE(admin.ErrorMessage().find("org"), std::string::npos) << admin;
    HttpReply none = Send("GET", path, {});
    EXPECT_EQ(none.status, 401) << path << ": " << none;
    EXPECT_EQ(Get(path + "?org=bad%20org", admin_).status, 400) << path;
  }
}

TEST_F(ReportIsolationTest, MinTokenAndUnknownParameters) {
  std::string ahead = std::to_string(Committed() + 1000);
  for (const auto& path : kReportPaths) {
    HttpReply r = Get(WithQuery(path, {{"minToken", std::to_string(token_)}}), a_);
    EXPECT_EQ(r.status, 200) << path << ": " << r;
    EXPECT_GE(std::stoll("0" + r.Header("X-View-Token")), token_) << path;
    for (const auto& [params, names] : std::vector<std::pair<Params, std::string>>{
             {{{"minToken", "abc"}}, "minToken"},
             {{{"minToken", "-1"}}, "minToken"},
             {{{"minToken", ahead}}, "minToken"},
             {{{"colour", "red"}}, "colour"},
             {{{"minToken", "1"}, {"minToken", "2"}}, "minToken"}}) {
      HttpReply bad = Get(WithQuery(path, params), a_);
      EXPECT_EQ(bad.status, 400) << WithQuery(path, params) << ": " << bad;
      EXPECT_EQ(bad.ErrorCode(), "invalid_argument") << bad;
      EXPECT_NE(bad.ErrorMessage().find(names), std::string::npos) << bad;
    }
  }
}

}  // namespace
}  // namespace mv::testing
