#pragma once

// A real viya-mv server for HTTP end-to-end tests: Application::Open on a fresh data
// folder, listening on 127.0.0.1 (any free port), the live stream worker behind it and
// SystemClock time. Tests talk to it over keep-alive connections (one per test thread),
// exactly as a caller would.
//
// The fixture owns one server per test; a test that needs other settings overrides
// Configure(). Helpers here never ASSERT (they are not void); they ADD_FAILURE and return
// a value the caller's own expectations will then reject.

#include <gtest/gtest.h>

#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "app/application.h"
#include "base/clock.h"
#include "base/time.h"
#include "embedded_stores.h"
#include "http_client.h"
#include "test_util.h"

namespace mv::testing {

using nlohmann::json;

// Percent-encodes a query parameter value (everything but unreserved characters).
inline std::string UrlEncode(const std::string& value) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_' || c == '.' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// "path?k1=v1&k2=v2" with the values percent-encoded.
inline std::string WithQuery(const std::string& path,
                             const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out = path;
  char sep = '?';
  for (const auto& [k, v] : params) {
    out += sep;
    out += k + "=" + UrlEncode(v);
    sep = '&';
  }
  return out;
}

// RFC 3339 text of an instant, as a client would send it.
inline std::string Rfc(Timestamp t) { return FormatRfc3339(t); }

// Whole seconds of the current wall time (SLA fields in these tests use real time).
inline Timestamp NowSeconds() {
  return std::chrono::time_point_cast<std::chrono::seconds>(SystemClock().Now());
}

// A minimal valid shipment document.
inline json ShipmentDoc(const std::string& id, const std::string& status, Timestamp created_at) {
  return {{"id", id}, {"status", status}, {"createdAt", Rfc(created_at)}};
}

class HttpApiFixture : public ::testing::Test {
 protected:
  // Settings of this test's server; data_dir and http.listen are set by the fixture.
  virtual void Configure(app::Config& config) { (void)config; }

  void SetUp() override {
    app::Config config;
    config.stream.idle_wait_ms = 20;  // the worker notices Stop() quickly
    config.sla.tick_interval_ms = 200;
    config.http.threads = 4;
    Configure(config);
    config.data_dir = dir_.path() + "/data";
    config.http.listen = "127.0.0.1:0";
    auto opened = app::Application::Open(config, &clock_);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    app_ = std::move(opened).value();
    Status started = app_->Start();
    ASSERT_TRUE(started.ok()) << started.ToString();
    ASSERT_GT(app_->http_port(), 0);
  }

  void TearDown() override {
    {
      std::lock_guard lock(clients_mu_);
      clients_.clear();
    }
    if (app_) app_->Stop();
    app_.reset();
  }

  // A tenant key acting for `org`, and an admin key.
  std::string TenantKey(const std::string& org) {
    auto key = app_->keys().Create({org, false, ""});
    if (!key.ok()) {
      ADD_FAILURE() << "creating a key for " << org << ": " << key.status().ToString();
      return "";
    }
    return *key;
  }
  std::string AdminKey() {
    auto key = app_->keys().Create({"", true, ""});
    if (!key.ok()) {
      ADD_FAILURE() << "creating an admin key: " << key.status().ToString();
      return "";
    }
    return *key;
  }

  static HeaderList Bearer(const std::string& key) { return {{"Authorization", "Bearer " + key}}; }

  // This thread's kept-alive connection to the server.
  HttpClient& Client() {
    std::lock_guard lock(clients_mu_);
    auto& client = clients_[std::this_thread::get_id()];
    if (!client) client = std::make_unique<HttpClient>(app_->http_port());
    return *client;
  }

  // Raw requests with explicit headers (auth tests); empty headers: no Authorization.
  // `target` is sent as given (WithQuery encodes the values).
  HttpReply Send(const std::string& method, const std::string& target, HeaderList headers,
                 const std::string& body = "",
                 const std::string& content_type = "application/json") {
    if (!body.empty()) headers.emplace_back("Content-Type", content_type);
    HttpReply reply = Client().Send(method, target, headers, body);
    if (reply.status == 0) ADD_FAILURE() << method << " " << target << ": no response";
    Record(method, target, reply);
    return reply;
  }

