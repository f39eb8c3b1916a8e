#include "mongo/extended_json.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string>

#include "base/time.h"

namespace mv::mongo {
namespace {

using nlohmann::json;

// The single key of a one-member object, or nullptr.
const std::string* WrapperKey(const json& v) {
  if (!v.is_object() || v.size() != 1) return nullptr;
  const std::string& key = v.begin().key();
  return key.size() > 1 && key[0] == '$' ? &key : nullptr;
}

bool ParseInt64(const std::string& text, std::int64_t* out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

// A number from decimal text ("12.50", "1E+3"), or the text itself when it is not finite
// ("NaN", "Infinity"): the field's parser then rejects it by name.
json DecimalNumber(const std::string& text) {
  std::int64_t whole = 0;
  if (ParseInt64(text, &whole)) return whole;
  char* end = nullptr;
  double d = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !std::isfinite(d)) return text;
  return d;
}

// {"$date": "2026-11-01T08:00:00Z"}, {"$date": {"$numberLong": "1793520000000"}} or
// {"$date": 1793520000000}.
json DateText(const json& value) {
  std::int64_t ms = 0;
  if (value.is_string()) {
    auto t = ParseRfc3339(value.get<std::string>());
    return t ? json(FormatRfc3339(*t)) : value;
  }
  if (value.is_number_integer()) {
    ms = value.get<std::int64_t>();
  } else if (const std::string* key = WrapperKey(value); key && *key == "$numberLong") {
    const json& text = value.begin().value();
    if (!text.is_string() || !ParseInt64(text.get<std::string>(), &ms)) return value;
  } else {
    return value;
  }
  return FormatRfc3339(FromMillis(ms));
}

}  // namespace

json PlainJson(const json& v) {
  if (v.is_array()) {
    json out = json::array();
    for (const json& item : v) out.push_back(PlainJson(item));
    return out;
  }
  if (!v.is_object()) return v;
  if (const std::string* key = WrapperKey(v)) {
    const json& inner = v.begin().value();
    if (*key == "$date") return DateText(inner);
    if (*key == "$oid" && inner.is_string()) return inner;
    if (inner.is_string() && (*key == "$numberDecimal" || *key == "$numberDouble" ||
                              *key == "$numberLong" || *key == "$numberInt")) {
      return DecimalNumber(inner.get<std::string>());
    }
    return v;
  }
  json out = json::object();
  for (const auto& [k, item] : v.items()) out[k] = PlainJson(item);
  return out;
}

}  // namespace mv::mongo
