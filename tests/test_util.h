#pragma once

// Small helpers shared by the unit tests: status assertions, a temporary directory that
// removes itself, and RFC 3339 literals.

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/result.h"
#include "base/status.h"
#include "base/time.h"

namespace mv {
// Readable gtest output for status codes.
inline void PrintTo(StatusCode code, std::ostream* os) { *os << StatusCodeName(code); }
inline void PrintTo(const Status& status, std::ostream* os) { *os << status.ToString(); }
}  // namespace mv

namespace mv::testing {

inline const Status& StatusOf(const Status& s) { return s; }
template <typename T>
const Status& StatusOf(const Result<T>& r) {
  return r.status();
}

// An instant from an RFC 3339 literal; throws (failing the test) on a bad literal.
inline Timestamp T(std::string_view text) {
  auto t = ParseRfc3339(text);
  if (!t) throw std::invalid_argument("bad RFC 3339 literal in test: " + std::string(text));
  return *t;
}

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/viya-mv-test-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }

  const std::string& path() const { return path_; }
  std::string File(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

}  // namespace mv::testing

// Assertions on Status and Result<T>; on failure they print the status.
#define MV_EXPECT_OK(expr)                                          \
  do {                                                              \
    auto&& mv_r_ = (expr);                                          \
    const ::mv::Status& mv_s_ = ::mv::testing::StatusOf(mv_r_);     \
    EXPECT_TRUE(mv_s_.ok()) << #expr << " -> " << mv_s_.ToString(); \
  } while (0)
#define MV_ASSERT_OK(expr)                                          \
  do {                                                              \
    auto&& mv_r_ = (expr);                                          \
    const ::mv::Status& mv_s_ = ::mv::testing::StatusOf(mv_r_);     \
    ASSERT_TRUE(mv_s_.ok()) << #expr << " -> " << mv_s_.ToString(); \
  } while (0)
#define MV_ASSERT_OK_AND_ASSIGN(lhs, expr) \
  MV_ASSERT_OK_AND_ASSIGN_IMPL(MV_CONCAT(mv_test_result_, __LINE__), lhs, expr)
#define MV_ASSERT_OK_AND_ASSIGN_IMPL(tmp, lhs, expr)                   \
  auto tmp = (expr);                                                   \
  ASSERT_TRUE(tmp.ok()) << #expr << " -> " << tmp.status().ToString(); \
  lhs = std::move(tmp).value()
// Expects `expr` to fail with `want` (a StatusCode enumerator name, e.g. kNotFound).
#define MV_EXPECT_CODE(expr, want)                                                          \
  do {                                                                                      \
    auto&& mv_r_ = (expr);                                                                  \
    const ::mv::Status& mv_s_ = ::mv::testing::StatusOf(mv_r_);                             \
    EXPECT_EQ(mv_s_.code(), ::mv::StatusCode::want) << #expr << " -> " << mv_s_.ToString(); \
  } while (0)
