#include "app/config.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <toml++/toml.h>
#include <unistd.h>  // environ

#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

#include "base/schedule.h"
#include "base/uri.h"

namespace mv::app {
namespace {

constexpr std::string_view kEnvPrefix = "VIYA_MV_";
// What LoadConfigText's error messages name the document ("config:3:1: unknown key 'x'").
constexpr std::string_view kTextOrigin = "config";
// VIYA_MV_* variables that other parts of viya-mv read; the loader leaves them alone.
// (VIYA_MV_TEST_NEXT_VERSION: Application, for tests of blue/green versions.)
constexpr std::array<std::string_view, 4> kForeignEnv = {
    "VIYA_MV_MONGODB_URI", "VIYA_MV_CONFIG", "VIYA_MV_ADMIN_KEY", "VIYA_MV_TEST_NEXT_VERSION"};

constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();
// Durations are capped at ten years in their unit so that converting any of them to
// std::chrono::nanoseconds cannot overflow.
constexpr std::int64_t kTenYearsMs = 10LL * 365 * 24 * 3600 * 1000;
constexpr std::int64_t kTenYearsSeconds = kTenYearsMs / 1000;
constexpr std::int64_t kTenYearsMinutes = kTenYearsSeconds / 60;
constexpr std::int64_t kTenYearsHours = kTenYearsMinutes / 60;

using Value = std::variant<std::int64_t, std::string, bool>;

// An integer key accepts values in [min, max].
struct IntRule {
  std::int64_t min;
  std::int64_t max;
};
// A boolean key accepts true and false (in the environment also 1 and 0).
struct BoolRule {};
// A string key accepts a value when this returns an empty string; otherwise it returns
// what is wrong, for a person to read.
using StringRule = std::string (*)(const std::string& value);

// One configuration key: its place in the TOML document (`section` is the table, empty
// for a top-level key), what it accepts, and how to read and write it in a Config.
// `set` is only called with a value of the rule's type that the rule accepted.
struct Key {
  std::string_view section;
  std::string_view name;
  std::variant<IntRule, StringRule, BoolRule> rule;
  Value (*get)(const Config&);
  void (*set)(Config&, const Value&);

  bool is_int() const { return std::holds_alternative<IntRule>(rule); }
  bool is_bool() const { return std::holds_alternative<BoolRule>(rule); }
  std::string_view type_name() const {
    return is_int() ? "an integer" : is_bool() ? "a boolean" : "a string";
  }
};

std::string CheckDataDir(const std::string& value) {
  return value.empty() ? "must not be empty" : "";
}

// HOST:PORT, where HOST is a name, an IPv4 address or a bracketed IPv6 address
// ("[::1]:8080") and PORT is 0..65535 (0: any free port).
std::string CheckListen(const std::string& value) {
  constexpr std::string_view kWant = "expected HOST:PORT (e.g. 127.0.0.1:8080), port 0..65535";
  const std::size_t colon = value.rfind(':');
  if (colon == std::string::npos) return fmt::format("'{}': {}", value, kWant);
  const std::string_view host = std::string_view(value).substr(0, colon);
  const std::string_view port = std::string_view(value).substr(colon + 1);
  const bool bracketed = host.size() > 2 && host.front() == '[' && host.back() == ']';
  bool host_ok = !host.empty() && (bracketed || host.find_first_of(":[]") == std::string::npos);
  for (char c : host) host_ok = host_ok && static_cast<unsigned char>(c) > ' ';
  int port_number = -1;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), port_number);
  const bool port_ok = !port.empty() && port.size() <= 5 && port.front() >= '0' &&
                       port.front() <= '9' && ec == std::errc() &&
                       end == port.data() + port.size() && port_number <= 65535;
  if (!host_ok || !port_ok) return fmt::format("'{}': {}", value, kWant);
  return "";
}

// A job's schedule (base/schedule.h).
std::string CheckSchedule(const std::string& value) {
  auto parsed = Schedule::Parse(value);
  return parsed.ok() ? "" : parsed.status().message();
}

std::string CheckRole(const std::string& value) {
  if (value == "all" || value == "worker" || value == "api") return "";
  return fmt::format("'{}': allowed all, worker, api", value);
}

std::string CheckSourceBackend(const std::string& value) {
  if (value == "embedded" || value == "mongodb") return "";
  return fmt::format("'{}': allowed embedded, mongodb", value);
}

std::string CheckViewsBackend(const std::string& value) {
  if (value == "sqlite" || value == "mongodb") return "";
  return fmt::format("'{}': allowed sqlite, mongodb", value);
}

