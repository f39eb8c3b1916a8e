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

}  // namespace mv::core
