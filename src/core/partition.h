#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/interfaces.h"

// Stream partitions (stream.partitions, stream.partition): the orgs split over several
// workers by a hash of the org, each worker applying the changes of its own orgs only,
// with a checkpoint and a lease of its own. Every view is keyed by org first, so two
// partitions never write the same row.
namespace mv::core {

struct Partition {
  int index = 0;
  int count = 1;

  // FNV-1a over the org's bytes: stable across processes, releases and machines.
  static std::uint32_t HashOf(std::string_view org);
  bool Owns(std::string_view org) const {
    return count <= 1 ||
           HashOf(org) % static_cast<std::uint32_t>(count) == static_cast<std::uint32_t>(index);
  }
  bool whole() const { return count <= 1; }
  // "stream" for the one partition of an unpartitioned stream, else "p<index>of<count>": the
  // id of the partition's checkpoint and lease.
  std::string Id() const;
};

// The changes of one partition's orgs: a ChangeSource over the whole stream that drops the
// other orgs' changes. A read whose changes all belong to other partitions returns nothing
// and reports its last token through QuietThrough, so the partition's checkpoint moves on.
// Thread-compatible, as ChangeSource.
class PartitionedChangeSource final : public ChangeSource {
 public:
  PartitionedChangeSource(ChangeSource* inner, Partition partition)
      : inner_(inner), partition_(partition) {}
  Result<std::vector<ChangeEvent>> Read(ChangeToken after, size_t max_events, Millis wait,
                                        Millis linger) override;
  Result<ChangeToken> LatestToken() override { return inner_->LatestToken(); }
  ChangeToken QuietThrough() override;

 private:
  ChangeSource* inner_;
  const Partition partition_;
  ChangeToken skipped_through_ = 0;  // the last token of a read that was all other orgs'
};

// Snapshots of one partition's orgs. Thread-safe, as the SourceReader it wraps.
class PartitionedSourceReader final : public SourceReader {
 public:
  PartitionedSourceReader(SourceReader* inner, Partition partition)
      : inner_(inner), partition_(partition) {}
  Result<ChangeToken> ScanShipments(
      const std::optional<std::string>& org,
      const std::function<Status(const SourceShipment&)>& fn) override;
  // With no org given, an estimate for progress: the whole stream's count over the
  // partitions.
  Result<std::int64_t> CountShipments(const std::optional<std::string>& org) override;
  Result<std::vector<std::string>> TrackingEventsOf(const std::string& org,
                                                    const std::string& shipment_id) override {
    return inner_->TrackingEventsOf(org, shipment_id);
  }

 private:
  SourceReader* inner_;
  const Partition partition_;
};

}  // namespace mv::core
