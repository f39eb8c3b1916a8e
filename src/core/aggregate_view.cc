#include "core/aggregate_view.h"

#include <cmath>

namespace mv::core {

std::int64_t ToFixedPoint(std::optional<double> v) {
  if (!v) return 0;
  return std::llround(*v * static_cast<double>(kFixedPointScale));
}

double FromFixedPoint(std::int64_t v) {
  return static_cast<double>(v) / static_cast<double>(kFixedPointScale);
}

bool AggregateDelta::IsZero() const {
  for (auto m : measures) {
    if (m != 0) return false;
  }
  for (size_t i = 0; i < max_added.size(); ++i) {
    if (max_added[i] != max_retracted[i]) return false;
  }
  return true;
}

std::vector<Contribution> ContributionsOf(const AggregateView& view, const ShipmentRow& row) {
  class Collect final : public ContributionSink {
   public:
    explicit Collect(size_t measures) : measures_(measures) {}
    void Add(std::span<const std::string_view> key, std::span<const MeasureValue> measures,
             std::span<const std::int64_t> maxima) override {
      Contribution c;
      c.key.assign(key.begin(), key.end());
      c.measures.assign(measures_, 0);
      for (auto [i, v] : measures) c.measures.at(i) += v;
      c.maxima.assign(maxima.begin(), maxima.end());
      out.push_back(std::move(c));
    }
    std::vector<Contribution> out;

   private:
    size_t measures_;
  } collect(view.spec().measure_columns.size());
  view.Contribute(row, collect);
  return std::move(collect.out);
}

}  // namespace mv::core
