// End-to-end tests of the HTTP API (DESIGN.md section 8) against a real server: every
// request goes over TCP to Application's ApiServer, writes go through the source store and
// its oplog, and reads see what the live stream worker applied to the views.
//
// Expected answers are computed here, by hand or from the documents the test wrote, never
// by calling the code under test.

#include <algorithm>
#include <atomic>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "http_fixture.h"
#include "net/gzip.h"
#include "storage/sqlite/sqlite_db.h"

namespace mv::testing {
namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

constexpr auto kHour = std::chrono::hours(1);
constexpr auto kDay = std::chrono::hours(24);

// A timestamp field of a response; a failure (and the epoch) when it is not one.
Timestamp Parsed(const json& text) {
  auto t = text.is_string() ? ParseRfc3339(text.get<std::string>()) : std::nullopt;
  if (!t) ADD_FAILURE() << "not an RFC 3339 timestamp: " << text;
  return t.value_or(Timestamp{});
}

// X-View-Token of a response; a failure (and -1) when it is missing or not a number.
std::int64_t ViewToken(const HttpReply& r) {
  try {
    return std::stoll(r.Header("X-View-Token"));
  } catch (const std::exception&) {
    ADD_FAILURE() << "no X-View-Token: " << r;
    return -1;
  }
}

// ---------------------------------------------------------------------------------------
// Read-your-writes and the shape of a row.

class ReadYourWritesTest : public HttpApiFixture {};

TEST_F(ReadYourWritesTest, PostThenGetWithMinTokenSeesTheRowWithContractFields) {
  std::string key = TenantKey("acme");
  Timestamp now = NowSeconds();
  Timestamp created = now - 2 * kDay;
  Timestamp picked = now - kDay;
  Timestamp promised = now + 10 * kDay;  // on track: at risk only from promised - 4 h
  json moving = {{"id", "S-1001"},
                 {"reference", "PO-77"},
                 {"customerId", "C-9"},
                 {"carrierId", "dhl"},
                 {"service", "express"},
                 {"status", "in_transit"},
                 {"origin", {{"country", "NL"}, {"postalCode", "1012"}}},
                 {"destination", {{"country", "DE"}}},
                 {"weightKg", 2.5},
                 {"declaredValue", 120.0},
                 {"currency", "EUR"},
                 {"createdAt", Rfc(created)},
                 {"pickedUpAt", Rfc(picked)},
                 {"promisedDeliveryAt", Rfc(promised)}};
  Timestamp delivered_at = now - 3 * kHour;
  Timestamp status_changed = now - 3 * kHour;
  json delivered = {{"id", "S-1002"},
                    {"reference", "PO-78"},
                    {"status", "delivered"},
                    {"statusChangedAt", Rfc(status_changed)},
                    {"createdAt", Rfc(created)},
                    {"pickedUpAt", Rfc(picked)},
                    {"deliveredAt", Rfc(delivered_at)},
                    {"promisedDeliveryAt", Rfc(now - kHour)}};  // delivered before: met

  Timestamp before = SystemClock().Now();
  HttpReply w = Post("/v1/shipments", key, json::array({moving, delivered}));
  Timestamp after = SystemClock().Now();
  ASSERT_EQ(w.status, 200) << w;
  json wj = w.Json();
  ASSERT_TRUE(wj.is_object()) << w;
  EXPECT_EQ(wj["count"], 2) << w;
  ASSERT_TRUE(wj["token"].is_string()) << w;
  std::int64_t token = TokenOf(w);
  ASSERT_GT(token, 0);

  HttpReply r = GetShipment(key, "S-1001", token);
  ASSERT_EQ(r.status, 200) << r;
  EXPECT_GE(ViewToken(r), token) << "X-View-Token: '" << r.Header("X-View-Token") << "'";
  json row = r.Json();
  ASSERT_TRUE(row.is_object()) << r;
  EXPECT_EQ(row["id"], "S-1001");
  EXPECT_EQ(row["reference"], "PO-77");
  EXPECT_EQ(row["customerId"], "C-9");
  EXPECT_EQ(row["carrierId"], "dhl");
  EXPECT_EQ(row["service"], "express");
  EXPECT_EQ(row["status"], "in_transit");
  EXPECT_EQ(row["origin"], json({{"country", "NL"}, {"postalCode", "1012"}}));
  EXPECT_EQ(row["destination"], json({{"country", "DE"}}));
  EXPECT_EQ(row["weightKg"], 2.5);
  EXPECT_EQ(row["declaredValue"], 120.0);
  EXPECT_EQ(row["currency"], "EUR");
  EXPECT_EQ(Parsed(row["createdAt"]), created) << row["createdAt"];
  EXPECT_EQ(Parsed(row["pickedUpAt"]), picked) << row["pickedUpAt"];
  EXPECT_EQ(Parsed(row["promisedDeliveryAt"]), promised) << row["promisedDeliveryAt"];
  EXPECT_FALSE(row.contains("deliveredAt") && !row["deliveredAt"].is_null()) << row;
  // statusChangedAt was not given: it is the write time.
  Timestamp changed = Parsed(row["statusChangedAt"]);
  EXPECT_GE(changed, before) << row["statusChangedAt"];
  EXPECT_LE(changed, after) << row["statusChangedAt"];
  ASSERT_TRUE(row["sla"].is_object()) << row;
  EXPECT_EQ(row["sla"]["status"], "on_track");
  EXPECT_EQ(Parsed(row["sla"]["nextChangeAt"]), promised - 4 * kHour) << row["sla"];
  EXPECT_TRUE(row.contains("lastEvent")) << row;
  EXPECT_TRUE(row["lastEvent"].is_null()) << row;
  EXPECT_EQ(row["_schemaVersion"], 3);
  EXPECT_FALSE(row.contains("_document")) << "internal fields are never answered: " << row;
  // No customer or carrier documents exist: the names are there, and null.
  EXPECT_TRUE(row.contains("customerName") && row["customerName"].is_null()) << row;
  EXPECT_TRUE(row.contains("carrierName") && row["carrierName"].is_null()) << row;
  EXPECT_TRUE(row.contains("serviceLevel") && row["serviceLevel"].is_null()) << row;

  HttpReply r2 = GetShipment(key, "S-1002", token);
  ASSERT_EQ(r2.status, 200) << r2;
  json row2 = r2.Json();
  EXPECT_EQ(row2["status"], "delivered");
  EXPECT_EQ(Parsed(row2["deliveredAt"]), delivered_at) << row2;
  EXPECT_EQ(Parsed(row2["statusChangedAt"]), status_changed) << row2;
  EXPECT_EQ(row2["sla"]["status"], "met") << row2;
  EXPECT_TRUE(row2["sla"]["nextChangeAt"].is_null()) << row2;
}

TEST_F(ReadYourWritesTest, EveryUpdateIsVisibleToTheNextReadWithItsToken) {
  std::string key = TenantKey("acme");
  Timestamp created = NowSeconds() - kDay;
  const std::vector<std::string> statuses = {"booked",           "picked_up", "in_transit",
                                             "out_for_delivery", "exception", "delivered"};
  std::int64_t previous = 0;
  for (int round = 0; round < 3; ++round) {
    for (const auto& status : statuses) {
      std::int64_t token = Write(key, ShipmentDoc("S-1", status, created));
      ASSERT_GT(token, previous) << "tokens must increase";
      previous = token;
      HttpReply r = GetShipment(key, "S-1", token);
      ASSERT_EQ(r.status, 200) << r;
      EXPECT_GE(ViewToken(r), token);
      EXPECT_EQ(r.Json()["status"], status) << "round " << round << ": " << r;
      // The list read with the same token agrees.
      std::vector<json> items = ListAll(key, {}, token);
      ASSERT_EQ(items.size(), 1u);
      EXPECT_EQ(items[0]["status"], status);
    }
  }
}

TEST_F(ReadYourWritesTest, StatusChangedAtIsKeptUntilTheStatusChanges) {
  // When a document does not give statusChangedAt it is the write time if the status
  // changed, else the stored value (SourceStore::UpsertShipments).
  std::string key = TenantKey("acme");
  Timestamp created = NowSeconds() - kDay;
  json doc = ShipmentDoc("S-1", "booked", created);
  std::int64_t t1 = Write(key, doc);
  json first = GetShipment(key, "S-1", t1).Json();
  Timestamp changed1 = Parsed(first["statusChangedAt"]);
  ASSERT_NE(changed1, Timestamp{}) << first;

  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  doc["reference"] = "PO-2";  // same status, other fields change
  std::int64_t t2 = Write(key, doc);
  json second = GetShipment(key, "S-1", t2).Json();
  EXPECT_EQ(second["reference"], "PO-2");
  EXPECT_EQ(Parsed(second["statusChangedAt"]), changed1) << second;

  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  doc["status"] = "picked_up";
  std::int64_t t3 = Write(key, doc);
  json third = GetShipment(key, "S-1", t3).Json();
  EXPECT_EQ(third["status"], "picked_up");
  EXPECT_GT(Parsed(third["statusChangedAt"]), changed1) << third;

  // A statusChangedAt given by the caller wins.
  Timestamp given = created + kHour;
  doc["status"] = "in_transit";
  doc["statusChangedAt"] = Rfc(given);
  std::int64_t t4 = Write(key, doc);
  EXPECT_EQ(Parsed(GetShipment(key, "S-1", t4).Json()["statusChangedAt"]), given);
}

TEST_F(ReadYourWritesTest, TimestampsAreAnsweredInUtc) {
  std::string key = TenantKey("acme");
  json doc = {{"id", "S-1"},
              {"status", "booked"},
              {"createdAt", "2026-11-01T12:00:00+02:00"},
              {"statusChangedAt", "2026-11-01T10:30:00.250Z"},
              {"promisedDeliveryAt", "2026-11-03T12:00:00-05:00"}};
  std::int64_t token = Write(key, doc);
  json row = GetShipment(key, "S-1", token).Json();
  EXPECT_EQ(row["createdAt"], "2026-11-01T10:00:00Z") << row;
  EXPECT_EQ(row["statusChangedAt"], "2026-11-01T10:30:00.250Z") << row;
  EXPECT_EQ(row["promisedDeliveryAt"], "2026-11-03T17:00:00Z") << row;
  // createdFrom accepts the same instant in another offset.
  EXPECT_EQ(ListAll(key, {{"createdFrom", "2026-11-01T05:00:00-05:00"}}, token).size(), 1u);
  EXPECT_EQ(ListAll(key, {{"createdTo", "2026-11-01T05:00:00-05:00"}}, token).size(), 0u);
}

TEST_F(ReadYourWritesTest, MinTokenEqualToTheNewestChangeAnswersAtOnce) {
  std::string key = TenantKey("acme");
  std::int64_t token = Write(key, ShipmentDoc("S-1", "booked", NowSeconds()));
  ASSERT_EQ(token, Committed());
  for (const std::string target : {"/v1/shipments/S-1", "/v1/shipments", "/v1/ops/realtime"}) {
    auto started = std::chrono::steady_clock::now();
    HttpReply r = Get(WithQuery(target, {{"minToken", std::to_string(token)}}), key);
    EXPECT_EQ(r.status, 200) << target << ": " << r;
    EXPECT_GE(ViewToken(r), token) << target;
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(1)) << target;
  }
  // minToken=0 and no minToken are always fine.
  EXPECT_EQ(Get("/v1/shipments/S-1?minToken=0", key).status, 200);
}