  // With VIYA_MV_HTTP_RECORD=FILE, every exchange is appended to FILE as a JSON line, for
  // the contract check against docs/openapi.yaml (tools/openapi/check-responses.mjs).
  static void Record(const std::string& method, const std::string& target, const HttpReply& reply) {
    static const char* path = std::getenv("VIYA_MV_HTTP_RECORD");
    if (path == nullptr || *path == '\0' || reply.status == 0) return;
    json line = {{"method", method}, {"target", target}, {"status", reply.status}};
    json headers = json::object();
    for (const auto& [name, value] : reply.headers) {
      std::string lower = name;
      for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      headers[lower] = value;
    }
    line["headers"] = headers;
    if (net::EqualsIgnoreCase(reply.Header("Content-Encoding"), "gzip")) {
      static const char* kDigits =
          "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
      std::string b64;
      const std::string& in = reply.body;
      for (size_t i = 0; i < in.size(); i += 3) {
        unsigned v = static_cast<unsigned char>(in[i]) << 16;
        if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
        if (i + 2 < in.size()) v |= static_cast<unsigned char>(in[i + 2]);
        b64 += kDigits[(v >> 18) & 63];
        b64 += kDigits[(v >> 12) & 63];
        b64 += i + 1 < in.size() ? kDigits[(v >> 6) & 63] : '=';
        b64 += i + 2 < in.size() ? kDigits[v & 63] : '=';
      }
      line["bodyBase64"] = b64;
    } else {
      line["body"] = reply.body;
    }
    static std::mutex mu;
    std::lock_guard lock(mu);
    std::ofstream out(path, std::ios::app);
    out << line.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
  }

  HttpReply Get(const std::string& target, const std::string& key) {
    return Send("GET", target, Bearer(key));
  }
  HttpReply Post(const std::string& target, const std::string& key, const std::string& body) {
    return Send("POST", target, Bearer(key), body);
  }
  HttpReply Post(const std::string& target, const std::string& key, const json& body) {
    return Post(target, key, body.dump());
  }
  // A POST with another Content-Type (NDJSON bodies).
  HttpReply PostAs(const std::string& target, const std::string& key, const std::string& body,
                   const std::string& content_type) {
    return Send("POST", target, Bearer(key), body, content_type);
  }
  HttpReply Put(const std::string& target, const std::string& key, const json& body) {
    return Send("PUT", target, Bearer(key), body.dump());
  }
  HttpReply Delete(const std::string& target, const std::string& key) {
    return Send("DELETE", target, Bearer(key));
  }

  // The change token of a successful write's answer; checks body and header agree.
  static std::int64_t TokenOf(const HttpReply& r) {
    if (r.status != 200) {
      ADD_FAILURE() << "write failed: " << r;
      return -1;
    }
    json j = r.Json();
    if (!j.is_object() || !j.contains("token") || !j["token"].is_string()) {
      ADD_FAILURE() << "write answer without a string token: " << r;
      return -1;
    }
    std::string text = j["token"].get<std::string>();
    EXPECT_EQ(r.Header("X-Change-Token"), text) << "header and body tokens differ";
    try {
      return std::stoll(text);
    } catch (const std::exception&) {
      ADD_FAILURE() << "token is not a number: " << text;
      return -1;
    }
  }

  // POSTs shipments (an object or an array) and returns the write's token.
  std::int64_t Write(const std::string& key, const json& body,
                     const std::string& target = "/v1/shipments") {
    return TokenOf(Post(target, key, body));
  }

  // GET /v1/shipments/{id} once the views have applied `min_token`.
  HttpReply GetShipment(const std::string& key, const std::string& id, std::int64_t min_token,
                        std::vector<std::pair<std::string, std::string>> extra = {}) {
    extra.emplace_back("minToken", std::to_string(min_token));
    return Get(WithQuery("/v1/shipments/" + id, extra), key);
  }

