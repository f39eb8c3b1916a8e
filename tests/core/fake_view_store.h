#pragma once

// An in-memory ViewStore for engine tests, and the reference the SQLite backend is held
// to by the shared conformance suite (tests/storage/view_store_conformance.h).
//
// Rows are kept as their JSON text, as a real backend keeps them, so every `before` the
// engine reads has gone through RowToJson/RowFromJson. Not thread-safe.

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "base/time.h"
#include "core/interfaces.h"
#include "core/shipment_row.h"
#include "core/view_set.h"

namespace mv::core {
// Readable failure messages for rows (found by gtest through ADL).
inline void PrintTo(const ShipmentRow& row, std::ostream* os) {
  *os << row.org << ":" << RowToJson(row).dump();
}
}  // namespace mv::core

namespace mv::testing {

class FakeViewStore final : public core::ViewStore {
 public:
  // key -> measures, then one value per max measure (kNoValue when none)
  using AggregateTable = std::map<std::vector<std::string>, std::vector<std::int64_t>>;
  static constexpr std::int64_t kNoValue = std::numeric_limits<std::int64_t>::min();

  struct State {
    std::map<core::ShipmentKey, std::string> rows;  // key -> RowToJson text
    std::map<core::ShipmentKey, core::ExceptionEntry> exceptions;
    std::map<core::ShipmentKey, core::TrackingSummary> tracking;
    std::map<std::string, AggregateTable> aggregates;
    std::vector<core::DeadLetter> dead_letters;
    core::ChangeToken token = 0;
  };

  explicit FakeViewStore(const core::ViewSet* views) : views_(views) {}

  // Makes every FindShipmentRow and FindTrackingSummary fail with IOError while set.
  void FailLookups(bool fail) { fail_lookups_ = fail; }
  // How many times FindShipmentRow was called.
  int lookups() const { return lookups_; }

  // Stores a row directly, bypassing the engine (test set-up).
  void Put(const core::ShipmentRow& row) {
    state_.rows[{row.org, row.shipment.id}] = core::RowToJson(row).dump();
  }
  // Stores raw row text (to plant corrupt rows).
  void PutRaw(const core::ShipmentKey& key, std::string text) {
    state_.rows[key] = std::move(text);
  }

  const State& state() const { return state_; }
  const AggregateTable& aggregate(const std::string& view) { return state_.aggregates[view]; }

  Result<std::optional<core::ShipmentRow>> FindShipmentRow(const core::ShipmentKey& key) override {
    ++lookups_;
    if (fail_lookups_) return Status::IOError("injected lookup failure");
    auto it = state_.rows.find(key);
    if (it == state_.rows.end()) return std::optional<core::ShipmentRow>();
    auto json = nlohmann::json::parse(it->second, nullptr, false);
    MV_ASSIGN_OR_RETURN(core::ShipmentRow row, core::RowFromJson(key.org, json));
    return std::optional<core::ShipmentRow>(std::move(row));
  }

  Result<std::optional<core::TrackingSummary>> FindTrackingSummary(
      const core::ShipmentKey& key) override {
    if (fail_lookups_) return Status::IOError("injected lookup failure");
    auto it = state_.tracking.find(key);
    if (it == state_.tracking.end()) return std::optional<core::TrackingSummary>();
    return std::optional(it->second);
  }

  Result<core::ChangeToken> Checkpoint() override { return state_.token; }

  Status Apply(const core::ViewBatch& batch) override {
    MV_RETURN_IF_ERROR(ApplyTo(&state_, batch));
    if (batch.token) state_.token = *batch.token;
    return Status::Ok();
  }

  Result<std::vector<core::ShipmentRow>> DueForSlaChange(Timestamp now, size_t limit) override {
    std::vector<core::ShipmentRow> due;
    for (const auto& [key, text] : state_.rows) {
      MV_ASSIGN_OR_RETURN(core::ShipmentRow row,
                          core::RowFromJson(key.org, nlohmann::json::parse(text, nullptr, false)));
      if (row.sla.next_change_at && *row.sla.next_change_at <= now) due.push_back(std::move(row));
    }
    std::stable_sort(due.begin(), due.end(), [](const auto& a, const auto& b) {
      return *a.sla.next_change_at < *b.sla.next_change_at;
    });
    if (due.size() > limit) due.resize(limit);
    return due;
  }

