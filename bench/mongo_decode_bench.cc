// What decoding MongoDB change events costs per event, beside the engine's own parse of
// the canonical document it needs on either backend (the baseline, measured in the same
// run). The events are shaped as a server returns them to the change stream (relaxed
// Extended JSON as libbson writes it: BSON dates, $numberDecimal, ObjectIds), half
// inserts and half updates with updateDescription.
//
//   build/release/bench/mongo_decode_bench [--events=200000] [--reps=5]

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/time.h"
#include "core/document_text.h"
#include "mongo/event_decoder.h"

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

std::string EventText(int n) {
  const std::uint32_t t = 1764842400 + static_cast<std::uint32_t>(n / 100);
  const std::uint32_t i = static_cast<std::uint32_t>(n % 100);
  const std::string id = "S-" + std::to_string(n % 50000);
  json doc = {{"_id", id},
              {"organizationId", "org-" + std::to_string(n % 7)},
              {"reference", "PO-" + std::to_string(n)},
              {"customerId", "C-" + std::to_string(n % 300)},
              {"carrierId", n % 2 ? "dhl" : "ups"},
              {"service", "express"},
              {"status", n % 3 ? "in_transit" : "booked"},
              {"createdAt", {{"$date", "2026-11-0" + std::to_string(1 + n % 9) + "T08:00:00Z"}}},
              {"promisedDeliveryAt", {{"$date", "2026-11-12T17:00:00Z"}}},
              {"weightKg", 12.5},
              {"declaredValue", {{"$numberDecimal", std::to_string(n % 9000) + ".25"}}},
              {"currency", "EUR"},
              {"origin", {{"country", "NL"}, {"city", "Rotterdam"}}},
              {"destination", {{"country", "BR"}, {"city", "Sao Paulo"}}}};
  json e = {{"_id", {{"_data", fmt::format("82{:08X}{:08X}2B042C0100296E5A1004", t, i)}}},
            {"operationType", n % 2 ? "update" : "insert"},
            {"clusterTime", {{"$timestamp", {{"t", t}, {"i", i}}}}},
            {"wallTime", {{"$date", "2026-12-04T10:00:00.123Z"}}},
            {"ns", {{"db", "viya"}, {"coll", "shipments"}}},
            {"documentKey", {{"_id", id}}},
            {"fullDocument", doc}};
  if (n % 2) {
    e["updateDescription"] = {{"updatedFields", {{"status", doc["status"]}}},
                              {"removedFields", json::array()}};
  }
  return e.dump();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int events = 200000, reps = 5;
  for (int a = 1; a < argc; ++a) {
    if (std::strncmp(argv[a], "--events=", 9) == 0) events = std::atoi(argv[a] + 9);
    if (std::strncmp(argv[a], "--reps=", 7) == 0) reps = std::atoi(argv[a] + 7);
  }
  std::vector<std::string> texts;
  std::vector<std::string> canonical;
  texts.reserve(events);
  for (int n = 0; n < events; ++n) texts.push_back(EventText(n));
  // The baseline's input: the canonical documents the decoder produces.
  for (const std::string& t : texts) {
    auto d = mv::mongo::DecodeChangeEvent(json::parse(t), {}, {});
    if (!d.ok() || !d->change.full_document) {
      fmt::print(stderr, "bench: an event did not decode: {}\n", d.status().ToString());
      return 1;
    }
    canonical.push_back(*d->change.full_document);
  }
  std::vector<double> baseline, decode;
  size_t sink = 0;
  for (int r = 0; r < reps; ++r) {
    auto started = Clock::now();
    for (const std::string& doc : canonical) {
      auto s = mv::core::ParseShipmentText(doc);
      sink += s.ok() ? s->id.size() : 0;
    }
    baseline.push_back(events / std::chrono::duration<double>(Clock::now() - started).count());
    started = Clock::now();
    for (const std::string& t : texts) {
      auto d = mv::mongo::DecodeChangeEvent(json::parse(t), {}, {});
      auto s = mv::core::ParseShipmentText(*d->change.full_document);
      sink += s.ok() ? s->id.size() : 0;
    }
    decode.push_back(events / std::chrono::duration<double>(Clock::now() - started).count());
  }
  const double b = Median(baseline), d = Median(decode);
  fmt::print("mongo_decode_bench: {} events x {} reps, medians (checksum {})\n", events, reps,
             sink % 1000);
  fmt::print("  baseline  engine parse of the canonical document  {:>10.0f} events/s\n", b);
  fmt::print("  measured  change event decode + engine parse      {:>10.0f} events/s\n", d);
  fmt::print("  ratio     decode path / baseline                  {:>10.2f}\n", d / b);
  return 0;
}
