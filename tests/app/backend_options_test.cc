// The configuration as the backend factory takes it: the MongoDB field mapping, the views'
// deployment and the stream partition.

#include <gtest/gtest.h>

#include "app/application.h"
#include "test_util.h"

namespace mv::testing {
namespace {

TEST(BackendOptionsOf, MappingViewsAndPartitionFollowTheConfiguration) {
  MV_ASSERT_OK_AND_ASSIGN(app::Config c, app::LoadConfigText(R"(
[source]
backend = "mongodb"
uri = "mongodb://db1/?replicaSet=rs0"
org_field = "tenantId"
[source.fields.shipments]
createdAt = "created"
[source.fields.tracking_events]
shipmentId = "consignmentId"
[views]
backend = "mongodb"
[stream]
partitions = 3
partition = 2
)",
                                                             {}));
  backend::BackendOptions o = app::BackendOptionsOf(c);
  EXPECT_EQ(o.mongodb.mapping.org, "tenantId");
  EXPECT_EQ(o.mongodb.mapping.PlatformName(core::Collection::kShipments, "createdAt"), "created");
  EXPECT_EQ(o.mongodb.mapping.CanonicalName(core::Collection::kShipments, "created"), "createdAt");
  EXPECT_EQ(o.mongodb.mapping.PlatformName(core::Collection::kTrackingEvents, "shipmentId"),
            "consignmentId");
  EXPECT_EQ(o.mongodb.mapping.PlatformName(core::Collection::kShipments, "status"), "status");
  EXPECT_EQ(o.views, backend::BackendOptions::Views::kMongoDb);
  EXPECT_EQ(o.mongo_views.uri, "mongodb://db1/?replicaSet=rs0") << "the source's deployment";
  EXPECT_EQ(o.mongo_views.database, "viya_mv");
  EXPECT_EQ(o.partition.Id(), "p2of3");
}

}  // namespace
}  // namespace mv::testing
