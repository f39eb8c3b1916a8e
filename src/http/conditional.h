#pragma once

#include <string>
#include <string_view>

// Conditional reads (RFC 9110 section 13): entity tags of answers, and If-None-Match.
namespace mv::http {

// A strong entity tag of an answer body, quoted: "\"5f3a9c0d12e4b7a1\"". Equal bodies
// have equal tags; a changed body has a different one (64-bit hash).
std::string EntityTag(std::string_view body);

// Whether an If-None-Match header value matches `etag`: "*", or a comma-separated list
// of tags compared weakly (a "W/" prefix on either side is ignored).
bool NoneMatchHits(std::string_view if_none_match, std::string_view etag);

}  // namespace mv::http
