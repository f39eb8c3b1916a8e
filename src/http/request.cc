#include "http/request.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <vector>

#include "base/time.h"
#include "core/cluster_time.h"
#include "core/domain.h"

namespace mv::http {
namespace {

constexpr size_t kMaxParamBytes = 256;
constexpr char kBase64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string Base64UrlEncode(const std::string& in) {
  std::string out;
  int val = 0, bits = -6;
  for (unsigned char c : in) {
    val = (val << 8) + c;
    bits += 8;
    while (bits >= 0) {
      out += kBase64Url[(val >> bits) & 0x3F];
      bits -= 6;
    }
  }
  if (bits > -6) out += kBase64Url[((val << 8) >> (bits + 8)) & 0x3F];
  return out;
}

std::optional<std::string> Base64UrlDecode(const std::string& in) {
  std::string out;
  int val = 0, bits = -8;
  for (char c : in) {
    const char* p = std::strchr(kBase64Url, c);
    if (c == '\0' || p == nullptr) return std::nullopt;
    val = (val << 6) + static_cast<int>(p - kBase64Url);
    bits += 6;
    if (bits >= 0) {
      out += static_cast<char>((val >> bits) & 0xFF);
      bits -= 8;
    }
  }
  return out;
}

bool ParseInt(std::string_view s, std::int64_t* out) {
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

// `width` decimal digits at `s[at]`, nothing else (no sign, no spaces).
bool ParseDigits(std::string_view s, size_t at, size_t width, int* out) {
  if (at + width > s.size()) return false;
  int v = 0;
  for (size_t i = at; i < at + width; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

std::optional<std::chrono::sys_days> ParseDate(std::string_view s) {
  using namespace std::chrono;
  int y = 0, m = 0, d = 0;
  if (s.size() != 10 || s[4] != '-' || s[7] != '-' || !ParseDigits(s, 0, 4, &y) ||
      !ParseDigits(s, 5, 2, &m) || !ParseDigits(s, 8, 2, &d)) {
    return std::nullopt;
  }
  year_month_day ymd{year(y), month(static_cast<unsigned>(m)), day(static_cast<unsigned>(d))};
  if (y < 1 || !ymd.ok()) return std::nullopt;
  return sys_days(ymd);
}

// The Monday of ISO week `week` of ISO year `y`; nullopt when that year has no such week.
std::optional<std::chrono::sys_days> MondayOfIsoWeek(int y, int week) {
  using namespace std::chrono;
  if (y < 1 || week < 1 || week > 53) return std::nullopt;
  // January 4th is always in week 1.
  sys_days jan4 = sys_days(year(y) / January / 4);
  sys_days week1 = MondayOf(jan4);
  sys_days monday = week1 + days(7 * (week - 1));
  // Week 53 exists only in years whose next week 1 starts a week later.
  sys_days jan4_next = sys_days(year(y + 1) / January / 4);
  sys_days next_week1 = MondayOf(jan4_next);
  if (monday >= next_week1) return std::nullopt;
  return monday;
}

// "<tag>|" followed by `fields` fields separated by '|'; the last takes the rest.
std::optional<std::vector<std::string>> CursorFields(const std::string& cursor,
                                                     std::string_view tag, size_t fields) {
  auto text = Base64UrlDecode(cursor);
  if (!text || text->size() < tag.size() + 1 || text->compare(0, tag.size(), tag) != 0 ||
      (*text)[tag.size()] != '|') {
    return std::nullopt;
  }
  std::vector<std::string> out;
  size_t at = tag.size() + 1;
  for (size_t i = 0; i + 1 < fields; ++i) {
    size_t bar = text->find('|', at);
    if (bar == std::string::npos) return std::nullopt;
    out.push_back(text->substr(at, bar - at));
    at = bar + 1;
  }
  out.push_back(text->substr(at));
  return out;
}

// `s` with bytes outside printable ASCII replaced by '?', for error messages.
std::string Printable(std::string s) {
  for (char& c : s) {
    if (c < 0x20 || c > 0x7e) c = '?';
  }
  return s;
}

Status BadCursor() { return Status::InvalidArgument("cursor: not a cursor this API returned"); }

}  // namespace

Status QueryParams::CheckAllowed(std::initializer_list<const char*> allowed) const {
  for (size_t i = 0; i < pairs_.size(); ++i) {
    const std::string& name = pairs_[i].first;
    if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return name == a; })) {
      return Status::InvalidArgument(
          fmt::format("unknown parameter '{}'", Printable(name.substr(0, 64))));
    }
    for (size_t j = 0; j < i; ++j) {
      if (pairs_[j].first == name) {
        return Status::InvalidArgument(fmt::format("{}: given more than once", name));
      }
    }
  }
  return Status::Ok();
}

const std::string* QueryParams::Find(std::string_view name) const {
  for (const auto& [n, v] : pairs_) {
    if (n == name) return &v;
  }
  return nullptr;
}

Result<std::optional<std::string>> QueryParams::Text(const char* name) const {
  const std::string* v = Find(name);
  if (v == nullptr) return std::optional<std::string>();
  if (v->size() > kMaxParamBytes) {
    return Status::InvalidArgument(fmt::format("{}: longer than {} bytes", name, kMaxParamBytes));
  }
  return std::optional<std::string>(*v);
}

Result<std::optional<std::string>> QueryParams::Id(const char* name) const {
  MV_ASSIGN_OR_RETURN(auto v, Text(name));
  if (v && !core::IsValidId(*v)) {
    return Status::InvalidArgument(
        fmt::format("{}: must be 1-128 characters of letters, digits and -_.:@", name));
  }
  return v;
}

Result<std::optional<Timestamp>> QueryParams::Time(const char* name) const {
  MV_ASSIGN_OR_RETURN(auto v, Text(name));
  if (!v) return std::optional<Timestamp>();
  auto t = ParseRfc3339(*v);
  if (!t)
    return Status::InvalidArgument(fmt::format("{}: '{}' is not an RFC 3339 timestamp", name, *v));
  return std::optional<Timestamp>(*t);
}

Result<std::optional<core::ChangeToken>> QueryParams::Token(const char* name) const {
  MV_ASSIGN_OR_RETURN(auto v, Text(name));
  if (!v) return std::optional<core::ChangeToken>();
  auto token = core::ParseTokenText(*v);
  if (!token.ok())
    return Status::InvalidArgument(fmt::format("{}: {}", name, token.status().message()));
  return std::optional<core::ChangeToken>(*token);
}

Result<std::optional<std::int64_t>> QueryParams::Integer(const char* name, std::int64_t min,
                                                         std::int64_t max) const {
  MV_ASSIGN_OR_RETURN(auto v, Text(name));
  if (!v) return std::optional<std::int64_t>();
  std::int64_t n = 0;
  if (!ParseInt(*v, &n) || n < min || n > max) {
    return Status::InvalidArgument(
        fmt::format("{}: must be a whole number from {} to {}", name, min, max));
  }
  return std::optional<std::int64_t>(n);
}

Result<std::optional<std::chrono::sys_days>> QueryParams::Date(const char* name) const {
  MV_ASSIGN_OR_RETURN(auto v, Text(name));
  if (!v) return std::optional<std::chrono::sys_days>();
  auto d = ParseDate(*v);
  if (!d) {
    return Status::InvalidArgument(
        fmt::format("{}: '{}' is not a date (YYYY-MM-DD)", name, v->substr(0, 64)));
  }
  return std::optional<std::chrono::sys_days>(*d);
}

Result<std::optional<std::chrono::sys_days>> QueryParams::Week(const char* name) const {
  using namespace std::chrono;
  MV_ASSIGN_OR_RETURN(auto v, Text(name));
  if (!v) return std::optional<sys_days>();
  if (auto d = ParseDate(*v)) {
    return std::optional<sys_days>(MondayOf(*d));
  }
  int y = 0, w = 0;
  std::optional<sys_days> monday;
  if (v->size() == 8 && (*v)[4] == '-' && (*v)[5] == 'W' && ParseDigits(*v, 0, 4, &y) &&
      ParseDigits(*v, 6, 2, &w)) {
    monday = MondayOfIsoWeek(y, w);
  }
  if (!monday) {
    return Status::InvalidArgument(
        fmt::format("{}: '{}' is not an ISO week (YYYY-Www, e.g. 2026-W45) or a date (YYYY-MM-DD)",
                    name, v->substr(0, 64)));
  }
  return monday;
}

Result<nlohmann::json> ParseJsonBody(const std::string& body) {
  if (body.empty()) return Status::InvalidArgument("the request body is empty; JSON expected");
  try {
    return nlohmann::json::parse(body);
  } catch (const nlohmann::json::parse_error& e) {
    return Status::InvalidArgument(fmt::format("invalid JSON at byte {}", e.byte));
  } catch (const nlohmann::json::exception& e) {  // e.g. a number beyond double range
    return Status::InvalidArgument(std::string("invalid JSON: ") + e.what());
  }
}

std::string EncodeCursor(const api::ListPosition& p) {
  return Base64UrlEncode(fmt::format("1|{}|{}", ToMillis(p.created_at), p.id));
}

std::string EncodeCustomerCursor(const std::string& sort, const api::CustomerPosition& p) {
  return Base64UrlEncode(fmt::format("c|{}|{}|{}", sort, p.value, p.customer_id));
}

Result<api::CustomerPosition> DecodeCustomerCursor(const std::string& cursor,
                                                   const std::string& sort) {
  auto fields = CursorFields(cursor, "c", 3);
  api::CustomerPosition p;
  // Summaries of shipments without a customer have customer id "".
  if (!fields || !ParseInt((*fields)[1], &p.value) ||
      (!(*fields)[2].empty() && !core::IsValidId((*fields)[2]))) {
    return BadCursor();
  }
  if ((*fields)[0] != sort) {
    return Status::InvalidArgument(
        fmt::format("cursor: it continues a listing with sort={}, not sort={}; start again "
                    "without a cursor to change the order",
                    (*fields)[0].substr(0, 32), sort));
  }
  p.customer_id = (*fields)[2];
  return p;
}

std::string EncodeExceptionCursor(const api::ExceptionPosition& p) {
  return Base64UrlEncode(
      fmt::format("e|{}|{}|{}|{}", p.urgency, p.promised_sort, p.status_changed_at, p.id));
}

Result<api::ExceptionPosition> DecodeExceptionCursor(const std::string& cursor) {
  auto fields = CursorFields(cursor, "e", 4);
  api::ExceptionPosition p;
  if (!fields || !ParseInt((*fields)[0], &p.urgency) || !ParseInt((*fields)[1], &p.promised_sort) ||
      !ParseInt((*fields)[2], &p.status_changed_at) || !core::IsValidId((*fields)[3])) {
    return BadCursor();
  }
  p.id = (*fields)[3];
  return p;
}

Result<api::ListPosition> DecodeCursor(const std::string& cursor) {
  auto fields = CursorFields(cursor, "1", 2);
  std::int64_t ms = 0;
  if (!fields || !ParseInt((*fields)[0], &ms) || !core::IsValidId((*fields)[1])) {
    return BadCursor();
  }
  return api::ListPosition{FromMillis(ms), (*fields)[1]};
}

}  // namespace mv::http
