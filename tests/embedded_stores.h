#pragma once

// The embedded backend's own stores behind a running Application, for tests that write to
// the source directly or look inside views.db.

#include <gtest/gtest.h>

#include "app/application.h"
#include "storage/sqlite/source_store.h"
#include "storage/sqlite/view_store.h"

namespace mv::testing {

inline storage::sqlite::SourceStore& EmbeddedSource(app::Application& a) {
  auto embedded = a.backend().embedded();
  EXPECT_TRUE(embedded.has_value()) << "not the embedded backend";
  return *embedded->source;
}

inline storage::sqlite::SqliteViewStore& EmbeddedViews(app::Application& a) {
  auto embedded = a.backend().embedded();
  EXPECT_TRUE(embedded.has_value()) << "not the embedded backend";
  return *embedded->views;
}

}  // namespace mv::testing