// The bounded wait: the views are held back by another writer on views.db, so a read
// with a newer minToken times out (504) instead of answering stale data.
class MinTokenTimeoutTest : public HttpApiFixture {
 protected:
  void Configure(app::Config& config) override { config.http.min_token_timeout_ms = 300; }
};

TEST_F(MinTokenTimeoutTest, WaitsBoundedThen504AndAnswersOnceTheViewsCatchUp) {
  std::string key = TenantKey("acme");  // before the lock: keys live in views.db too
  Timestamp created = NowSeconds() - kDay;
  std::int64_t t0 = Write(key, ShipmentDoc("S-1", "booked", created));
  ASSERT_EQ(GetShipment(key, "S-1", t0).status, 200);

  storage::sqlite::Database::Options options;
  options.busy_timeout_ms = 100;
  auto blocker = storage::sqlite::Database::Open(app_->config().data_dir + "/views.db", options);
  ASSERT_TRUE(blocker.ok()) << blocker.status().ToString();
  auto lock = (*blocker)->BeginWrite();
  ASSERT_TRUE(lock.ok()) << lock.status().ToString();

  std::int64_t t1 = Write(key, ShipmentDoc("S-1", "delivered", created));  // source.db: free
  auto started = std::chrono::steady_clock::now();
  HttpReply r = GetShipment(key, "S-1", t1);
  auto waited = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(r.status, 504) << r;
  EXPECT_EQ(r.ErrorCode(), "deadline_exceeded") << r;
  EXPECT_NE(r.ErrorMessage().find(std::to_string(t1)), std::string::npos) << r;
  EXPECT_GE(waited, std::chrono::milliseconds(250));
  EXPECT_LT(waited, std::chrono::milliseconds(1500));
  // Without minToken the read answers at once, with the older view and its token.
  HttpReply now = Get("/v1/shipments/S-1", key);
  ASSERT_EQ(now.status, 200) << now;
  EXPECT_EQ(now.Json()["status"], "booked");
  EXPECT_LT(ViewToken(now), t1);

  lock->reset();  // rolls back: the worker's pending batch can commit now
  HttpReply caught_up;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  do {
    caught_up = GetShipment(key, "S-1", t1);
  } while (caught_up.status == 504 && std::chrono::steady_clock::now() < deadline);
  ASSERT_EQ(caught_up.status, 200) << caught_up;
  EXPECT_EQ(caught_up.Json()["status"], "delivered");
  EXPECT_GE(ViewToken(caught_up), t1);
}

// ---------------------------------------------------------------------------------------
// Arrays are all or nothing.

class ArrayWriteTest : public HttpApiFixture {};

TEST_F(ArrayWriteTest, OneInvalidElementRejectsTheWholeArray) {
  std::string key = TenantKey("acme");
  Timestamp created = NowSeconds() - kDay;
  // S-0 exists before; the array would update it.
  std::int64_t t0 = Write(key, ShipmentDoc("S-0", "booked", created));
  std::int64_t committed = Committed();

  json array =
      json::array({ShipmentDoc("S-0", "delivered", created), ShipmentDoc("A-1", "booked", created),
                   ShipmentDoc("A-2", "shipped", created),  // unknown status
                   ShipmentDoc("A-3", "booked", created)});
  HttpReply r = Post("/v1/shipments", key, array);
  EXPECT_EQ(r.status, 400) << r;
  EXPECT_EQ(r.ErrorCode(), "invalid_argument") << r;
  EXPECT_EQ(r.ErrorMessage().rfind("[2].status", 0), 0u)
      << "message must start with the index and field: " << r;
  EXPECT_NE(r.ErrorMessage().find("shipped"), std::string::npos) << r;
  EXPECT_EQ(Committed(), committed) << "a rejected array must not reach the oplog";

  // A later valid write; once the views have applied it, they show none of the array.
  std::int64_t t1 = Write(key, ShipmentDoc("OK-1", "booked", created));
  ASSERT_GT(t1, t0);
  for (const std::string id : {"A-1", "A-2", "A-3"}) {
    HttpReply g = GetShipment(key, id, t1);
    EXPECT_EQ(g.status, 404) << id << ": " << g;
    EXPECT_EQ(g.ErrorCode(), "not_found") << g;
  }
  HttpReply s0 = GetShipment(key, "S-0", t1);
  ASSERT_EQ(s0.status, 200) << s0;
  EXPECT_EQ(s0.Json()["status"], "booked") << "the valid first element must not be applied";
  // Same createdAt: ordered by id descending.
  EXPECT_EQ(Ids(ListAll(key, {}, t1)), (std::vector<std::string>{"S-0", "OK-1"}));
  auto board = Realtime(key, t1);
  EXPECT_EQ(board["byStatus"]["booked"], 2) << board;
  EXPECT_EQ(board["byStatus"]["delivered"], 0) << board;
}

TEST_F(ArrayWriteTest, TheSameIdTwiceInOneArrayEndsWithTheLastDocument) {
  std::string key = TenantKey("acme");
  Timestamp created = NowSeconds() - kDay;
  json array =
      json::array({ShipmentDoc("S-1", "booked", created), ShipmentDoc("S-2", "booked", created),
                   ShipmentDoc("S-1", "exception", created)});
  HttpReply r = Post("/v1/shipments", key, array);
  ASSERT_EQ(r.status, 200) << r;
  std::int64_t token = TokenOf(r);
  EXPECT_EQ(GetShipment(key, "S-1", token).Json()["status"], "exception");
  EXPECT_EQ(ListAll(key, {}, token).size(), 2u);
  json board = Realtime(key, token);
  EXPECT_EQ(board.value("shipments", -1), 2) << board;
  EXPECT_EQ(board["byStatus"]["booked"], 1) << board;
  EXPECT_EQ(board["byStatus"]["exception"], 1) << board;
  EXPECT_EQ(board["exceptions"], 1) << board;
}

TEST_F(ArrayWriteTest, ValidArrayIsWrittenAtOnceWithTheLastToken) {
  std::string key = TenantKey("acme");
  Timestamp created = NowSeconds() - kDay;
  std::int64_t before = Committed();
  json array = json::array();
  for (int i = 0; i < 5; ++i)
    array.push_back(ShipmentDoc("B-" + std::to_string(i), "booked", created));
  HttpReply r = Post("/v1/shipments", key, array);
  ASSERT_EQ(r.status, 200) << r;
  EXPECT_EQ(r.Json()["count"], 5);
  std::int64_t token = TokenOf(r);
  EXPECT_EQ(token, Committed()) << "the token is that of the last oplog entry";
  EXPECT_EQ(token - before, 5) << "one oplog entry per shipment";
  EXPECT_EQ(ListAll(key, {}, token).size(), 5u);
}

// ---------------------------------------------------------------------------------------
// The realtime board follows inserts, updates and deletes.

class RealtimeBoardTest : public HttpApiFixture {
 protected:
  void SetUp() override {
    HttpApiFixture::SetUp();
    if (HasFatalFailure()) return;
    key_ = TenantKey("acme");
    now_ = NowSeconds();
    created_ = now_ - 2 * kDay;
    far_ = now_ + 30 * kDay;
  }

  json Doc(const std::string& id, const std::string& status, std::optional<Timestamp> promised,
           std::optional<Timestamp> delivered = std::nullopt) {
    json d = ShipmentDoc(id, status, created_);
    if (promised) d["promisedDeliveryAt"] = Rfc(*promised);
    if (delivered) d["deliveredAt"] = Rfc(*delivered);
    return d;
  }

  // Writes the hand-built set; returns the token.
  std::int64_t WriteSet() {
    json set = json::array({
        Doc("BK-1", "booked", far_),                    // open, on_track
        Doc("BK-2", "booked", far_),                    // open, on_track
        Doc("BK-3", "booked", std::nullopt),            // open, sla none
        Doc("EX-1", "exception", far_),                 // open, exception => at_risk
        Doc("DL-1", "delivered", far_, now_ - kHour),   // closed, met
        Doc("BR-1", "in_transit", now_ - kHour),        // open, breached (promise past)
        Doc("AR-1", "out_for_delivery", now_ + kHour),  // open, at_risk (inside 4 h)
    });
    return Write(key_, set);
  }

  static void ExpectBoard(const json& board, const std::map<std::string, int>& by_status, int open,
                          int at_risk, int breached, int exceptions) {
    ASSERT_TRUE(board.is_object()) << board;
    const std::vector<std::string> all = {"booked",           "picked_up", "in_transit",
                                          "out_for_delivery", "delivered", "exception",
                                          "returned",         "cancelled"};
    ASSERT_TRUE(board["byStatus"].is_object()) << board;
    for (const auto& s : all) {
      auto it = by_status.find(s);
      EXPECT_EQ(board["byStatus"].value(s, -1), it == by_status.end() ? 0 : it->second)
          << "byStatus." << s << " in " << board;
    }
    EXPECT_EQ(board.value("open", -1), open) << board;
    EXPECT_EQ(board.value("atRisk", -1), at_risk) << board;
    EXPECT_EQ(board.value("breached", -1), breached) << board;
    EXPECT_EQ(board.value("exceptions", -1), exceptions) << board;
  }

  std::string key_;
  Timestamp now_{}, created_{}, far_{};
};

