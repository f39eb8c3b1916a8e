#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/clock.h"

namespace mv::core {

// Position in the change stream. Embedded backend: the oplog sequence number. Tokens
// grow with every committed change; 0 is "before the first change".
using ChangeToken = std::int64_t;

enum class Collection { kShipments, kTrackingEvents, kCustomers, kCarriers };
enum class Operation { kInsert, kUpdate, kReplace, kDelete };

std::string_view ToString(Collection c);
std::string_view ToString(Operation op);
std::optional<Collection> ParseCollection(std::string_view s);
std::optional<Operation> ParseOperation(std::string_view s);

// One entry of the change stream (DESIGN.md section 3).
struct ChangeEvent {
  ChangeToken token = 0;
  Operation op = Operation::kInsert;
  Collection collection = Collection::kShipments;
  std::string org;
  std::string document_id;
  // The post-image as JSON text; absent on delete (and possibly in MongoDB's updateLookup
  // mode, where it may also be newer than the event).
  std::optional<std::string> full_document;
  // The pre-image, where the source has one (a MongoDB delete with
  // changeStreamPreAndPostImages): the only way to name a deleted tracking event's shipment.
  std::optional<std::string> before_document;
  Timestamp wall_time{};
  // Set when the source could not decode the change (a MongoDB event whose org cannot be
  // known, ...): the change becomes a dead letter with this reason, and `full_document`
  // then holds the source's event as it came, for the operator.
  std::optional<std::string> source_error;
};

}  // namespace mv::core
