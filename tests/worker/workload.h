#pragma once

// Random workloads over a few orgs and a small id space for the pipeline properties,
// written to the embedded source store. RunRandomWorkload drives any pipeline fixture
// with source(), clock(), worker(), RestartWorker(options) and a static Fast().

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/domain.h"
#include "core/tracking.h"
#include "worker/stream_worker.h"

namespace mv::testing {

using core::Shipment;
using core::ShipmentStatus;

// Random workloads over a few orgs and a small id space, so updates, deletes and
// re-inserts of the same shipment are frequent.
class Workload {
 public:
  explicit Workload(std::uint64_t seed) : rng_(seed) {}

  Shipment RandomShipment(const std::string& id, Timestamp now) {
    Shipment s;
    s.id = id;
    s.reference = "PO-" + std::to_string(Pick(0, 999));
    s.customer_id = "C-" + std::to_string(Pick(1, 4));
    s.carrier_id = std::vector<std::string>{"dhl", "ups", "postnl"}[Pick(0, 2)];
    s.service = Pick(0, 1) ? "express" : "standard";
    s.status = static_cast<ShipmentStatus>(Pick(0, core::kShipmentStatusCount - 1));
    s.created_at = now - std::chrono::hours(Pick(0, 72));
    if (Pick(0, 4) > 0) s.promised_delivery_at = now + std::chrono::minutes(Pick(-3000, 3000));
    if (Pick(0, 2) == 0) s.status_changed_at = now - std::chrono::minutes(Pick(0, 600));
    if (s.status == ShipmentStatus::kDelivered && Pick(0, 1)) {
      s.delivered_at = now - std::chrono::minutes(Pick(0, 3000));
    }
    if (Pick(0, 1)) s.weight_kg = Pick(1, 3000) / 100.0;
    if (Pick(0, 1)) s.declared_value = Pick(100, 900000) / 100.0;
    s.origin = {{"country", std::vector<std::string>{"NL", "DE", "FR"}[Pick(0, 2)]}};
    s.destination = {{"country", "DE"}};
    return s;
  }

  // A carrier event for a random shipment; event ids repeat (duplicates), codes include
  // unknown ones, and occurredAt wanders up to two days around `now` (late, out of order).
  core::TrackingEvent RandomEvent(Timestamp now) {
    static const std::vector<std::string> kCodes = {"PU", "IT", "ARR",   "OFD", "DL",
                                                    "EX", "RT", "XSCAN", "info"};
    core::TrackingEvent e;
    e.event_id = "E-" + std::to_string(Pick(1, 60));
    e.shipment_id = Id();
    e.carrier_id = std::vector<std::string>{"dhl", "ups"}[Pick(0, 1)];
    e.code = kCodes[Pick(0, static_cast<int>(kCodes.size()) - 1)];
    e.occurred_at = now + std::chrono::minutes(Pick(-2880, 600));
    e.location = "hub-" + std::to_string(Pick(1, 4));
    return e;
  }

  int Pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  std::string Org() { return "org-" + std::to_string(Pick(1, 3)); }
  std::string Id() { return "S-" + std::to_string(Pick(1, 25)); }

 private:
  std::mt19937_64 rng_;
};

// Writes a random mix of upserts (single and batched), deletes and clock moves, draining
// the stream and ticking the SLA clock at random points with random batch sizes.
template <typename P>
void RunRandomWorkload(P& p, Workload& w, int ops) {
  for (int i = 0; i < ops; ++i) {
    int dice = w.Pick(0, 99);
    std::string org = w.Org();
    if (dice < 20) {
      std::vector<core::TrackingEvent> events;
      int n = w.Pick(1, 4);
      for (int k = 0; k < n; ++k) events.push_back(w.RandomEvent(p.clock().Now()));
      ASSERT_TRUE(p.source().InsertTrackingEvents(org, events).ok());
    } else if (dice < 55) {
      std::vector<Shipment> batch;
      std::set<std::string> ids;
      int n = w.Pick(1, 3);
      for (int k = 0; k < n; ++k) {
        std::string id = w.Id();
        if (ids.insert(id).second) batch.push_back(w.RandomShipment(id, p.clock().Now()));
      }
      ASSERT_TRUE(p.source().UpsertShipments(org, batch).ok());
    } else if (dice < 70) {
      (void)p.source().DeleteShipment(org, w.Id());  // NotFound is fine
    } else if (dice < 80) {
      p.clock().Advance(std::chrono::minutes(w.Pick(1, 400)));
    } else if (dice < 92) {
      worker::WorkerOptions o = P::Fast();
      o.batch_max_events = static_cast<size_t>(w.Pick(1, 40));
      p.RestartWorker(o);
      auto n = p.worker().Step(Millis(0));
      ASSERT_TRUE(n.ok()) << n.status().ToString();
    } else {
      auto n = p.worker().TickSla();
      ASSERT_TRUE(n.ok()) << n.status().ToString();
    }
  }
}

}  // namespace mv::testing