TEST_F(RealtimeBoardTest, CountsAHandBuiltSet) {
  std::int64_t token = WriteSet();
  json board = Realtime(key_, token);
  EXPECT_EQ(board["org"], "acme");
  // open: everything but DL-1 = 6; at risk: EX-1 (exception with a promise) and AR-1;
  // breached: BR-1; exceptions: EX-1.
  ExpectBoard(board,
              {{"booked", 3},
               {"exception", 1},
               {"delivered", 1},
               {"in_transit", 1},
               {"out_for_delivery", 1}},
              /*open=*/6, /*at_risk=*/2, /*breached=*/1, /*exceptions=*/1);
  // The SLA status of each row agrees.
  std::map<std::string, std::string> sla;
  for (const auto& item : ListAll(key_, {}, token)) sla[item["id"]] = item["sla"]["status"];
  EXPECT_EQ(sla, (std::map<std::string, std::string>{{"BK-1", "on_track"},
                                                     {"BK-2", "on_track"},
                                                     {"BK-3", "none"},
                                                     {"EX-1", "at_risk"},
                                                     {"DL-1", "met"},
                                                     {"BR-1", "breached"},
                                                     {"AR-1", "at_risk"}}));
}

TEST_F(RealtimeBoardTest, UpdatesMoveCounts) {
  std::int64_t token = WriteSet();
  // BK-1 is picked up; AR-1 is delivered (before its promise); EX-1 is back in transit.
  token = Write(key_, json::array({Doc("BK-1", "picked_up", far_),
                                   Doc("AR-1", "delivered", now_ + kHour, now_),
                                   Doc("EX-1", "in_transit", far_)}));
  json board = Realtime(key_, token);
  ExpectBoard(board, {{"booked", 2}, {"picked_up", 1}, {"in_transit", 2}, {"delivered", 2}},
              /*open=*/5, /*at_risk=*/0, /*breached=*/1, /*exceptions=*/0);
  EXPECT_EQ(board.value("shipments", -1), 7) << "an upsert of an existing id adds no shipment";

  // Upserting the same documents again changes nothing.
  token = Write(key_, json::array({Doc("BK-1", "picked_up", far_),
                                   Doc("AR-1", "delivered", now_ + kHour, now_),
                                   Doc("EX-1", "in_transit", far_)}));
  ExpectBoard(Realtime(key_, token),
              {{"booked", 2}, {"picked_up", 1}, {"in_transit", 2}, {"delivered", 2}}, 5, 0, 1, 0);

  // BR-1 goes into exception: still breached (promise past), now an exception too.
  token = Write(key_, Doc("BR-1", "exception", now_ - kHour));
  ExpectBoard(
      Realtime(key_, token),
      {{"booked", 2}, {"picked_up", 1}, {"in_transit", 1}, {"delivered", 2}, {"exception", 1}}, 5,
      0, 1, 1);
}

TEST_F(RealtimeBoardTest, DeleteRemovesTheRowAndItsCounts) {
  std::int64_t token = WriteSet();
  HttpReply d = Delete("/v1/shipments/BR-1", key_);
  ASSERT_EQ(d.status, 200) << d;
  std::int64_t dt = TokenOf(d);
  EXPECT_GT(dt, token);
  EXPECT_EQ(d.Json()["count"], 1) << d;

  HttpReply g = GetShipment(key_, "BR-1", dt);
  EXPECT_EQ(g.status, 404) << g;
  EXPECT_EQ(g.ErrorCode(), "not_found") << g;
  EXPECT_NE(g.ErrorMessage().find("BR-1"), std::string::npos) << g;
  EXPECT_GE(ViewToken(g), dt) << "a 404 read still answers the view token";
  ExpectBoard(Realtime(key_, dt),
              {{"booked", 3}, {"exception", 1}, {"delivered", 1}, {"out_for_delivery", 1}},
              /*open=*/5, /*at_risk=*/2, /*breached=*/0, /*exceptions=*/1);
  EXPECT_EQ(ListAll(key_, {}, dt).size(), 6u);

  // Deleting it again, or an id that never existed: 404, and nothing written.
  std::int64_t committed = Committed();
  for (const std::string id : {"BR-1", "NOPE-1"}) {
    HttpReply again = Delete("/v1/shipments/" + id, key_);
    EXPECT_EQ(again.status, 404) << id << ": " << again;
    EXPECT_EQ(again.ErrorCode(), "not_found") << again;
  }
  EXPECT_EQ(Committed(), committed);
  // A bad id is a 400, not a 404.
  HttpReply bad = Delete("/v1/shipments/bad%20id", key_);
  EXPECT_EQ(bad.status, 400) << bad;

  // The store still takes writes after the failed deletes, and a deleted id can come back.
  std::int64_t t2 = Write(key_, Doc("BR-1", "in_transit", now_ - kHour));
  HttpReply back = GetShipment(key_, "BR-1", t2);
  EXPECT_EQ(back.status, 200) << back;
  ExpectBoard(Realtime(key_, t2),
              {{"booked", 3},
               {"exception", 1},
               {"delivered", 1},
               {"in_transit", 1},
               {"out_for_delivery", 1}},
              6, 2, 1, 1);

  // Deleting everything leaves an all-zero board.
  std::int64_t last = 0;
  for (const std::string id : {"BK-1", "BK-2", "BK-3", "EX-1", "DL-1", "BR-1", "AR-1"}) {
    last = TokenOf(Delete("/v1/shipments/" + id, key_));
  }
  json empty = Realtime(key_, last);
  ExpectBoard(empty, {}, 0, 0, 0, 0);
  EXPECT_TRUE(ListAll(key_, {}, last).empty());
}

TEST_F(RealtimeBoardTest, TheSlaTickerMovesRowsAsTheClockPasses) {
  // Real time: one shipment enters the at-risk window, another passes its promise, both
  // within ~1.5 s; the ticker runs every 200 ms in these tests.
  Timestamp now = SystemClock().Now();
  json body = json::array({Doc("RISK-1", "in_transit", now + 4 * kHour + Millis(1500)),
                           Doc("LATE-1", "in_transit", now + Millis(1500))});
  std::int64_t token = Write(key_, body);
  json before = Realtime(key_, token);
  // RISK-1 on track, LATE-1 at risk (inside the window), unless the clock already moved on.
  if (SystemClock().Now() < now + Millis(1200)) {
    ExpectBoard(before, {{"in_transit", 2}}, 2, 1, 0, 0);
    json risk = GetShipment(key_, "RISK-1", token).Json();
    EXPECT_EQ(risk["sla"]["status"], "on_track") << risk;
    EXPECT_EQ(Parsed(risk["sla"]["nextChangeAt"]), now + Millis(1500)) << risk;
  }
  json after;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(6);
  do {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    after = Realtime(key_, token);
  } while (!(after.value("atRisk", -1) == 1 && after.value("breached", -1) == 1) &&
           std::chrono::steady_clock::now() < deadline);
  ExpectBoard(after, {{"in_transit", 2}}, 2, 1, 1, 0);
  EXPECT_EQ(GetShipment(key_, "RISK-1", token).Json()["sla"]["status"], "at_risk");
  json late = GetShipment(key_, "LATE-1", token).Json();
  EXPECT_EQ(late["sla"]["status"], "breached") << late;
  EXPECT_TRUE(late["sla"]["nextChangeAt"].is_null()) << late;
  EXPECT_EQ(Ids(ListAll(key_, {{"slaStatus", "breached"}}, token)),
            std::vector<std::string>{"LATE-1"});
}

// ---------------------------------------------------------------------------------------
// Keyset pagination.

class PaginationTest : public HttpApiFixture {};

TEST_F(PaginationTest, WalksEveryRowOnceInCreatedAtThenIdDescendingOrder) {
  std::string key = TenantKey("acme");
  Timestamp base = NowSeconds() - 10 * kDay;
  constexpr int kCount = 120;
  json docs = json::array();
  std::vector<std::pair<Timestamp, std::string>> expected;
  for (int i = 0; i < kCount; ++i) {
    // 17 distinct instants: many ties, spread over the ids in a scrambled way. Ids are
    // not zero-padded, so their text order differs from their numeric order.
    Timestamp created = base + std::chrono::minutes((i * 7) % 17);
    std::string id = "P-" + std::to_string(i);
    docs.push_back(ShipmentDoc(id, "booked", created));
    expected.emplace_back(created, id);
  }
  std::int64_t token = Write(key, docs);
  std::sort(expected.begin(), expected.end(), [](const auto& a, const auto& b) {
    return std::tie(a.first, a.second) > std::tie(b.first, b.second);
  });
  std::vector<std::string> expected_ids;
  for (const auto& e : expected) expected_ids.push_back(e.second);

  for (int limit : {7, 8, 1, 500}) {
    SCOPED_TRACE("limit=" + std::to_string(limit));
    size_t pages = 0;
    std::vector<json> items = ListAll(key, {{"limit", std::to_string(limit)}}, token, &pages);
    EXPECT_EQ(Ids(items), expected_ids);
    // No empty trailing page: 120 = 15 * 8 exactly must take 15 pages, not 16.
    EXPECT_EQ(pages, static_cast<size_t>((kCount + limit - 1) / limit));
  }

  // Every page but the last is full; the default limit is 50.
  HttpReply first = Get("/v1/shipments?limit=7", key);
  ASSERT_EQ(first.status, 200) << first;
  EXPECT_EQ(first.Json()["items"].size(), 7u);
  HttpReply deflt = Get("/v1/shipments", key);
  ASSERT_EQ(deflt.status, 200) << deflt;
  EXPECT_EQ(deflt.Json()["items"].size(), 50u);
  EXPECT_TRUE(deflt.Json()["nextCursor"].is_string());
}

TEST_F(PaginationTest, RowsWrittenBehindTheCursorDoNotShiftThePages) {
  std::string key = TenantKey("acme");
  Timestamp base = NowSeconds() - 10 * kDay;
  json docs = json::array();
  for (int i = 0; i < 10; ++i) {
    docs.push_back(ShipmentDoc("Q-" + std::to_string(i), "booked", base + std::chrono::minutes(i)));
  }
  std::int64_t token = Write(key, docs);
  HttpReply p1 =
      Get(WithQuery("/v1/shipments", {{"limit", "4"}, {"minToken", std::to_string(token)}}), key);
  ASSERT_EQ(p1.status, 200) << p1;
  EXPECT_EQ(Ids(p1.Json()["items"].get<std::vector<json>>()),
            (std::vector<std::string>{"Q-9", "Q-8", "Q-7", "Q-6"}));
  std::string cursor = p1.Json()["nextCursor"].get<std::string>();
  // A newer shipment arrives: keyset pagination does not repeat or skip anything.
  std::int64_t t2 = Write(key, ShipmentDoc("Q-new", "booked", base + kHour));
  HttpReply p2 =
      Get(WithQuery("/v1/shipments",
                    {{"limit", "4"}, {"cursor", cursor}, {"minToken", std::to_string(t2)}}),
          key);
  ASSERT_EQ(p2.status, 200) << p2;
  EXPECT_EQ(Ids(p2.Json()["items"].get<std::vector<json>>()),
            (std::vector<std::string>{"Q-5", "Q-4", "Q-3", "Q-2"}));
}

