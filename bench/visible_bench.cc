// visible_bench: write -> visible latency over HTTP, as a client of a running viya-mv
// feels it. Each of --connections threads writes single shipments on its own keep-alive
// connection at a fixed offered rate (together --rate writes/s) and, after each write,
// reads the shipment back with ?minToken= set to the write's token. Per write: the time
// from when it was due (not when it was sent, so a late client does not hide the delay)
// to the write's answer, and to the answer of the read that saw it.
//
//   visible_bench --port=P --key=KEY [--rate=10000] [--seconds=10] [--connections=32]
//                 [--prefix=V]
// prints one line: offered and achieved rates, then p50/p90/p99/p99.9/max of both.

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "http_client.h"

namespace {

using Steady = std::chrono::steady_clock;
using mv::testing::HeaderList;
using mv::testing::HttpClient;

struct Flags {
  int port = 0;
  std::string key;
  double rate = 10000;
  double seconds = 10;
  int connections = 32;
  std::string prefix = "V";
};

double Ms(Steady::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double Percentile(std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
  return v[i];
}

}  // namespace

int main(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&](std::string_view name) -> const char* {
      return a.rfind(name, 0) == 0 ? argv[i] + name.size() : nullptr;
    };
    if (auto v = value("--port=")) f.port = std::atoi(v);
    if (auto v = value("--key=")) f.key = v;
    if (auto v = value("--rate=")) f.rate = std::atof(v);
    if (auto v = value("--seconds=")) f.seconds = std::atof(v);
    if (auto v = value("--connections=")) f.connections = std::max(1, std::atoi(v));
    if (auto v = value("--prefix=")) f.prefix = v;
  }
  if (f.port <= 0 || f.key.empty() || f.rate <= 0) {
    fmt::print(stderr,
               "usage: visible_bench --port=P --key=KEY [--rate=N] [--seconds=S] "
               "[--connections=C] [--prefix=P]\n");
    return 2;
  }
  HeaderList auth = {{"Authorization", "Bearer " + f.key}};
  HeaderList post = {{"Authorization", "Bearer " + f.key}, {"Content-Type", "application/json"}};
  std::vector<std::vector<double>> write_ms(f.connections), visible_ms(f.connections);
  std::atomic<int> failures{0};
  const auto start = Steady::now() + std::chrono::milliseconds(100);
  const auto interval = std::chrono::duration<double>(f.connections / f.rate);
  const auto deadline = start + std::chrono::duration_cast<Steady::duration>(
                                    std::chrono::duration<double>(f.seconds));
  std::vector<std::thread> threads;
  for (int c = 0; c < f.connections; ++c) {
    threads.emplace_back([&, c] {
      HttpClient client(f.port, std::chrono::seconds(10));
      // Connections start evenly spread over one interval.
      auto offset = std::chrono::duration_cast<Steady::duration>(interval * c / f.connections);
      for (long k = 0;; ++k) {
        auto due = start + offset + std::chrono::duration_cast<Steady::duration>(interval * k);
        if (due >= deadline) break;
        std::this_thread::sleep_until(due);
        std::string id = fmt::format("{}-{}-{}", f.prefix, c, k);
        std::string body = fmt::format(
            R"({{"id":"{}","status":"booked","carrierId":"dhl","customerId":"C-{}",)"
            R"("createdAt":"2026-11-01T10:00:00Z","promisedDeliveryAt":"2026-11-05T10:00:00Z"}})",
            id, k % 200);
        auto w = client.Send("POST", "/v1/shipments", post, body);
        auto written = Steady::now();
        std::string token = w.Header("X-Change-Token");
        if (w.status != 200 || token.empty()) {
          ++failures;
          continue;
        }
        auto r = client.Send("GET", "/v1/shipments/" + id + "?minToken=" + token, auth);
        auto seen = Steady::now();
        if (r.status != 200) {
          ++failures;
          continue;
        }
        write_ms[c].push_back(Ms(written - due));
        visible_ms[c].push_back(Ms(seen - due));
      }
    });
  }
  for (auto& t : threads) t.join();
  std::vector<double> writes, visible;
  for (int c = 0; c < f.connections; ++c) {
    writes.insert(writes.end(), write_ms[c].begin(), write_ms[c].end());
    visible.insert(visible.end(), visible_ms[c].begin(), visible_ms[c].end());
  }
  double achieved = static_cast<double>(visible.size()) / f.seconds;
  fmt::print(
      "offered {:.0f} writes/s, achieved {:.0f}/s ({} writes, {} failed) | write ms p50 {:.2f} "
      "p90 {:.2f} p99 {:.2f} p99.9 {:.2f} max {:.2f} | visible ms p50 {:.2f} p90 {:.2f} p99 "
      "{:.2f} p99.9 {:.2f} max {:.2f}\n",
      f.rate, achieved, visible.size(), failures.load(), Percentile(writes, 0.5),
      Percentile(writes, 0.9), Percentile(writes, 0.99), Percentile(writes, 0.999),
      Percentile(writes, 1.0), Percentile(visible, 0.5), Percentile(visible, 0.9),
      Percentile(visible, 0.99), Percentile(visible, 0.999), Percentile(visible, 1.0));
  return failures.load() > 0 ? 1 : 0;
}
