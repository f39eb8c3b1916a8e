#pragma once

#include <spdlog/formatter.h>

#include <memory>
#include <string>

namespace mv::cli {

// Log lines as JSON objects, one per line, for log pipelines (log.format = "json"):
//   {"time":"2026-12-07T10:00:00.123Z","level":"info","message":"...","component":"http",
//    "thread":1234}
// `component` is the message's leading "name: " (e.g. "http: draining ..."), when it has
// one. Thread-safe as spdlog formatters are: each sink owns its own clone.
class JsonLogFormatter : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
  std::unique_ptr<spdlog::formatter> clone() const override;
};

// The process's logging: `level` (trace..error) and `format` (text | json), to stderr.
void SetLogging(const std::string& level, const std::string& format = "text");

}  // namespace mv::cli