TEST_F(PaginationTest, RejectsBadLimitsAndCursors) {
  std::string key = TenantKey("acme");
  Write(key, ShipmentDoc("S-1", "booked", NowSeconds()));
  for (const std::string limit : {"0", "501", "abc", "-1", "7x", "", "99999999999999999999"}) {
    HttpReply r = Get(WithQuery("/v1/shipments", {{"limit", limit}}), key);
    EXPECT_EQ(r.status, 400) << "limit=" << limit << ": " << r;
    EXPECT_EQ(r.ErrorCode(), "invalid_argument") << r;
    EXPECT_NE(r.ErrorMessage().find("limit"), std::string::npos) << r;
  }
  EXPECT_EQ(Get("/v1/shipments?limit=500", key).status, 200);
  EXPECT_EQ(Get("/v1/shipments?limit=1", key).status, 200);
  // base64url of "hello" and of "1|notanumber|S-1", raw garbage, and a cursor whose id is
  // not a valid id.
  for (const std::string cursor :
       {"garbage!!", "aGVsbG8", "MXxub3RhbnVtYmVyfFMtMQ", "%%%", "MXwxMjN8", "MXwxMjN8YSBi"}) {
    HttpReply r = Get("/v1/shipments?cursor=" + cursor, key);
    EXPECT_EQ(r.status, 400) << "cursor=" << cursor << ": " << r;
    EXPECT_NE(r.ErrorMessage().find("cursor"), std::string::npos) << r;
  }
}

// ---------------------------------------------------------------------------------------
// Filters, each checked against the set computed from the written documents.

class FilterTest : public HttpApiFixture {
 protected:
  struct Doc {
    std::string id, reference, status, carrier, customer, sla;
    Timestamp created{};
  };

  void SetUp() override {
    HttpApiFixture::SetUp();
    if (HasFatalFailure()) return;
    key_ = TenantKey("acme");
    Timestamp now = NowSeconds();
    base_ = now - 20 * kDay;
    const std::vector<std::string> statuses = {"booked",           "picked_up", "in_transit",
                                               "out_for_delivery", "delivered", "exception",
                                               "returned",         "cancelled"};
    const std::vector<std::string> carriers = {"dhl", "ups", "postnl"};
    json body = json::array();
    for (int i = 0; i < 48; ++i) {
      Doc d;
      d.id = "F-" + std::to_string(i);
      d.status = statuses[i % 8];
      d.carrier = carriers[i % 3];
      d.customer = "C-" + std::to_string((i / 2) % 4);
      d.created = base_ + std::chrono::hours(i % 12);  // ties across ids
      if (i < 10)
        d.reference = "PO-" + std::to_string(i);
      else if (i < 20)
        d.reference = "PO-1" + std::to_string(i - 10);  // PO-10 .. PO-19
      else if (i == 20)
        d.reference = "PO-1%x";
      else if (i == 21)
        d.reference = "P_9";
      else if (i == 22)
        d.reference = "PO-1_y";
      else if (i == 23)
        d.reference = "";
      else
        d.reference = "REF-" + std::to_string(i);
      json j = ShipmentDoc(d.id, d.status, d.created);
      j["carrierId"] = d.carrier;
      j["customerId"] = d.customer;
      if (!d.reference.empty()) j["reference"] = d.reference;
      // The promise, by (i / 8) % 4: none, far future, within the at-risk window, past.
      int promise_kind = (i / 8) % 4;
      std::optional<Timestamp> promised;
      if (promise_kind == 1) promised = now + 30 * kDay;
      if (promise_kind == 2) promised = now + kHour;
      if (promise_kind == 3) promised = now - 2 * kHour;
      if (promised) j["promisedDeliveryAt"] = Rfc(*promised);
      if (d.status == "delivered") j["deliveredAt"] = Rfc(now - kHour);
      // SLA status by hand from DESIGN.md section 5.
      if (!promised)
        d.sla = "none";
      else if (d.status == "delivered")
        d.sla = now - kHour <= *promised ? "met" : "missed";
      else if (d.status == "returned" || d.status == "cancelled")
        d.sla = "none";
      else if (promise_kind == 3)
        d.sla = "breached";
      else if (promise_kind == 2 || d.status == "exception")
        d.sla = "at_risk";
      else
        d.sla = "on_track";
      docs_.push_back(d);
      body.push_back(j);
    }
    token_ = Write(key_, body);
  }

  // The ids matching `pred`, in list order (createdAt desc, id desc).
  template <typename Pred>
  std::vector<std::string> Expected(Pred pred) const {
    std::vector<Doc> out;
    for (const auto& d : docs_) {
      if (pred(d)) out.push_back(d);
    }
    std::sort(out.begin(), out.end(), [](const Doc& a, const Doc& b) {
      return std::tie(a.created, a.id) > std::tie(b.created, b.id);
    });
    std::vector<std::string> ids;
    for (const auto& d : out) ids.push_back(d.id);
    return ids;
  }

  std::vector<std::string> Listed(Params params, const std::string& limit = "500") {
    params.emplace_back("limit", limit);
    return Ids(ListAll(key_, params, token_));
  }

  std::string key_;
  Timestamp base_{};
  std::vector<Doc> docs_;
  std::int64_t token_ = 0;
};

TEST_F(FilterTest, NoFilterListsEverything) {
  EXPECT_EQ(Listed({}), Expected([](const Doc&) { return true; }));
}

TEST_F(FilterTest, Status) {
  for (const std::string s : {"booked", "picked_up", "in_transit", "out_for_delivery", "delivered",
                              "exception", "returned", "cancelled"}) {
    EXPECT_EQ(Listed({{"status", s}}), Expected([&](const Doc& d) { return d.status == s; }))
        << "status=" << s;
  }
}

TEST_F(FilterTest, CarrierAndCustomer) {
  EXPECT_EQ(Listed({{"carrierId", "ups"}}),
            Expected([](const Doc& d) { return d.carrier == "ups"; }));
  EXPECT_EQ(Listed({{"customerId", "C-2"}}),
            Expected([](const Doc& d) { return d.customer == "C-2"; }));
  EXPECT_TRUE(Listed({{"carrierId", "fedex"}}).empty());
}

TEST_F(FilterTest, SlaStatus) {
  std::set<std::string> seen;
  for (const auto& d : docs_) seen.insert(d.sla);
  // The data covers every SLA status.
  ASSERT_EQ(seen,
            (std::set<std::string>{"none", "on_track", "at_risk", "breached", "met", "missed"}));
  for (const auto& s : seen) {
    EXPECT_EQ(Listed({{"slaStatus", s}}), Expected([&](const Doc& d) { return d.sla == s; }))
        << "slaStatus=" << s;
  }
}

TEST_F(FilterTest, CreatedFromIsInclusiveAndCreatedToExclusive) {
  Timestamp from = base_ + std::chrono::hours(3);
  Timestamp to = base_ + std::chrono::hours(7);
  auto expected = Expected([&](const Doc& d) { return d.created >= from && d.created < to; });
  EXPECT_EQ(Listed({{"createdFrom", Rfc(from)}, {"createdTo", Rfc(to)}}), expected);
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(Listed({{"createdFrom", Rfc(from)}}),
            Expected([&](const Doc& d) { return d.created >= from; }));
  EXPECT_EQ(Listed({{"createdTo", Rfc(to)}}),
            Expected([&](const Doc& d) { return d.created < to; }));
  // The same instant written with an offset (hh:mm:ssZ == hh+2:mm:ss+02:00).
  std::string shifted = Rfc(from + 2 * kHour).substr(0, 19) + "+02:00";
  EXPECT_EQ(Listed({{"createdFrom", shifted}}),
            Expected([&](const Doc& d) { return d.created >= from; }))
      << shifted;
  // An empty range.
  EXPECT_TRUE(Listed({{"createdFrom", Rfc(to)}, {"createdTo", Rfc(to)}}).empty());
}

TEST_F(FilterTest, ReferencePrefixMatchesLiterally) {
  auto starts = [](const std::string& prefix) {
    return [prefix](const Doc& d) { return d.reference.rfind(prefix, 0) == 0; };
  };
  for (const std::string q : {"PO-1", "PO-", "PO-1%", "PO-1_", "P_", "REF-3", "PO-17", "%", "_"}) {
    auto expected = Expected(starts(q));
    EXPECT_EQ(Listed({{"q", q}}), expected) << "q=" << q;
  }
  // '%' and '_' are not wildcards: "PO-1%" matches only the reference that has a '%'.
  EXPECT_EQ(Listed({{"q", "PO-1%"}}), std::vector<std::string>{"F-20"});
  EXPECT_EQ(Listed({{"q", "P_"}}), std::vector<std::string>{"F-21"});
  EXPECT_TRUE(Listed({{"q", "nothing-like-this"}}).empty());
}

TEST_F(FilterTest, CombinedFiltersIntersect) {
  Timestamp from = base_ + std::chrono::hours(2);
  EXPECT_EQ(Listed({{"status", "booked"}, {"carrierId", "dhl"}}),
            Expected([](const Doc& d) { return d.status == "booked" && d.carrier == "dhl"; }));
  EXPECT_EQ(Listed({{"customerId", "C-1"}, {"slaStatus", "on_track"}, {"createdFrom", Rfc(from)}}),
            Expected([&](const Doc& d) {
              return d.customer == "C-1" && d.sla == "on_track" && d.created >= from;
            }));
  EXPECT_EQ(Listed({{"q", "PO-1"}, {"carrierId", "ups"}}), Expected([](const Doc& d) {
              return d.reference.rfind("PO-1", 0) == 0 && d.carrier == "ups";
            }));
  auto all = [&](const Doc& d) {
    return d.status == "exception" && d.carrier == "postnl" && d.customer == "C-2" &&
           d.sla == "at_risk";
  };
  EXPECT_EQ(Listed({{"status", "exception"},
                    {"carrierId", "postnl"},
                    {"customerId", "C-2"},
                    {"slaStatus", "at_risk"}}),
            Expected(all));
}

TEST_F(FilterTest, FiltersHoldAcrossPages) {
  // Small pages with a filter: the cursor keeps the filter's set and order.
  EXPECT_EQ(Listed({{"carrierId", "dhl"}}, "3"),
            Expected([](const Doc& d) { return d.carrier == "dhl"; }));
  EXPECT_EQ(Listed({{"q", "PO-"}, {"createdTo", Rfc(base_ + std::chrono::hours(9))}}, "2"),
            Expected([&](const Doc& d) {
              return d.reference.rfind("PO-", 0) == 0 && d.created < base_ + std::chrono::hours(9);
            }));
}

