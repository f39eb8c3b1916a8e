#pragma once

#include <optional>
#include <string>
#include <string_view>

// Content coding of answers (RFC 9110 section 8.4): gzip when the client accepts it.
namespace mv::net {

// Whether an Accept-Encoding header value accepts gzip: "gzip", "x-gzip" or "*" with a
// non-zero q-value, and gzip not refused with q=0.
bool AcceptsGzip(std::string_view accept_encoding);

// `data` compressed as one gzip member (fast level); nullopt if zlib fails.
std::optional<std::string> Gzip(std::string_view data);

// The data of a gzip stream; nullopt if it is not one or exceeds `max_bytes` (tests and
// tools).
std::optional<std::string> Gunzip(std::string_view data, size_t max_bytes = 64 << 20);

}  // namespace mv::net
