#pragma once

#include <cstddef>
#include <string>

namespace mv {

// Lowercase hex of `n` bytes.
std::string HexOf(const unsigned char* data, size_t n);

// Lowercase hex SHA-256 of `text`.
std::string Sha256Hex(const std::string& text);

// Lowercase hex of `n` bytes from the system's cryptographic random source; empty when it
// has none to give (callers fail rather than use a weak value).
std::string RandomHex(size_t n);

}  // namespace mv