TEST_F(FilterTest, BadFilterValuesAre400) {
  const std::vector<Params> bad = {
      {{"status", "shipped"}},        {{"slaStatus", "late"}},
      {{"createdFrom", "yesterday"}}, {{"createdTo", "2026-13-01T00:00:00Z"}},
      {{"carrierId", "bad id"}},      {{"customerId", std::string(200, 'x')}},
      {{"q", std::string(300, 'a')}}, {{"status", "booked"}, {"colour", "red"}},
  };
  for (const auto& params : bad) {
    HttpReply r = Get(WithQuery("/v1/shipments", params), key_);
    EXPECT_EQ(r.status, 400) << params.back().first << ": " << r;
    EXPECT_EQ(r.ErrorCode(), "invalid_argument") << r;
    EXPECT_NE(r.ErrorMessage().find(params.back().first), std::string::npos)
        << "the message names the parameter: " << r;
  }
  HttpReply twice = Get("/v1/shipments?status=booked&status=delivered", key_);
  EXPECT_EQ(twice.status, 400) << twice;
}

// ---------------------------------------------------------------------------------------
// Tenant isolation.

class TenantIsolationTest : public HttpApiFixture {
 protected:
  void SetUp() override {
    HttpApiFixture::SetUp();
    if (HasFatalFailure()) return;
    a_ = TenantKey("org-a");
    b_ = TenantKey("org-b");
    admin_ = AdminKey();
    Timestamp base = NowSeconds() - 5 * kDay;
    json a_docs = json::array();
    json b_docs = json::array();
    for (int i = 0; i < 6; ++i) {
      // Both orgs have S-0..S-5 (same ids, different references); B also has B-only ids.
      json a = ShipmentDoc("S-" + std::to_string(i), "booked", base + std::chrono::hours(2 * i));
      a["reference"] = "A-REF-" + std::to_string(i);
      a_docs.push_back(a);
      json b =
          ShipmentDoc("S-" + std::to_string(i), "exception", base + std::chrono::hours(2 * i + 1));
      b["reference"] = "B-REF-" + std::to_string(i);
      b_docs.push_back(b);
      json b2 = ShipmentDoc("BONLY-" + std::to_string(i), "in_transit",
                            base + std::chrono::hours(2 * i + 1));
      b2["reference"] = "B-REF-only-" + std::to_string(i);
      b_docs.push_back(b2);
    }
    Write(a_, a_docs);
    token_ = Write(b_, b_docs);
  }

  static bool IsA(const json& item) { return item.value("reference", "").rfind("A-REF-", 0) == 0; }

  std::string a_, b_, admin_;
  std::int64_t token_ = 0;
};

TEST_F(TenantIsolationTest, TenantReadsSeeOnlyTheirOrg) {
  HttpReply own = GetShipment(a_, "S-1", token_);
  ASSERT_EQ(own.status, 200) << own;
  EXPECT_EQ(own.Json()["reference"], "A-REF-1") << "the same id in another org must not leak";
  HttpReply other = GetShipment(a_, "BONLY-1", token_);
  EXPECT_EQ(other.status, 404) << other;
  EXPECT_EQ(other.ErrorCode(), "not_found");

  std::vector<json> items = ListAll(a_, {{"limit", "5"}}, token_);
  EXPECT_EQ(items.size(), 6u);
  for (const auto& item : items) EXPECT_TRUE(IsA(item)) << item;
  // Filters cannot reach across either.
  EXPECT_TRUE(ListAll(a_, {{"status", "exception"}}, token_).empty());
  EXPECT_TRUE(ListAll(a_, {{"q", "B-REF"}}, token_).empty());

  json board_a = Realtime(a_, token_);
  EXPECT_EQ(board_a["org"], "org-a");
  EXPECT_EQ(board_a["byStatus"]["booked"], 6) << board_a;
  EXPECT_EQ(board_a["byStatus"]["exception"], 0) << board_a;
  EXPECT_EQ(board_a["open"], 6) << board_a;
  json board_b = Realtime(b_, token_);
  EXPECT_EQ(board_b["byStatus"]["exception"], 6) << board_b;
  EXPECT_EQ(board_b["byStatus"]["in_transit"], 6) << board_b;
  EXPECT_EQ(board_b["byStatus"]["booked"], 0) << board_b;
}

TEST_F(TenantIsolationTest, AnOrgWithoutShipmentsHasAnEmptyListAndAZeroBoard) {
  std::string c = TenantKey("org-c");
  EXPECT_TRUE(ListAll(c, {}, token_).empty());
  json board = Realtime(c, token_);
  EXPECT_EQ(board["org"], "org-c");
  EXPECT_EQ(board.value("open", -1), 0) << board;
  EXPECT_EQ(board.value("shipments", -1), 0) << board;
  EXPECT_EQ(board["byStatus"].value("booked", -1), 0) << board;
  EXPECT_EQ(GetShipment(c, "S-1", token_).status, 404);
}

TEST_F(TenantIsolationTest, NamingAnotherOrgIsForbidden) {
  for (const std::string target :
       {"/v1/shipments?org=org-b", "/v1/shipments/S-1?org=org-b", "/v1/ops/realtime?org=org-b"}) {
    HttpReply r = Get(target, a_);
    EXPECT_EQ(r.status, 403) << target << ": " << r;
    EXPECT_EQ(r.ErrorCode(), "permission_denied") << r;
  }
  // Its own org by name is fine.
  HttpReply own =
      Get(WithQuery("/v1/shipments", {{"org", "org-a"}, {"minToken", std::to_string(token_)}}), a_);
  ASSERT_EQ(own.status, 200) << own;
  EXPECT_EQ(own.Json()["items"].size(), 6u);
  EXPECT_EQ(GetShipment(a_, "S-2", token_, {{"org", "org-a"}}).status, 200);
}

TEST_F(TenantIsolationTest, WritesNamingAnotherOrgAreForbiddenAndWriteNothing) {
  std::int64_t committed = Committed();
  Timestamp t = NowSeconds();
  json doc = ShipmentDoc("SNEAK-1", "booked", t);
  doc["org"] = "org-b";
  HttpReply r = Post("/v1/shipments", a_, doc);
  EXPECT_EQ(r.status, 403) << r;
  EXPECT_EQ(r.ErrorCode(), "permission_denied") << r;
  // Inside an array, in the query, and on an update of B's existing S-1.
  json own = ShipmentDoc("SNEAK-2", "booked", t);
  json array = json::array({own, doc});
  EXPECT_EQ(Post("/v1/shipments", a_, array).status, 403);
  EXPECT_EQ(Post("/v1/shipments?org=org-b", a_, ShipmentDoc("S-1", "delivered", t)).status, 403);
  json update = ShipmentDoc("S-1", "delivered", t);
  update["org"] = "org-b";
  EXPECT_EQ(Post("/v1/shipments", a_, update).status, 403);
  EXPECT_EQ(Delete("/v1/shipments/S-1?org=org-b", a_).status, 403);
  EXPECT_EQ(Put("/v1/customers/C-1?org=org-b", a_, json{{"name", "x"}}).status, 403);
  EXPECT_EQ(Put("/v1/carriers/dhl", a_, json{{"name", "x"}, {"org", "org-b"}}).status, 403);
  // Deleting B's B-only id with A's key is a 404 in A's org, not a delete in B's.
  EXPECT_EQ(Delete("/v1/shipments/BONLY-2", a_).status, 404);
  EXPECT_EQ(Committed(), committed) << "a forbidden write must not reach the oplog";

  // Nothing changed in B.
  std::int64_t t2 = Write(a_, ShipmentDoc("A-LATER", "booked", t));
  EXPECT_EQ(GetShipment(b_, "SNEAK-1", t2).status, 404);
  EXPECT_EQ(GetShipment(b_, "SNEAK-2", t2).status, 404);
  EXPECT_EQ(GetShipment(b_, "S-1", t2).Json()["status"], "exception");
  EXPECT_EQ(GetShipment(b_, "BONLY-2", t2).status, 200);
  EXPECT_EQ(GetShipment(a_, "SNEAK-2", t2).status, 404) << "the array was all-or-nothing";
  // A body naming its own org is fine.
  json mine = ShipmentDoc("A-OWN", "booked", t);
  mine["org"] = "org-a";
  std::int64_t t3 = Write(a_, mine);
  EXPECT_EQ(GetShipment(a_, "A-OWN", t3).status, 200);
}

TEST_F(TenantIsolationTest, ACursorFromAnotherOrgOnlyPositionsWithinTheCallersOrg) {
  HttpReply b_page =
      Get(WithQuery("/v1/shipments", {{"limit", "3"}, {"minToken", std::to_string(token_)}}), b_);
  ASSERT_EQ(b_page.status, 200) << b_page;
  json bj = b_page.Json();
  ASSERT_TRUE(bj["nextCursor"].is_string()) << b_page;
  const json& last_b = bj["items"].back();
  Timestamp b_created = Parsed(last_b["createdAt"]);
  std::string b_id = last_b["id"];

  std::vector<json> items = ListAll(a_, {{"cursor", bj["nextCursor"].get<std::string>()}}, token_);
  // Expected: A's rows strictly after B's position in (createdAt desc, id desc) order.
  std::vector<json> all_a = ListAll(a_, {}, token_);
  std::vector<std::string> expected;
  for (const auto& item : all_a) {
    if (std::make_tuple(Parsed(item["createdAt"]), item["id"].get<std::string>()) <
        std::make_tuple(b_created, b_id)) {
      expected.push_back(item["id"]);
    }
  }
  EXPECT_EQ(Ids(items), expected);
  for (const auto& item : items) EXPECT_TRUE(IsA(item)) << "a B row leaked: " << item;
}

