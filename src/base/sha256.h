#pragma once

#include <cstddef>
#include <string>

namespace mv {

// Lowercase hex of `n` bytes.
std::string HexOf(const unsigned char* data, size_t n);

// Lowercase hex SHA-256 of `text`.
std::string Sha256Hex(const std::string& text);

}  // namespace mv
