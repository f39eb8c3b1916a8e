#include "importer/documents.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>

#include "base/time.h"

namespace mv::importer {
namespace {

using nlohmann::json;

Status Bad(const std::string& path, std::string_view what) {
  return Status::InvalidArgument(fmt::format("{}: {}", path.empty() ? "document" : path, what));
}

Result<std::int64_t> ParseInteger(const json& v, const std::string& path) {
  if (!v.is_string()) return Bad(path, "must be a string of digits");
  const std::string& text = v.get_ref<const std::string&>();
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return Bad(path, fmt::format("'{}' is not a 64-bit integer", text));
  }
  return n;
}

Result<json> ParseDecimal(const json& v, const std::string& path) {
  if (!v.is_string()) return Bad(path, "must be a string");
  const std::string& text = v.get_ref<const std::string&>();
  // A plain decimal: [-]digits[.digits][e[+-]digits]; no NaN, Infinity or hex.
  size_t i = text.starts_with('-') ? 1 : 0;
  bool digits = false, ok = i < text.size();
  for (; i < text.size() && ok; ++i) {
    char c = text[i];
    if (c >= '0' && c <= '9') {
      digits = true;
    } else if (c != '.' && c != 'e' && c != 'E' && c != '+' && c != '-') {
      ok = false;
    }
  }
  json number = ok && digits ? json::parse(text, nullptr, false) : json();
  if (!number.is_number() || (number.is_number_float() && !std::isfinite(number.get<double>()))) {
    return Bad(path, fmt::format("'{}' is not a finite decimal number", text));
  }
  return number;
}

Result<json> ParseDate(const json& v, const std::string& path) {
  if (v.is_string()) {
    auto t = ParseRfc3339(v.get_ref<const std::string&>());
    if (!t) {
      return Bad(path, fmt::format("'{}' is not an ISO 8601 date-time",
                                   v.get_ref<const std::string&>().substr(0, 64)));
    }
    return json(FormatRfc3339(*t));
  }
  if (v.is_object() && v.size() == 1 && v.contains("$numberLong")) {
    MV_ASSIGN_OR_RETURN(std::int64_t ms, ParseInteger(v["$numberLong"], path + ".$numberLong"));
    return json(FormatRfc3339(FromMillis(ms)));
  }
  if (v.is_number_integer()) return json(FormatRfc3339(FromMillis(v.get<std::int64_t>())));
  return Bad(path, "must be an ISO 8601 string or {\"$numberLong\": milliseconds}");
}

bool IsHex(std::string_view s) {
  return s.find_first_not_of("0123456789abcdefABCDEF") == std::string_view::npos;
}

Result<json> Convert(const json& v, const std::string& path) {
  if (v.is_array()) {
    json out = json::array();
    for (size_t i = 0; i < v.size(); ++i) {
      MV_ASSIGN_OR_RETURN(json item, Convert(v[i], fmt::format("{}[{}]", path, i)));
      out.push_back(std::move(item));
    }
    return out;
  }
  if (!v.is_object()) return v;
  if (v.size() == 1) {
    const auto only = v.begin();  // (items() is a temporary: keep the iterator instead)
    const std::string& key = only.key();
    const json& inner = only.value();
    const std::string at = path.empty() ? key : path + "." + key;
    if (key == "$date") return ParseDate(inner, at);
    if (key == "$numberDecimal" || key == "$numberDouble") return ParseDecimal(inner, at);
    if (key == "$numberLong" || key == "$numberInt") {
      MV_ASSIGN_OR_RETURN(std::int64_t n, ParseInteger(inner, at));
      return json(n);
    }
    if (key == "$oid") {
      if (!inner.is_string() || inner.get_ref<const std::string&>().size() != 24 ||
          !IsHex(inner.get_ref<const std::string&>())) {
        return Bad(at, "must be 24 hexadecimal digits");
      }
      return inner;
    }
  }
  json out = json::object();
  for (const auto& [key, inner] : v.items()) {
    if (key.starts_with('$')) {
      return Bad(path.empty() ? key : path + "." + key, "unsupported Extended JSON type");
    }
    MV_ASSIGN_OR_RETURN(json item, Convert(inner, path.empty() ? key : path + "." + key));
    out[key] = std::move(item);
  }
  return out;
}

// The document's id: `field` (when given), else `id`, else `_id`.
Result<std::string> IdOf(const json& doc, const char* field) {
  for (const char* name : {field, "id", "_id"}) {
    if (name == nullptr) continue;
    auto it = doc.find(name);
    if (it == doc.end() || it->is_null()) continue;
    if (!it->is_string()) return Bad(name, "must be a string (or an $oid)");
    const std::string& id = it->get_ref<const std::string&>();
    if (!core::IsValidId(id)) {
      return Bad(name, fmt::format("'{}' is not a valid id (1..128 of letters, digits, -_.:@)",
                                   id.substr(0, 64)));
    }
    return id;
  }
  return Status::InvalidArgument(field != nullptr
                                     ? fmt::format("document has no {}, id or _id", field)
                                     : "document has no id or _id");
}

}  // namespace

Result<json> FromExtendedJson(const json& doc) { return Convert(doc, ""); }

Result<ImportedDocument> MapDocument(const json& raw, const DocumentMapping& mapping) {
  if (!raw.is_object()) return Status::InvalidArgument("a document must be a JSON object");
  MV_ASSIGN_OR_RETURN(json doc, FromExtendedJson(raw));
  ImportedDocument out;
  if (mapping.org) {
    out.org = *mapping.org;
  } else {
    auto it = doc.find(mapping.org_field);
    if (it == doc.end() || !it->is_string()) {
      return Status::InvalidArgument(fmt::format(
          "document has no string {} (name the org with --org, or its field with --org-field)",
          mapping.org_field));
    }
    out.org = it->get<std::string>();
  }
  if (!core::IsValidId(out.org)) {
    return Status::InvalidArgument(
        fmt::format("organization '{}' is not a valid id", out.org.substr(0, 64)));
  }
  switch (mapping.collection) {
    case core::Collection::kShipments: {
      MV_ASSIGN_OR_RETURN(out.id, IdOf(doc, nullptr));
      doc["id"] = out.id;
      MV_ASSIGN_OR_RETURN(out.shipment, core::ParseShipment(doc));
      break;
    }
    case core::Collection::kTrackingEvents: {
      MV_ASSIGN_OR_RETURN(out.id, IdOf(doc, "eventId"));
      doc["eventId"] = out.id;
      MV_ASSIGN_OR_RETURN(out.event, core::ParseTrackingEvent(doc));
      break;
    }
    case core::Collection::kCustomers: {
      MV_ASSIGN_OR_RETURN(out.id, IdOf(doc, nullptr));
      MV_ASSIGN_OR_RETURN(out.customer, core::ParseCustomer(out.id, doc));
      break;
    }
    case core::Collection::kCarriers: {
      MV_ASSIGN_OR_RETURN(out.id, IdOf(doc, nullptr));
      MV_ASSIGN_OR_RETURN(out.carrier, core::ParseCarrier(out.id, doc));
      break;
    }
  }
  return out;
}

}  // namespace mv::importer
