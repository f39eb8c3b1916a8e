// The HTTP server as clients meet it, over real loopback connections: keep-alive,
// pipelining, many idle and slow connections, timeouts, limits, gzip and the drain.
#include "net/http_server.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <thread>

#include "http_client.h"
#include "net/gzip.h"

namespace mv::net {
namespace {

using namespace std::chrono_literals;
using mv::testing::HeaderList;
using mv::testing::HttpClient;
using mv::testing::HttpReply;
using Steady = std::chrono::steady_clock;

// /hello: a small answer. /big: 64 KiB of JSON with an ETag. /slow?ms=N: answered from
// another thread after N ms. /echo: the body's size.
class TestHandler final : public RequestHandler {
 public:
  ~TestHandler() override {
    for (auto& t : threads_) t.join();
  }
  void Handle(Request req, Completion done, Executor on_loop) override {
    ++requests_;
    std::string path = req.path.empty() ? "" : req.path[0];
    Response res;
    res.headers.Set("Content-Type", "application/json");
    if (path == "hello") {
      res.body = R"({"hello":"world"})";
    } else if (path == "big") {
      res.body = "[";
      for (int i = 0; i < 4000; ++i) res.body += R"({"n":)" + std::to_string(i) + "},";
      res.body += "{}]";
      res.headers.Set("ETag", "\"big-1\"");
    } else if (path == "slow") {
      int ms = req.query.empty() ? 100 : std::stoi(req.query[0].second);
      std::lock_guard lock(mu_);
      threads_.emplace_back([done = std::move(done), ms, res]() mutable {
        std::this_thread::sleep_for(std::chrono::milliseconds(ms));
        res.body = R"({"slow":true})";
        done(std::move(res));
      });
      return;
    } else if (path == "loop") {
      // Back on the request's loop, then answered from there.
      on_loop([done = std::move(done), res]() mutable {
        res.body = R"({"loop":true})";
        done(std::move(res));
      });
      return;
    } else if (path == "echo") {
      res.body = std::to_string(req.body.size());
    } else if (path == "stream") {
      res.headers.Set("Content-Type", "text/event-stream");
      res.stream = std::make_shared<BodyStream>(64 << 10);
      std::lock_guard lock(mu_);
      streams_.push_back(res.stream);
    } else {
      res.status = 404;
    }
    done(std::move(res));
  }
  Response ErrorResponse(const Status& status) override {
    Response res;
    res.status = status.code() == StatusCode::kPayloadTooLarge ? 413
                 : status.code() == StatusCode::kUnavailable   ? 503
                                                               : 400;
    res.headers.Set("Content-Type", "application/json");
    res.body = R"({"error":{"code":"x","message":")" + status.message() + "\"}}";
    return res;
  }
  int requests() const { return requests_.load(); }
  // The streams /stream answered, in order.
  std::shared_ptr<BodyStream> Stream(size_t i) {
    std::lock_guard lock(mu_);
    return i < streams_.size() ? streams_[i] : nullptr;
  }

