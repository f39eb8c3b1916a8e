#include "core/partition.h"

#include <fmt/format.h>

namespace mv::core {

std::uint32_t Partition::HashOf(std::string_view org) {
  std::uint32_t h = 2166136261u;
  for (unsigned char c : org) {
    h ^= c;
    h *= 16777619u;
  }
  return h;
}

std::string Partition::Id() const {
  return whole() ? "stream" : fmt::format("p{}of{}", index, count);
}

Result<std::vector<ChangeEvent>> PartitionedChangeSource::Read(ChangeToken after, size_t max_events,
                                                               Millis wait, Millis linger) {
  MV_ASSIGN_OR_RETURN(std::vector<ChangeEvent> events,
                      inner_->Read(after, max_events, wait, linger));
  if (partition_.whole() || events.empty()) return events;
  ChangeToken last = events.back().token;
  std::vector<ChangeEvent> own;
  own.reserve(events.size());
  for (auto& e : events) {
    if (partition_.Owns(e.org)) own.push_back(std::move(e));
  }
  if (own.empty()) skipped_through_ = std::max(skipped_through_, last);
  return own;
}

ChangeToken PartitionedChangeSource::QuietThrough() {
  return std::max(inner_->QuietThrough(), skipped_through_);
}

Result<ChangeToken> PartitionedSourceReader::ScanShipments(
    const std::optional<std::string>& org, const std::function<Status(const SourceShipment&)>& fn) {
  if (partition_.whole()) return inner_->ScanShipments(org, fn);
  if (org && !partition_.Owns(*org)) {
    // Another partition's org: nothing of it is scanned, at the position of an empty scan.
    return inner_->ScanShipments(org, [](const SourceShipment&) { return Status::Ok(); });
  }
  return inner_->ScanShipments(
      org, [&](const SourceShipment& s) { return partition_.Owns(s.org) ? fn(s) : Status::Ok(); });
}

Result<std::int64_t> PartitionedSourceReader::CountShipments(
    const std::optional<std::string>& org) {
  if (org && !partition_.Owns(*org)) return std::int64_t{0};
  MV_ASSIGN_OR_RETURN(std::int64_t n, inner_->CountShipments(org));
  return org || partition_.whole() ? n : n / partition_.count;
}

}  // namespace mv::core
