#pragma once

#include <string>

namespace mv {

// `uri` with the password of its user info ("scheme://user:password@host") replaced by
// "***": connection strings in messages and printed configurations never carry secrets.
std::string RedactUri(const std::string& uri);

}  // namespace mv
