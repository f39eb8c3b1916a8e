// POST /v1/tracking-events end to end: one event, an array, NDJSON; duplicates; events
// that arrive before their shipment; all-or-nothing rejection of bad bodies; tenant
// isolation. Expected figures are written by hand from the events the tests send.

#include <string>
#include <vector>

#include "http_fixture.h"

namespace mv::testing {
namespace {

constexpr auto kHour = std::chrono::hours(1);
constexpr auto kDay = std::chrono::hours(24);

json Event(const std::string& event_id, const std::string& shipment_id, const std::string& code,
           Timestamp occurred_at, const std::string& carrier_id = "dhl",
           const std::string& location = "") {
  json e = {{"eventId", event_id},
            {"shipmentId", shipment_id},
            {"carrierId", carrier_id},
            {"code", code},
            {"occurredAt", Rfc(occurred_at)}};
  if (!location.empty()) e["location"] = location;
  return e;
}

std::string Ndjson(const std::vector<json>& events) {
  std::string out;
  for (const auto& e : events) out += e.dump() + "\n";
  return out;
}

class TrackingEventsTest : public HttpApiFixture {
 protected:
  void SetUp() override {
    HttpApiFixture::SetUp();
    if (HasFatalFailure()) return;
    key_ = TenantKey("acme");
    now_ = NowSeconds();
    created_ = now_ - 2 * kDay;
  }

  // A booked shipment whose status dates from its creation, so that later events win.
  json Booked(const std::string& id) const {
    json doc = ShipmentDoc(id, "booked", created_);
    doc["statusChangedAt"] = Rfc(created_);
    doc["carrierId"] = "dhl";
    return doc;
  }

  // A successful tracking write: checks the answer's shape, returns it as JSON.
  json Accepted(const HttpReply& r, std::int64_t accepted, std::int64_t duplicates) {
    EXPECT_EQ(r.status, 200) << r;
    json j = r.Json();
    EXPECT_TRUE(j.is_object()) << r;
    if (!j.is_object()) return j;
    EXPECT_EQ(j.value("accepted", -1), accepted) << r;
    EXPECT_EQ(j.value("duplicates", -1), duplicates) << r;
    EXPECT_TRUE(j["token"].is_string()) << r;
    EXPECT_EQ(r.Header("X-Change-Token"), j.value("token", "")) << r;
    return j;
  }