  Result<std::unique_ptr<core::ViewRebuild>> BeginRebuild() override {
    return std::unique_ptr<core::ViewRebuild>(new Rebuild(this));
  }

 private:
  class Rebuild final : public core::ViewRebuild {
   public:
    explicit Rebuild(FakeViewStore* store) : store_(store) {}
    Status Write(const core::ViewBatch& chunk) override { return store_->ApplyTo(&shadow_, chunk); }
    Status Commit(core::ChangeToken token) override {
      shadow_.token = token;
      store_->state_ = std::move(shadow_);
      return Status::Ok();
    }

   private:
    FakeViewStore* store_;
    State shadow_;
  };

  Status ApplyTo(State* s, const core::ViewBatch& batch) {
    for (const auto& [view, deltas] : batch.aggregate_deltas) {
      if (views_->FindAggregate(view) == nullptr) {
        return Status::Internal("batch names unknown view " + view);
      }
    }
    for (const auto& row : batch.list_upserts) {
      s->rows[{row.org, row.shipment.id}] = core::RowToJson(row).dump();
    }
    for (const auto& key : batch.list_deletes) s->rows.erase(key);
    for (const auto& r : batch.exception_upserts) s->exceptions[r.key] = r.entry;
    for (const auto& key : batch.exception_deletes) s->exceptions.erase(key);
    for (const auto& t : batch.tracking_upserts) s->tracking[t.key] = t.summary;
    for (const auto& [view, deltas] : batch.aggregate_deltas) {
      const core::AggregateViewSpec& spec = views_->FindAggregate(view)->spec();
      auto& table = s->aggregates[view];
      const size_t n = spec.measure_columns.size();
      for (const auto& d : deltas) {
        auto& m = table[d.key];
        if (m.empty()) {
          m.assign(n, 0);
          m.resize(n + spec.max_measures.size(), kNoValue);
        }
        for (size_t i = 0; i < n; ++i) m[i] += d.measures[i];
        for (size_t i = 0; i < spec.max_measures.size(); ++i) {
          if (d.max_added[i]) m[n + i] = std::max<std::int64_t>(m[n + i], *d.max_added[i]);
          bool removed_max = d.max_retracted[i] && *d.max_retracted[i] >= m[n + i] &&
                             !(d.max_added[i] && *d.max_added[i] >= *d.max_retracted[i]);
          if (removed_max) {
            MV_ASSIGN_OR_RETURN(m[n + i], RecomputeMax(*s, spec, spec.max_measures[i], d.key));
          }
        }
        if (m.front() == 0) table.erase(d.key);
      }
    }
    s->dead_letters.insert(s->dead_letters.end(), batch.dead_letters.begin(),
                           batch.dead_letters.end());
    return Status::Ok();
  }

  // The value of a shipment-list column the views' MaxMeasures and keys refer to.
  static std::string ListColumn(const core::ShipmentRow& row, const std::string& column) {
    if (column == "org") return row.org;
    if (column == "customer_id") return row.shipment.customer_id;
    if (column == "carrier_id") return row.shipment.carrier_id;
    if (column == "created_at") return std::to_string(ToMillis(row.shipment.created_at));
    ADD_FAILURE() << "the fake store does not know list column " << column;
    return "";
  }

  // MAX(list_column) over the list rows whose key columns equal `key`.
  static Result<std::int64_t> RecomputeMax(const State& s, const core::AggregateViewSpec& spec,
                                           const core::MaxMeasure& max,
                                           const std::vector<std::string>& key) {
    std::int64_t best = kNoValue;
    for (const auto& [k, text] : s.rows) {
      MV_ASSIGN_OR_RETURN(core::ShipmentRow row,
                          core::RowFromJson(k.org, nlohmann::json::parse(text, nullptr, false)));
      bool match = true;
      for (size_t i = 0; i < key.size() && match; ++i) {
        match = ListColumn(row, spec.key_columns[i]) == key[i];
      }
      if (match) best = std::max<std::int64_t>(best, std::stoll(ListColumn(row, max.list_column)));
    }
    return best;
  }

  const core::ViewSet* views_;
  State state_;
  bool fail_lookups_ = false;
  int lookups_ = 0;
};

}  // namespace mv::testing
