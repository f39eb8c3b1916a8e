#pragma once

#include <atomic>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "storage/sqlite/source_store.h"

namespace mv::sim {

struct OrgSpec {
  std::string org;        // "acme-retail"
  int customers = 20;
  int initial_shipments = 200;
  double weight = 1.0;    // share of the ongoing write load
};

struct SimulatorOptions {
  std::vector<OrgSpec> orgs;   // empty: a default mix of several orgs of different sizes
  double writes_per_second = 40;
  std::uint64_t seed = 42;
};

// Writes a realistic multi-tenant shipping load into the embedded source store:
// customers and carriers per org, a backlog of shipments in every lifecycle stage, then
// a steady stream of new bookings and status moves (booked -> picked_up -> in_transit ->
// out_for_delivery -> delivered, with some exceptions, returns and cancellations, and
// some deliveries late against their promise), so every view has something to show.
//
// Not thread-safe: one thread calls Seed/Step/Run.
class Simulator {
 public:
  Simulator(storage::sqlite::SourceStore* store, const Clock* clock, SimulatorOptions options);

  // Creates customers, carriers and the initial shipments of every org.
  Status Seed();
  // One write: a new booking or the next lifecycle move of an open shipment.
  Status Step();
  // Calls Step at options.writes_per_second until `stop` is set.
  Status Run(const std::atomic<bool>& stop);

  std::vector<std::string> orgs() const;
  std::uint64_t writes() const { return writes_; }

 private:
  storage::sqlite::SourceStore* store_;
  const Clock* clock_;
  SimulatorOptions options_;
  std::mt19937_64 rng_;
  std::uint64_t writes_ = 0;
  // Open shipments per org index, with their current documents.
  std::vector<std::vector<core::Shipment>> open_;
  std::vector<int> next_id_;
};

}  // namespace mv::sim