  std::string key_;
  Timestamp now_{}, created_{};
};

TEST_F(TrackingEventsTest, OneEventAnArrayAndNdjsonMoveTheShipment) {
  std::int64_t t0 = Write(key_, Booked("S-1"));
  Timestamp pu = now_ - 30 * kHour, it = now_ - 20 * kHour, ofd = now_ - 3 * kHour,
            dl = now_ - 2 * kHour, info = now_ - kHour;

  // One object.
  HttpReply one = Post("/v1/tracking-events", key_, Event("E-1", "S-1", "PU", pu, "dhl", "AMS"));
  Accepted(one, 1, 0);
  std::int64_t t1 = TokenOf(one);
  EXPECT_EQ(t1, t0 + 1) << "one oplog entry per new event";
  EXPECT_EQ(t1, Committed());
  json row = GetShipment(key_, "S-1", t1).Json();
  EXPECT_EQ(row["status"], "picked_up") << row;
  EXPECT_EQ(row["pickedUpAt"], Rfc(pu)) << row;
  EXPECT_EQ(row["lastEvent"], json({{"code", "PU"}, {"occurredAt", Rfc(pu)}, {"location", "AMS"}}))
      << row;

  // An array.
  HttpReply array =
      Post("/v1/tracking-events", key_,
           json::array({Event("E-2", "S-1", "IT", it), Event("E-3", "S-1", "OFD", ofd)}));
  Accepted(array, 2, 0);
  std::int64_t t2 = TokenOf(array);
  EXPECT_EQ(t2, t1 + 2);
  row = GetShipment(key_, "S-1", t2).Json();
  EXPECT_EQ(row["status"], "out_for_delivery") << row;
  EXPECT_EQ(row["lastEvent"]["code"], "OFD") << row;

  // NDJSON: blank lines and CRLF line ends are fine; the last line has no newline.
  std::string body = "\n" + Event("E-4", "S-1", "DL", dl, "dhl", "Berlin").dump() + "\r\n\r\n" +
                     Event("E-5", "S-1", "INFO", info).dump();
  HttpReply nd = PostAs("/v1/tracking-events", key_, body, "application/x-ndjson");
  Accepted(nd, 2, 0);
  std::int64_t t3 = TokenOf(nd);
  EXPECT_EQ(t3, t2 + 2);
  row = GetShipment(key_, "S-1", t3).Json();
  EXPECT_EQ(row["status"], "delivered") << row;
  EXPECT_EQ(row["deliveredAt"], Rfc(dl)) << row;
  EXPECT_EQ(row["pickedUpAt"], Rfc(pu)) << row;
  // INFO maps to no status but is the latest event of any code.
  EXPECT_EQ(row["lastEvent"], json({{"code", "INFO"}, {"occurredAt", Rfc(info)}, {"location", ""}}))
      << row;
  // A Content-Type with parameters is still NDJSON.
  HttpReply nd2 = PostAs("/v1/tracking-events", key_, Ndjson({Event("E-6", "S-1", "NOTE", info)}),
                         "application/x-ndjson; charset=utf-8");
  Accepted(nd2, 1, 0);
}

TEST_F(TrackingEventsTest, DuplicatesAreCountedAndNotStoredAgain) {
  Write(key_, Booked("S-1"));
  json pu = Event("E-1", "S-1", "PU", now_ - 5 * kHour);
  std::int64_t t1 = TokenOf(Post("/v1/tracking-events", key_, pu));

  // The same event again: nothing new is written; the token is the newest one.
  HttpReply again = Post("/v1/tracking-events", key_, pu);
  Accepted(again, 0, 1);
  EXPECT_EQ(TokenOf(again), t1);
  EXPECT_EQ(Committed(), t1);

  // Repeats inside one request, and against the stored one; the identity is
  // (org, carrierId, eventId): the same eventId of another carrier is a new event.
  json dl = Event("E-2", "S-1", "DL", now_ - kHour);
  json dl_moved = dl;
  dl_moved["occurredAt"] = Rfc(now_ - 4 * kHour);  // first one wins
  json other_carrier = Event("E-1", "S-1", "INFO", now_ - 3 * kHour, "ups");
  HttpReply mixed =
      Post("/v1/tracking-events", key_, json::array({pu, dl, dl_moved, other_carrier}));
  Accepted(mixed, 2, 2);
  std::int64_t t2 = TokenOf(mixed);
  HttpReply metrics = Send("GET", "/metrics", {});
  EXPECT_NE(metrics.body.find("\nviya_mv_tracking_events_duplicates_total 3\n"), std::string::npos)
      << metrics.body;
  EXPECT_EQ(t2, t1 + 2);
  json row = GetShipment(key_, "S-1", t2).Json();
  EXPECT_EQ(row["deliveredAt"], Rfc(now_ - kHour)) << "the first of two duplicates wins: " << row;

  // Another org's event with the same identity is its own.
  std::string other = TenantKey("globex");
  json doc = Booked("S-1");
  Write(other, doc);
  Accepted(Post("/v1/tracking-events", other, pu), 1, 0);
}

TEST_F(TrackingEventsTest, AnEventBeforeItsShipmentIsAppliedWhenTheShipmentArrives) {
  Timestamp pu = now_ - 10 * kHour, dl = now_ - 2 * kHour;
  HttpReply early =
      Post("/v1/tracking-events", key_,
           json::array({Event("E-1", "S-9", "PU", pu), Event("E-2", "S-9", "DL", dl)}));
  Accepted(early, 2, 0);
  std::int64_t t1 = TokenOf(early);
  EXPECT_EQ(GetShipment(key_, "S-9", t1).status, 404) << "events alone make no shipment";

  std::int64_t t2 = Write(key_, Booked("S-9"));
  HttpReply r = GetShipment(key_, "S-9", t2);
  ASSERT_EQ(r.status, 200) << r;
  json row = r.Json();
  EXPECT_EQ(row["status"], "delivered") << row;
  EXPECT_EQ(row["pickedUpAt"], Rfc(pu)) << row;
  EXPECT_EQ(row["deliveredAt"], Rfc(dl)) << row;
  EXPECT_EQ(row["lastEvent"]["code"], "DL") << row;
}

class TrackingBadInputTest : public TrackingEventsTest {
 protected:
  void SetUp() override {
    TrackingEventsTest::SetUp();
    if (HasFatalFailure()) return;
    token_ = Write(key_, Booked("S-1"));
    HttpReply r = GetShipment(key_, "S-1", token_);
    ASSERT_EQ(r.status, 200) << r;
    before_ = r.Json();
  }

