#pragma once

#include <string>

#include "base/clock.h"
#include "base/result.h"

namespace mv::api {

// The exclusive right of one worker process to write the views of its stream partition,
// where the views are shared by processes on several machines (MongoDB views). Held for a
// time-to-live unless renewed; every write of the holder is fenced by it, so a worker that
// lost its lease writes nothing more and two workers of one partition never both apply a
// batch. Thread-safe.
class WriterLease {
 public:
  virtual ~WriterLease() = default;
  // Takes the lease when it is free or expired, or renews it when held: true when this
  // process holds it now, false while another holds it (holder() says who).
  virtual Result<bool> TryAcquire() = 0;
  // Conflict when the lease was lost (taken by another, or expired unrenewed).
  virtual Status Renew() = 0;
  // Gives the lease up at once (a graceful stop), so the next worker need not wait.
  virtual Status Release() = 0;
  // Whether this process holds it, as far as it knows (a renewal or a fenced write may
  // still find it lost).
  virtual bool held() const = 0;
  // The lease's time-to-live; renew well within it.
  virtual Millis ttl() const = 0;
  // "partition p0of2 held by host-a:4711:9f3c until 2026-11-02T12:00:15Z", for logs.
  virtual std::string holder() = 0;
  // "p0of2": the partition this lease is of.
  virtual std::string name() const = 0;
};

}  // namespace mv::api
