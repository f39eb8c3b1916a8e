#include "http/tracking_body.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <string_view>

#include "http/request.h"

namespace mv::http {
namespace {

using nlohmann::json;

bool IsNdjson(std::string content_type) {
  content_type = content_type.substr(0, content_type.find(';'));
  std::transform(content_type.begin(), content_type.end(), content_type.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  while (!content_type.empty() && content_type.back() == ' ') content_type.pop_back();
  return content_type == "application/x-ndjson" || content_type == "application/ndjson";
}

bool IsBlank(std::string_view line) {
  return std::all_of(line.begin(), line.end(),
                     [](unsigned char c) { return c == ' ' || c == '\t' || c == '\r'; });
}

Status TooMany(size_t max_events) {
  return Status::PayloadTooLarge(
      fmt::format("body: more than {} tracking events in one request", max_events));
}

// One event document; errors are prefixed with `where` (which event it is).
class Collector {
 public:
  explicit Collector(TrackingBody* out) : out_(out) {}

  Status Add(const json& doc, const std::string& where) {
    if (!doc.is_object()) {
      return Status::InvalidArgument(where + (where.empty() ? "" : ": ") +
                                     "a tracking event must be a JSON object");
    }
    std::string prefix = where.empty() ? "" : where + (where.back() == ']' ? "." : ": ");
    if (auto it = doc.find("org"); it != doc.end()) {
      if (!it->is_string()) return Status::InvalidArgument(prefix + "org: must be a string");
      if (out_->org && *out_->org != it->get<std::string>()) {
        return Status::InvalidArgument(prefix + "org: a request may write to one org only");
      }
      out_->org = it->get<std::string>();
    }
    auto event = core::ParseTrackingEvent(doc);
    if (!event.ok()) return Status::InvalidArgument(prefix + event.status().message());
    out_->events.push_back(std::move(event).value());
    return Status::Ok();
  }

 private:
  TrackingBody* out_;
};

Result<TrackingBody> ParseNdjson(const std::string& body, size_t max_events) {
  std::vector<std::pair<size_t, std::string_view>> lines;  // line number, text
  std::string_view rest(body);
  for (size_t number = 1; !rest.empty(); ++number) {
    size_t end = rest.find('\n');
    std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    if (IsBlank(line)) continue;
    if (lines.size() == max_events) return TooMany(max_events);
    lines.emplace_back(number, line);
  }
  if (lines.empty()) {
    return Status::InvalidArgument("body: no tracking events (NDJSON: one JSON object per line)");
  }
  TrackingBody out;
  Collector collect(&out);
  for (const auto& [number, line] : lines) {
    std::string where = fmt::format("line {}", number);
    json doc;
    try {
      doc = json::parse(line);
    } catch (const json::parse_error& e) {
      return Status::InvalidArgument(fmt::format("{}: invalid JSON at byte {}", where, e.byte));
    } catch (const json::exception& e) {
      return Status::InvalidArgument(fmt::format("{}: invalid JSON: {}", where, e.what()));
    }
    MV_RETURN_IF_ERROR(collect.Add(doc, where));
  }
  return out;
}

}  // namespace

Result<TrackingBody> ParseTrackingBody(const std::string& text, const std::string& content_type,
                                       size_t max_events) {
  if (text.empty()) {
    return Status::InvalidArgument("the request body is empty; tracking events expected");
  }
  if (IsNdjson(content_type)) return ParseNdjson(text, max_events);
  MV_ASSIGN_OR_RETURN(json body, ParseJsonBody(text));
  TrackingBody out;
  Collector collect(&out);
  if (body.is_object()) {
    MV_RETURN_IF_ERROR(collect.Add(body, ""));
    return out;
  }
  if (!body.is_array()) {
    return Status::InvalidArgument(
        "body must be a tracking event object, an array of them, or NDJSON (Content-Type: "
        "application/x-ndjson)");
  }
  if (body.empty()) return Status::InvalidArgument("body: empty array");
  if (body.size() > max_events) return TooMany(max_events);
  for (size_t i = 0; i < body.size(); ++i) {
    MV_RETURN_IF_ERROR(collect.Add(body[i], fmt::format("events[{}]", i)));
  }
  return out;
}

}  // namespace mv::http
