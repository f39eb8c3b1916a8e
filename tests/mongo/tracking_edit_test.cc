// An edit or a delete of a tracking event in the platform's MongoDB re-derives that
// shipment's tracking summary from the source: the stream worker over the MongoDB source
// (a scripted cluster and its collections) and a real views.db.

#include <gtest/gtest.h>

#include "core/view_set.h"
#include "mongo/change_source.h"
#include "mongo/source_reader.h"
#include "scripted_cluster.h"
#include "scripted_collections.h"
#include "storage/sqlite/view_store.h"
#include "test_util.h"
#include "worker/stream_probe.h"
#include "worker/stream_worker.h"

namespace mv::testing {
namespace {

json TrackingDoc(const std::string& event_id, const std::string& code, const std::string& at) {
  return {{"_id", {{"$oid", "65f1a2b3c4d5e6f7081900" + event_id.substr(2)}}},
          {"organizationId", "acme"},
          {"eventId", event_id},
          {"shipmentId", "S-1"},
          {"carrierId", "dhl"},
          {"code", code},
          {"occurredAt", {{"$date", at}}}};
}

json TrackingChange(const std::string& op, std::uint32_t t, const json& doc) {
  json e = {{"_id", ResumeToken(t, 1)},
            {"operationType", op},
            {"clusterTime", {{"$timestamp", {{"t", t}, {"i", 1}}}}},
            {"ns", {{"db", "viya"}, {"coll", "tracking_events"}}},
            {"documentKey", {{"_id", doc["_id"]}}}};
  if (op == "delete") {
    e["fullDocumentBeforeChange"] = doc;
  } else {
    e["fullDocument"] = doc;
  }
  return e;
}

class TrackingEditTest : public ::testing::Test {
 protected:
  TrackingEditTest()
      : clock_(T("2026-11-01T12:00:00Z")),
        probe_(registry_, views_.Names()),
        reader_(&collections_, {}, {}) {
    store_ = std::move(
        storage::sqlite::SqliteViewStore::Open(dir_.File("views.db"), &views_, &clock_).value());
    mongo::MongoChangeSourceOptions o;
    o.retry_pause = Millis(0);
    changes_ = std::make_unique<mongo::MongoChangeSource>(&cluster_, mongo::SourceNames{},
                                                          mongo::FieldMapping{}, o);
    worker::WorkerOptions w;
    w.batch_max_wait = Millis(0);
    w.idle_wait = Millis(0);
    w.snapshot_new_views = false;
    worker_ =
        std::make_unique<worker::StreamWorker>(changes_.get(), &reader_, store_.get(), &views_,
                                               core::ProjectionOptions{}, &clock_, &probe_, w);
    // The shipment, as the platform wrote it before viya-mv started following.
    json shipment = {{"_id", "S-1"},
                     {"organizationId", "acme"},
                     {"status", "booked"},
                     {"statusChangedAt", {{"$date", "2026-11-01T06:00:00Z"}}},
                     {"createdAt", {{"$date", "2026-11-01T06:00:00Z"}}}};
    collections_.docs["shipments"] = {shipment};
    cluster_.log.push_back(ShipmentEvent("insert", 100, 1, "S-1"));
    cluster_.log.back()["fullDocument"] = shipment;
  }

  // Writes `doc` to the tracking collection (or removes it) and appends the change.
  void Write(const std::string& op, std::uint32_t t, const json& doc) {
    auto& docs = collections_.docs["tracking_events"];
    std::erase_if(docs, [&](const json& d) { return d["eventId"] == doc["eventId"]; });
    if (op != "delete") docs.push_back(doc);
    cluster_.log.push_back(TrackingChange(op, t, doc));
  }

  // The list row's status and deliveredAt after the stream caught up.
  std::pair<std::string, bool> Row() {
    for (int i = 0; i < 20; ++i) EXPECT_TRUE(worker_->Step(Millis(0)).ok());
    auto row = store_->FindShipmentRow({"acme", "S-1"});
    EXPECT_TRUE(row.ok() && row->has_value());
    if (!row.ok() || !row->has_value()) return {"", false};
    return {std::string(core::ToString((*row)->shipment.status)),
            (*row)->shipment.delivered_at.has_value()};
  }

  TempDir dir_;
  ManualClock clock_;
  core::ViewSet views_ = core::ViewSet::Default();
  prometheus::Registry registry_;
  worker::StreamProbe probe_;
  ScriptedCluster cluster_;
  ScriptedCollections collections_;
  mongo::MongoSourceReader reader_;
  std::unique_ptr<storage::sqlite::SqliteViewStore> store_;
  std::unique_ptr<mongo::MongoChangeSource> changes_;
  std::unique_ptr<worker::StreamWorker> worker_;
};

TEST_F(TrackingEditTest, AnEditedEventIsFoldedAgainFromTheSource) {
  Write("insert", 101, TrackingDoc("E-01", "PU", "2026-11-01T08:00:00Z"));
  Write("insert", 102, TrackingDoc("E-02", "DL", "2026-11-01T10:00:00Z"));
  EXPECT_EQ(Row(), (std::pair<std::string, bool>{"delivered", true}));
  // The carrier corrected E-02: it was an exception, not a delivery.
  Write("update", 103, TrackingDoc("E-02", "EX", "2026-11-01T10:00:00Z"));
  EXPECT_EQ(Row(), (std::pair<std::string, bool>{"exception", false}));
}

TEST_F(TrackingEditTest, ADeletedEventLeavesTheSummaryItsPreImageNamed) {
  Write("insert", 101, TrackingDoc("E-01", "PU", "2026-11-01T08:00:00Z"));
  Write("insert", 102, TrackingDoc("E-02", "DL", "2026-11-01T10:00:00Z"));
  EXPECT_EQ(Row(), (std::pair<std::string, bool>{"delivered", true}));
  Write("delete", 103, TrackingDoc("E-02", "DL", "2026-11-01T10:00:00Z"));
  EXPECT_EQ(Row(), (std::pair<std::string, bool>{"picked_up", false}));
  // The last one too: the summary goes, the document's own status is back.
  Write("delete", 104, TrackingDoc("E-01", "PU", "2026-11-01T08:00:00Z"));
  EXPECT_EQ(Row(), (std::pair<std::string, bool>{"booked", false}));
  MV_ASSERT_OK_AND_ASSIGN(auto summary, store_->FindTrackingSummary({"acme", "S-1"}));
  EXPECT_FALSE(summary.has_value());
}

}  // namespace
}  // namespace mv::testing