  void ExpectRejected(const HttpReply& r, int status, const std::string& names,
                      const std::string& what) {
    EXPECT_EQ(r.status, status) << what << ": " << r;
    EXPECT_EQ(r.Header("Content-Type").rfind("application/json", 0), 0u) << what;
    EXPECT_FALSE(r.ErrorCode().empty()) << what << ": " << r;
    EXPECT_NE(r.ErrorMessage().find(names), std::string::npos)
        << what << ": the message should name '" << names << "': " << r;
  }

  // Nothing reached the oplog, and S-1 is as it was once a later write is applied.
  void ExpectNothingStored() {
    EXPECT_EQ(Committed(), token_) << "a rejected request reached the oplog";
    std::int64_t t = Write(key_, ShipmentDoc("SENTINEL", "booked", created_));
    HttpReply r = GetShipment(key_, "S-1", t);
    ASSERT_EQ(r.status, 200) << r;
    EXPECT_EQ(r.Json(), before_);
  }

  std::int64_t token_ = 0;
  json before_;
};

TEST_F(TrackingBadInputTest, InvalidEventsRejectTheWholeRequest) {
  json good = Event("E-1", "S-1", "DL", now_ - kHour);
  auto without = [&](const std::string& field) {
    json e = Event("E-9", "S-1", "PU", now_ - 2 * kHour);
    e.erase(field);
    return e;
  };
  auto with = [&](const std::string& field, const json& value) {
    json e = Event("E-9", "S-1", "PU", now_ - 2 * kHour);
    e[field] = value;
    return e;
  };
  struct Case {
    std::string what, body, names;
  };
  const std::vector<Case> json_cases = {
      {"malformed JSON", R"({"eventId": "E-1", )", "JSON"},
      {"empty body", "", "empty"},
      {"a JSON string", R"("E-1")", "body"},
      {"a number", "7", "body"},
      {"empty array", "[]", "empty"},
      {"missing eventId", without("eventId").dump(), "eventId"},
      {"missing shipmentId", without("shipmentId").dump(), "shipmentId"},
      {"missing carrierId", without("carrierId").dump(), "carrierId"},
      {"missing code", without("code").dump(), "code"},
      {"missing occurredAt", without("occurredAt").dump(), "occurredAt"},
      {"occurredAt not a time", with("occurredAt", "yesterday").dump(), "occurredAt"},
      {"occurredAt a number", with("occurredAt", 1700000000).dump(), "occurredAt"},
      {"shipmentId with a space", with("shipmentId", "S 1").dump(), "shipmentId"},
      {"empty code", with("code", "").dump(), "code"},
      {"location a number", with("location", 5).dump(), "location"},
      {"org a number", with("org", 5).dump(), "org"},
      // A valid event first: the array is all or nothing.
      {"array, element 2 missing occurredAt",
       json::array({good, with("eventId", "E-7"), without("occurredAt")}).dump(),
       "events[2].occurredAt"},
      {"array, element 3 with a bad time",
       json::array({good, good, good, with("occurredAt", "2026-13-01T00:00:00Z")}).dump(),
       "events[3].occurredAt"},
      {"array, element 1 not an object", json::array({good, 5}).dump(), "events[1]"},
  };
  for (const auto& c : json_cases) {
    HttpReply r = Post("/v1/tracking-events", key_, c.body);
    ExpectRejected(r, 400, c.names, c.what);
    EXPECT_EQ(r.ErrorCode(), "invalid_argument") << c.what;
  }
  // NDJSON: line numbers count every line, blank ones included.
  const std::vector<Case> nd_cases = {
      {"bad 4th line", Ndjson({good, good}) + "\n" + without("code").dump() + "\n", "line 4: code"},
      {"invalid JSON line", good.dump() + "\n{\"eventId\": \n", "line 2: invalid JSON"},
      {"a line that is an array", json::array({good}).dump() + "\n", "line 1"},
      {"two objects on one line", good.dump() + good.dump() + "\n", "line 1"},
      {"no events", "\n\n  \n", "no tracking events"},
      {"empty", "", "empty"},
  };
  for (const auto& c : nd_cases) {
    HttpReply r = PostAs("/v1/tracking-events", key_, c.body, "application/x-ndjson");
    ExpectRejected(r, 400, c.names, "NDJSON " + c.what);
  }
  // NDJSON sent as JSON is not JSON.
  ExpectRejected(Post("/v1/tracking-events", key_, Ndjson({good, good})), 400, "JSON",
                 "NDJSON without its Content-Type");
  ExpectRejected(Send("POST", "/v1/tracking-events?dryRun=1", Bearer(key_), good.dump()), 400,
                 "dryRun", "unknown parameter");
  ExpectNothingStored();
  // The valid event of the rejected arrays was not stored: it is new now.
  Accepted(Post("/v1/tracking-events", key_, good), 1, 0);
}

TEST_F(TrackingBadInputTest, MoreThanTenThousandEventsIs413) {
  json array = json::array();
  std::string nd;
  for (int i = 0; i <= 10000; ++i) {
    json e = Event("M-" + std::to_string(i), "S-1", "IT", now_ - kHour);
    array.push_back(e);
    nd += e.dump() + "\n";
  }
  HttpReply r = Post("/v1/tracking-events", key_, array);
  ExpectRejected(r, 413, "10000", "array");
  EXPECT_EQ(r.ErrorCode(), "payload_too_large") << r;
  HttpReply n = PostAs("/v1/tracking-events", key_, nd, "application/x-ndjson");
  ExpectRejected(n, 413, "10000", "NDJSON");
  ExpectNothingStored();
  // Exactly 10000 is fine.
  array.erase(array.size() - 1);
  Accepted(Post("/v1/tracking-events", key_, array), 10000, 0);
}

TEST_F(TrackingBadInputTest, TenantIsolationAndAdminKeys) {
  std::string other = TenantKey("globex");
  std::string admin = AdminKey();
  std::int64_t t_other = Write(other, Booked("S-1"));
  token_ = t_other;
  json e = Event("E-1", "S-1", "DL", now_ - kHour);
  json naming_other = e;
  naming_other["org"] = "globex";
  EXPECT_EQ(Post("/v1/tracking-events", key_, naming_other).status, 403);
  EXPECT_EQ(Post("/v1/tracking-events?org=globex", key_, e).status, 403);
  EXPECT_EQ(
      PostAs("/v1/tracking-events", key_, Ndjson({naming_other}), "application/x-ndjson").status,
      403);
  json in_acme = e;
  in_acme["org"] = "acme";
  ExpectRejected(
      PostAs("/v1/tracking-events", admin, Ndjson({in_acme, naming_other}), "application/x-ndjson"),
      400, "line 2: org", "two orgs in one request");
  ExpectRejected(Post("/v1/tracking-events", admin, e), 400, "org", "admin without org");
  ExpectRejected(Send("POST", "/v1/tracking-events", {}, e.dump()), 401, "Authorization", "no key");
  EXPECT_EQ(Committed(), token_);

  // The admin names the org; only that org's S-1 moves.
  HttpReply w = Post("/v1/tracking-events?org=globex", admin, e);
  Accepted(w, 1, 0);
  std::int64_t t = TokenOf(w);
  EXPECT_EQ(GetShipment(other, "S-1", t).Json()["status"], "delivered");
  EXPECT_EQ(GetShipment(key_, "S-1", t).Json(), before_);
  // A tenant naming its own org is fine.
  Accepted(Post("/v1/tracking-events", key_, in_acme), 1, 0);
}

}  // namespace
}  // namespace mv::testing