 private:
  std::vector<std::shared_ptr<BodyStream>> streams_;  // guarded by mu_
  std::atomic<int> requests_{0};
  std::mutex mu_;
  std::vector<std::thread> threads_;
};

bool Eventually(const std::function<bool()>& condition);

class HttpServerTest : public ::testing::Test {
 protected:
  void Start(ServerOptions options = {}) {
    server_ = std::make_unique<HttpServer>(&handler_, options);
    Status s = server_->Start("127.0.0.1", 0);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  void TearDown() override { server_.reset(); }
  int port() const { return server_->port(); }
  // Sends GET /stream on `client`; true once the handler has answered it with a stream.
  bool OpenStream(HttpClient& client) {
    return client.Connect() && client.WriteRaw(HttpClient::Format("GET", "/stream", {}, "")) &&
           Eventually([&] { return handler_.Stream(0) != nullptr; });
  }

  TestHandler handler_;  // outlives the server
  std::unique_ptr<HttpServer> server_;
};

// The server counts a connection's end after the client sees it: give it a moment.
bool Eventually(const std::function<bool()>& condition) {
  for (int i = 0; i < 200; ++i) {
    if (condition()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return condition();
}

// What the client reads until `needle` arrives (or `wait` passes).
std::string ReadUntil(HttpClient& client, std::string_view needle, std::chrono::milliseconds wait) {
  std::string got;
  auto deadline = Steady::now() + wait;
  while (got.find(needle) == std::string::npos && Steady::now() < deadline) {
    got += client.ReadRaw(50ms);
  }
  return got;
}

double MedianMs(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Requests on a reused connection answer at once: no Nagle / delayed-ACK stall (which
// shows as ~40 ms per request), measured against fresh connections in the same run.
TEST_F(HttpServerTest, KeepAliveRequestsAreNotDelayed) {
  Start();
  HttpClient client(port());
  std::vector<double> reused;
  for (int i = 0; i < 60; ++i) {
    auto t0 = Steady::now();
    HttpReply r = client.Send("POST", "/echo", {{"Content-Type", "text/plain"}}, "abc");
    reused.push_back(std::chrono::duration<double, std::milli>(Steady::now() - t0).count());
    ASSERT_EQ(r.status, 200);
    ASSERT_EQ(r.body, "3");
    ASSERT_TRUE(client.connected()) << "the connection was not kept alive";
  }
  EXPECT_LT(MedianMs(reused), 20.0) << "a reused connection stalls; Nagle's algorithm on?";
}

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  Start();
  HttpClient client(port());
  ASSERT_TRUE(client.Connect());
  std::string bytes = HttpClient::Format("GET", "/slow?ms=80", {}, "") +
                      HttpClient::Format("POST", "/echo", {}, "12345") +
                      HttpClient::Format("GET", "/hello", {}, "");
  ASSERT_TRUE(client.WriteRaw(bytes));
  HttpReply a = client.ReadReply(), b = client.ReadReply(), c = client.ReadReply();
  EXPECT_EQ(a.body, R"({"slow":true})");
  EXPECT_EQ(b.body, "5");
  EXPECT_EQ(c.body, R"({"hello":"world"})");
}

// Idle keep-alive connections and slow (slowloris) ones hold no thread: a new client is
// answered at once while hundreds of them are open.
TEST_F(HttpServerTest, IdleAndSlowConnectionsDelayNoOne) {
  Start();
  std::vector<std::unique_ptr<HttpClient>> idle;
  for (int i = 0; i < 300; ++i) {
    auto c = std::make_unique<HttpClient>(port());
    ASSERT_TRUE(c->Connect());
    if (i % 3 == 0) {
      ASSERT_EQ(c->Send("GET", "/hello").status, 200);  // kept alive, now idle
    } else if (i % 3 == 1) {
      ASSERT_TRUE(c->WriteRaw("GET /hello HTTP/1.1\r\nHost: x\r\nX-Slow: "));  // never ends
    }
    idle.push_back(std::move(c));
  }
  HttpClient fresh(port());
  auto t0 = Steady::now();
  HttpReply r = fresh.Send("GET", "/hello");
  EXPECT_EQ(r.status, 200);
  EXPECT_LT(Steady::now() - t0, 1s);
  EXPECT_TRUE(Eventually([&] { return server_->stats().connections == 301; }));
}

TEST_F(HttpServerTest, AHeadThatDoesNotArriveInTimeIsCut) {
  ServerOptions o;
  o.header_timeout = 200ms;
  Start(o);
  HttpClient c(port());
  ASSERT_TRUE(c.Connect());
  auto t0 = Steady::now();
  ASSERT_TRUE(c.WriteRaw("GET /hello HTTP/1.1\r\nHost: x\r\n"));
  // One more header byte every 50 ms does not keep it alive: the limit is for the head.
  bool closed = false;
  for (int i = 0; i < 40 && !closed; ++i) {
    c.WriteRaw("X");
    closed = c.ServerClosed(50ms);
  }
  EXPECT_TRUE(closed);
  EXPECT_GE(Steady::now() - t0, 190ms);
  EXPECT_LT(Steady::now() - t0, 1500ms);
  EXPECT_EQ(handler_.requests(), 0);
  EXPECT_TRUE(Eventually([&] { return server_->stats().timeouts_total >= 1; }));
}

TEST_F(HttpServerTest, ABodyThatDoesNotArriveInTimeIsCut) {
  ServerOptions o;
  o.body_timeout = 200ms;
  Start(o);
  HttpClient c(port());
  ASSERT_TRUE(c.Connect());
  ASSERT_TRUE(c.WriteRaw("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"));
  EXPECT_TRUE(c.ServerClosed(1500ms));
  EXPECT_EQ(handler_.requests(), 0);
}

TEST_F(HttpServerTest, IdleKeepAliveConnectionsAreClosedAfterTheIdleTimeout) {
  ServerOptions o;
  o.idle_timeout = 150ms;
  Start(o);
  HttpClient c(port());
  ASSERT_EQ(c.Send("GET", "/hello").status, 200);
  EXPECT_TRUE(c.ServerClosed(1500ms));
  for (int i = 0; i < 100 && server_->stats().connections > 0; ++i)
    std::this_thread::sleep_for(5ms);
  EXPECT_EQ(server_->stats().connections, 0);
  EXPECT_GE(server_->stats().timeouts_total, 1);
}

TEST_F(HttpServerTest, ConnectionsOverTheLimitGet503) {
  ServerOptions o;
  o.max_connections = 3;
  Start(o);
  std::vector<std::unique_ptr<HttpClient>> open;
  for (int i = 0; i < 3; ++i) {
    open.push_back(std::make_unique<HttpClient>(port()));
    ASSERT_EQ(open.back()->Send("GET", "/hello").status, 200);
  }
  HttpClient extra(port());
  HttpReply r = extra.Send("GET", "/hello");
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("too many connections"), std::string::npos) << r.body;
  EXPECT_TRUE(r.closed);
  EXPECT_EQ(server_->stats().refused_total, 1);
  open.clear();  // closing frees the slots
  for (int i = 0; i < 50 && server_->stats().connections > 0; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(HttpClient(port()).Send("GET", "/hello").status, 200);
}

// A Content-Length over the limit is refused from the head alone: the client need not
// send (and the server does not read) the body.
TEST_F(HttpServerTest, TooLargeABodyIs413BeforeItIsRead) {
  ServerOptions o;
  o.max_body_bytes = 1000;
  Start(o);
  HttpClient c(port());
  ASSERT_TRUE(c.Connect());
  ASSERT_TRUE(c.WriteRaw("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n"));
  HttpReply r = c.ReadReply();
  EXPECT_EQ(r.status, 413);
  EXPECT_NE(r.body.find("1000 bytes"), std::string::npos) << r.body;
  EXPECT_EQ(handler_.requests(), 0);
  // At the limit it is taken.
  HttpClient ok(port());
  EXPECT_EQ(ok.Send("POST", "/echo", {}, std::string(1000, 'x')).body, "1000");
  // A chunked body is cut when it passes the limit.
  HttpClient chunked(port());
  ASSERT_TRUE(chunked.Connect());
  ASSERT_TRUE(chunked.WriteRaw(
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n" +
      std::string(0x800, 'y') + "\r\n0\r\n\r\n"));
  EXPECT_EQ(chunked.ReadReply().status, 413);
}

TEST_F(HttpServerTest, TooLargeAHeadIs413AndMalformedRequestsAre400) {
  ServerOptions o;
  o.max_header_bytes = 2048;
  Start(o);
  HttpClient big(port());
  HttpReply r = big.Send("GET", "/hello", {{"X-Big", std::string(4000, 'a')}});
  EXPECT_EQ(r.status, 413);
  for (const char* bad :
       {"GET /hello HTTP/1.1\r\nHost x\r\n\r\n", "G@T /hello HTTP/1.1\r\n\r\n",
        "GET /hello HTTP/9.9\r\n\r\n", "POST /echo HTTP/1.1\r\nContent-Length: 3x\r\n\r\nabc"}) {
    HttpClient c(port());
    ASSERT_TRUE(c.Connect());
    ASSERT_TRUE(c.WriteRaw(bad));
    HttpReply answer = c.ReadReply();
    EXPECT_EQ(answer.status, 400) << bad;
    EXPECT_EQ(answer.Header("Content-Type"), "application/json");
  }
  EXPECT_EQ(handler_.requests(), 0);
  EXPECT_TRUE(Eventually([&] { return server_->stats().bad_requests_total >= 5; }));
}

TEST_F(HttpServerTest, ExpectContinueGetsA100ThenTheAnswer) {
  Start();
  HttpClient c(port());
  ASSERT_TRUE(c.Connect());
  ASSERT_TRUE(c.WriteRaw(
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"));
  EXPECT_EQ(c.ReadRaw(2s), "HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_TRUE(c.WriteRaw("abcd"));
  HttpReply r = c.ReadReply();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "4");
}

TEST_F(HttpServerTest, LargeAnswersAreGzippedForClientsThatAcceptIt) {
  Start();
  HttpClient c(port());
  HttpReply plain = c.Send("GET", "/big");
  ASSERT_EQ(plain.status, 200);
  EXPECT_FALSE(plain.HasHeader("Content-Encoding"));
  EXPECT_EQ(plain.Header("Vary"), "Accept-Encoding");
  EXPECT_EQ(plain.Header("ETag"), "\"big-1\"");
  HttpReply zipped = c.Send("GET", "/big", {{"Accept-Encoding", "br;q=1, gzip;q=0.8"}});
  ASSERT_EQ(zipped.status, 200);
  EXPECT_EQ(zipped.Header("Content-Encoding"), "gzip");
  EXPECT_EQ(zipped.Header("ETag"), "W/\"big-1\"") << "the compressed form is only equivalent";
  EXPECT_LT(zipped.body.size(), plain.body.size() / 4);
  EXPECT_EQ(Gunzip(zipped.body), plain.body);
  HttpReply refused = c.Send("GET", "/big", {{"Accept-Encoding", "gzip;q=0, *"}});
  EXPECT_FALSE(refused.HasHeader("Content-Encoding"));
  HttpReply small = c.Send("GET", "/hello", {{"Accept-Encoding", "gzip"}});
  EXPECT_FALSE(small.HasHeader("Content-Encoding")) << "small answers are sent as they are";
}

// Drain: new connections are refused, idle ones closed, the request in flight finishes
// (told Connection: close), then Drain returns.
TEST_F(HttpServerTest, DrainFinishesRequestsInFlightAndClosesTheRest) {
  Start();
  HttpClient idle(port());
  ASSERT_EQ(idle.Send("GET", "/hello").status, 200);
  HttpClient busy(port());
  ASSERT_TRUE(busy.Connect());
  ASSERT_TRUE(busy.WriteRaw(HttpClient::Format("GET", "/slow?ms=400", {}, "")));
  std::this_thread::sleep_for(100ms);  // the slow request is in the handler now
  auto t0 = Steady::now();
  std::thread drain([&] { server_->Drain(); });
  HttpReply r = busy.ReadReply();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"slow":true})");
  EXPECT_TRUE(r.closed) << "an answer during the drain says Connection: close";
  EXPECT_TRUE(idle.ServerClosed(1s));
  drain.join();
  EXPECT_GE(Steady::now() - t0, 200ms) << "Drain returned before the request in flight ended";
  HttpClient late(port());
  EXPECT_EQ(late.Send("GET", "/hello").status, 0) << "a drained server takes no new request";
}

TEST_F(HttpServerTest, AStreamedAnswerSendsEachChunkAsItComesAndEndsWhenClosed) {
  Start();
  HttpClient client(port());
  ASSERT_TRUE(OpenStream(client));
  std::shared_ptr<BodyStream> stream = handler_.Stream(0);
  EXPECT_TRUE(stream->Push("data: one\n\n"));
  std::string first = ReadUntil(client, "data: one", 1s);
  EXPECT_NE(first.find("data: one"), std::string::npos) << "a chunk is sent before the end";
  EXPECT_NE(first.find("Transfer-Encoding: chunked"), std::string::npos) << first;
  EXPECT_TRUE(stream->Push("data: two\n\n"));
  stream->Close();
  EXPECT_FALSE(stream->Push("data: three\n\n")) << "a closed stream takes nothing";
  EXPECT_TRUE(client.ServerClosed(1s)) << "the connection ends with the stream";
  HttpClient again(port());
  EXPECT_EQ(again.Send("GET", "/hello").status, 200);
}

TEST_F(HttpServerTest, AStreamsReaderReadsItWholeWithTheChunkedTerminator) {
  Start();
  HttpClient client(port());
  ASSERT_TRUE(OpenStream(client));
  std::thread producer([s = handler_.Stream(0)] {
    for (int i = 0; i < 5; ++i) s->Push("event " + std::to_string(i) + "\n");
    s->Close();
  });
  HttpReply r = client.ReadReply();
  producer.join();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("Content-Type"), "text/event-stream");
  EXPECT_EQ(r.body, "event 0\nevent 1\nevent 2\nevent 3\nevent 4\n");
}

TEST_F(HttpServerTest, AClientThatDoesNotReadIsDroppedAndNeverSlowsTheProducer) {
  Start();
  HttpClient client(port());
  ASSERT_TRUE(OpenStream(client));
  std::shared_ptr<BodyStream> stream = handler_.Stream(0);
  const std::string chunk(4096, 'x');
  auto t0 = Steady::now();
  int pushed = 0;
  // 64 MiB: far more than the socket buffers and the stream's 64 KiB hold.
  while (pushed < 16384 && stream->Push(chunk)) ++pushed;
  EXPECT_LT(Steady::now() - t0, 2s) << "the producer waited for the client";
  EXPECT_LT(pushed, 16384) << "the stream never gave up on a client that does not read";
  EXPECT_TRUE(stream->closed());
}

TEST_F(HttpServerTest, DrainEndsOpenStreamsAtOnce) {
  ServerOptions options;
  options.drain_timeout = 5000ms;
  Start(options);
  HttpClient client(port());
  ASSERT_TRUE(OpenStream(client));
  handler_.Stream(0)->Push("data: before the drain\n\n");
  auto t0 = Steady::now();
  server_->Drain();
  EXPECT_LT(Steady::now() - t0, 2s) << "the drain waited for a stream that never ends";
  EXPECT_TRUE(handler_.Stream(0)->closed()) << "the producer learns the stream ended";
  EXPECT_NE(ReadUntil(client, "before the drain", 1s).find("before the drain"), std::string::npos);
}

TEST_F(HttpServerTest, HandlersMayComeBackToTheRequestsLoop) {
  Start();
  HttpClient c(port());
  for (int i = 0; i < 10; ++i) EXPECT_EQ(c.Send("GET", "/loop").body, R"({"loop":true})");
}

TEST_F(HttpServerTest, HandlersMayAnswerFromAnotherThread) {
  Start();
  std::vector<std::future<int>> answers;
  for (int i = 0; i < 20; ++i) {
    answers.push_back(std::async(std::launch::async, [this] {
      HttpClient c(port());
      return c.Send("GET", "/slow?ms=20").status;
    }));
  }
  for (auto& a : answers) EXPECT_EQ(a.get(), 200);
}

TEST(ParseRequestBytes, ParsesAsTheServerDoes) {
  ServerOptions o;
  o.max_body_bytes = 10;
  o.max_header_bytes = 1024;
  auto r = ParseRequestBytes(
      "POST /v1/x%2Dy?a=1&b=two+words HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc", o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->method, "POST");
  EXPECT_EQ(r->path, (std::vector<std::string>{"v1", "x-y"}));
  EXPECT_EQ(r->query[1].second, "two words");
  EXPECT_EQ(r->headers.Get("host"), "h");
  EXPECT_EQ(r->body, "abc");
  EXPECT_EQ(ParseRequestBytes("GET / HTTP/1.1\r\nHost: h\r\n", o).status().code(),
            StatusCode::kUnavailable);
  EXPECT_EQ(ParseRequestBytes("GET / HTTP/1.1\r\nContent-Length: 11\r\n\r\n", o).status().code(),
            StatusCode::kPayloadTooLarge);
  EXPECT_EQ(ParseRequestBytes("GET / HTTP/1.1\r\nX: " + std::string(2000, 'a') + "\r\n\r\n", o)
                .status()
                .code(),
            StatusCode::kPayloadTooLarge);
  EXPECT_EQ(ParseRequestBytes("GET nope HTTP/1.1\r\n\r\n", o).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseRequestBytes("GET / HTTP/1.1\r\nBad Header\r\n\r\n", o).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(Gzip, AcceptEncodingFollowsQValues) {
  EXPECT_TRUE(AcceptsGzip("gzip"));
  EXPECT_TRUE(AcceptsGzip("deflate, GZIP;q=0.5"));
  EXPECT_TRUE(AcceptsGzip("*"));
  EXPECT_TRUE(AcceptsGzip("x-gzip"));
  EXPECT_FALSE(AcceptsGzip(""));
  EXPECT_FALSE(AcceptsGzip("br, deflate"));
  EXPECT_FALSE(AcceptsGzip("gzip;q=0"));
  EXPECT_FALSE(AcceptsGzip("gzip;q=0, *"));
  EXPECT_FALSE(AcceptsGzip("*;q=0"));
  std::string text(100000, 'a');
  auto z = Gzip(text);
  ASSERT_TRUE(z);
  EXPECT_EQ(Gunzip(*z), text);
  EXPECT_FALSE(Gunzip("not gzip"));
  EXPECT_FALSE(Gunzip(z->substr(0, z->size() / 2))) << "a truncated stream is not accepted";
}

}  // namespace
}  // namespace mv::net
