#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/time.h"

// Writes JSON text straight into a string, for answers rendered per request from stored
// rows: no document tree is built. Strings are escaped per RFC 8259; bytes that are not
// UTF-8 become U+FFFD, so the output is always valid JSON. Callers pair Begin/End and give
// a Key before every member value; the writer places the commas. Not thread-safe.
namespace mv::http {

class JsonWriter {
 public:
  explicit JsonWriter(std::string* out) : out_(out) {}

  void BeginObject() { Open('{'); }
  void EndObject() { Close('}'); }
  void BeginArray() { Open('['); }
  void EndArray() { Close(']'); }
  // `key` must be plain printable ASCII without '"' or '\\' (the API's member names): it
  // is written as it is.
  void Key(std::string_view key);
  // Any key, escaped as a string is (keys that come from documents).
  void EscapedKey(std::string_view key);
  void String(std::string_view s);
  void Int(std::int64_t v);
  void Double(double v);
  // An RFC 3339 UTC timestamp string (FormatRfc3339).
  void Time(Timestamp t);
  void Bool(bool v);
  void Null();
  // A value that is already JSON text.
  void Raw(std::string_view json);

  // `s` as a JSON string literal, quotes included, appended to `out`.
  static void AppendQuoted(std::string* out, std::string_view s);

 private:
  void Open(char c);
  void Close(char c);
  void BeforeValue();
  // The comma before the next item of the open container, when it has one already.
  void Separate();

  static constexpr int kMaxDepth = 32;
  std::string* out_;
  int depth_ = 0;
  bool has_items_[kMaxDepth] = {};  // per open container: a comma goes before the next item
  bool after_key_ = false;
};

}  // namespace mv::http
