#include "http/realtime_streams.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "base/time.h"
#include "http/json_writer.h"
#include "http/rows.h"

namespace mv::http {
namespace {

std::string Event(std::string_view name, core::ChangeToken token, std::string_view data) {
  return fmt::format("id: {}\nevent: {}\ndata: {}\n\n", token, name, data);
}

}  // namespace

RealtimeStreams::RealtimeStreams(api::ViewReader* reader, const Watermark* applied,
                                 std::function<double()> lag_seconds, Options options)
    : reader_(reader), applied_(applied), lag_seconds_(std::move(lag_seconds)), options_(options) {
  listener_ = applied_->Listen([this] {
    {
      std::lock_guard lock(mu_);
      token_moved_ = true;
    }
    cv_.notify_one();
  });
  thread_ = std::thread([this] { Run(); });
}

RealtimeStreams::~RealtimeStreams() { Stop(); }

void RealtimeStreams::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_one();
  applied_->Unlisten(listener_);
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mu_);
  for (auto& [org, board] : boards_) {
    for (auto& s : board.subscribers) s.stream->Close();
  }
  boards_.clear();
  count_ = 0;
}

size_t RealtimeStreams::subscribers() const {
  std::lock_guard lock(mu_);
  return count_;
}

Result<std::shared_ptr<net::BodyStream>> RealtimeStreams::Subscribe(const std::string& org) {
  auto stream = std::make_shared<net::BodyStream>(options_.max_buffered_bytes);
  // How long a client waits before it reconnects, should the stream end.
  stream->Push("retry: 2000\n\n");
  {
    std::lock_guard lock(mu_);
    if (stopping_) return Status::Unavailable("the server is stopping");
    if (count_ >= options_.max_subscribers) {
      return Status::Unavailable(fmt::format(
          "too many realtime streams (the limit is {}); retry shortly", options_.max_subscribers));
    }
    boards_[org].subscribers.push_back({stream, true, Steady::now()});
    ++count_;
    new_subscriber_ = true;
  }
  cv_.notify_one();
  return stream;
}

void RealtimeStreams::Run() {
  Steady::time_point next_heartbeat = Steady::now() + options_.heartbeat;
  for (;;) {
    bool moved = false;
    {
      std::unique_lock lock(mu_);
      cv_.wait_until(lock, next_heartbeat,
                     [this] { return stopping_ || token_moved_ || new_subscriber_; });
      if (stopping_) return;
      moved = token_moved_;
      bool woken = token_moved_ || new_subscriber_;
      token_moved_ = new_subscriber_ = false;
      lock.unlock();
      if (woken) Publish(moved);
    }
    next_heartbeat = Heartbeat();
  }
}

void RealtimeStreams::Publish(bool token_moved) {
  // The orgs to read: all of them when the token moved, else those with new subscribers.
  std::vector<std::string> orgs;
  {
    std::lock_guard lock(mu_);
    for (auto& [org, board] : boards_) {
      bool fresh = false;
      for (const auto& s : board.subscribers) fresh = fresh || s.fresh;
      if (token_moved || fresh) orgs.push_back(org);
    }
  }
  if (orgs.empty()) return;
  const double lag = Lag();
  for (const auto& org : orgs) {
    auto rows = reader_->AggregateRows("mv_realtime_ops", org);
    if (!rows.ok()) {
      spdlog::warn("realtime stream: reading the board of {}: {}", org, rows.status().ToString());
      continue;
    }
    std::string board_json;
    JsonWriter board(&board_json);
    WriteRealtimeBoard(board, org, rows->value);
    std::string data;
    JsonWriter w(&data);
    w.BeginObject();
    w.Key("token");
    w.String(std::to_string(rows->token));
    w.Key("lagSeconds");
    w.Double(lag);
    w.Key("board");
    w.Raw(board_json);
    w.EndObject();
    const std::string event = Event("realtime", rows->token, data);
    std::lock_guard lock(mu_);
    auto it = boards_.find(org);
    if (it == boards_.end()) continue;
    Board& b = it->second;
    const bool changed = b.json != board_json;
    b.json = board_json;
    auto& subs = b.subscribers;
    const Steady::time_point now = Steady::now();
    for (auto& s : subs) {
      if (changed || s.fresh) {
        s.stream->Push(event);
        s.sent = now;
      }
      s.fresh = false;
    }
    size_t before = subs.size();
    std::erase_if(subs, [](const Subscriber& s) { return s.stream->closed(); });
    count_ -= before - subs.size();
    if (subs.empty()) boards_.erase(it);
  }
}

RealtimeStreams::Steady::time_point RealtimeStreams::Heartbeat() {
  const Steady::time_point now = Steady::now();
  Steady::time_point next = now + options_.heartbeat;
  const std::string event = HeartbeatEvent();  // may read the lag: outside the lock
  std::lock_guard lock(mu_);
  for (auto it = boards_.begin(); it != boards_.end();) {
    auto& subs = it->second.subscribers;
    for (auto& s : subs) {
      // A new subscriber's first event is its board, never a heartbeat.
      if (s.fresh) continue;
      if (s.sent + options_.heartbeat > now) {
        next = std::min(next, s.sent + options_.heartbeat);
        continue;
      }
      s.stream->Push(event);
      s.sent = now;
    }
    size_t before = subs.size();
    std::erase_if(subs, [](const Subscriber& s) { return s.stream->closed(); });
    count_ -= before - subs.size();
    it = subs.empty() ? boards_.erase(it) : std::next(it);
  }
  return next;
}

double RealtimeStreams::Lag() {
  if (lag_read_at_ == Steady::time_point() ||
      Steady::now() - lag_read_at_ >= std::chrono::seconds(1)) {
    lag_ = lag_seconds_ ? lag_seconds_() : 0.0;
    lag_read_at_ = Steady::now();
  }
  return lag_;
}

std::string RealtimeStreams::HeartbeatEvent() {
  core::ChangeToken token = applied_->Get();
  std::string data;
  JsonWriter w(&data);
  w.BeginObject();
  w.Key("token");
  w.String(std::to_string(token));
  w.Key("lagSeconds");
  w.Double(Lag());
  w.Key("time");
  w.String(FormatRfc3339(
      std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now())));
  w.EndObject();
  return Event("heartbeat", token, data);
}

}  // namespace mv::http
