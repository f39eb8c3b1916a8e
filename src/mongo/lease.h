#pragma once

#include <mutex>
#include <optional>
#include <string>

#include "api/writer_lease.h"
#include "base/clock.h"
#include "mongo/view_database.h"

namespace mv::mongo {

inline constexpr const char* kLeases = "mv_leases";

struct LeaseOptions {
  std::string name = "stream";  // the partition (core::Partition::Id): the lease's _id
  std::string owner;            // this process: host, pid and a random part
  Millis ttl{15000};
};

// A partition's lease as a document of mv_leases: {_id: name, owner, epoch, expiresAt}.
// Taking it (free, or expired) bumps the epoch; the Fence, added to every transaction of
// the holder's view store, matches only this owner's epoch of an unexpired lease, so a
// batch of a worker whose lease another took or that expired fails as a whole. Expiry is
// judged by the clock of the worker that takes the lease; clock skew between workers can
// only make a takeover early, and the epoch still fences the former holder out.
// Thread-safe.
class MongoLease final : public api::WriterLease {
 public:
  MongoLease(ViewDatabase* db, const Clock* clock, LeaseOptions options)
      : db_(db), clock_(clock), options_(std::move(options)) {}

  Result<bool> TryAcquire() override;
  Status Renew() override;
  Status Release() override;
  Millis ttl() const override { return options_.ttl; }
  std::string holder() override;
  std::string name() const override { return options_.name; }

  // The write every transaction of the holder carries; one that matches nothing (the
  // lease is not held, or no longer) when it is not held.
  ViewDatabase::Write Fence() const;
  bool held() const override;
  std::int64_t epoch() const;

 private:
  ViewDatabase* db_;
  const Clock* clock_;
  const LeaseOptions options_;
  mutable std::mutex mu_;
  bool held_ = false;       // guarded by mu_
  std::int64_t epoch_ = 0;  // guarded by mu_
};

// A lease owner name for this process: "<host>:<pid>:<8 random hex digits>".
std::string LeaseOwnerName();

}  // namespace mv::mongo
