#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "base/result.h"
#include "mongo/event_decoder.h"

namespace mv::mongo {

// What the driver hands over at one step of a change stream (mongoc_change_stream_next
// and its accessors), as Extended JSON. The driver itself retries resumable errors
// (network errors, elections) from its cached token; what reaches here is decided here.
struct CursorStep {
  enum class Kind {
    kEvent,  // `doc` is the next event
    kIdle,   // the batch held no (more) events; `doc` is the cursor's cached resume token
             // (an empty batch's postBatchResumeToken), or null before the first batch
    kError,  // `doc` is the server's error reply (code, codeName, errmsg, errorLabels)
  };
  Kind kind = Kind::kIdle;
  nlohmann::json doc;
};

enum class StreamError {
  kHistoryLost,    // the stored position cannot be resumed: rebuild, then resume
  kEventTooLarge,  // an event over 16 MB on a server without $changeStreamSplitLargeEvent
  kRetry,          // anything else (a resumable error the driver gave up on): reopen from
                   // the checkpoint after a pause
};

// ChangeStreamHistoryLost (286), ChangeStreamFatalError (280), InvalidResumeToken (260),
// CappedPositionLost (136) and any reply labelled NonResumableChangeStreamError lose the
// history; BSONObjectTooLarge (10334) is an event too large to return.
StreamError ClassifyStreamError(const nlohmann::json& reply);

// Puts back together an event that $changeStreamSplitLargeEvent returned as fragments
// (each with `splitEvent: {fragment: k, of: n}`, its own _id, and a share of the
// top-level fields). Not thread-safe.
class SplitEventAssembler {
 public:
  // The whole event (under the last fragment's _id, without splitEvent) once `fragment`
  // was the last one; nullopt while more are to come. InvalidArgument when fragments
  // arrive out of order (the assembler then starts over).
  Result<std::optional<nlohmann::json>> Add(const nlohmann::json& fragment);
  bool pending() const { return !parts_.is_null(); }
  void Reset() { parts_ = nullptr, next_ = 1; }

 private:
  nlohmann::json parts_;  // the fields gathered so far; null when none is pending
  int next_ = 1;
  int of_ = 0;
};

// What a change source does after one cursor step.
struct StreamStep {
  enum class Kind {
    kNothing,      // wait for the next step (idle, or fragments pending)
    kChange,       // apply `event`, then checkpoint `resume_token`
    kDeadLetter,   // the event could not be decoded (`error`): `event.change` carries what
                   // is known of it and source_error, for a dead letter; move past it
    kAdvance,      // no change to apply, but the checkpoint may move to `resume_token`
    kHistoryLost,  // rebuild from a snapshot, then resume from the snapshot's position
    kRetry,        // reopen the stream from the checkpoint after a pause
    kFailed,       // stop: `error` says why (an event too large to return)
  };
  Kind kind = Kind::kNothing;
  DecodedEvent event;
  std::string resume_token;     // where to resume after this step
  core::ChangeToken token = 0;  // the position it reached (packed cluster time)
  Status error;
  std::string what;  // for logs: the event or error this step came from
};

// The decisions of a MongoDB change source, free of the driver: decoding, split-event
// reassembly (the checkpoint never moves between fragments, so a restart re-reads the
// whole event), error classification, and the idle checkpoint (an empty batch's token
// advances the position, at most once per `idle_checkpoint_interval`). Not thread-safe.
class ChangeStreamState {
 public:
  using Clock = std::chrono::steady_clock;
  ChangeStreamState(SourceNames names, FieldMapping mapping,
                    std::chrono::milliseconds idle_checkpoint_interval)
      : names_(std::move(names)),
        mapping_(std::move(mapping)),
        idle_interval_(idle_checkpoint_interval) {}

  StreamStep Next(const CursorStep& step, Clock::time_point now);
  // After the stream was reopened (kRetry, or a rebuild): pending fragments are dropped,
  // since the new cursor returns them again.
  void Reopened() { split_.Reset(); }

 private:
  StreamStep OnEvent(const nlohmann::json& event, Clock::time_point now);
  StreamStep OnIdle(const nlohmann::json& resume_token, Clock::time_point now);

  const SourceNames names_;
  const FieldMapping mapping_;
  const std::chrono::milliseconds idle_interval_;
  SplitEventAssembler split_;
  std::string last_token_;  // the resume token of the last step that moved the position
  std::optional<Clock::time_point> last_advance_;
};

}  // namespace mv::mongo