TEST_F(TenantIsolationTest, AdminKeysMustNameTheOrg) {
  std::int64_t committed = Committed();
  HttpReply no_org = Get("/v1/shipments", admin_);
  EXPECT_EQ(no_org.status, 400) << no_org;
  EXPECT_NE(no_org.ErrorMessage().find("org"), std::string::npos) << no_org;
  EXPECT_EQ(Get("/v1/shipments/S-1", admin_).status, 400);
  EXPECT_EQ(Get("/v1/ops/realtime", admin_).status, 400);
  HttpReply write = Post("/v1/shipments", admin_, ShipmentDoc("ADM-1", "booked", NowSeconds()));
  EXPECT_EQ(write.status, 400) << write;
  EXPECT_EQ(Committed(), committed);

  // With ?org= it sees that org.
  std::vector<json> b_items = ListAll(admin_, {{"org", "org-b"}}, token_);
  EXPECT_EQ(b_items.size(), 12u);
  for (const auto& item : b_items) EXPECT_FALSE(IsA(item)) << item;
  EXPECT_EQ(GetShipment(admin_, "BONLY-3", token_, {{"org", "org-b"}}).status, 200);
  EXPECT_EQ(GetShipment(admin_, "S-3", token_, {{"org", "org-a"}}).Json()["reference"], "A-REF-3");

  // It writes to the org its body or query names; the two must agree.
  json doc = ShipmentDoc("ADM-1", "booked", NowSeconds());
  doc["org"] = "org-b";
  std::int64_t t = Write(admin_, doc);
  EXPECT_EQ(GetShipment(b_, "ADM-1", t).status, 200);
  EXPECT_EQ(GetShipment(a_, "ADM-1", t).status, 404);
  HttpReply conflict = Post("/v1/shipments?org=org-a", admin_, doc);
  EXPECT_EQ(conflict.status, 400) << conflict;
  json mixed = json::array({doc, ShipmentDoc("ADM-2", "booked", NowSeconds())});
  mixed[1]["org"] = "org-a";
  EXPECT_EQ(Post("/v1/shipments", admin_, mixed).status, 400) << "one org per request";
  EXPECT_EQ(Committed(), t);
  // An org that is not a valid id.
  EXPECT_EQ(Get("/v1/shipments?org=bad%20org", admin_).status, 400);
}

// ---------------------------------------------------------------------------------------
// Authentication.

class AuthTest : public HttpApiFixture {};

TEST_F(AuthTest, MissingOrBadCredentialsAre401WithAChallenge) {
  std::string key = TenantKey("acme");
  std::int64_t token = Write(key, ShipmentDoc("S-1", "booked", NowSeconds()));
  std::int64_t committed = Committed();
  const std::vector<HeaderList> bad = {
      {},
      {{"Authorization", "Bearer wrong"}},
      {{"Authorization", "Basic xyz"}},
      {{"Authorization", "Bearer "}},
      {{"Authorization", "Bearer"}},
      {{"Authorization", key}},                    // the key without its scheme
      {{"Authorization", "Bearer " + key + "x"}},  // a near miss
      {{"Authorization", "Bearer " + std::string(300, 'k')}},
  };
  for (const auto& headers : bad) {
    std::string shown = headers.empty() ? "<none>" : headers.begin()->second.substr(0, 40);
    for (const auto& [method, target] :
         std::vector<std::pair<std::string, std::string>>{{"GET", "/v1/shipments"},
                                                          {"GET", "/v1/shipments/S-1"},
                                                          {"GET", "/v1/ops/realtime"},
                                                          {"POST", "/v1/shipments"},
                                                          {"DELETE", "/v1/shipments/S-1"},
                                                          {"PUT", "/v1/customers/C-1"}}) {
      std::string body = method == "POST" ? ShipmentDoc("EVIL-1", "booked", NowSeconds()).dump()
                                          : R"({"name": "x"})";
      HttpReply r =
          Send(method, target, headers, method == "GET" || method == "DELETE" ? "" : body);
      EXPECT_EQ(r.status, 401) << method << " " << target << " with " << shown << ": " << r;
      EXPECT_EQ(r.ErrorCode(), "unauthenticated") << r;
      EXPECT_FALSE(r.ErrorMessage().empty()) << r;
      EXPECT_EQ(r.Header("WWW-Authenticate").rfind("Bearer", 0), 0u)
          << "challenge: '" << r.Header("WWW-Authenticate") << "'";
    }
  }
  EXPECT_EQ(Committed(), committed) << "unauthenticated writes must not reach the oplog";
  // The good key still works after all the failures (no poisoned key cache).
  EXPECT_EQ(GetShipment(key, "S-1", token).status, 200);
  std::string fresh = TenantKey("acme");
  EXPECT_EQ(Get("/v1/shipments/S-1", fresh).status, 200);
}

// ---------------------------------------------------------------------------------------
// Bad input: a clear 4xx with a JSON error body, and nothing stored changes.

class BadInputTest : public HttpApiFixture {
 protected:
  void SetUp() override {
    HttpApiFixture::SetUp();
    if (HasFatalFailure()) return;
    key_ = TenantKey("acme");
    created_ = NowSeconds() - kDay;
    base_doc_ = ShipmentDoc("S-1", "booked", created_);
    base_doc_["weightKg"] = 2.5;
    base_doc_["reference"] = "PO-1";
    token_ = Write(key_, base_doc_);
    HttpReply r = GetShipment(key_, "S-1", token_);
    ASSERT_EQ(r.status, 200) << r;
    row_before_ = r.Json();
  }

  // After a batch of rejected requests: no new change, and S-1 as it was.
  void ExpectNothingChanged() {
    EXPECT_EQ(Committed(), token_) << "a rejected request reached the oplog";
    std::int64_t t = Write(key_, ShipmentDoc("SENTINEL", "booked", created_));
    HttpReply r = GetShipment(key_, "S-1", t);
    ASSERT_EQ(r.status, 200) << r;
    EXPECT_EQ(r.Json(), row_before_);
    EXPECT_EQ(ListAll(key_, {}, t).size(), 2u) << "only S-1 and SENTINEL exist";
    auto stored = EmbeddedSource(*app_).GetShipment("acme", "S-1");
    ASSERT_TRUE(stored.ok());
    ASSERT_TRUE(stored->has_value());
    EXPECT_EQ(stored->value().status, core::ShipmentStatus::kBooked);
    EXPECT_EQ(stored->value().weight_kg, 2.5);
  }

  json WithField(const std::string& field, const json& value) const {
    json d = base_doc_;
    d["status"] = "delivered";  // an otherwise visible change
    d[field] = value;
    return d;
  }
  json Without(const std::string& field) const {
    json d = base_doc_;
    d["status"] = "delivered";
    d.erase(field);
    return d;
  }

  void ExpectRejected(const HttpReply& r, int status, const std::string& names,
                      const std::string& what) {
    EXPECT_EQ(r.status, status) << what << ": " << r;
    EXPECT_EQ(r.Header("Content-Type").rfind("application/json", 0), 0u) << what;
    json j = r.Json();
    ASSERT_TRUE(j.is_object() && j.contains("error")) << what << ": " << r;
    EXPECT_TRUE(j["error"]["code"].is_string()) << what << ": " << r;
    EXPECT_TRUE(j["error"]["message"].is_string()) << what << ": " << r;
    EXPECT_NE(r.ErrorMessage().find(names), std::string::npos)
        << what << ": the message should name '" << names << "': " << r;
  }

  std::string key_;
  Timestamp created_{};
  json base_doc_;
  json row_before_;
  std::int64_t token_ = 0;
};

TEST_F(BadInputTest, ShipmentBodies) {
  struct Case {
    std::string what;
    std::string body;
    std::string names;
  };
  const std::vector<Case> cases = {
      {"malformed JSON", R"({"id": "S-1", "status": )", "JSON"},
      {"truncated array", R"([{"id": "S-1"})", "JSON"},
      {"empty body", "", "empty"},
      {"a JSON string", R"("S-1")", "body"},
      {"a JSON number", "42", "body"},
      {"null", "null", "body"},
      {"empty array", "[]", "empty"},
      {"an array of numbers", "[1, 2]", "[0]"},
      {"weightKg a string", WithField("weightKg", "heavy").dump(), "weightKg"},
      {"negative weight", WithField("weightKg", -1.5).dump(), "weightKg"},
      {"negative value", WithField("declaredValue", -3).dump(), "declaredValue"},
      {"unknown status", WithField("status", "shipped").dump(), "status"},
      {"status a number", WithField("status", 3).dump(), "status"},
      {"missing status", Without("status").dump(), "status"},
      {"missing id", Without("id").dump(), "id"},
      {"null id", WithField("id", nullptr).dump(), "id"},
      {"empty id", WithField("id", "").dump(), "id"},
      {"id with a space", WithField("id", "S 1").dump(), "id"},
      {"id with a slash", WithField("id", "S/1").dump(), "id"},
      {"id too long", WithField("id", std::string(129, 'x')).dump(), "id"},
      {"id a number", WithField("id", 1).dump(), "id"},
      {"missing createdAt", Without("createdAt").dump(), "createdAt"},
      {"month 13", WithField("createdAt", "2026-13-01T00:00:00Z").dump(), "createdAt"},
      {"yesterday", WithField("createdAt", "yesterday").dump(), "createdAt"},
      {"date only", WithField("createdAt", "2026-11-01").dump(), "createdAt"},
      {"Feb 30", WithField("promisedDeliveryAt", "2026-02-30T10:00:00Z").dump(),
       "promisedDeliveryAt"},
      {"createdAt a number", WithField("createdAt", 1700000000).dump(), "createdAt"},
      {"deliveredAt garbage", WithField("deliveredAt", "soon").dump(), "deliveredAt"},
      {"origin a string", WithField("origin", "NL").dump(), "origin"},
      {"origin.country a number", WithField("origin", json{{"country", 31}}).dump(),
       "origin.country"},
      {"customerId bad", WithField("customerId", "C 9").dump(), "customerId"},
      {"reference too long", WithField("reference", std::string(600, 'r')).dump(), "reference"},
      {"org not a string", WithField("org", 7).dump(), "org"},
  };
  for (const auto& c : cases) {
    ExpectRejected(Post("/v1/shipments", key_, c.body), 400, c.names, c.what);
    EXPECT_EQ(Post("/v1/shipments", key_, c.body).ErrorCode(), "invalid_argument") << c.what;
  }
  // In an array, the message names the element.
  json array = json::array({WithField("status", "delivered"), WithField("weightKg", "heavy")});
  array[1]["id"] = "S-2";
  ExpectRejected(Post("/v1/shipments", key_, array), 400, "[1].weightKg", "array");
  ExpectNothingChanged();
}

