#include "cli/logging.h"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/details/log_msg.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <string_view>

namespace mv::cli {
namespace {

void AppendJsonString(std::string_view text, spdlog::memory_buf_t& dest) {
  dest.push_back('"');
  for (char c : text) {
    switch (c) {
      case '"':
        dest.append(std::string_view("\\\""));
        break;
      case '\\':
        dest.append(std::string_view("\\\\"));
        break;
      case '\n':
        dest.append(std::string_view("\\n"));
        break;
      case '\r':
        dest.append(std::string_view("\\r"));
        break;
      case '\t':
        dest.append(std::string_view("\\t"));
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          fmt::format_to(std::back_inserter(dest), "\\u{:04x}", static_cast<unsigned char>(c));
        } else {
          dest.push_back(c);
        }
    }
  }
  dest.push_back('"');
}

// "http" of "http: draining 3 connections"; empty when the message has no such prefix.
std::string_view ComponentOf(std::string_view message) {
  size_t colon = message.find(": ");
  if (colon == std::string_view::npos || colon == 0 || colon > 24) return {};
  for (char c : message.substr(0, colon)) {
    if (!((c >= 'a' && c <= 'z') || c == ' ' || c == '_' || c == '-')) return {};
  }
  return message.substr(0, colon);
}

}  // namespace

void JsonLogFormatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
  auto since_epoch = msg.time.time_since_epoch();
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
  auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - seconds);
  std::time_t t = static_cast<std::time_t>(seconds.count());
  std::tm tm{};
  gmtime_r(&t, &tm);
  fmt::format_to(std::back_inserter(dest), R"({{"time":"{:%Y-%m-%dT%H:%M:%S}.{:03d}Z","level":)",
                 tm, static_cast<int>(millis.count()));
  auto level = spdlog::level::to_string_view(msg.level);
  AppendJsonString(std::string_view(level.data(), level.size()), dest);
  std::string_view message(msg.payload.data(), msg.payload.size());
  dest.append(std::string_view(R"(,"message":)"));
  AppendJsonString(message, dest);
  if (std::string_view component = ComponentOf(message); !component.empty()) {
    dest.append(std::string_view(R"(,"component":)"));
    AppendJsonString(component, dest);
  }
  fmt::format_to(std::back_inserter(dest), R"(,"thread":{}}})", msg.thread_id);
  dest.push_back('\n');
}

std::unique_ptr<spdlog::formatter> JsonLogFormatter::clone() const {
  return std::make_unique<JsonLogFormatter>();
}

void SetLogging(const std::string& level, const std::string& format) {
  spdlog::set_level(spdlog::level::from_str(level));
  if (format == "json") {
    spdlog::set_formatter(std::make_unique<JsonLogFormatter>());
  } else {
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  }
}

}  // namespace mv::cli
