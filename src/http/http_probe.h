#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>

namespace mv::http {

// Metrics of the HTTP API. Thread-safe.
class HttpProbe {
 public:
  explicit HttpProbe(prometheus::Registry& registry);
  // `route` is the pattern ("/v1/shipments/{id}"), never the raw path; a method other
  // than the standard ones counts as "other".
  void Request(const std::string& method, const std::string& route, int status, double seconds);
  // The server's own figures, read when metrics are collected: open connections, and
  // totals of connections refused at the limit, cut by a timeout, and refused requests.
  void ServerFigures(std::int64_t connections, std::int64_t refused_total,
                     std::int64_t timeouts_total, std::int64_t bad_requests_total);
  // Realtime event streams open now (GET /v1/ops/realtime/stream).
  void SetStreams(size_t open);

 private:
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& duration_;
  prometheus::Gauge& connections_;
  prometheus::Gauge& streams_;
  prometheus::Counter& refused_;
  prometheus::Counter& timeouts_;
  prometheus::Counter& bad_requests_;
  std::mutex mu_;
  std::int64_t reported_[3] = {0, 0, 0};  // guarded by mu_
  // The series of each (method, route, status) seen, found without building labels.
  struct Series {
    prometheus::Counter* requests;
    prometheus::Histogram* duration;
  };
  std::shared_mutex series_mu_;
  std::unordered_map<std::string, Series> series_;  // guarded by series_mu_
};

}  // namespace mv::http
