#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "api/view_reader.h"
#include "base/clock.h"
#include "base/result.h"
#include "base/watermark.h"
#include "net/message.h"

namespace mv::http {

// GET /v1/ops/realtime/stream: orgs' realtime boards as server-sent events.
//
// One thread follows the applied token. When it moves, the board of each org with
// subscribers is read once and sent to them if it changed: one `realtime` event per
// change of the board, in token order, never one for an unchanged board (changes that
// commit while the board is being read arrive together, as the board at the later
// token). A new subscriber first gets the board as it is. After `heartbeat` without an
// event, each subscriber gets a `heartbeat` event with the token and the lag. A
// subscriber that reads too slowly is dropped by its stream's buffer limit, never waited
// for, so no client slows the worker or the other clients. Thread-safe.
class RealtimeStreams {
 public:
  struct Options {
    Millis heartbeat{15000};
    size_t max_subscribers = 1000;
    size_t max_buffered_bytes = 256 << 10;  // per subscriber
  };
  // `reader` and `applied` must outlive this object; `lag_seconds` is called from its
  // thread.
  RealtimeStreams(api::ViewReader* reader, const Watermark* applied,
                  std::function<double()> lag_seconds, Options options);
  ~RealtimeStreams();

  // A new subscriber of `org`'s board. Unavailable at max_subscribers.
  Result<std::shared_ptr<net::BodyStream>> Subscribe(const std::string& org);
  // Ends every stream and the thread; later subscriptions are refused.
  void Stop();
  size_t subscribers() const;

 private:
  using Steady = std::chrono::steady_clock;
  struct Subscriber {
    std::shared_ptr<net::BodyStream> stream;
    bool fresh = true;        // has not had the board yet
    Steady::time_point sent;  // when it was last sent an event
  };
  struct Board {
    std::string json;  // the last board sent ("": none yet)
    std::vector<Subscriber> subscribers;
  };
  void Run();
  // Reads the boards that may have changed and sends what did; drops closed streams.
  void Publish(bool token_moved);
  // Sends a heartbeat to each subscriber that has had no event for options_.heartbeat;
  // returns when the next one is due.
  Steady::time_point Heartbeat();
  std::string HeartbeatEvent();
  // The lag, read from the stores at most once a second (never under mu_); it rides on
  // every event.
  double Lag();

  api::ViewReader* const reader_;
  const Watermark* const applied_;
  const std::function<double()> lag_seconds_;
  const Options options_;
  int listener_ = 0;
  double lag_ = 0;                  // the last lag read; touched by the thread only
  Steady::time_point lag_read_at_;  // when; ditto
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Board> boards_;  // by org; guarded by mu_
  size_t count_ = 0;                     // subscribers; guarded by mu_
  bool token_moved_ = false;             // guarded by mu_
  bool new_subscriber_ = false;          // guarded by mu_
  bool stopping_ = false;                // guarded by mu_
  std::thread thread_;
};

}  // namespace mv::http
