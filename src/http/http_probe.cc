#include "http/http_probe.h"

#include <algorithm>
#include <set>

#include "metrics/metrics.h"

namespace mv::http {

using metrics::LatencyBuckets;
using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

HttpProbe::HttpProbe(prometheus::Registry& r)
    : requests_(BuildCounter()
                    .Name("viya_mv_http_requests_total")
                    .Help("HTTP requests by method, route and status")
                    .Register(r)),
      duration_(BuildHistogram()
                    .Name("viya_mv_http_request_duration_seconds")
                    .Help("HTTP request handling time by route")
                    .Register(r)),
      connections_(BuildGauge()
                       .Name("viya_mv_http_connections")
                       .Help("Open HTTP connections")
                       .Register(r)
                       .Add({})),
      streams_(BuildGauge()
                   .Name("viya_mv_http_streams")
                   .Help("Realtime event streams open (GET /v1/ops/realtime/stream)")
                   .Register(r)
                   .Add({})),
      refused_(BuildCounter()
                   .Name("viya_mv_http_connections_refused_total")
                   .Help("HTTP connections answered 503 at the connection limit")
                   .Register(r)
                   .Add({})),
      timeouts_(BuildCounter()
                    .Name("viya_mv_http_timeouts_total")
                    .Help("HTTP connections closed by a header, body, idle or write timeout")
                    .Register(r)
                    .Add({})),
      bad_requests_(BuildCounter()
                        .Name("viya_mv_http_bad_requests_total")
                        .Help("HTTP requests the server refused as malformed or too large")
                        .Register(r)
                        .Add({})) {}

void HttpProbe::Request(const std::string& method, const std::string& route, int status,
                        double seconds) {
  static const std::set<std::string> kMethods = {"GET",   "HEAD",    "POST",    "PUT",  "DELETE",
                                                 "PATCH", "OPTIONS", "CONNECT", "TRACE"};
  static const std::string kOther = "other";
  const std::string& shown = kMethods.count(method) ? method : kOther;
  std::string key = shown + ' ' + route + ' ' + std::to_string(status);
  Series series{};
  {
    std::shared_lock lock(series_mu_);
    if (auto it = series_.find(key); it != series_.end()) series = it->second;
  }
  if (series.requests == nullptr) {
    series.requests =
        &requests_.Add({{"method", shown}, {"route", route}, {"status", std::to_string(status)}});
    series.duration = &duration_.Add({{"method", shown}, {"route", route}}, LatencyBuckets());
    std::unique_lock lock(series_mu_);
    series_.emplace(std::move(key), series);
  }
  series.requests->Increment();
  series.duration->Observe(seconds);
}

void HttpProbe::SetStreams(size_t open) { streams_.Set(static_cast<double>(open)); }

void HttpProbe::ServerFigures(std::int64_t connections, std::int64_t refused_total,
                              std::int64_t timeouts_total, std::int64_t bad_requests_total) {
  connections_.Set(static_cast<double>(connections));
  std::lock_guard lock(mu_);
  std::int64_t totals[3] = {refused_total, timeouts_total, bad_requests_total};
  prometheus::Counter* counters[3] = {&refused_, &timeouts_, &bad_requests_};
  for (int i = 0; i < 3; ++i) {
    if (totals[i] > reported_[i])
      counters[i]->Increment(static_cast<double>(totals[i] - reported_[i]));
    reported_[i] = std::max(reported_[i], totals[i]);
  }
}

}  // namespace mv::http