TEST_F(BadInputTest, QueryParameters) {
  std::string ahead = std::to_string(Committed() + 1000);
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"POST", "/v1/shipments?dryRun=1", "dryRun"},
      {"GET", "/v1/shipments?colour=red", "colour"},
      {"GET", "/v1/shipments/S-1?limit=5", "limit"},
      {"GET", "/v1/ops/realtime?status=booked", "status"},
      {"GET", "/v1/shipments?minToken=abc", "minToken"},
      {"GET", "/v1/shipments/S-1?minToken=abc", "minToken"},
      {"GET", "/v1/shipments/S-1?minToken=-1", "minToken"},
      {"GET", "/v1/shipments/S-1?minToken=1.5", "minToken"},
      {"GET", "/v1/ops/realtime?minToken=", "minToken"},
      {"GET", "/v1/shipments/S-1?minToken=" + ahead, "minToken"},
      {"GET", "/v1/shipments?minToken=" + ahead, "minToken"},
      {"GET", "/v1/ops/realtime?minToken=" + ahead, "minToken"},
      {"GET", "/v1/shipments/bad%20id", "id"},
      {"DELETE", "/v1/shipments/S-1?force=true", "force"},
  };
  for (const auto& [method, target, names] : cases) {
    auto started = std::chrono::steady_clock::now();
    std::string body = method == "POST" ? WithField("status", "delivered").dump() : "";
    HttpReply r = Send(method, target, Bearer(key_), body);
    ExpectRejected(r, 400, names, method + " " + target);
    // A minToken ahead of the newest change is rejected at once, not after the wait.
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(1500))
        << target;
  }
  ExpectNothingChanged();
}

TEST_F(BadInputTest, CustomerAndCarrierBodies) {
  HttpReply c = Put("/v1/customers/C-9", key_, json{{"name", "Acme Retail"}});
  ASSERT_EQ(c.status, 200) << c;
  std::int64_t ct = TokenOf(c);
  EXPECT_EQ(ct, Committed());
  EXPECT_EQ(c.Json()["count"], 1);
  auto customer = EmbeddedSource(*app_).GetCustomer("acme", "C-9");
  ASSERT_TRUE(customer.ok() && customer->has_value());
  EXPECT_EQ(customer->value().name, "Acme Retail");

  json services = {{"express", {{"transitDays", 1}}}, {"economy", {{"transitDays", 4}}}};
  HttpReply k = Put("/v1/carriers/dhl", key_, json{{"name", "DHL"}, {"services", services}});
  ASSERT_EQ(k.status, 200) << k;
  std::int64_t kt = TokenOf(k);
  EXPECT_GT(kt, ct);
  auto carrier = EmbeddedSource(*app_).GetCarrier("acme", "dhl");
  ASSERT_TRUE(carrier.ok() && carrier->has_value());
  EXPECT_EQ(carrier->value().name, "DHL");
  EXPECT_EQ(carrier->value().services, services);
  // A put replaces.
  ASSERT_EQ(Put("/v1/customers/C-9", key_, json{{"name", "Acme B.V."}}).status, 200);
  EXPECT_EQ(EmbeddedSource(*app_).GetCustomer("acme", "C-9")->value().name, "Acme B.V.");
  // Reads still work with the new token (lookup changes flow through the stream).
  EXPECT_EQ(GetShipment(key_, "S-1", Committed()).status, 200);

  std::int64_t committed = Committed();
  const std::vector<std::tuple<std::string, std::string, std::string>> bad = {
      {"/v1/customers/C-9", R"({})", "name"},
      {"/v1/customers/C-9", R"({"name": ""})", "name"},
      {"/v1/customers/C-9", R"({"name": 5})", "name"},
      {"/v1/customers/C-9", R"({"name": )", "JSON"},
      {"/v1/customers/C-9", R"(["name"])", "customer"},
      {"/v1/customers/C-9", "", "empty"},
      {"/v1/customers/bad%20id", R"({"name": "x"})", "id"},
      {"/v1/carriers/dhl", R"({"services": {}})", "name"},
      {"/v1/carriers/dhl", R"({"name": "DHL", "services": "fast"})", "services"},
      {"/v1/carriers/dhl?x=1", R"({"name": "DHL"})", "x"},
  };
  for (const auto& [target, body, names] : bad) {
    HttpReply r = Send("PUT", target, Bearer(key_), body);
    ExpectRejected(r, 400, names, "PUT " + target + " " + body);
  }
  EXPECT_EQ(Committed(), committed);
  EXPECT_EQ(EmbeddedSource(*app_).GetCustomer("acme", "C-9")->value().name, "Acme B.V.");
  EXPECT_EQ(EmbeddedSource(*app_).GetCarrier("acme", "dhl")->value().name, "DHL");
}

// A server with a small body limit.
class BodyLimitTest : public HttpApiFixture {
 protected:
  void Configure(app::Config& config) override { config.http.max_body_bytes = 4096; }
};

TEST_F(BodyLimitTest, OversizedBodyIs413WithAJsonBody) {
  std::string key = TenantKey("acme");
  std::int64_t token = Write(key, ShipmentDoc("S-1", "booked", NowSeconds()));
  json big = json::array();
  while (big.dump().size() < 10 * 1024) {
    big.push_back(ShipmentDoc("BIG-" + std::to_string(big.size()), "booked", NowSeconds()));
  }
  HttpReply r = Post("/v1/shipments", key, big);
  EXPECT_EQ(r.status, 413) << r;
  EXPECT_EQ(r.ErrorCode(), "payload_too_large") << r;
  EXPECT_FALSE(r.ErrorMessage().empty()) << r;
  json events = json::array();
  while (events.dump().size() < 10 * 1024) {
    events.push_back({{"eventId", "E-" + std::to_string(events.size())},
                      {"shipmentId", "S-1"},
                      {"carrierId", "dhl"},
                      {"code", "IT"},
                      {"occurredAt", Rfc(NowSeconds())}});
  }
  HttpReply tracking = Post("/v1/tracking-events", key, events);
  EXPECT_EQ(tracking.status, 413) << tracking;
  EXPECT_EQ(tracking.ErrorCode(), "payload_too_large") << tracking;
  HttpReply put = Put("/v1/customers/C-1", key, json{{"name", std::string(8000, 'n')}});
  EXPECT_EQ(put.status, 413) << put;
  EXPECT_EQ(put.ErrorCode(), "payload_too_large") << put;
  EXPECT_EQ(Committed(), token);
  // Small requests are still served.
  std::int64_t t2 = Write(key, ShipmentDoc("S-2", "booked", NowSeconds()));
  EXPECT_EQ(GetShipment(key, "S-2", t2).status, 200);
  EXPECT_EQ(GetShipment(key, "BIG-0", t2).status, 404);
}

TEST_F(BadInputTest, HostileBodiesAre400AndTheServerStaysUp) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"nested 100k deep", std::string(100000, '[') + std::string(100000, ']')},
      {"invalid UTF-8", std::string(R"({"id": "S-1", "status": "booked", "reference": ")") +
                            "\xff\xfe" + R"(", "createdAt": "2026-11-01T10:00:00Z"})"},
      {"lone surrogate", R"({"id": "S-1", "status": "booked", "reference": "\udc00", )"
                         R"("createdAt": "2026-11-01T10:00:00Z"})"},
      {"NUL in the id", std::string(R"({"id": "S-1\u0000x", "status": "booked", )") +
                            R"("createdAt": "2026-11-01T10:00:00Z"})"},
      {"trailing garbage", base_doc_.dump() + " x"},
      {"two documents", base_doc_.dump() + base_doc_.dump()},
  };
  for (const auto& [what, body] : cases) {
    HttpReply r = Post("/v1/shipments", key_, body);
    EXPECT_EQ(r.status, 400) << what << ": " << r;
    EXPECT_EQ(r.ErrorCode(), "invalid_argument") << what << ": " << r;
  }
  HttpReply h = Send("GET", "/healthz", {});
  EXPECT_EQ(h.status, 200) << "the server must survive hostile bodies";
  ExpectNothingChanged();
}

TEST_F(BadInputTest, TooManyDocumentsInOneRequestIs413) {
  json array = json::array();
  for (int i = 0; i <= 10000; ++i) {
    array.push_back({{"id", "M-" + std::to_string(i)},
                     {"status", "booked"},
                     {"createdAt", "2026-11-01T10:00:00Z"}});
  }
  HttpReply r = Post("/v1/shipments", key_, array);
  EXPECT_EQ(r.status, 413) << r;
  EXPECT_EQ(r.ErrorCode(), "payload_too_large") << r;
  EXPECT_NE(r.ErrorMessage().find("10000"), std::string::npos) << r;
  ExpectNothingChanged();
}

// A number beyond double range is bad input (400), not an internal error: nlohmann throws
// json::out_of_range for it, not parse_error.
TEST_F(BadInputTest, NumberOutOfDoubleRangeIs400) {
  for (const std::string number : {"1e400", "-1e400"}) {
    std::string body = R"({"id": "S-1", "status": "delivered", "createdAt": ")" + Rfc(created_) +
                       R"(", "weightKg": )" + number + "}";
    HttpReply r = Post("/v1/shipments", key_, body);
    EXPECT_EQ(r.status, 400) << number << ": " << r;
    EXPECT_EQ(r.ErrorCode(), "invalid_argument") << number << ": " << r;
    HttpReply c =
        Send("PUT", "/v1/customers/C-1", Bearer(key_), R"({"name": "x", "n": )" + number + "}");
    EXPECT_EQ(c.status, 400) << number << ": " << c;
  }
  ExpectNothingChanged();
}

// Many clients at once: every write is visible to its own client's next read.
class ConcurrencyTest : public HttpApiFixture {};

TEST_F(ConcurrencyTest, ParallelClientsReadTheirOwnWrites) {
  constexpr int kClients = 4;
  constexpr int kRounds = 15;
  std::vector<std::string> keys;
  for (int c = 0; c < kClients; ++c) keys.push_back(TenantKey(c % 2 ? "org-odd" : "org-even"));
  Timestamp created = NowSeconds() - kDay;
  const std::vector<std::string> statuses = {"booked", "picked_up", "in_transit", "exception"};
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      for (int i = 0; i < kRounds; ++i) {
        std::string id = "C" + std::to_string(c) + "-" + std::to_string(i % 5);
        const std::string& status = statuses[static_cast<size_t>(i) % statuses.size()];
        HttpReply w = Post("/v1/shipments", keys[c], ShipmentDoc(id, status, created));
        if (w.status != 200) {
          ADD_FAILURE() << "client " << c << ": " << w;
          return;
        }
        std::int64_t token = std::stoll(w.Json()["token"].get<std::string>());
        HttpReply r =
            Get(WithQuery("/v1/shipments/" + id, {{"minToken", std::to_string(token)}}), keys[c]);
        if (r.status != 200 || r.Json()["status"] != status) {
          ADD_FAILURE() << "client " << c << " round " << i << ": " << r;
          return;
        }
        ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kClients * kRounds);
  // Each org ends with its clients' 5 ids each, in the last status written.
  std::int64_t token = Committed();
  for (int c = 0; c < 2; ++c) {
    std::vector<json> items = ListAll(keys[c], {}, token);
    EXPECT_EQ(items.size(), 10u) << (c ? "org-odd" : "org-even");
    json board = Realtime(keys[c], token);
    EXPECT_EQ(board.value("shipments", -1), 10) << board;
  }
}

