#include "cli/logging.h"

#include <gtest/gtest.h>
#include <spdlog/details/log_msg.h>

#include <nlohmann/json.hpp>
#include <string>

namespace mv::cli {
namespace {

std::string Format(std::string_view message, spdlog::level::level_enum level) {
  spdlog::details::log_msg msg(spdlog::source_loc{}, "viya-mv", level,
                               spdlog::string_view_t(message.data(), message.size()));
  spdlog::memory_buf_t out;
  JsonLogFormatter().format(msg, out);
  return std::string(out.data(), out.size());
}

TEST(JsonLogFormatter, OneParseableObjectPerLineWithTheDocumentedFields) {
  std::string line = Format("http: draining 3 \"connections\"\n\tnow \x01", spdlog::level::warn);
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "a message's newline stays escaped";
  nlohmann::json j = nlohmann::json::parse(line);
  EXPECT_EQ(j["level"], "warning");
  EXPECT_EQ(j["message"], "http: draining 3 \"connections\"\n\tnow \x01");
  EXPECT_EQ(j["component"], "http");
  EXPECT_TRUE(j["thread"].is_number());
  std::string time = j["time"];
  EXPECT_EQ(time.size(), 24u) << time;  // 2026-12-07T10:00:00.123Z
  EXPECT_EQ(time.back(), 'Z');
}

TEST(JsonLogFormatter, AMessageWithoutAComponentHasNone) {
  nlohmann::json j =
      nlohmann::json::parse(Format("viya-mv serving on http://x", spdlog::level::info));
  EXPECT_EQ(j["level"], "info");
  EXPECT_FALSE(j.contains("component")) << j;
  j = nlohmann::json::parse(Format("Stream: Uppercase is not a component", spdlog::level::err));
  EXPECT_FALSE(j.contains("component")) << j;
}

}  // namespace
}  // namespace mv::cli