  // Every page of GET /v1/shipments with `params`, following nextCursor; the items in
  // order. `pages` counts the pages fetched. Fails (and stops) on any non-200 page.
  std::vector<json> ListAll(const std::string& key,
                            std::vector<std::pair<std::string, std::string>> params,
                            std::int64_t min_token, size_t* pages = nullptr) {
    return ReadAll(key, "/v1/shipments", std::move(params), min_token, pages);
  }

  // The ids of `items`, in order.
  static std::vector<std::string> Ids(const std::vector<json>& items) {
    std::vector<std::string> ids;
    for (const auto& item : items) ids.push_back(item.value("id", "<no id>"));
    return ids;
  }

  // GET /v1/ops/realtime after `min_token`, as JSON (null on failure).
  json Realtime(const std::string& key, std::int64_t min_token,
                std::vector<std::pair<std::string, std::string>> extra = {}) {
    extra.emplace_back("minToken", std::to_string(min_token));
    HttpReply r = Get(WithQuery("/v1/ops/realtime", extra), key);
    if (r.status != 200) {
      ADD_FAILURE() << "realtime board: " << r;
      return nullptr;
    }
    EXPECT_FALSE(r.Header("X-View-Token").empty());
    return r.Json();
  }

  // GET `path` with `params` once the views have applied `min_token`: the answer as JSON
  // (null on failure, which is reported). Checks what every read answers: 200, an
  // X-View-Token at or after `min_token`, and no internal field (`_document`) anywhere.
  json Read(const std::string& key, const std::string& path,
            std::vector<std::pair<std::string, std::string>> params, std::int64_t min_token) {
    params.emplace_back("minToken", std::to_string(min_token));
    HttpReply r = Get(WithQuery(path, params), key);
    if (r.status != 200) {
      ADD_FAILURE() << "GET " << WithQuery(path, params) << ": " << r;
      return nullptr;
    }
    std::int64_t view_token = -1;
    try {
      view_token = std::stoll(r.Header("X-View-Token"));
    } catch (const std::exception&) {
    }
    EXPECT_GE(view_token, min_token) << "X-View-Token of " << path;
    EXPECT_EQ(r.body.find("_document"), std::string::npos) << "internal field in " << r;
    json j = r.Json();
    EXPECT_TRUE(j.is_object()) << r;
    return j;
  }

  // Every item of a keyset-paginated read, following nextCursor; `pages` counts pages.
  std::vector<json> ReadAll(const std::string& key, const std::string& path,
                            std::vector<std::pair<std::string, std::string>> params,
                            std::int64_t min_token, size_t* pages = nullptr) {
    std::vector<json> items;
    std::string cursor;
    size_t n = 0;
    for (;;) {
      auto p = params;
      if (!cursor.empty()) p.emplace_back("cursor", cursor);
      json page = Read(key, path, p, min_token);
      ++n;
      if (!page.is_object() || !page.contains("items") || !page["items"].is_array() ||
          !page.contains("nextCursor")) {
        ADD_FAILURE() << path << " page " << n << " is not {items, nextCursor}: " << page;
        break;
      }
      for (auto& item : page["items"]) items.push_back(item);
      if (page["nextCursor"].is_null()) break;
      if (!page["nextCursor"].is_string() || page["nextCursor"].get<std::string>().empty()) {
        ADD_FAILURE() << "nextCursor must be a non-empty string or null: " << page;
        break;
      }
      cursor = page["nextCursor"].get<std::string>();
      if (n > 2000) {
        ADD_FAILURE() << "pagination does not end";
        break;
      }
    }
    if (pages) *pages = n;
    return items;
  }

  // The newest change committed to the source (to prove a failed request wrote nothing).
  std::int64_t Committed() const { return EmbeddedSource(*app_).committed().Get(); }

  TempDir dir_;
  SystemClock clock_;
  std::unique_ptr<app::Application> app_;
  std::mutex clients_mu_;
  std::map<std::thread::id, std::unique_ptr<HttpClient>> clients_;  // guarded by clients_mu_
};

}  // namespace mv::testing
