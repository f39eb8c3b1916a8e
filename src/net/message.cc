#include "net/message.h"

#include <algorithm>
#include <utility>

namespace mv::net {
namespace {

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes `in`; in a query, '+' stands for a space. A '%' that does not start an
// escape stands for itself (as in most servers), so that the value it is part of is
// judged, and named, by whoever reads it.
void Decode(std::string_view in, bool plus_is_space, std::string* out) {
  out->clear();
  out->reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    int hi = c == '%' && i + 2 < in.size() ? HexValue(in[i + 1]) : -1;
    int lo = hi >= 0 ? HexValue(in[i + 2]) : -1;
    if (lo >= 0) {
      out->push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out->push_back(' ');
    } else {
      out->push_back(c);
    }
  }
}

}  // namespace

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

void Headers::Set(std::string_view name, std::string value) {
  Remove(name);
  items_.emplace_back(std::string(name), std::move(value));
}

void Headers::Remove(std::string_view name) {
  items_.erase(std::remove_if(items_.begin(), items_.end(),
                              [&](const auto& item) { return EqualsIgnoreCase(item.first, name); }),
               items_.end());
}

const std::string* Headers::Find(std::string_view name) const {
  for (const auto& [n, v] : items_) {
    if (EqualsIgnoreCase(n, name)) return &v;
  }
  return nullptr;
}

std::string Headers::Get(std::string_view name) const {
  const std::string* v = Find(name);
  return v ? *v : std::string();
}

Status ParseTarget(std::string_view target, std::vector<std::string>* path,
                   std::vector<std::pair<std::string, std::string>>* query) {
  path->clear();
  query->clear();
  if (target.empty() || target.front() != '/') {
    return Status::InvalidArgument("request target must be a path starting with '/'");
  }
  size_t q = target.find('?');
  std::string_view raw_path = target.substr(0, q);
  std::string_view raw_query =
      q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  // Segments after the leading '/'; decoding each on its own keeps "%2F" inside one.
  std::string_view rest = raw_path.substr(1);
  for (;;) {
    size_t slash = rest.find('/');
    std::string segment;
    Decode(rest.substr(0, slash), false, &segment);
    path->push_back(std::move(segment));
    if (slash == std::string_view::npos) break;
    rest = rest.substr(slash + 1);
  }
  while (!raw_query.empty()) {
    size_t amp = raw_query.find('&');
    std::string_view pair = raw_query.substr(0, amp);
    raw_query = amp == std::string_view::npos ? std::string_view() : raw_query.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string name, value;
    Decode(pair.substr(0, eq), true, &name);
    if (eq != std::string_view::npos) Decode(pair.substr(eq + 1), true, &value);
    query->emplace_back(std::move(name), std::move(value));
  }
  return Status::Ok();
}

}  // namespace mv::net

namespace mv::net {

bool BodyStream::Push(std::string_view chunk) {
  std::function<void()> wake;
  {
    std::lock_guard lock(mu_);
    if (closed_) return false;
    if (queued_.size() + chunk.size() > max_buffered_bytes_) {
      closed_ = dropped_ = true;  // too slow a reader: dropped rather than waited for
      queued_.clear();
    } else {
      queued_.append(chunk);
    }
    wake = wake_;
  }
  if (wake) wake();
  return !closed();
}

void BodyStream::Close() {
  std::function<void()> wake;
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    closed_ = true;
    wake = wake_;
  }
  if (wake) wake();
}

bool BodyStream::closed() const {
  std::lock_guard lock(mu_);
  return closed_;
}

bool BodyStream::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

std::string BodyStream::Take(bool* closed) {
  std::lock_guard lock(mu_);
  *closed = closed_;
  return std::exchange(queued_, std::string());
}

void BodyStream::SetWaker(std::function<void()> wake) {
  std::lock_guard lock(mu_);
  wake_ = std::move(wake);
}

}  // namespace mv::net
