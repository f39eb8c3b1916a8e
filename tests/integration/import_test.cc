// A real `viya-mv import` of a mongoexport-style file is killed with SIGKILL mid-way (twice),
// run again with the same arguments, and ends with the same source as one uninterrupted
// import.

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "importer/importer.h"
#include "importer/source_dump.h"
#include "process.h"
#include "test_util.h"

namespace mv::testing {
namespace {

using nlohmann::json;

constexpr int kShipments = 60000;

// What mongoexport writes (relaxed Extended JSON, one document per line).
void WriteExport(const std::string& path) {
  std::ofstream out(path);
  for (int i = 0; i < kShipments; ++i) {
    json d = {{"_id", {{"$oid", fmt::format("{:024x}", i)}}},
              {"organizationId", "org-" + std::to_string(i % 7)},
              {"customerId", "C-" + std::to_string(i % 50)},
              {"carrierId", i % 2 ? "dhl" : "correios"},
              {"status", i % 3 ? "in_transit" : "delivered"},
              {"statusChangedAt", {{"$date", "2026-10-20T09:00:00.000-03:00"}}},
              {"createdAt", {{"$date", {{"$numberLong", std::to_string(1760950800000 + i)}}}}},
              {"promisedDeliveryAt", {{"$date", "2026-11-20T00:00:00.000Z"}}},
              {"declaredValue", {{"$numberDecimal", fmt::format("{}.{:02}", i % 900, i % 100)}}},
              {"weightKg", {{"$numberDouble", "2.5"}}},
              {"destination", {{"country", i % 4 ? "BR" : "DE"}}}};
    out << d.dump() << "\n";
  }
}

std::int64_t SavedOffset(const std::string& progress) {
  std::ifstream in(progress);
  json j = in ? json::parse(in, nullptr, false) : json();
  return j.is_object() && !j.value("done", false) ? j.value("offset", std::int64_t{0}) : 0;
}

TEST(Import, KilledMidwayAndRerunEqualsAnUninterruptedImport) {
  TempDir dir;
  const std::string file = dir.File("shipments.json");
  WriteExport(file);
  const std::string whole = dir.File("whole"), killed = dir.File("killed");
  const std::string log = dir.File("import.log");
  auto import = [&](const std::string& data) {
    return std::vector<std::string>{VIYA_MV_BINARY, "import",  "--data", data, "--collection",
                                    "shipments",    "--batch", "200",    file};
  };
  {
    ChildProcess p(import(whole), log);
    ASSERT_EQ(p.Wait(std::chrono::seconds(120)), 0);
  }
  importer::DocumentMapping mapping;
  const std::string progress = importer::ProgressPath(killed, file, mapping);
  std::int64_t last_kill_offset = 0;
  for (int kill = 0; kill < 2; ++kill) {
    ChildProcess p(import(killed), log);
    // Kill once the import is past where the previous kill left it.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (SavedOffset(progress) <= last_kill_offset + 200000 &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    p.Signal(SIGKILL);
    ASSERT_EQ(p.Wait(std::chrono::seconds(10)), -1) << "the import ended before it was killed";
    std::int64_t offset = SavedOffset(progress);
    ASSERT_GT(offset, last_kill_offset);
    last_kill_offset = offset;
  }
  {
    ChildProcess p(import(killed), log);
    ASSERT_EQ(p.Wait(std::chrono::seconds(120)), 0);
  }
  std::ifstream in(log);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("(resumed at line"), std::string::npos) << text;
  const std::string expected = SourceShipments(whole + "/source.db");
  EXPECT_EQ(std::count(expected.begin(), expected.end(), '\n'), kShipments);
  EXPECT_EQ(SourceShipments(killed + "/source.db"), expected);
}

}  // namespace
}  // namespace mv::testing
