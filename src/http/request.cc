#include "http/request.h"

#include <fmt/format.h>

#include <charconv>
#include <cstring>
#include <set>

#include "base/time.h"
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

}  // namespace

Status QueryParams::CheckAllowed(std::initializer_list<const char*> allowed) const {
  std::set<std::string> names(allowed.begin(), allowed.end());
  for (const auto& [name, value] : req_.params) {
    if (!names.count(name)) {
      return Status::InvalidArgument(fmt::format("unknown parameter '{}'", name.substr(0, 64)));
    }
    if (req_.get_param_value_count(name) > 1) {
      return Status::InvalidArgument(fmt::format("{}: given more than once", name));
    }
  }
  return Status::Ok();
}

Result<std::optional<std::string>> QueryParams::Text(const char* name) const {
  if (!req_.has_param(name)) return std::optional<std::string>();
  std::string v = req_.get_param_value(name);
  if (v.size() > kMaxParamBytes) {
    return Status::InvalidArgument(fmt::format("{}: longer than {} bytes", name, kMaxParamBytes));
  }
  return std::optional<std::string>(std::move(v));
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

Result<nlohmann::json> ParseJsonBody(const httplib::Request& req) {
  if (req.body.empty()) return Status::InvalidArgument("the request body is empty; JSON expected");
  try {
    return nlohmann::json::parse(req.body);
  } catch (const nlohmann::json::parse_error& e) {
    return Status::InvalidArgument(fmt::format("invalid JSON at byte {}", e.byte));
  } catch (const nlohmann::json::exception& e) {  // e.g. a number beyond double range
    return Status::InvalidArgument(std::string("invalid JSON: ") + e.what());
  }
}

std::string EncodeCursor(const storage::sqlite::ListPosition& p) {
  return Base64UrlEncode(fmt::format("1|{}|{}", ToMillis(p.created_at), p.id));
}

Result<storage::sqlite::ListPosition> DecodeCursor(const std::string& cursor) {
  Status bad = Status::InvalidArgument("cursor: not a cursor this API returned");
  auto text = Base64UrlDecode(cursor);
  if (!text || text->size() < 5 || text->compare(0, 2, "1|") != 0) return bad;
  size_t bar = text->find('|', 2);
  if (bar == std::string::npos) return bad;
  std::int64_t ms = 0;
  if (!ParseInt(std::string_view(*text).substr(2, bar - 2), &ms)) return bad;
  std::string id = text->substr(bar + 1);
  if (!core::IsValidId(id)) return bad;
  return storage::sqlite::ListPosition{FromMillis(ms), id};
}

}  // namespace mv::http
