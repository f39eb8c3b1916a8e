#include "mongo/change_source.h"

#include <spdlog/spdlog.h>

#include <thread>

namespace mv::mongo {

MongoChangeSource::MongoChangeSource(StreamDriver* driver, SourceNames names, FieldMapping mapping,
                                     MongoChangeSourceOptions options)
    : driver_(driver),
      options_(options),
      state_(std::move(names), std::move(mapping), options.idle_checkpoint_interval) {}

Status MongoChangeSource::Reopen(core::ChangeToken after, Millis max_await) {
  cursor_.reset();
  held_.reset();
  state_.Reopened();
  // Inclusive: what is not after `after` is skipped. Token 0 is "before the first change":
  // the stream starts at the beginning of time, which a server whose oplog does not reach
  // back that far answers with ChangeStreamHistoryLost (a rebuild), never "from now".
  const ClusterTime start = after > 0 ? Unpack(after) : ClusterTime{1, 0};
  MV_ASSIGN_OR_RETURN(cursor_, driver_->Open(start, max_await));
  ++opens_;
  position_ = after;
  return Status::Ok();
}

Result<std::vector<core::ChangeEvent>> MongoChangeSource::Read(core::ChangeToken after,
                                                               size_t max_events, Millis wait,
                                                               Millis linger) {
  using SteadyClock = std::chrono::steady_clock;
  if (!cursor_ || after != position_) {
    MV_RETURN_IF_ERROR(Reopen(after, std::min(wait, options_.max_await)));
  }
  const auto started = SteadyClock::now();
  const auto wait_until = started + wait;
  auto linger_until = started + linger;
  std::vector<core::ChangeEvent> events;
  if (held_) {
    events.push_back(std::move(*held_));
    held_.reset();
  }
  // Events of the batch in hand come without waiting; an idle step waited for the next
  // batch (up to the stream's max await). Read until full, or idle past the deadline: the
  // wait while there is nothing, the linger once there is something.
  for (;;) {
    const bool full = events.size() >= max_events;
    CursorStep step = cursor_->Next();
    StreamStep s = state_.Next(step, SteadyClock::now());
    const bool idle = step.kind == CursorStep::Kind::kIdle;
    switch (s.kind) {
      case StreamStep::Kind::kAdvance:
        quiet_ = std::max(quiet_, s.token);  // scanned past, with nothing for the views
        [[fallthrough]];
      case StreamStep::Kind::kNothing:
        if (idle && (full || SteadyClock::now() >= (events.empty() ? wait_until : linger_until))) {
          goto done;
        }
        continue;
      case StreamStep::Kind::kDeadLetter:
        // Passed on like any change: the engine records it as a dead letter (operators
        // see it in the admin API), and the stream goes on.
        ++undecodable_;
        spdlog::error("change stream: an event that cannot be decoded ({}): {}", s.what,
                      s.error.message());
        [[fallthrough]];
      case StreamStep::Kind::kChange:
        if (s.token <= after) continue;  // the stream reopened at `after`, inclusive
        if (full && s.token != events.back().token) {
          held_ = std::move(s.event.change);  // the next batch's first
          goto done;
        }
        events.push_back(std::move(s.event.change));
        if (events.size() == 1) linger_until = SteadyClock::now() + linger;
        continue;
      case StreamStep::Kind::kHistoryLost:
        cursor_.reset();
        return Status::HistoryLost("change stream: " + s.what);
      case StreamStep::Kind::kFailed:
        cursor_.reset();
        return s.error;
      case StreamStep::Kind::kRetry:
        spdlog::warn("change stream: {}; reopening from the checkpoint", s.what);
        cursor_.reset();
        if (events.empty()) std::this_thread::sleep_for(std::min(wait, options_.retry_pause));
        goto done;
    }
  }
done:
  // Everything at the last token has been returned: a held event is at a later one.
  if (!events.empty()) position_ = events.back().token;
  if (options_.seen != nullptr) options_.seen->Advance(std::max(position_, quiet_));
  return events;
}

Result<core::ChangeToken> MongoChangeSource::LatestToken() {
  MV_ASSIGN_OR_RETURN(ClusterTime now, driver_->ClusterTimeNow());
  return Pack(now);
}

core::ChangeToken MongoChangeSource::QuietThrough() {
  if (!cursor_ || held_ || quiet_ <= position_) return 0;
  position_ = quiet_;  // the cursor is there: the next Read from it goes on without a reopen
  return quiet_;
}

}  // namespace mv::mongo
