#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "core/tracking.h"
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

// What a simulator has written so far. Every tracking-event count is of events sent (a
// duplicate counts once per send), whether or not the store kept them.
struct SimulatorStats {
  std::uint64_t steps = 0;      // Step calls that succeeded
  std::uint64_t documents = 0;  // shipment, customer and carrier documents written
  std::uint64_t events_sent = 0;
  std::uint64_t duplicates_sent = 0;     // an event sent again (same eventId), later
  std::uint64_t duplicates_ignored = 0;  // of events_sent, those the store ignored
  std::uint64_t late_sent = 0;           // held back minutes, so sent out of order
  std::uint64_t unknown_codes_sent = 0;  // codes no mapping knows ("XSCAN", ...)
  std::uint64_t early_sent = 0;          // a scan sent before its shipment document
  std::uint64_t customer_renames = 0;
  std::uint64_t carrier_renames = 0;
};

// Writes a realistic multi-tenant shipping load into the embedded source store:
// customers and carriers per org, a backlog of shipments in every lifecycle stage with
// the carriers' tracking events, then a steady stream of new bookings and lifecycle moves
// (booked -> picked_up -> in_transit -> out_for_delivery -> delivered, with some
// exceptions, returns and cancellations, and some deliveries late against their promise),
// so every view has something to show.
//
// A move reaches the source the way it would on the real platform: as the carrier's
// tracking events (PU, DEP/ARR/IT, OFD, DL/POD, EX/DELAY/FAILED_ATTEMPT, RT), as an
// update of the shipment document, or both; many shipments progress through tracking
// events only. Some events are sent twice, some minutes late (after later ones), some
// carry codes no mapping knows, and now and then a carrier's pickup scan comes before
// the shipment's booking. Customers and, rarely, carriers get renamed.
//
// Not thread-safe: one thread calls Seed/Step/Run/FlushPending.
class Simulator {
 public:
  Simulator(storage::sqlite::SourceStore* store, const Clock* clock, SimulatorOptions options);

  // Creates customers, carriers and the initial shipments of every org, with their
  // tracking events (late and duplicate ones included).
  Status Seed();
  // One lifecycle change: a new booking or the next move of an open shipment, written as
  // the shipment document, tracking events or both (always at least one write). Also
  // sends the held-back events that are due and, now and then, renames a customer or a
  // carrier.
  Status Step();
  // Calls Step at options.writes_per_second until `stop` is set.
  Status Run(const std::atomic<bool>& stop);
  // Sends every held-back event (late ones and duplicates) now, whatever its send time.
  Status FlushPending();

  std::vector<std::string> orgs() const;
  const SimulatorStats& stats() const { return stats_; }

 private:
  // How the platform keeps a shipment's document up to date; the carrier sends its
  // tracking events whatever the mode.
  enum class DocMode {
    kEveryMove,  // the document is rewritten at every move
    kSometimes,  // at some moves only
    kNever,      // never after the booking (but a cancellation): events only
  };
  // An open (non-terminal) shipment: its true state (what the carrier sees), how its
  // document follows, and the earliest time Step may move it on.
  struct OpenShipment {
    core::Shipment truth;
    DocMode mode;
    Timestamp due;
  };
  // A backlog shipment: its true state, the document as the platform wrote it, and the
  // carrier's events so far, oldest first.
  struct BacklogEntry {
    core::Shipment truth;
    core::Shipment doc;
    DocMode mode;
    std::vector<core::TrackingEvent> events;
  };
  enum class SendKind { kOnTime, kLate, kDuplicate, kEarly };
  // An event held back: late ones and the second copy of duplicates.
  struct Pending {
    size_t org;
    core::TrackingEvent event;
    SendKind kind;
  };

  Status SeedDirectory(size_t org);
  Status SeedBacklog(size_t org, Timestamp now);
  // A backlog shipment of org `org` whose state is what its lifecycle would be at `base`.
  // The first few `index`es cover every stage, so even a small org shows all of them.
  BacklogEntry BacklogShipment(size_t org, size_t index, Timestamp base);
  // A fresh booked shipment of `org` created at `created`, with its promise.
  core::Shipment NewShipment(size_t org, Timestamp created);
  DocMode PickDocMode();
  Status Book(size_t org, Timestamp now);
  // Moves one due open shipment of `org` on; false when none is due.
  Result<bool> AdvanceDue(size_t org, Timestamp now);
  // The carrier's scans of `truth` moving from `from` to its current status at its
  // statusChangedAt, the previous change having been at `last`; oldest first, with ids.
  std::vector<core::TrackingEvent> MoveEvents(size_t org, const core::Shipment& truth,
                                              core::ShipmentStatus from, Timestamp last);
  // Gives events (oldest first) their ids, in that order.
  void NumberEvents(size_t org, std::vector<core::TrackingEvent>* events);
  // Sends `events` of `org`: most now, some held back to be sent minutes late, some sent
  // again later. In the backlog, "later" is right after the current batch. Unless
  // `may_hold_all`, at least one event goes now.
  Status Dispatch(size_t org, std::vector<core::TrackingEvent> events, Timestamp now, bool backlog,
                  bool may_hold_all);
  void Hold(size_t org, core::TrackingEvent event, SendKind kind, Timestamp send_at);
  // Sends the held-back events due at `now`; originals before duplicates.
  Status SendDue(Timestamp now);
  Status Insert(size_t org, const std::vector<core::TrackingEvent>& events, SendKind kind);
  // Now and then renames a customer; rarely a carrier.
  Status MaybeRename();
  // Remembers `truth` as open (unless terminal), due for its next move after a dwell time
  // of minutes (rarely hours: stuck shipments are what breach their promise).
  void Track(size_t org, core::Shipment truth, DocMode mode, Timestamp now, bool backlog);
  Status Write(size_t org, const std::vector<core::Shipment>& docs);
  void LogProgress(double steps_per_second) const;

  storage::sqlite::SourceStore* store_;
  const Clock* clock_;
  SimulatorOptions options_;
  Status options_status_;  // why the options are unusable; Seed/Step/Run return it
  std::mt19937_64 rng_;
  SimulatorStats stats_;
  // Open shipments per org index, in a deterministic order (append, swap-remove).
  std::vector<std::vector<OpenShipment>> open_;
  std::vector<int> next_id_;                              // the next shipment number per org index
  std::vector<std::int64_t> next_event_;                  // the next event number per org index
  std::vector<std::vector<std::string>> customer_stems_;  // "Stark Logistics", per org
  std::vector<std::vector<std::string>> customer_names_;  // the current names, per org
  std::vector<std::vector<size_t>> carrier_names_;        // per org and carrier: index of its name
  // Held-back events by (send time, sequence): a deterministic send order.
  std::map<std::pair<Timestamp, std::uint64_t>, Pending> pending_;
  std::uint64_t pending_seq_ = 0;
};

}  // namespace mv::sim
