#include "mongo/lease.h"

#include <fmt/format.h>
#include <unistd.h>

#include "base/sha256.h"
#include "base/time.h"
#include "mongo/view_documents.h"

namespace mv::mongo {

Result<bool> MongoLease::TryAcquire() {
  if (held()) {
    Status renewed = Renew();
    if (renewed.ok()) return true;
    if (renewed.code() != StatusCode::kConflict) return renewed;
  }
  Timestamp now = clock_->Now();
  // Free or expired (or this owner's already): taken, with a new epoch. Held by another,
  // the filter matches nothing and the upsert's insert collides with its _id.
  Document filter = {{"_id", options_.name},
                     {"$or", Document::array({{{"expiresAt", {{"$lt", DateValue(now)}}}},
                                              {{"owner", options_.owner}}})}};
  Document update = {{"$set",
                      {{"owner", options_.owner},
                       {"expiresAt", DateValue(now + options_.ttl)},
                       {"takenAt", DateValue(now)}}},
                     {"$inc", {{"epoch", Int64Value(1)}}}};
  Status taken =
      db_->Transact({{UpdateCommand(kLeases, {UpdateStatement(filter, update, true)}), 1}});
  if (taken.code() == StatusCode::kConflict) return false;
  MV_RETURN_IF_ERROR(taken);
  std::int64_t epoch = 0;
  MV_RETURN_IF_ERROR(db_->Query(FindCommand(kLeases, {{"_id", options_.name}}), [&](Document d) {
    MV_ASSIGN_OR_RETURN(epoch, ReadInt64(d.value("epoch", Document(0))));
    return Status::Ok();
  }));
  std::lock_guard lock(mu_);
  held_ = true;
  epoch_ = epoch;
  return true;
}

Status MongoLease::Renew() {
  std::int64_t epoch;
  {
    std::lock_guard lock(mu_);
    if (!held_) return Status::Conflict("the lease of " + options_.name + " is not held");
    epoch = epoch_;
  }
  Timestamp now = clock_->Now();
  Document filter = {{"_id", options_.name},
                     {"owner", options_.owner},
                     {"epoch", Int64Value(epoch)},
                     {"expiresAt", {{"$gt", DateValue(now)}}}};
  Document update = {{"$set", {{"expiresAt", DateValue(now + options_.ttl)}}}};
  Status s = db_->Transact({{UpdateCommand(kLeases, {UpdateStatement(filter, update, false)}), 1}});
  if (s.code() == StatusCode::kConflict) {
    std::lock_guard lock(mu_);
    held_ = false;
    return Status::Conflict(
        fmt::format("the lease of {} was lost ({})", options_.name, s.message()));
  }
  return s;
}

Status MongoLease::Release() {
  std::int64_t epoch;
  {
    std::lock_guard lock(mu_);
    if (!held_) return Status::Ok();
    held_ = false;
    epoch = epoch_;
  }
  Document filter = {
      {"_id", options_.name}, {"owner", options_.owner}, {"epoch", Int64Value(epoch)}};
  Document update = {{"$set", {{"expiresAt", DateValue(FromMillis(0))}}}};
  return db_->Transact(
      {{UpdateCommand(kLeases, {UpdateStatement(filter, update, false)}), std::nullopt}});
}

ViewDatabase::Write MongoLease::Fence() const {
  std::lock_guard lock(mu_);
  // Not held: an epoch no lease has, so the transaction fails.
  Document filter = {{"_id", options_.name},
                     {"owner", options_.owner},
                     {"epoch", Int64Value(held_ ? epoch_ : -1)},
                     {"expiresAt", {{"$gt", DateValue(clock_->Now())}}}};
  Document update = {{"$set", {{"lastWriteAt", DateValue(clock_->Now())}}}};
  return {UpdateCommand(kLeases, {UpdateStatement(filter, update, false)}), 1};
}

bool MongoLease::held() const {
  std::lock_guard lock(mu_);
  return held_;
}

std::int64_t MongoLease::epoch() const {
  std::lock_guard lock(mu_);
  return epoch_;
}

std::string MongoLease::holder() {
  std::string out = "partition " + options_.name + " is free";
  Status s = db_->Query(FindCommand(kLeases, {{"_id", options_.name}}), [&](Document d) {
    auto until = ReadDate(d.value("expiresAt", Document()));
    out = fmt::format("partition {} held by {} until {}", options_.name, d.value("owner", "?"),
                      until.ok() ? FormatRfc3339(*until) : "?");
    return Status::Ok();
  });
  if (!s.ok()) out = fmt::format("partition {}: {}", options_.name, s.message());
  return out;
}

std::string LeaseOwnerName() {
  char host[256] = {0};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = 0;
  return fmt::format("{}:{}:{}", host, getpid(), RandomHex(4));
}

}  // namespace mv::mongo
