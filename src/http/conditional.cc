#include "http/conditional.h"

#include <fmt/format.h>
#include <xxhash.h>

namespace mv::http {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string_view Opaque(std::string_view tag) {
  if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
  return tag;
}

}  // namespace

std::string EntityTag(std::string_view body) {
  return fmt::format("\"{:016x}\"", XXH3_64bits(body.data(), body.size()));
}

bool NoneMatchHits(std::string_view header, std::string_view etag) {
  std::string_view want = Opaque(etag);
  for (;;) {
    size_t comma = header.find(',');
    std::string_view tag = Trim(header.substr(0, comma));
    if (tag == "*" || (!tag.empty() && Opaque(tag) == want)) return true;
    if (comma == std::string_view::npos) return false;
    header.remove_prefix(comma + 1);
  }
}

}  // namespace mv::http
