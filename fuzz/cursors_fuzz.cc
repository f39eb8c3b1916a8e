// The list cursors of GET /v1/shipments, /v1/customers/summary and /v1/exceptions on
// arbitrary text. The input is the cursor, or "SORT\nCURSOR" to choose the sort the
// customer cursor is checked against (default "-shipments"; '\n' is not base64url, so no
// cursor contains one). Checks: decoding fails only with InvalidArgument naming `cursor`,
// and a decoded position encoded again decodes to the same position.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/time.h"
#include "core/domain.h"
#include "fuzz_check.h"
#include "http/request.h"

namespace {

using mv::storage::sqlite::CustomerPosition;
using mv::storage::sqlite::ExceptionPosition;
using mv::storage::sqlite::ListPosition;

bool Same(const ListPosition& a, const ListPosition& b) {
  return a.created_at == b.created_at && a.id == b.id;
}
bool Same(const CustomerPosition& a, const CustomerPosition& b) {
  return a.value == b.value && a.customer_id == b.customer_id;
}
bool Same(const ExceptionPosition& a, const ExceptionPosition& b) {
  return a.urgency == b.urgency && a.promised_sort == b.promised_sort &&
         a.status_changed_at == b.status_changed_at && a.id == b.id;
}

template <typename T>
void CheckError(const mv::Result<T>& r) {
  if (r.ok()) return;
  FUZZ_CHECK(r.status().code() == mv::StatusCode::kInvalidArgument, r.status().ToString());
  FUZZ_CHECK(r.status().message().starts_with("cursor: "), r.status().ToString());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string sort = "-shipments";
  std::string cursor(input);
  if (const size_t newline = input.find('\n'); newline != std::string_view::npos) {
    sort = std::string(input.substr(0, newline));
    cursor = std::string(input.substr(newline + 1));
  }

  const auto list = mv::http::DecodeCursor(cursor);
  CheckError(list);
  if (list.ok()) {
    FUZZ_CHECK(mv::core::IsValidId(list->id), list->id);
    const std::string encoded = mv::http::EncodeCursor(*list);
    const auto again = mv::http::DecodeCursor(encoded);
    FUZZ_CHECK(again.ok() && Same(*again, *list),
               "DecodeCursor(EncodeCursor(p)) != p for created_at " +
                   std::to_string(mv::ToMillis(list->created_at)) + ", id " + list->id + ": " +
                   encoded);
  }

  const auto customer = mv::http::DecodeCustomerCursor(cursor, sort);
  CheckError(customer);
  if (customer.ok()) {
    const std::string encoded = mv::http::EncodeCustomerCursor(sort, *customer);
    const auto again = mv::http::DecodeCustomerCursor(encoded, sort);
    FUZZ_CHECK(again.ok() && Same(*again, *customer),
               "DecodeCustomerCursor(EncodeCustomerCursor(sort, p), sort) != p for sort " + sort +
                   ", value " + std::to_string(customer->value) + ", customer " +
                   customer->customer_id + ": " + encoded);
  }

  const auto exception = mv::http::DecodeExceptionCursor(cursor);
  CheckError(exception);
  if (exception.ok()) {
    FUZZ_CHECK(mv::core::IsValidId(exception->id), exception->id);
    const std::string encoded = mv::http::EncodeExceptionCursor(*exception);
    const auto again = mv::http::DecodeExceptionCursor(encoded);
    FUZZ_CHECK(again.ok() && Same(*again, *exception),
               "DecodeExceptionCursor(EncodeExceptionCursor(p)) != p for id " + exception->id +
                   ": " + encoded);
  }
  return 0;
}
