#include "base/status.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "base/result.h"

namespace {

using mv::Result;
using mv::Status;
using mv::StatusCode;

TEST(Status, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kOk);
  EXPECT_EQ(s.message(), "");
  EXPECT_EQ(s.ToString(), "Ok");
  EXPECT_TRUE(Status::Ok().ok());
}

TEST(Status, FactoriesSetCodeAndMessage) {
  struct Case {
    Status status;
    StatusCode code;
    const char* name;
  };
  const std::vector<Case> cases = {
      {Status::InvalidArgument("m"), StatusCode::kInvalidArgument, "InvalidArgument"},
      {Status::NotFound("m"), StatusCode::kNotFound, "NotFound"},
      {Status::Unauthenticated("m"), StatusCode::kUnauthenticated, "Unauthenticated"},
      {Status::PermissionDenied("m"), StatusCode::kPermissionDenied, "PermissionDenied"},
      {Status::PayloadTooLarge("m"), StatusCode::kPayloadTooLarge, "PayloadTooLarge"},
      {Status::DeadlineExceeded("m"), StatusCode::kDeadlineExceeded, "DeadlineExceeded"},
      {Status::HistoryLost("m"), StatusCode::kHistoryLost, "HistoryLost"},
      {Status::Unavailable("m"), StatusCode::kUnavailable, "Unavailable"},
      {Status::Corruption("m"), StatusCode::kCorruption, "Corruption"},
      {Status::IOError("m"), StatusCode::kIOError, "IOError"},
      {Status::Internal("m"), StatusCode::kInternal, "Internal"},
  };
  for (const auto& c : cases) {
    EXPECT_FALSE(c.status.ok()) << c.name;
    EXPECT_EQ(c.status.code(), c.code) << c.name;
    EXPECT_EQ(c.status.message(), "m") << c.name;
    EXPECT_EQ(mv::StatusCodeName(c.code), c.name);
    EXPECT_EQ(c.status.ToString(), std::string(c.name) + ": m");
  }
}

TEST(Status, ToStringMatchesTheDocumentedShape) {
  EXPECT_EQ(Status::InvalidArgument("status: unknown value 'shipped'").ToString(),
            "InvalidArgument: status: unknown value 'shipped'");
}

Status FailIf(bool fail, int* reached) {
  MV_RETURN_IF_ERROR(fail ? Status::NotFound("gone") : Status::Ok());
  ++*reached;
  return Status::Ok();
}

TEST(Status, ReturnIfErrorReturnsEarlyOnlyOnError) {
  int reached = 0;
  EXPECT_TRUE(FailIf(false, &reached).ok());
  EXPECT_EQ(reached, 1);
  Status s = FailIf(true, &reached);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "gone");
  EXPECT_EQ(reached, 1);
}

TEST(Result, HoldsAValue) {
  Result<int> r = 42;
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.status().ok());
  EXPECT_EQ(r.value(), 42);
  EXPECT_EQ(*r, 42);
}

TEST(Result, HoldsAnError) {
  Result<int> r = Status::Corruption("bad page");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  EXPECT_EQ(r.status().message(), "bad page");
}

TEST(Result, ArrowAndMoveOut) {
  Result<std::string> r = std::string("hello");
  EXPECT_EQ(r->size(), 5u);
  std::string moved = std::move(r).value();
  EXPECT_EQ(moved, "hello");
}

TEST(Result, MoveOnlyValues) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(7);
  ASSERT_TRUE(r.ok());
  std::unique_ptr<int> p = std::move(r).value();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 7);
}

Result<int> Half(int v) {
  if (v % 2 != 0) return Status::InvalidArgument("odd");
  return v / 2;
}

Result<int> Quarter(int v, int* steps) {
  MV_ASSIGN_OR_RETURN(int h, Half(v));
  ++*steps;
  MV_ASSIGN_OR_RETURN(int q, Half(h));
  ++*steps;
  return q;
}

TEST(Result, AssignOrReturnPropagatesTheFirstError) {
  int steps = 0;
  auto ok = Quarter(8, &steps);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 2);
  EXPECT_EQ(steps, 2);

  steps = 0;
  auto odd_half = Quarter(6, &steps);  // 6 -> 3 -> odd
  EXPECT_EQ(odd_half.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(steps, 1);

  steps = 0;
  auto odd = Quarter(5, &steps);
  EXPECT_EQ(odd.status().message(), "odd");
  EXPECT_EQ(steps, 0);
}

}  // namespace
