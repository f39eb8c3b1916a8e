#include "base/sha256.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

namespace mv {

std::string HexOf(const unsigned char* data, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out += kDigits[data[i] >> 4];
    out += kDigits[data[i] & 0xf];
  }
  return out;
}

std::string Sha256Hex(const std::string& text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), digest, &len, EVP_sha256(), nullptr);
  return HexOf(digest, len);
}

std::string RandomHex(size_t n) {
  std::string bytes(n, '\0');
  auto* data = reinterpret_cast<unsigned char*>(bytes.data());
  if (RAND_bytes(data, static_cast<int>(n)) != 1) return {};
  return HexOf(data, n);
}

}  // namespace mv
