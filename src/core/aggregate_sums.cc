#include "core/aggregate_sums.h"

#include <algorithm>
#include <span>

namespace mv::core {
namespace {

// An unambiguous encoding of an aggregate key: each part's length, then its bytes.
void KeyBytes(std::span<const std::string_view> key, std::string* out) {
  out->clear();
  for (std::string_view part : key) {
    size_t n = part.size();
    do {
      out->push_back(static_cast<char>((n & 0x7f) | (n > 0x7f ? 0x80 : 0)));
      n >>= 7;
    } while (n > 0);
    out->append(part);
  }
}

}  // namespace

class AggregateSums::Summer final : public ContributionSink {
 public:
  Summer(AggregateSums* owner, ViewSums* sums, const AggregateViewSpec& spec, int sign)
      : owner_(owner), sums_(sums), spec_(spec), sign_(sign) {}

  void Add(std::span<const std::string_view> key, std::span<const MeasureValue> measures,
           std::span<const std::int64_t> maxima) override {
    std::string& bytes = owner_->key_buffer_;
    KeyBytes(key, &bytes);
    auto slot = sums_->index.find(bytes);
    if (slot == sums_->index.end()) {
      slot = sums_->index.emplace(bytes, sums_->deltas.size()).first;
      AggregateDelta& fresh = sums_->deltas.emplace_back();
      fresh.key.assign(key.begin(), key.end());
      fresh.measures.assign(spec_.measure_columns.size(), 0);
      fresh.max_added.resize(spec_.max_measures.size());
      fresh.max_retracted.resize(spec_.max_measures.size());
      ++owner_->keys_;
    }
    AggregateDelta& total = sums_->deltas[slot->second];
    for (auto [i, v] : measures) total.measures[i] += sign_ * v;
    auto& extreme = sign_ > 0 ? total.max_added : total.max_retracted;
    for (size_t i = 0; i < maxima.size() && i < extreme.size(); ++i) {
      if (!extreme[i] || *extreme[i] < maxima[i]) extreme[i] = maxima[i];
    }
  }

 private:
  AggregateSums* owner_;
  ViewSums* sums_;
  const AggregateViewSpec& spec_;
  int sign_;
};

AggregateSums::AggregateSums(const ViewSet& views) : views_(views) {
  for (const auto& v : views.aggregates()) definitions_.push_back(v.get());
  for (const auto& v : views.previous()) definitions_.push_back(v.get());
  sums_.resize(definitions_.size());
}

void AggregateSums::Add(const ShipmentRow& row, int sign) {
  for (size_t v = 0; v < definitions_.size(); ++v) {
    Summer summer(this, &sums_[v], definitions_[v]->spec(), sign);
    definitions_[v]->Contribute(row, summer);
  }
}

AggregateSums::DeltasByView AggregateSums::Take(DeltasByView* previous) {
  DeltasByView out;
  const size_t newest = views_.aggregates().size();
  for (size_t v = 0; v < sums_.size(); ++v) {
    auto& sums = sums_[v].deltas;
    std::sort(sums.begin(), sums.end(),
              [](const AggregateDelta& a, const AggregateDelta& b) { return a.key < b.key; });
    std::vector<AggregateDelta> deltas;
    for (auto& sum : sums) {
      if (!sum.IsZero()) deltas.push_back(std::move(sum));
    }
    DeltasByView* to = v < newest ? &out : previous;
    if (!deltas.empty() && to != nullptr)
      to->emplace(definitions_[v]->spec().name, std::move(deltas));
    sums_[v] = ViewSums{};
  }
  keys_ = 0;
  return out;
}

}  // namespace mv::core
