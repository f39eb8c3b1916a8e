// ParseTarget on an arbitrary request target, then every QueryParams accessor on the
// parsed query for a few parameter names. Checks: ParseTarget accepts exactly the targets
// that start with '/' (and then gives at least one path segment); each accessor's answer
// is what it promises: Text at most 256 bytes, Id a valid id, Integer within its bounds,
// Time round-trips through FormatRfc3339, Date is the date written, Week a Monday.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/time.h"
#include "core/domain.h"
#include "fuzz_check.h"
#include "http/request.h"
#include "net/message.h"

namespace {

constexpr const char* kNames[] = {"org",  "status",   "limit",     "cursor", "from",
                                  "to",   "q",        "carrierId", "sort",   "createdFrom",
                                  "week", "minToken", ""};

std::string FormatDate(std::chrono::sys_days d) {
  const std::chrono::year_month_day ymd{d};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buf;
}

// The raw value of `name` (the first one), as the accessors see it.
const std::string* Raw(const mv::http::QueryParams::Pairs& pairs, std::string_view name) {
  for (const auto& [n, v] : pairs) {
    if (n == name) return &v;
  }
  return nullptr;
}

void CheckName(const mv::http::QueryParams& params, const mv::http::QueryParams::Pairs& pairs,
               const char* name) {
  const std::string* raw = Raw(pairs, name);

  const auto text = params.Text(name);
  FUZZ_CHECK(text.ok() == (raw == nullptr || raw->size() <= 256), text.status().ToString());
  if (text.ok()) {
    FUZZ_CHECK(text->has_value() == (raw != nullptr), name);
    if (raw != nullptr) FUZZ_CHECK(**text == *raw, name);
  }

  const auto id = params.Id(name);
  if (id.ok() && id->has_value()) FUZZ_CHECK(mv::core::IsValidId(**id), **id);

  const auto time = params.Time(name);
  if (time.ok() && time->has_value()) {
    const std::string formatted = mv::FormatRfc3339(**time);
    const auto again = mv::ParseRfc3339(formatted);
    FUZZ_CHECK(again && *again == **time, *raw + " -> " + formatted);
  }

  for (const auto& [min, max] :
       {std::pair<std::int64_t, std::int64_t>{1, 1000},
        {0, 0},
        {-5, 5},
        {std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max()}}) {
    const auto n = params.Integer(name, min, max);
    if (n.ok() && n->has_value()) {
      FUZZ_CHECK(**n >= min && **n <= max, std::to_string(**n));
      FUZZ_CHECK(std::to_string(**n) == *raw || raw->front() == '0' || raw->front() == '-',
                 *raw + " -> " + std::to_string(**n));
    }
  }

  const auto date = params.Date(name);
  if (date.ok() && date->has_value()) {
    FUZZ_CHECK(FormatDate(**date) == *raw, *raw + " -> " + FormatDate(**date));
  }

  const auto week = params.Week(name);
  if (week.ok() && week->has_value()) {
    FUZZ_CHECK(std::chrono::weekday(**week) == std::chrono::Monday,
               *raw + " -> " + FormatDate(**week));
    FUZZ_CHECK(mv::http::MondayOf(**week) == **week, *raw);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view target(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> path = {"stale"};
  mv::http::QueryParams::Pairs query = {{"stale", "value"}};
  const mv::Status status = mv::net::ParseTarget(target, &path, &query);
  const bool origin_form = !target.empty() && target.front() == '/';
  FUZZ_CHECK(status.ok() == origin_form, status.ToString());
  if (!status.ok()) {
    FUZZ_CHECK(status.code() == mv::StatusCode::kInvalidArgument, status.ToString());
    FUZZ_CHECK(path.empty() && query.empty(), "output not cleared on error");
    return 0;
  }
  FUZZ_CHECK(!path.empty(), "no path segment");

  const mv::http::QueryParams params(query);
  (void)params.CheckAllowed({"org", "status", "limit", "cursor", "from", "to", "minToken"});
  (void)params.CheckAllowed({"org"});
  const mv::Status none_allowed = params.CheckAllowed({});
  FUZZ_CHECK(none_allowed.ok() == query.empty(), none_allowed.ToString());
  for (const char* name : kNames) CheckName(params, query, name);
  return 0;
}
