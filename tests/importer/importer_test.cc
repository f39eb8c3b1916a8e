// ImportFile into a real source store: bad documents are skipped or stop the import before
// anything is written, progress is kept, a rerun after a complete import does nothing, and
// an import stopped after any batch and run again ends with the same source as one run.

#include "importer/importer.h"

#include <gtest/gtest.h>

#include <fstream>

#include "importer/source_dump.h"
#include "test_util.h"

namespace mv::testing {
namespace {

using importer::ImportFile;
using importer::ImportOptions;
using nlohmann::json;

std::string ShipmentLine(int i) {
  json d = {{"_id", {{"$oid", fmt::format("{:024x}", i)}}},
            {"organizationId", "org-" + std::to_string(i % 3)},
            {"customerId", "C-1"},
            {"carrierId", "dhl"},
            {"status", i % 2 ? "in_transit" : "delivered"},
            {"statusChangedAt", {{"$date", "2026-11-01T10:00:00.000+02:00"}}},
            {"createdAt", {{"$date", {{"$numberLong", "1761991200000"}}}}},
            {"declaredValue", {{"$numberDecimal", std::to_string(i) + ".25"}}}};
  return d.dump();
}

class ImporterTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }
  void Open() {
    store_.reset();
    auto s = storage::sqlite::SourceStore::Open(dir_.File("source.db"), &clock_, {});
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  std::string WriteFile(const std::vector<std::string>& lines) {
    std::string path = dir_.File("ship.ndjson");
    std::ofstream out(path);
    for (const auto& l : lines) out << l << "\n";
    return path;
  }
  ImportOptions Options() {
    ImportOptions o;
    o.batch_documents = 7;
    o.progress_path = dir_.File("progress.json");
    o.on_bad_document = [this](std::int64_t line, const std::string& why) {
      bad_.push_back(std::to_string(line) + ": " + why);
    };
    return o;
  }

  TempDir dir_;
  ManualClock clock_{*ParseRfc3339("2026-11-02T00:00:00Z")};
  std::unique_ptr<storage::sqlite::SourceStore> store_;
  std::vector<std::string> bad_;
};

TEST_F(ImporterTest, FailModeImportsNothingWhenADocumentIsBadAndSkipModeTheRest) {
  std::vector<std::string> lines;
  for (int i = 0; i < 30; ++i) lines.push_back(ShipmentLine(i));
  lines[10] = R"({"_id": "S-x", "organizationId": "org-1", "status": "lost"})";
  lines[20] = "{oops";
  std::string path = WriteFile(lines);
  auto failed = ImportFile(path, *store_, Options());
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find("2 bad documents; nothing imported"), std::string::npos);
  ASSERT_EQ(bad_.size(), 2u);
  EXPECT_EQ(bad_[0].substr(0, 4), "11: ");
  EXPECT_EQ(bad_[1], "21: not valid JSON");
  EXPECT_EQ(store_->committed().Get(), 0);

  bad_.clear();
  ImportOptions skip = Options();
  skip.on_error = ImportOptions::OnError::kSkip;
  MV_ASSERT_OK_AND_ASSIGN(auto done, ImportFile(path, *store_, skip));
  EXPECT_EQ(done.totals.imported, 28);
  EXPECT_EQ(done.totals.skipped, 2);
  EXPECT_EQ(bad_.size(), 2u);
  EXPECT_EQ(store_->committed().Get(), 28);
  // Run again: already done, nothing written.
  MV_ASSERT_OK_AND_ASSIGN(auto again, ImportFile(path, *store_, skip));
  EXPECT_TRUE(again.already_done);
  EXPECT_EQ(again.totals.imported, 28);
  EXPECT_EQ(store_->committed().Get(), 28);
}

TEST_F(ImporterTest, StoppedAfterAnyBatchAndRunAgainEqualsOneRun) {
  std::vector<std::string> lines;
  for (int i = 0; i < 40; ++i) lines.push_back(ShipmentLine(i));
  std::string path = WriteFile(lines);
  MV_ASSERT_OK(ImportFile(path, *store_, ImportOptions{}).status());
  const std::string whole = SourceShipments(dir_.File("source.db"));
  ASSERT_EQ(std::count(whole.begin(), whole.end(), '\n'), 40);

  for (int stop_after = 1; stop_after <= 6; ++stop_after) {
    TempDir other;
    auto s = storage::sqlite::SourceStore::Open(other.File("source.db"), &clock_, {});
    ASSERT_TRUE(s.ok());
    ImportOptions o = Options();
    o.progress_path = other.File("progress.json");
    int batches = 0;
    // A kill right after a batch was committed and recorded, or before it was recorded.
    o.on_progress = [&](const importer::ImportProgress&) {
      if (++batches == stop_after) throw std::runtime_error("killed");
    };
    EXPECT_THROW((void)ImportFile(path, **s, o), std::runtime_error);
    if (stop_after % 2 == 0) std::remove(o.progress_path.c_str());  // lost: starts over
    o.on_progress = nullptr;
    MV_ASSERT_OK_AND_ASSIGN(auto rest, ImportFile(path, **s, o));
    EXPECT_EQ(rest.totals.imported, 40);
    if (stop_after % 2 == 1) {
      EXPECT_GT(rest.resumed_from_line, 1);
    }
    s->reset();
    EXPECT_EQ(SourceShipments(other.File("source.db")), whole) << "stopped after " << stop_after;
  }
}

}  // namespace
}  // namespace mv::testing
