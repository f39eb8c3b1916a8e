#include "http/json_writer.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cassert>

namespace mv::http {
namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 if there is none.
size_t Utf8Length(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  auto cont = [&](size_t k) { return k < s.size() && (b(k) & 0xC0) == 0x80; };
  unsigned char c = b(i);
  if (c >= 0xC2 && c <= 0xDF) return cont(i + 1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(i + 1) || !cont(i + 2)) return 0;
    unsigned char c1 = b(i + 1);
    if (c == 0xE0 && c1 < 0xA0) return 0;   // overlong
    if (c == 0xED && c1 >= 0xA0) return 0;  // surrogates
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return 0;
    unsigned char c1 = b(i + 1);
    if (c == 0xF0 && c1 < 0x90) return 0;   // overlong
    if (c == 0xF4 && c1 >= 0x90) return 0;  // beyond U+10FFFF
    return 4;
  }
  return 0;
}

// Bytes copied as they are: printable ASCII other than '"' and '\\'.
constexpr auto kPlainAscii = [] {
  std::array<bool, 256> plain{};
  for (int c = 0x20; c < 0x80; ++c) plain[c] = c != '"' && c != '\\';
  return plain;
}();

}  // namespace

void JsonWriter::AppendQuoted(std::string* out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t plain = 0;  // start of the run of bytes copied as they are
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (kPlainAscii[c]) {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      size_t n = Utf8Length(s, i);
      if (n > 0) {
        i += n;
        continue;
      }
    }
    out->append(s.substr(plain, i - plain));
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      default:
        if (c < 0x20) {
          out->append("\\u00");
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 15]);
        } else {
          out->append("\\ufffd");  // not UTF-8
        }
    }
    ++i;
    plain = i;
  }
  out->append(s.substr(plain));
  out->push_back('"');
}

void JsonWriter::BeforeValue() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  Separate();
}

void JsonWriter::Open(char c) {
  BeforeValue();
  out_->push_back(c);
  if (depth_ < kMaxDepth) has_items_[depth_] = false;
  ++depth_;
}

void JsonWriter::Close(char c) {
  --depth_;
  out_->push_back(c);
}

void JsonWriter::Separate() {
  if (depth_ > 0) {
    if (has_items_[depth_ - 1]) out_->push_back(',');
    has_items_[depth_ - 1] = true;
  }
}

void JsonWriter::Key(std::string_view key) {
  Separate();
  // Keys are the API's own member names: plain ASCII, nothing to escape.
  assert(std::all_of(key.begin(), key.end(),
                     [](char c) { return kPlainAscii[static_cast<unsigned char>(c)]; }));
  out_->push_back('"');
  out_->append(key);
  out_->append("\":", 2);
  after_key_ = true;
}

void JsonWriter::EscapedKey(std::string_view key) {
  Separate();
  AppendQuoted(out_, key);
  out_->push_back(':');
  after_key_ = true;
}

void JsonWriter::String(std::string_view s) {
  BeforeValue();
  AppendQuoted(out_, s);
}

void JsonWriter::Int(std::int64_t v) {
  BeforeValue();
  fmt::format_int text(v);
  out_->append(text.data(), text.size());
}

void JsonWriter::Double(double v) {
  BeforeValue();
  // The shortest text that reads back as the same double (at most 24 characters).
  char text[32];
  char* end = fmt::format_to_n(text, sizeof text, "{}", v).out;
  out_->append(text, end);
}

void JsonWriter::Time(Timestamp t) {
  BeforeValue();
  out_->push_back('"');
  AppendRfc3339(out_, t);
  out_->push_back('"');
}

void JsonWriter::Bool(bool v) {
  BeforeValue();
  out_->append(v ? "true" : "false");
}

void JsonWriter::Null() {
  BeforeValue();
  out_->append("null");
}

void JsonWriter::Raw(std::string_view json) {
  BeforeValue();
  out_->append(json);
}

}  // namespace mv::http
