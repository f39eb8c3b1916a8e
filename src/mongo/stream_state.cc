#include "mongo/stream_state.h"

#include <fmt/format.h>

#include "mongo/cluster_time.h"
#include "mongo/extended_json.h"

namespace mv::mongo {
namespace {

using nlohmann::json;

constexpr int kChangeStreamHistoryLost = 286;
constexpr int kChangeStreamFatalError = 280;
constexpr int kInvalidResumeToken = 260;
constexpr int kCappedPositionLost = 136;
constexpr int kBsonObjectTooLarge = 10334;

bool HasLabel(const json& reply, const char* label) {
  auto labels = reply.find("errorLabels");
  if (labels == reply.end() || !labels->is_array()) return false;
  for (const json& l : *labels) {
    if (l.is_string() && l.get<std::string>() == label) return true;
  }
  return false;
}

int CodeOf(const json& reply) {
  auto code = reply.find("code");
  return code != reply.end() && code->is_number_integer() ? code->get<int>() : 0;
}

std::string Describe(const json& reply) {
  return fmt::format("{} ({}): {}", reply.value("codeName", "error"), CodeOf(reply),
                     reply.value("errmsg", reply.value("message", "")));
}

}  // namespace

StreamError ClassifyStreamError(const json& reply) {
  switch (CodeOf(reply)) {
    case kChangeStreamHistoryLost:
    case kChangeStreamFatalError:
    case kInvalidResumeToken:
    case kCappedPositionLost:
      return StreamError::kHistoryLost;
    case kBsonObjectTooLarge:
      return StreamError::kEventTooLarge;
    default:
      break;
  }
  if (HasLabel(reply, "NonResumableChangeStreamError")) return StreamError::kHistoryLost;
  return StreamError::kRetry;
}

Result<std::optional<json>> SplitEventAssembler::Add(const json& fragment) {
  const json split = fragment.value("splitEvent", json::object());
  int k = split.value("fragment", 0), of = split.value("of", 0);
  if (k != next_ || of < 1 || k > of || (pending() && of != of_)) {
    Reset();
    return Status::InvalidArgument(
        fmt::format("split event: fragment {} of {} out of order", k, of));
  }
  if (!pending()) parts_ = json::object();
  of_ = of;
  for (const auto& [name, value] : fragment.items()) {
    if (name != "splitEvent") parts_[name] = value;  // _id: the last fragment's wins
  }
  if (k < of) {
    ++next_;
    return std::optional<json>();
  }
  json whole = std::move(parts_);
  Reset();
  return std::optional<json>(std::move(whole));
}

StreamStep ChangeStreamState::Next(const CursorStep& step, Clock::time_point now) {
  switch (step.kind) {
    case CursorStep::Kind::kEvent:
      return OnEvent(step.doc, now);
    case CursorStep::Kind::kIdle:
      return OnIdle(step.doc, now);
    case CursorStep::Kind::kError:
      break;
  }
  StreamStep out;
  out.what = Describe(step.doc);
  split_.Reset();
  switch (ClassifyStreamError(step.doc)) {
    case StreamError::kHistoryLost:
      out.kind = StreamStep::Kind::kHistoryLost;
      break;
    case StreamError::kEventTooLarge:
      out.kind = StreamStep::Kind::kFailed;
      out.error = Status::Unavailable(fmt::format(
          "a change after resume token {} is over 16 MB and this server cannot split it "
          "($changeStreamSplitLargeEvent needs MongoDB 6.0.9 or 7.0+): {}",
          last_token_.empty() ? "(start)" : last_token_, out.what));
      break;
    case StreamError::kRetry:
      out.kind = StreamStep::Kind::kRetry;
      break;
  }
  return out;
}

StreamStep ChangeStreamState::OnEvent(const json& raw, Clock::time_point now) {
  StreamStep out;
  json event = raw;
  if (raw.contains("splitEvent")) {
    auto whole = split_.Add(raw);
    if (!whole.ok()) {
      out.kind = StreamStep::Kind::kRetry;  // reread the event from the checkpoint
      out.what = whole.status().message();
      return out;
    }
    if (!whole->has_value()) return out;  // kNothing: no checkpoint between fragments
    event = std::move(**whole);
  }
  auto decoded = DecodeChangeEvent(event, names_, mapping_);
  out.resume_token = event.contains("_id") ? event["_id"].dump() : std::string();
  if (auto id = event.find("_id"); id != event.end() && id->contains("_data")) {
    if (auto t = ClusterTimeOfResumeToken((*id)["_data"].get<std::string>()); t.ok()) {
      out.token = Pack(*t);
    }
  }
  if (!decoded.ok()) {
    out.kind = StreamStep::Kind::kDeadLetter;
    out.error = decoded.status();
    out.what = event.value("operationType", "event");
    // What can be told of the change, for the dead letter.
    core::ChangeEvent& c = out.event.change;
    c.token = out.token;
    const json ns = event.value("ns", json::object());
    if (auto coll = names_.CollectionOf(ns.value("coll", ""))) c.collection = *coll;
    const json key = event.value("documentKey", json::object());
    if (auto id = key.find("_id"); id != key.end()) {
      json plain = PlainJson(*id);
      c.document_id = plain.is_string() ? plain.get<std::string>() : plain.dump();
    }
    c.source_error = decoded.status().message();
    std::string raw = event.dump();
    constexpr size_t kMaxKept = 64 << 10;
    c.full_document = raw.size() <= kMaxKept ? raw : raw.substr(0, kMaxKept);
  } else {
    out.event = std::move(*decoded);
    out.what = out.event.what;
    switch (out.event.kind) {
      case DecodedEvent::Kind::kChange:
        out.kind = StreamStep::Kind::kChange;
        out.token = out.event.change.token;
        break;
      case DecodedEvent::Kind::kSkip:
        out.kind = StreamStep::Kind::kAdvance;
        break;
      case DecodedEvent::Kind::kHistoryLost:
        out.kind = StreamStep::Kind::kHistoryLost;
        return out;
    }
  }
  if (out.kind == StreamStep::Kind::kAdvance && out.resume_token.empty()) {
    out.kind = StreamStep::Kind::kNothing;
    return out;
  }
  last_token_ = out.resume_token;
  last_advance_ = now;
  return out;
}

StreamStep ChangeStreamState::OnIdle(const json& resume_token, Clock::time_point now) {
  StreamStep out;
  if (split_.pending() || !resume_token.is_object()) return out;
  std::string text = resume_token.dump();
  if (text == last_token_) return out;
  if (last_advance_ && now - *last_advance_ < idle_interval_) return out;
  if (auto data = resume_token.find("_data"); data != resume_token.end() && data->is_string()) {
    if (auto t = ClusterTimeOfResumeToken(data->get<std::string>()); t.ok()) out.token = Pack(*t);
  }
  out.kind = StreamStep::Kind::kAdvance;
  out.resume_token = std::move(text);
  out.what = "idle";
  last_token_ = out.resume_token;
  last_advance_ = now;
  return out;
}

}  // namespace mv::mongo
