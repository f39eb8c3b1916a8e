#pragma once

// The shipments of a source.db as text, one "org/id document" line each in key order: what
// import tests compare between an interrupted and an uninterrupted import.

#include <gtest/gtest.h>

#include <string>

#include "storage/sqlite/sqlite_db.h"

namespace mv::testing {

inline std::string SourceShipments(const std::string& source_db_path) {
  auto db = storage::sqlite::Database::Open(source_db_path, {});
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  if (!db.ok()) return "";
  auto st = (*db)->Prepare("SELECT org || '/' || id || ' ' || doc FROM shipments ORDER BY org, id");
  EXPECT_TRUE(st.ok());
  if (!st.ok()) return "";
  std::string out;
  for (;;) {
    auto row = (*st)->Step();
    if (!row.ok() || !*row) break;
    out += (*st)->ColumnText(0) + "\n";
  }
  return out;
}

}  // namespace mv::testing
