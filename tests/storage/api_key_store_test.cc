#include "storage/sqlite/api_key_store.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <set>
#include <string>

#include "base/sha256.h"
#include "test_util.h"

namespace {

using mv::Sha256Hex;
using mv::StatusCode;
using mv::storage::sqlite::ApiKeyStore;
using mv::storage::sqlite::Database;
using mv::storage::sqlite::Principal;
using mv::testing::T;
using mv::testing::TempDir;

TEST(Sha256Hex, KnownVectors) {
  // FIPS 180-2 test vectors.
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

class ApiKeyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }
  void Open() {
    store_.reset();
    auto s = ApiKeyStore::Open(path_, &clock_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  std::string Create(const Principal& p) {
    auto key = store_->Create(p);
    EXPECT_TRUE(key.ok()) << key.status().ToString();
    return key.ok() ? *key : "";
  }

  TempDir dir_;
  std::string path_ = dir_.File("views.db");
  mv::ManualClock clock_{T("2026-11-02T12:00:00Z")};
  std::unique_ptr<ApiKeyStore> store_;
};

bool LooksLikeAKey(const std::string& key) {
  if (key.size() != 4 + 48 || key.rfind("vmv_", 0) != 0) return false;
  for (char c : key.substr(4)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

TEST_F(ApiKeyStoreTest, TenantKey) {
  std::string key = Create({"acme", false, ""});
  EXPECT_TRUE(LooksLikeAKey(key)) << key;
  MV_ASSERT_OK_AND_ASSIGN(Principal p, store_->Authenticate(key));
  EXPECT_EQ(p.org, "acme");
  EXPECT_FALSE(p.admin);
}

TEST_F(ApiKeyStoreTest, AdminKey) {
  std::string key = Create({"", true, ""});
  EXPECT_TRUE(LooksLikeAKey(key)) << key;
  MV_ASSERT_OK_AND_ASSIGN(Principal p, store_->Authenticate(key));
  EXPECT_TRUE(p.admin);
  EXPECT_EQ(p.org, "");
}

TEST_F(ApiKeyStoreTest, UnknownKeysAreUnauthenticated) {
  std::string key = Create({"acme", false, ""});
  std::string almost = key;
  almost.back() = almost.back() == '0' ? '1' : '0';
  for (const std::string& bad : {std::string(), std::string("vmv_"), almost, key + "0",
                                 key.substr(0, key.size() - 1), Sha256Hex(key)}) {
    auto r = store_->Authenticate(bad);
    EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated) << "'" << bad << "'";
  }
  // Unknown keys leave the store usable.
  MV_ASSERT_OK_AND_ASSIGN(Principal p, store_->Authenticate(key));
  EXPECT_EQ(p.org, "acme");
}

TEST_F(ApiKeyStoreTest, KeysAreDistinctAndEachMapsToItsPrincipal) {
  std::set<std::string> keys;
  for (int i = 0; i < 20; ++i) {
    std::string org = "org" + std::to_string(i);
    std::string key = Create({org, false, ""});
    EXPECT_TRUE(keys.insert(key).second) << "duplicate key";
    MV_ASSERT_OK_AND_ASSIGN(Principal p, store_->Authenticate(key));
    EXPECT_EQ(p.org, org);
  }
}

TEST_F(ApiKeyStoreTest, OnlyTheHashIsStored) {
  std::string tenant = Create({"acme", false, ""});
  std::string admin = Create({"", true, ""});
  auto db = Database::Open(path_, {});
  ASSERT_TRUE(db.ok());
  auto st = (*db)->Prepare(
      "SELECT key_hash, coalesce(org, ''), is_admin, key_prefix, created_at FROM api_keys "
      "ORDER BY is_admin");
  ASSERT_TRUE(st.ok());
  std::string everything;
  std::vector<std::string> hashes;
  for (;;) {
    auto row = (*st)->Step();
    ASSERT_TRUE(row.ok());
    if (!*row) break;
    hashes.push_back((*st)->ColumnText(0));
    for (int c = 0; c < 5; ++c) everything += (*st)->ColumnText(c) + "\n";
  }
  EXPECT_EQ(hashes, (std::vector<std::string>{Sha256Hex(tenant), Sha256Hex(admin)}));
  for (const std::string& key : {tenant, admin}) {
    EXPECT_EQ(everything.find(key), std::string::npos) << "the key itself is stored";
    EXPECT_EQ(everything.find(key.substr(4)), std::string::npos) << "the key's secret is stored";
    // At most a short, non-secret prefix is kept for identification.
    EXPECT_EQ(everything.find(key.substr(12)), std::string::npos);
  }
  // Nor do the database files hold the secret part anywhere (another table, the WAL, free
  // pages). The files hold the hashes, so they are not empty.
  std::string bytes;
  for (const std::string& file : {path_, path_ + "-wal"}) {
    std::ifstream in(file, std::ios::binary);
    bytes.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  EXPECT_NE(bytes.find(Sha256Hex(tenant)), std::string::npos) << "did not read the files";
  for (const std::string& key : {tenant, admin}) {
    EXPECT_EQ(bytes.find(key.substr(4)), std::string::npos) << "key found in the files";
  }
}

TEST_F(ApiKeyStoreTest, KeysSurviveReopen) {
  std::string key = Create({"acme", false, ""});
  Open();
  MV_ASSERT_OK_AND_ASSIGN(Principal p, store_->Authenticate(key));
  EXPECT_EQ(p.org, "acme");
}

TEST_F(ApiKeyStoreTest, KeysHaveIdsAndNamesAndRevokedKeysStopWorking) {
  MV_ASSERT_OK_AND_ASSIGN(auto ci, store_->CreateKey({"acme", false, ""}, "ci deploys"));
  clock_.Advance(std::chrono::seconds(1));
  MV_ASSERT_OK_AND_ASSIGN(auto ops, store_->CreateKey({"", true, ""}, ""));
  EXPECT_EQ(ci.id.substr(0, 4), "key-");
  EXPECT_EQ(ci.id.size(), 16u);
  EXPECT_NE(ci.id, ops.id);
  EXPECT_EQ(ci.id, "key-" + Sha256Hex(ci.key).substr(0, 12));
  MV_ASSERT_OK_AND_ASSIGN(Principal p, store_->Authenticate(ci.key));
  EXPECT_EQ(p.key_id, ci.id);

  MV_ASSERT_OK_AND_ASSIGN(auto keys, store_->List());
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].id, ci.id);
  EXPECT_EQ(keys[0].name, "ci deploys");
  EXPECT_EQ(keys[0].org, "acme");
  EXPECT_EQ(keys[0].prefix, ci.key.substr(0, 8));
  EXPECT_FALSE(keys[0].revoked_at);
  EXPECT_TRUE(keys[1].admin);

  MV_ASSERT_OK(store_->Revoke(ci.id));
  EXPECT_EQ(store_->Authenticate(ci.key).status().code(), StatusCode::kUnauthenticated);
  MV_ASSERT_OK(store_->Authenticate(ops.key).status());
  EXPECT_EQ(store_->Revoke(ci.id).code(), StatusCode::kConflict);
  EXPECT_EQ(store_->Revoke("key-000000000000").code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->Revoke("nonsense").code(), StatusCode::kNotFound);
  MV_ASSERT_OK_AND_ASSIGN(keys, store_->List());
  EXPECT_EQ(keys[0].revoked_at, clock_.Now());
  Open();  // and it stays revoked
  EXPECT_EQ(store_->Authenticate(ci.key).status().code(), StatusCode::kUnauthenticated);
}

TEST_F(ApiKeyStoreTest, AnOlderTableGainsIdsNamesAndRevocation) {
  store_.reset();
  {
    auto db = mv::storage::sqlite::Database::Open(dir_.File("old.db"), {});
    ASSERT_TRUE(db.ok());
    MV_ASSERT_OK((*db)->Exec(
        "CREATE TABLE api_keys (key_hash TEXT PRIMARY KEY, org TEXT, is_admin INTEGER NOT NULL, "
        "key_prefix TEXT NOT NULL, created_at INTEGER NOT NULL);"
        "INSERT INTO api_keys VALUES ('" +
        Sha256Hex("vmv_old") + "', 'acme', 0, 'vmv_old', 1)"));
  }
  auto opened = ApiKeyStore::Open(dir_.File("old.db"), &clock_);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  MV_ASSERT_OK_AND_ASSIGN(Principal p, (*opened)->Authenticate("vmv_old"));
  EXPECT_EQ(p.key_id, "key-" + Sha256Hex("vmv_old").substr(0, 12));
  MV_ASSERT_OK((*opened)->Revoke(p.key_id));
  EXPECT_FALSE((*opened)->Authenticate("vmv_old").ok());
}

TEST(ApiKeyStoreOpen, MissingDirectoryIsAnError) {
  TempDir dir;
  mv::ManualClock clock(T("2026-11-02T12:00:00Z"));
  auto r = ApiKeyStore::Open(dir.File("no/such/views.db"), &clock);
  EXPECT_EQ(r.status().code(), StatusCode::kIOError);
}

}  // namespace
