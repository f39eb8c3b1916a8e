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
  std::string org;  // "acme-retail"
  int customers = 20;
  int initial_shipments = 200;
  double weight = 1.0;  // share of the ongoing write load
};

struct SimulatorOptions {
  std::vector<OrgSpec> orgs;  // empty: a default mix of several orgs of different sizes
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
  // An open (non-terminal) shipment and the earliest time Step may move it on.
  struct OpenShipment {
    core::Shipment doc;
    Timestamp due;
  };

  Status SeedDirectory(size_t org);
  Status SeedBacklog(size_t org, Timestamp now);
  // A backlog document of org `org` whose state is what its lifecycle would be at `base`.
  // The first few `index`es cover every stage, so even a small org shows all of them.
  core::Shipment BacklogShipment(size_t org, size_t index, Timestamp base);
  // A fresh booked shipment of `org` created at `created`, with its promise.
  core::Shipment NewShipment(size_t org, Timestamp created);
  Status Book(size_t org, Timestamp now);
  // Moves one due open shipment of `org` on; false when none is due.
  Result<bool> AdvanceDue(size_t org, Timestamp now);
  // Remembers `doc` as open (unless terminal), due for its next move after a dwell time
  // of minutes (rarely hours: stuck shipments are what breach their promise).
  void Track(size_t org, core::Shipment doc, Timestamp now, bool backlog);
  Status Write(size_t org, const std::vector<core::Shipment>& docs);
  void LogProgress(double writes_per_second) const;

  storage::sqlite::SourceStore* store_;
  const Clock* clock_;
  SimulatorOptions options_;
  Status options_status_;  // why the options are unusable; Seed/Step/Run return it
  std::mt19937_64 rng_;
  std::uint64_t writes_ = 0;  // documents written (customers, carriers, shipments)
  // Open shipments per org index, in a deterministic order (append, swap-remove).
  std::vector<std::vector<OpenShipment>> open_;
  std::vector<int> next_id_;  // the next shipment number per org index
};

}  // namespace mv::sim