// A collection or field name: not empty, no NUL, not a $-operator.
std::string CheckName(const std::string& value) {
  if (value.empty() || value.size() > 120 || value.find('\0') != std::string::npos ||
      value.front() == '$') {
    return fmt::format("'{}': a collection or field name (1-120 characters, not starting with $)",
                       value);
  }
  return "";
}

std::string CheckUri(const std::string& value) {
  if (value.empty() || value.starts_with("mongodb://") || value.starts_with("mongodb+srv://")) {
    return "";
  }
  return fmt::format("'{}': expected mongodb://... or mongodb+srv://...", RedactUri(value));
}

std::string CheckLevel(const std::string& value) {
  for (std::string_view level : {"trace", "debug", "info", "warn", "error"}) {
    if (value == level) return "";
  }
  return fmt::format("'{}': allowed trace, debug, info, warn, error", value);
}

std::string CheckLogFormat(const std::string& value) {
  if (value == "text" || value == "json") return "";
  return fmt::format("'{}': allowed text, json", value);
}

// Org ids separated by commas, without empty ones.
std::string CheckOrgLabels(const std::string& value) {
  for (const auto& org : OrgLabelList(value)) {
    if (org.empty() || org.find_first_of(" \t\"") != std::string::npos) {
      return fmt::format("'{}': org ids separated by commas, without spaces", value);
    }
  }
  return "";
}

// Keys whose TOML name is the Config member's name; the macros keep the two in step.
// clang-format off
#define MV_INT_KEY(sec, member, lo, hi)                                                  \
  Key{#sec, #member, IntRule{lo, hi},                                                    \
      [](const Config& c) -> Value { return static_cast<std::int64_t>(c.sec.member); },  \
      [](Config& c, const Value& v) {                                                    \
        c.sec.member = static_cast<decltype(c.sec.member)>(std::get<std::int64_t>(v));   \
      }}
#define MV_BOOL_KEY(sec, member)                                                         \
  Key{#sec, #member, BoolRule{},                                                         \
      [](const Config& c) -> Value { return c.sec.member; },                             \
      [](Config& c, const Value& v) { c.sec.member = std::get<bool>(v); }}
#define MV_STRING_KEY(sec, member, check)                                                \
  Key{#sec, #member, StringRule{check},                                                  \
      [](const Config& c) -> Value { return c.sec.member; },                             \
      [](Config& c, const Value& v) { c.sec.member = std::get<std::string>(v); }}
// clang-format on

// Every key, top-level keys first, then grouped by section in document order.
const auto kKeys = std::to_array<Key>({
    Key{"", "data_dir", StringRule{CheckDataDir},
        [](const Config& c) -> Value { return c.data_dir; },
        [](Config& c, const Value& v) { c.data_dir = std::get<std::string>(v); }},
    MV_STRING_KEY(serve, role, CheckRole),
    MV_STRING_KEY(http, listen, CheckListen),
    MV_INT_KEY(http, threads, 0, 256),
    MV_INT_KEY(http, blocking_threads, 1, 256),
    MV_INT_KEY(http, max_connections, 1, 1'000'000),
    MV_INT_KEY(http, max_body_bytes, 1024, std::int64_t{1} << 30),
    MV_INT_KEY(http, max_header_bytes, 1024, 1 << 20),
    MV_INT_KEY(http, header_timeout_ms, 1, kTenYearsMs),
    MV_INT_KEY(http, body_timeout_ms, 1, kTenYearsMs),
    MV_INT_KEY(http, idle_timeout_ms, 1, kTenYearsMs),
    MV_INT_KEY(http, write_timeout_ms, 1, kTenYearsMs),
    MV_INT_KEY(http, drain_timeout_ms, 0, kTenYearsMs),
    MV_INT_KEY(http, gzip_min_bytes, 0, std::int64_t{1} << 30),
    MV_INT_KEY(http, min_token_timeout_ms, 1, 60000),
    MV_INT_KEY(http, ready_max_lag_events, 1, kInt64Max),
    MV_INT_KEY(http, stream_heartbeat_ms, 10, 3'600'000),
    MV_INT_KEY(http, max_streams, 0, 1'000'000),
    MV_STRING_KEY(source, backend, CheckSourceBackend),
    MV_STRING_KEY(source, uri, CheckUri),
    MV_STRING_KEY(source, database, CheckName),
    MV_STRING_KEY(source, shipments, CheckName),
    MV_STRING_KEY(source, tracking_events, CheckName),
    MV_STRING_KEY(source, customers, CheckName),
    MV_STRING_KEY(source, carriers, CheckName),
    MV_STRING_KEY(source, org_field, CheckName),
    MV_STRING_KEY(source, id_field, CheckName),
    MV_INT_KEY(stream, batch_max_events, 1, 100000),
    MV_INT_KEY(stream, batch_max_wait_ms, 0, kTenYearsMs),
    MV_INT_KEY(stream, idle_wait_ms, 1, kTenYearsMs),
    MV_INT_KEY(stream, partitions, 1, 1024),
    MV_INT_KEY(stream, partition, 0, 1023),
    MV_INT_KEY(stream, lease_seconds, 3, 3600),
    MV_INT_KEY(oplog, retention_hours, 1, kTenYearsHours),
    MV_INT_KEY(oplog, min_window_hours, 0, kTenYearsHours),
    MV_INT_KEY(storage, views_cache_mb, 1, 1 << 20),
    MV_INT_KEY(sla, at_risk_window_minutes, 1, kTenYearsMinutes),
    MV_INT_KEY(sla, tick_interval_ms, 1, kTenYearsMs),
    MV_INT_KEY(lookup, cache_ttl_seconds, 1, kTenYearsSeconds),
    MV_INT_KEY(lookup, cache_max_entries, 1, 10'000'000),
    MV_INT_KEY(tracking, orphan_retention_days, 1, 10 * 365),
    MV_STRING_KEY(jobs, reconcile, CheckSchedule),
    MV_STRING_KEY(jobs, daily_metrics_refresh, CheckSchedule),
    MV_STRING_KEY(jobs, oplog_prune, CheckSchedule),
    MV_STRING_KEY(jobs, orphan_tracking, CheckSchedule),
    MV_STRING_KEY(jobs, retired_views, CheckSchedule),
    MV_STRING_KEY(views, backend, CheckViewsBackend),
    MV_STRING_KEY(views, uri, CheckUri),
    MV_STRING_KEY(views, database, CheckName),
    MV_BOOL_KEY(views, auto_switch),
    MV_INT_KEY(views, retired_keep_hours, 0, kTenYearsHours),
    MV_BOOL_KEY(reconcile, auto_repair),
    MV_INT_KEY(metrics, staleness_target_ms, 1, kTenYearsMs),
    MV_STRING_KEY(metrics, org_labels, CheckOrgLabels),
    MV_INT_KEY(metrics, max_org_labels, 0, 100000),
    MV_STRING_KEY(log, level, CheckLevel),
    MV_STRING_KEY(log, format, CheckLogFormat),
});