// ---------------------------------------------------------------------------------------
// Operations endpoints and routing.

class OperationsTest : public HttpApiFixture {};

TEST_F(OperationsTest, HealthAndReadiness) {
  HttpReply h = Send("GET", "/healthz", {});
  EXPECT_EQ(h.status, 200) << h;
  EXPECT_EQ(h.Json(), json({{"status", "ok"}})) << h;

  HttpReply ready;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  do {
    ready = Send("GET", "/readyz", {});
    if (ready.status == 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  } while (std::chrono::steady_clock::now() < deadline);
  ASSERT_EQ(ready.status, 200) << ready;
  json rj = ready.Json();
  EXPECT_EQ(rj["status"], "ready") << ready;
  EXPECT_EQ(rj["streamConnected"], true) << ready;
}

TEST_F(OperationsTest, MetricsExposeTheDocumentedFamilies) {
  std::string key = TenantKey("acme");
  std::int64_t token = 0;
  for (int i = 0; i < 5; ++i) {
    token = Write(key, ShipmentDoc("S-" + std::to_string(i), "booked", NowSeconds()));
  }
  ASSERT_EQ(GetShipment(key, "S-1", token).status, 200);
  EXPECT_EQ(Get("/v1/shipments/NOPE", key).status, 404);

  HttpReply m = Send("GET", "/metrics", {});
  ASSERT_EQ(m.status, 200) << m;
  EXPECT_EQ(m.Header("Content-Type").rfind("text/plain", 0), 0u) << m.Header("Content-Type");
  for (const std::string name :
       {"viya_mv_error_total{", "viya_mv_refresh_duration_seconds_bucket{",
        "viya_mv_http_requests_total{", "viya_mv_drift_ratio{", "viya_mv_staleness_seconds{"}) {
    EXPECT_NE(m.body.find(name), std::string::npos) << "no samples of " << name;
  }
  // One series per worker, each with its own meaning: after the writes were applied the
  // lag is 0, the checkpoint is not stalled, the worker is up, nothing is dead-lettered.
  for (const std::string sample :
       {"\nviya_mv_change_stream_lag_events 0\n", "\nviya_mv_change_stream_lag_seconds 0\n",
        "\nviya_mv_checkpoint_age_seconds 0\n", "\nviya_mv_worker_up 1\n",
        "\nviya_mv_dead_letters 0\n", "\nviya_mv_staleness_target_seconds 1\n",
        "\nviya_mv_error_total{error=\"history_lost\",mv=\"all\"} 0\n"}) {
    EXPECT_NE(m.body.find(sample), std::string::npos) << "no sample " << sample;
  }
  EXPECT_EQ(m.body.find("viya_mv_change_stream_lag_events{"), std::string::npos)
      << "the lag is one value per worker, not one per view";
  // Requests are labelled by route pattern, never the raw path.
  EXPECT_NE(m.body.find("route=\"/v1/shipments/{id}\""), std::string::npos);
  EXPECT_EQ(m.body.find("route=\"/v1/shipments/S-1\""), std::string::npos);
  EXPECT_NE(m.body.find("status=\"404\""), std::string::npos);
  EXPECT_NE(m.body.find("type=\"incremental\""), std::string::npos);
  // The server's own figures: this test's connection is open.
  EXPECT_EQ(m.body.find("viya_mv_http_connections 0"), std::string::npos);
  for (const std::string name :
       {"viya_mv_http_connections ", "viya_mv_http_connections_refused_total ",
        "viya_mv_http_timeouts_total ", "viya_mv_http_bad_requests_total "}) {
    EXPECT_NE(m.body.find(name), std::string::npos) << "no " << name;
  }
  // A method no route has is counted as "other", so labels stay bounded.
  EXPECT_EQ(Send("FROB", "/v1/shipments", Bearer(key)).status, 405);
  HttpReply again = Send("GET", "/metrics", {});
  EXPECT_NE(again.body.find("method=\"other\""), std::string::npos);
  EXPECT_EQ(again.body.find("FROB"), std::string::npos);
}

// viya_mv_staleness_seconds{mv,org} has a sample per view for every org that has written,
// 0 when fresh, not only for orgs with changes pending at the moment of a scrape.
TEST_F(OperationsTest, StalenessHasASamplePerOrgAfterWrites) {
  std::string key = TenantKey("acme");
  std::int64_t token = 0;
  for (int i = 0; i < 5; ++i) {
    token = Write(key, ShipmentDoc("S-" + std::to_string(i), "booked", NowSeconds()));
  }
  ASSERT_EQ(GetShipment(key, "S-1", token).status, 200);
  HttpReply m = Send("GET", "/metrics", {});
  ASSERT_EQ(m.status, 200) << m;
  std::string lines;
  for (size_t at = m.body.find("viya_mv_staleness_seconds"); at != std::string::npos;
       at = m.body.find("viya_mv_staleness_seconds", at + 1)) {
    size_t begin = m.body.rfind('\n', at);
    begin = begin == std::string::npos ? 0 : begin + 1;
    lines += m.body.substr(begin, m.body.find('\n', at) - begin) + "\n";
  }
  EXPECT_NE(m.body.find("viya_mv_staleness_seconds{mv=\"mv_shipment_list\",org=\"acme\"} 0"),
            std::string::npos)
      << "no fresh staleness sample for org acme; staleness lines:\n"
      << lines;
}

TEST_F(OperationsTest, UnknownRoutesAre404Json) {
  std::string key = TenantKey("acme");
  for (const auto& [method, target] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/nope"}, {"GET", "/v1/shipments/S-1/history"}, {"GET", "/v2/shipments"}}) {
    HttpReply r = Send(method, target, Bearer(key), method == "POST" ? "{}" : "");
    EXPECT_EQ(r.status, 404) << method << " " << target << ": " << r;
    EXPECT_EQ(r.ErrorCode(), "not_found") << method << " " << target << ": " << r;
    EXPECT_FALSE(r.ErrorMessage().empty()) << r;
  }
}

// A path the API has, with a method it does not take: 405 naming the methods it does.
TEST_F(OperationsTest, WrongMethodsAre405WithAllow) {
  std::string key = TenantKey("acme");
  for (const auto& [method, target, allow] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"GET", "/v1/customers/C-1", "PUT"},
           {"POST", "/v1/shipments/S-1", "DELETE, GET"},
           {"DELETE", "/v1/shipments", "POST, GET"}}) {
    HttpReply r = Send(method, target, Bearer(key), method == "POST" ? "{}" : "");
    EXPECT_EQ(r.status, 405) << method << " " << target << ": " << r;
    EXPECT_EQ(r.ErrorCode(), "method_not_allowed") << r;
    EXPECT_EQ(r.Header("Allow"), allow) << r;
  }
  EXPECT_EQ(Committed(), 0) << "a refused request wrote something";
}

// ---------------------------------------------------------------------------------------
// Conditional reads and compression.

class ConditionalReadTest : public HttpApiFixture {};

// Every read answers an ETag; the same answer again is a 304 without a body, and any
// change to the answer changes the tag.
TEST_F(ConditionalReadTest, AnUnchangedAnswerIs304AndAChangedOneIsNot) {
  std::string key = TenantKey("acme");
  std::int64_t token = Write(key, ShipmentDoc("S-1", "booked", NowSeconds()));
  std::string board = WithQuery("/v1/ops/realtime", {{"minToken", std::to_string(token)}});
  HttpReply first = Get(board, key);
  ASSERT_EQ(first.status, 200) << first;
  std::string tag = first.Header("ETag");
  ASSERT_FALSE(tag.empty());
  EXPECT_EQ(first.Header("Cache-Control"), "no-cache");
  HeaderList conditional = Bearer(key);
  conditional.emplace_back("If-None-Match", tag);
  HttpReply again = Send("GET", board, conditional);
  EXPECT_EQ(again.status, 304) << again;
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(again.Header("ETag"), tag);
  EXPECT_FALSE(again.Header("X-View-Token").empty());
  // A list of tags, one of them weak, still matches.
  conditional.back().second = "\"other\", W/" + tag;
  EXPECT_EQ(Send("GET", board, conditional).status, 304);

  std::int64_t later = Write(key, ShipmentDoc("S-2", "exception", NowSeconds()));
  conditional.back().second = tag;
  HttpReply changed = Send(
      "GET", WithQuery("/v1/ops/realtime", {{"minToken", std::to_string(later)}}), conditional);
  EXPECT_EQ(changed.status, 200) << "the board changed, so the old tag must not match";
  EXPECT_NE(changed.Header("ETag"), tag);
  EXPECT_EQ(changed.Json()["shipments"], 2);
  // Errors carry no tag and are never 304.
  conditional.back().second = "*";
  HttpReply bad = Send("GET", "/v1/ops/realtime?nope=1", conditional);
  EXPECT_EQ(bad.status, 400);
  EXPECT_FALSE(bad.HasHeader("ETag"));
  // Writes are not conditional.
  EXPECT_FALSE(
      Post("/v1/shipments", key, ShipmentDoc("S-3", "booked", NowSeconds())).HasHeader("ETag"));
}

TEST_F(ConditionalReadTest, LargeAnswersAreGzippedWhenAccepted) {
  std::string key = TenantKey("acme");
  json batch = json::array();
  for (int i = 0; i < 200; ++i) {
    batch.push_back(ShipmentDoc("S-" + std::to_string(i), "booked", NowSeconds()));
  }
  std::int64_t token = Write(key, batch);
  std::string list =
      WithQuery("/v1/shipments", {{"limit", "200"}, {"minToken", std::to_string(token)}});
  HttpReply plain = Get(list, key);
  ASSERT_EQ(plain.status, 200);
  EXPECT_FALSE(plain.HasHeader("Content-Encoding"));
  HeaderList gzip = Bearer(key);
  gzip.emplace_back("Accept-Encoding", "gzip, deflate");
  HttpReply zipped = Send("GET", list, gzip);
  ASSERT_EQ(zipped.status, 200);
  EXPECT_EQ(zipped.Header("Content-Encoding"), "gzip");
  EXPECT_EQ(zipped.Header("Vary"), "Accept-Encoding");
  EXPECT_EQ(zipped.Header("ETag"), "W/" + plain.Header("ETag"));
  EXPECT_LT(zipped.body.size() * 4, plain.body.size());
  EXPECT_EQ(net::Gunzip(zipped.body), plain.body);
  // The weak tag of the compressed answer revalidates it too.
  gzip.emplace_back("If-None-Match", zipped.Header("ETag"));
  EXPECT_EQ(Send("GET", list, gzip).status, 304);
}

}  // namespace
}  // namespace mv::testing
