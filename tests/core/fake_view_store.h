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
#include <set>
#include <string>
#include <vector>

#include "base/time.h"
#include "core/exception_queue.h"
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
    return FindRowIn(state_, key);
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
    return DueIn(state_, now, limit);
  }

  using core::ViewStore::BeginRebuild;
  Result<std::unique_ptr<core::ViewRebuild>> BeginRebuild(const core::ViewScope& scope) override {
    return std::unique_ptr<core::ViewRebuild>(new Rebuild(this, scope));
  }

 private:
  class Rebuild final : public core::ViewRebuild {
   public:
    Rebuild(FakeViewStore* store, core::ViewScope scope)
        : store_(store), scope_(std::move(scope)) {}
    Result<std::optional<core::ShipmentRow>> FindShipmentRow(
        const core::ShipmentKey& key) override {
      return FindRowIn(shadow_, key);
    }
    Result<std::optional<core::TrackingSummary>> FindTrackingSummary(
        const core::ShipmentKey& key) override {
      auto it = shadow_.tracking.find(key);
      if (it == shadow_.tracking.end()) return std::optional<core::TrackingSummary>();
      return std::optional(it->second);
    }
    Status Write(const core::ViewBatch& chunk) override { return store_->ApplyTo(&shadow_, chunk); }
    Status Apply(const core::ViewBatch& batch) override { return store_->ApplyTo(&shadow_, batch); }
    Result<std::vector<core::ShipmentRow>> DueForSlaChange(Timestamp now, size_t limit) override {
      return DueIn(shadow_, now, limit);
    }
    Result<std::vector<std::string>> Orgs() override {
      if (scope_.org) return std::vector<std::string>{*scope_.org};
      std::set<std::string> orgs;
      for (const State* s : {&store_->state_, &shadow_}) {
        for (const auto& [key, text] : s->rows) orgs.insert(key.org);
        for (const auto& [key, t] : s->tracking) orgs.insert(key.org);
      }
      return std::vector<std::string>(orgs.begin(), orgs.end());
    }
    Result<std::vector<core::ViewDrift>> Compare(const std::string& org) override {
      std::vector<core::ViewDrift> out;
      const State& live = store_->state_;
      auto add = [&](const std::string& view, const auto& a, const auto& b, auto org_of) {
        if (!scope_.Includes(view)) return;
        out.push_back(DiffOf(view, org, a, b, org_of));
      };
      auto key_org = [](const core::ShipmentKey& k) { return k.org; };
      add(core::ViewSet::kShipmentList, shadow_.rows, live.rows, key_org);
      add(core::ViewSet::kTrackingState, shadow_.tracking, live.tracking, key_org);
      add(core::kExceptionQueueView, shadow_.exceptions, live.exceptions, key_org);
      for (const auto& view : store_->views_->aggregates()) {
        const std::string& name = view->spec().name;
        static const AggregateTable kEmpty;
        auto find = [&](const State& s) -> const AggregateTable& {
          auto it = s.aggregates.find(name);
          return it == s.aggregates.end() ? kEmpty : it->second;
        };
        add(name, find(shadow_), find(live),
            [](const std::vector<std::string>& k) { return k.front(); });
      }
      return out;
    }
    Status Commit(core::ChangeToken token) override {
      if (scope_.org || !scope_.AllViews()) return CommitPart(scope_);
      shadow_.token = token;
      shadow_.dead_letters = store_->state_.dead_letters;
      store_->state_ = std::move(shadow_);
      return Status::Ok();
    }
    Status CommitPart(const core::ViewScope& part) override {
      State& live = store_->state_;
      auto in_part = [&](const std::string& org) { return !part.org || org == *part.org; };
      auto copy = [&](const std::string& view, auto& to, const auto& from, auto org_of) {
        if (!part.Includes(view) || !scope_.Includes(view)) return;
        std::erase_if(to, [&](const auto& entry) { return in_part(org_of(entry.first)); });
        for (const auto& entry : from) {
          if (in_part(org_of(entry.first))) to.insert(entry);
        }
      };
      auto key_org = [](const core::ShipmentKey& k) { return k.org; };
      copy(core::ViewSet::kShipmentList, live.rows, shadow_.rows, key_org);
      copy(core::ViewSet::kTrackingState, live.tracking, shadow_.tracking, key_org);
      copy(core::kExceptionQueueView, live.exceptions, shadow_.exceptions, key_org);
      for (const auto& view : store_->views_->aggregates()) {
        const std::string& name = view->spec().name;
        copy(name, live.aggregates[name], shadow_.aggregates[name],
             [](const std::vector<std::string>& k) { return k.front(); });
      }
      return Status::Ok();
    }

   private:
    template <typename Map, typename OrgOf>
    static core::ViewDrift DiffOf(const std::string& view, const std::string& org,
                                  const Map& source, const Map& live, OrgOf org_of) {
      core::ViewDrift d;
      d.view = view;
      d.org = org;
      auto of_org = [&](const Map& m) {
        std::map<typename Map::key_type, typename Map::mapped_type> out;
        for (const auto& [k, v] : m) {
          if (org_of(k) == org) out.emplace(k, v);
        }
        return out;
      };
      auto a = of_org(source);
      auto b = of_org(live);
      d.source_rows = static_cast<std::int64_t>(a.size());
      d.view_rows = static_cast<std::int64_t>(b.size());
      for (const auto& [k, v] : a) {
        auto it = b.find(k);
        if (it == b.end() || !(it->second == v)) ++d.mismatched;
      }
      for (const auto& [k, v] : b) d.mismatched += a.count(k) == 0 ? 1 : 0;
      d.checksum_match = d.mismatched == 0;
      return d;
    }

    FakeViewStore* store_;
    core::ViewScope scope_;
    State shadow_;
  };

  static Result<std::optional<core::ShipmentRow>> FindRowIn(const State& s,
                                                            const core::ShipmentKey& key) {
    auto it = s.rows.find(key);
    if (it == s.rows.end()) return std::optional<core::ShipmentRow>();
    auto json = nlohmann::json::parse(it->second, nullptr, false);
    MV_ASSIGN_OR_RETURN(core::ShipmentRow row, core::RowFromJson(key.org, json));
    return std::optional<core::ShipmentRow>(std::move(row));
  }

  static Result<std::vector<core::ShipmentRow>> DueIn(const State& s, Timestamp now, size_t limit) {
    std::vector<core::ShipmentRow> due;
    for (const auto& [key, text] : s.rows) {
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
    for (const auto& key : batch.tracking_deletes) s->tracking.erase(key);
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