#undef MV_INT_KEY
#undef MV_STRING_KEY
#undef MV_BOOL_KEY

// `text` as a TOML basic string, with the escapes TOML requires. TOML holds only UTF-8, so
// a string that is not valid UTF-8 does not read back (LoadConfig never produces one).
std::string TomlString(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
          out += fmt::format("\\u{:04X}", static_cast<unsigned char>(c));
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

std::string TomlValue(const Value& value) {
  if (const auto* n = std::get_if<std::int64_t>(&value)) return std::to_string(*n);
  if (const auto* b = std::get_if<bool>(&value)) return *b ? "true" : "false";
  return TomlString(std::get<std::string>(value));
}

// "http.listen", or "data_dir" for a top-level key.
std::string FullName(const Key& key) {
  if (key.section.empty()) return std::string(key.name);
  return fmt::format("{}.{}", key.section, key.name);
}

// "VIYA_MV_HTTP_LISTEN", "VIYA_MV_DATA_DIR".
std::string EnvName(const Key& key) {
  std::string name = std::string(kEnvPrefix) + FullName(key);
  for (char& c : name)
    c = c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return name;
}

// The merged value of one key and where it came from ("default", "file.toml:3:1",
// "VIYA_MV_HTTP_THREADS"), for error messages.
struct Setting {
  Value value;
  std::string origin;
};
// One Setting per entry of kKeys, same order.
using Settings = std::vector<Setting>;

Settings DefaultSettings() {
  const Config defaults;
  Settings settings;
  for (const Key& key : kKeys) settings.push_back({key.get(defaults), "default"});
  return settings;
}

// The index in kKeys of section.name, or -1.
int FindKey(std::string_view section, std::string_view name) {
  for (std::size_t i = 0; i < kKeys.size(); ++i) {
    if (kKeys[i].section == section && kKeys[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

bool IsSection(std::string_view name) {
  for (const Key& key : kKeys) {
    if (!key.section.empty() && key.section == name) return true;
  }
  return false;
}

// True when `text` is well-formed UTF-8 (no overlong forms, surrogates or code points
// above U+10FFFF), which is what a TOML document may hold.
bool IsUtf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t extra = 0;
    std::uint32_t cp = lead;
    if (lead >= 0xC2 && lead <= 0xDF) {
      extra = 1;
      cp = lead & 0x1F;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      extra = 2;
      cp = lead & 0x0F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      extra = 3;
      cp = lead & 0x07;
    } else if (lead >= 0x80) {
      return false;
    }
    if (i + extra >= text.size() && extra > 0) return false;
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto c = static_cast<unsigned char>(text[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    const std::uint32_t min = extra == 1 ? 0x80 : extra == 2 ? 0x800 : 0x10000;
    if (extra > 0 && (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

std::string_view TypeName(toml::node_type type) {
  switch (type) {
    case toml::node_type::none:
      return "nothing";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
  }
  return "an unknown type";
}

// "path:line:col" of a region of the config file, or just "path" when toml++ does not know.
std::string Where(const std::string& path, const toml::source_region& region) {
  if (region.begin.line == 0) return path;
  return fmt::format("{}:{}:{}", path, region.begin.line, region.begin.column);
}

// Stores the TOML value `node` of kKeys[index] into `settings`; InvalidArgument when its
// type is not the key's.
Status ApplyNode(int index, const toml::node& node, std::string where, Settings& settings) {
  const Key& key = kKeys[static_cast<std::size_t>(index)];
  Setting& setting = settings[static_cast<std::size_t>(index)];
  if (key.is_int() && node.is_integer()) {
    setting = {node.as_integer()->get(), std::move(where)};
  } else if (key.is_bool() && node.is_boolean()) {
    setting = {node.as_boolean()->get(), std::move(where)};
  } else if (!key.is_int() && !key.is_bool() && node.is_string()) {
    setting = {node.as_string()->get(), std::move(where)};
  } else {
    return Status::InvalidArgument(fmt::format("{}: {}: expected {}, got {}", where, FullName(key),
                                               key.type_name(), TypeName(node.type())));
  }
  return Status::Ok();
}

Status UnknownKey(const std::string& where, std::string_view name) {
  return Status::InvalidArgument(fmt::format("{}: unknown key '{}'", where, name));
}

// Applies the keys of the table [section].
Status ApplySection(const std::string& path, std::string_view section, const toml::node& node,
                    const std::string& where, Settings& settings) {
  const toml::table* table = node.as_table();
  if (table == nullptr) {
    return Status::InvalidArgument(
        fmt::format("{}: {}: expected a table, got {}", where, section, TypeName(node.type())));
  }
  for (const auto& [key, value] : *table) {
    const std::string key_where = Where(path, key.source());
    const int index = FindKey(section, key.str());
    if (index < 0) return UnknownKey(key_where, fmt::format("{}.{}", section, key.str()));
    MV_RETURN_IF_ERROR(ApplyNode(index, value, key_where, settings));
  }
  return Status::Ok();
}

// [tracking]: carrier code -> status overrides. They come from the file only (a map does
// not fit one environment variable) and are checked here, where their place is known.

using TrackingCodes = decltype(Config::Tracking::codes);

// What a code may map to: the names of core::ShipmentStatus (core/domain.h, which this
// library does not link; the application parses them again) and "none".
constexpr std::array<std::string_view, 9> kTrackingStatuses = {
    "booked",   "picked_up", "in_transit", "out_for_delivery", "delivered", "exception",
    "returned", "cancelled", "none"};
constexpr std::size_t kMaxCodeLength = 64;        // as core::ParseTrackingEvent
constexpr std::size_t kMaxCarrierIdLength = 128;  // as core::IsValidId

std::string TrackingStatusList() {
  std::string list;
  for (std::string_view status : kTrackingStatuses) {
    if (!list.empty()) list += ", ";
    list += status;
  }
  return list;
}

bool IsTrackingStatus(std::string_view value) {
  for (std::string_view status : kTrackingStatuses) {
    if (value == status) return true;
  }
  return false;
}

bool IsAsciiAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// 1..128 characters of letters, digits and -_.:@, like every id viya-mv accepts.
bool IsCarrierId(std::string_view id) {
  if (id.empty() || id.size() > kMaxCarrierIdLength) return false;
  for (char c : id) {
    if (!IsAsciiAlnum(c) && c != '-' && c != '_' && c != '.' && c != ':' && c != '@') {
      return false;
    }
  }
  return true;
}

// ASCII upper case, whatever the locale; core::CodeMapping compares codes this way.
std::string UpperCode(std::string_view code) {
  std::string out(code);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

// `segment` as one TOML key: bare when TOML allows it, otherwise quoted ("dhl.express").
std::string TomlKey(std::string_view segment) {
  bool bare = !segment.empty();
  for (char c : segment) bare = bare && (IsAsciiAlnum(c) || c == '-' || c == '_');
  return bare ? std::string(segment) : TomlString(segment);
}

// (line, column) where `key` is written.
std::pair<toml::source_index, toml::source_index> FilePosition(const toml::key& key) {
  return {key.source().begin.line, key.source().begin.column};
}

// Stores the CODE = "status" entries of the table `name` ("tracking.codes",
// "tracking.carriers.dhl") into `codes` under `carrier_id` ("" for every carrier).
Status ApplyCodeTable(const std::string& path, const std::string& name,
                      const std::string& carrier_id, const toml::node& node,
                      const std::string& where, TrackingCodes& codes) {
  const toml::table* table = node.as_table();
  if (table == nullptr) {
    return Status::InvalidArgument(
        fmt::format("{}: {}: expected a table of CODE = \"status\", got {}", where, name,
                    TypeName(node.type())));
  }
  // Upper-cased code -> its key: "pu" and "PU" in one table are the same code.
  std::map<std::string, const toml::key*> seen;
  for (const auto& [key, value] : *table) {
    const std::string key_where = Where(path, key.source());
    const std::string full_name = fmt::format("{}.{}", name, TomlKey(key.str()));
    if (key.str().empty() || key.str().size() > kMaxCodeLength) {
      return Status::InvalidArgument(fmt::format("{}: {}: a code must be 1..{} characters",
                                                 key_where, full_name, kMaxCodeLength));
    }
    if (!value.is_string()) {
      return Status::InvalidArgument(
          fmt::format("{}: {}: expected a string, one of {}; got {}{}", key_where, full_name,
                      TrackingStatusList(), TypeName(value.type()),
                      value.is_table() ? " (a code that contains '.' must be quoted)" : ""));
    }
    const std::string& status = value.as_string()->get();
    if (!IsTrackingStatus(status)) {
      return Status::InvalidArgument(fmt::format("{}: {}: {} is not a status; allowed {}",
                                                 key_where, full_name, TomlString(status),
                                                 TrackingStatusList()));
    }
    std::string code = UpperCode(key.str());
    const auto [other, inserted] = seen.emplace(code, &key);
    if (!inserted) {
      // The table iterates in key order; name the later of the two in the file first.
      const toml::key* first = other->second;
      const toml::key* second = &key;
      if (FilePosition(*second) < FilePosition(*first)) std::swap(first, second);
      return Status::InvalidArgument(
          fmt::format("{}: {}.{}: code {} is also set at {} (codes compare case-insensitively)",
                      Where(path, second->source()), name, TomlKey(second->str()), TomlKey(code),
                      Where(path, first->source())));
    }
    codes[{carrier_id, std::move(code)}] = status;
  }
  return Status::Ok();
}

// [tracking.carriers.<carrierId>] tables.
Status ApplyCarrierTables(const std::string& path, const toml::node& node, const std::string& where,
                          TrackingCodes& codes) {
  const toml::table* table = node.as_table();
  if (table == nullptr) {
    return Status::InvalidArgument(
        fmt::format("{}: tracking.carriers: expected a table of carrier tables, got {}", where,
                    TypeName(node.type())));
  }
  for (const auto& [key, value] : *table) {
    const std::string key_where = Where(path, key.source());
    const std::string name = fmt::format("tracking.carriers.{}", TomlKey(key.str()));
    if (!IsCarrierId(key.str())) {
      return Status::InvalidArgument(
          fmt::format("{}: {}: a carrier id must be 1..{} characters of letters, digits and -_.:@",
                      key_where, name, kMaxCarrierIdLength));
    }
    MV_RETURN_IF_ERROR(ApplyCodeTable(path, name, std::string(key.str()), value, key_where, codes));
  }
  return Status::Ok();
}

// The [tracking] table: `codes`, `carriers` and the keys of section "tracking".
Status ApplyTracking(const std::string& path, const toml::node& node, const std::string& where,
                     Settings& settings, TrackingCodes& codes) {
  const toml::table* table = node.as_table();
  if (table == nullptr) {
    return Status::InvalidArgument(
        fmt::format("{}: tracking: expected a table, got {}", where, TypeName(node.type())));
  }
  for (const auto& [key, value] : *table) {
    const std::string key_where = Where(path, key.source());
    if (key.str() == "codes") {
      MV_RETURN_IF_ERROR(ApplyCodeTable(path, "tracking.codes", "", value, key_where, codes));
    } else if (key.str() == "carriers") {
      MV_RETURN_IF_ERROR(ApplyCarrierTables(path, value, key_where, codes));
    } else if (int index = FindKey("tracking", key.str()); index >= 0) {
      MV_RETURN_IF_ERROR(ApplyNode(index, value, key_where, settings));
    } else {
      return Status::InvalidArgument(
          fmt::format("{}: unknown key 'tracking.{}' (allowed tracking.codes, tracking.carriers, "
                      "tracking.orphan_retention_days)",
                      key_where, TomlKey(key.str())));
    }
  }
  return Status::Ok();
}

// [source.fields.<collection>]: canonical field -> the platform's name, from the file only.
using FieldNames = decltype(Config::Source::fields);

// The canonical fields a platform document may name differently, per collection (the
// API's names, core/domain.h; the org and the id have keys of their own).
const std::map<std::string, std::set<std::string>>& RenamableFields() {
  static const std::map<std::string, std::set<std::string>> fields = {
      {"shipments",
       {"reference", "customerId", "carrierId", "service", "status", "statusChangedAt", "origin",
        "destination", "weightKg", "declaredValue", "currency", "createdAt", "pickedUpAt",
        "outForDeliveryAt", "deliveredAt", "promisedDeliveryAt"}},
      {"tracking_events", {"eventId", "shipmentId", "carrierId", "code", "occurredAt", "location"}},
      {"customers", {"name"}},
      {"carriers", {"name", "services"}}};
  return fields;
}

Status ApplyFieldTables(const std::string& path, const toml::node& node, const std::string& where,
                        FieldNames& fields) {
  const toml::table* collections = node.as_table();
  if (collections == nullptr) {
    return Status::InvalidArgument(
        fmt::format("{}: source.fields: expected a table of collection tables, got {}", where,
                    TypeName(node.type())));
  }
  for (const auto& [collection, table_node] : *collections) {
    const std::string c = std::string(collection.str());
    const std::string c_where = Where(path, collection.source());
    auto known = RenamableFields().find(c);
    if (known == RenamableFields().end()) {
      return Status::InvalidArgument(fmt::format(
          "{}: source.fields.{}: allowed shipments, tracking_events, customers, carriers", c_where,
          TomlKey(c)));
    }
    const toml::table* table = table_node.as_table();
    if (table == nullptr) {
      return Status::InvalidArgument(
          fmt::format("{}: source.fields.{}: expected a table", c_where, c));
    }
    for (const auto& [field, name] : *table) {
      const std::string f = std::string(field.str());
      const std::string f_where = Where(path, field.source());
      if (!known->second.count(f)) {
        return Status::InvalidArgument(
            fmt::format("{}: source.fields.{}.{}: not a field of {} (allowed {})", f_where, c,
                        TomlKey(f), c, fmt::join(known->second, ", ")));
      }
      const auto* text = name.as_string();
      std::string complaint = text ? CheckName(text->get()) : "expected a string";
      if (complaint.empty() && text->get().find('.') != std::string::npos) {
        complaint = "a top-level field of the platform's documents (no '.')";
      }
      if (!complaint.empty()) {
        return Status::InvalidArgument(
            fmt::format("{}: source.fields.{}.{}: {}", f_where, c, f, complaint));
      }
      fields[c][f] = text->get();
    }
  }
  return Status::Ok();
}

// The [source] table: `fields` and the keys of section "source".
Status ApplySource(const std::string& path, const toml::node& node, const std::string& where,
                   Settings& settings, FieldNames& fields) {
  const toml::table* table = node.as_table();
  if (table == nullptr) {
    return Status::InvalidArgument(
        fmt::format("{}: source: expected a table, got {}", where, TypeName(node.type())));
  }
  for (const auto& [key, value] : *table) {
    const std::string key_where = Where(path, key.source());
    if (key.str() == "fields") {
      MV_RETURN_IF_ERROR(ApplyFieldTables(path, value, key_where, fields));
    } else if (int index = FindKey("source", key.str()); index >= 0) {
      MV_RETURN_IF_ERROR(ApplyNode(index, value, key_where, settings));
    } else {
      return UnknownKey(key_where, fmt::format("source.{}", key.str()));
    }
  }
  return Status::Ok();
}

// Applies a parsed document: top-level keys, the known sections and [tracking].
Status ApplyDocument(const std::string& path, const toml::table& root, Settings& settings,
                     TrackingCodes& codes, FieldNames& fields) {
  for (const auto& [key, value] : root) {
    const std::string where = Where(path, key.source());
    const int index = FindKey("", key.str());
    if (index >= 0) {
      MV_RETURN_IF_ERROR(ApplyNode(index, value, where, settings));
    } else if (key.str() == "tracking") {
      MV_RETURN_IF_ERROR(ApplyTracking(path, value, where, settings, codes));
    } else if (key.str() == "source") {
      MV_RETURN_IF_ERROR(ApplySource(path, value, where, settings, fields));
    } else if (IsSection(key.str())) {
      MV_RETURN_IF_ERROR(ApplySection(path, key.str(), value, where, settings));
    } else if (value.is_table()) {
      return Status::InvalidArgument(fmt::format("{}: unknown table '{}'", where, key.str()));
    } else {
      return UnknownKey(where, key.str());
    }
  }
  return Status::Ok();
}

// Closes the FILE a unique_ptr owns.
struct FileCloser {
  void operator()(std::FILE* file) const { std::fclose(file); }
};

std::string ErrnoText(int error) {
  return std::error_code(error, std::generic_category()).message();
}

// The whole content of the file at `path`; InvalidArgument when it cannot be read.
Result<std::string> ReadFile(const std::string& path) {
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
  if (file == nullptr) {
    return Status::InvalidArgument(
        fmt::format("config file {}: cannot be read: {}", path, ErrnoText(errno)));
  }
  std::string text;
  std::array<char, 8192> buffer;
  std::size_t n = 0;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), file.get())) > 0) {
    text.append(buffer.data(), n);
  }
  if (std::ferror(file.get())) {
    return Status::InvalidArgument(
        fmt::format("config file {}: cannot be read: {}", path, ErrnoText(errno)));
  }
  return text;
}

// Parses `text` as TOML; a syntax error becomes InvalidArgument "path:line:col: what".
Result<toml::table> ParseToml(const std::string& path, std::string_view text) {
#if TOML_EXCEPTIONS
  try {
    return toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    return Status::InvalidArgument(fmt::format("{}: {}", Where(path, e.source()), e.description()));
  }
#else
  toml::parse_result result = toml::parse(text, path);
  if (!result) {
    const toml::parse_error& e = result.error();
    return Status::InvalidArgument(fmt::format("{}: {}", Where(path, e.source()), e.description()));
  }
  return std::move(result).table();
#endif
}

// Applies the TOML document `text`; `path` names it in error messages.
Status ApplyText(const std::string& path, std::string_view text, Settings& settings,
                 TrackingCodes& codes, FieldNames& fields) {
  MV_ASSIGN_OR_RETURN(const toml::table root, ParseToml(path, text));
  return ApplyDocument(path, root, settings, codes, fields);
}

// Parses all of `text` as a decimal integer (optional '-', no spaces, no '+').
bool ParseInt(std::string_view text, std::int64_t& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return !text.empty() && ec == std::errc() && end == text.data() + text.size();
}

// Applies one VIYA_MV_* variable; InvalidArgument naming it when it is unknown or its value
// is not of the key's type.
Status ApplyEnvVariable(const std::string& name, const std::string& value, Settings& settings) {
  for (std::size_t i = 0; i < kKeys.size(); ++i) {
    if (EnvName(kKeys[i]) != name) continue;
    if (kKeys[i].is_bool()) {
      if (value != "true" && value != "false" && value != "1" && value != "0") {
        return Status::InvalidArgument(fmt::format(
            "{}: '{}' is not a boolean (true or false, for {})", name, value, FullName(kKeys[i])));
      }
      settings[i] = {value == "true" || value == "1", name};
      return Status::Ok();
    }
    if (!kKeys[i].is_int()) {
      if (!IsUtf8(value)) {
        return Status::InvalidArgument(fmt::format("{}: value is not valid UTF-8", name));
      }
      settings[i] = {value, name};
      return Status::Ok();
    }
    std::int64_t number = 0;
    if (!ParseInt(value, number)) {
      return Status::InvalidArgument(
          fmt::format("{}: '{}' is not an integer (for {})", name, value, FullName(kKeys[i])));
    }
    settings[i] = {number, name};
    return Status::Ok();
  }
  if (std::string_view(name).starts_with("VIYA_MV_TRACKING")) {
    return Status::InvalidArgument(
        fmt::format("unknown environment variable {}: tracking codes are set only in the config "
                    "file ([tracking.codes], [tracking.carriers.<carrierId>])",
                    name));
  }
  return Status::InvalidArgument(fmt::format("unknown environment variable {}", name));
}

// Applies every VIYA_MV_* entry of `env` except kForeignEnv; other entries are ignored.
Status ApplyEnv(const std::map<std::string, std::string>& env, Settings& settings) {
  for (const auto& [name, value] : env) {
    if (!std::string_view(name).starts_with(kEnvPrefix)) continue;
    bool foreign = false;
    for (std::string_view f : kForeignEnv) foreign = foreign || name == f;
    if (foreign) continue;
    MV_RETURN_IF_ERROR(ApplyEnvVariable(name, value, settings));
  }
  return Status::Ok();
}

// What is wrong with the merged value of `key`, or empty when it is allowed.
std::string Complaint(const Key& key, const Value& value) {
  if (key.is_bool()) return "";
  if (const auto* string_rule = std::get_if<StringRule>(&key.rule)) {
    return (*string_rule)(std::get<std::string>(value));
  }
  const IntRule& rule = std::get<IntRule>(key.rule);
  const std::int64_t n = std::get<std::int64_t>(value);
  if (n >= rule.min && n <= rule.max) return "";
  if (rule.max == kInt64Max)
    return fmt::format("{} is out of range; must be at least {}", n, rule.min);
  return fmt::format("{} is out of range; allowed {}..{}", n, rule.min, rule.max);
}

// Checks every merged value and builds the Config from them.
Result<Config> BuildConfig(const Settings& settings) {
  Config config;
  for (std::size_t i = 0; i < kKeys.size(); ++i) {
    const std::string complaint = Complaint(kKeys[i], settings[i].value);
    if (!complaint.empty()) {
      return Status::InvalidArgument(
          fmt::format("{} (from {}): {}", FullName(kKeys[i]), settings[i].origin, complaint));
    }
    kKeys[i].set(config, settings[i].value);
  }
  return config;
}

// LoadConfig and LoadConfigText: the document `text` (none: defaults only), named `path` in
// error messages, then the `env` overrides.
Result<Config> Load(const std::string& path, const std::optional<std::string_view>& text,
                    const std::map<std::string, std::string>& env) {
  Settings settings = DefaultSettings();
  TrackingCodes codes;
  FieldNames fields;
  if (text) MV_RETURN_IF_ERROR(ApplyText(path, *text, settings, codes, fields));
  MV_RETURN_IF_ERROR(ApplyEnv(env, settings));
  MV_ASSIGN_OR_RETURN(Config config, BuildConfig(settings));
  config.tracking.codes = std::move(codes);
  config.source.fields = std::move(fields);
  if (config.stream.partition >= config.stream.partitions) {
    return Status::InvalidArgument(fmt::format(
        "stream.partition: {} is not a partition of stream.partitions = {} (0..{})",
        config.stream.partition, config.stream.partitions, config.stream.partitions - 1));
  }
  if (config.stream.partitions > 1 && config.views.backend != "mongodb") {
    return Status::InvalidArgument(
        "stream.partitions: more than one needs views.backend = \"mongodb\" (views.db has one "
        "writer)");
  }
  return config;
}

}  // namespace

std::vector<std::string> OrgLabelList(const std::string& org_labels) {
  std::vector<std::string> orgs;
  if (org_labels.empty()) return orgs;
  for (size_t start = 0;;) {
    size_t comma = org_labels.find(',', start);
    orgs.push_back(org_labels.substr(start, comma == std::string::npos ? comma : comma - start));
    if (comma == std::string::npos) return orgs;
    start = comma + 1;
  }
}

Result<Config> LoadConfig(const std::string& path, const std::map<std::string, std::string>& env) {
  if (path.empty()) return Load(path, std::nullopt, env);
  MV_ASSIGN_OR_RETURN(const std::string text, ReadFile(path));
  return Load(path, text, env);
}

Result<Config> LoadConfigText(std::string_view toml,
                              const std::map<std::string, std::string>& env) {
  return Load(std::string(kTextOrigin), toml, env);
}

std::map<std::string, std::string> ViyaEnvironment() {
  std::map<std::string, std::string> result;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const std::size_t eq = text.find('=');
    if (eq == std::string_view::npos || !text.starts_with(kEnvPrefix)) continue;
    result.emplace(std::string(text.substr(0, eq)), std::string(text.substr(eq + 1)));
  }
  return result;
}

std::string ConfigToToml(const Config& config) {
  std::string out = "# effective configuration of viya-mv\n";
  std::string_view section;
  for (const Key& key : kKeys) {
    if (key.section != section) {
      section = key.section;
      out += fmt::format("\n[{}]\n", section);
    }
    Value value = key.get(config);
    // A connection string's password stays a secret (the document then reads back with
    // "***" in its place: pass the real one in VIYA_MV_SOURCE_URI).
    if ((key.section == "source" || key.section == "views") && key.name == "uri") {
      value = RedactUri(std::get<std::string>(value));
    }
    out += fmt::format("{} = {}\n", key.name, TomlValue(value));
  }
  for (const auto& [collection, names] : config.source.fields) {
    out += fmt::format("\n[source.fields.{}]\n", TomlKey(collection));
    for (const auto& [field, name] : names) {
      out += fmt::format("{} = {}\n", TomlKey(field), TomlString(name));
    }
  }
  // Always written, so that the document shows where code overrides go. The map is ordered
  // by carrier id, and "" (every carrier) comes first.
  out += "\n[tracking.codes]\n";
  std::string_view carrier;
  for (const auto& [key, status] : config.tracking.codes) {
    if (key.first != carrier) {
      carrier = key.first;
      out += fmt::format("\n[tracking.carriers.{}]\n", TomlKey(carrier));
    }
    out += fmt::format("{} = {}\n", TomlKey(key.second), TomlString(status));
  }
  return out;
}

}  // namespace mv::app
