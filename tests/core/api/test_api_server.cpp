// The API server in-process (no scheduler, no storage): its request metrics in the host's registry, a
// WebSocket client that does not read being dropped and counted while events keep flowing and another
// client keeps receiving, and the token store and rate limiter on their own. No timing is asserted.
#include "api/api_server.hpp"
#include "api/auth.hpp"
#include "api/stats.hpp"
#include "config/config.hpp"
#include "loader/loader.hpp"
#include "router/event_bus.hpp"
#include "router/metrics.hpp"

#include <gtest/gtest.h>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Net/WebSocket.h>
#include <Poco/StreamCopier.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

using namespace otedama;
using namespace std::chrono_literals;

namespace {

uint16_t free_port() {
  Poco::Net::ServerSocket s(Poco::Net::SocketAddress("127.0.0.1", 0));
  const uint16_t p = s.address().port();
  s.close();
  return p;
}

std::pair<int, std::string> get(uint16_t port, const std::string& path) {
  Poco::Net::HTTPClientSession session("127.0.0.1", port);
  session.setTimeout(Poco::Timespan(30, 0));
  Poco::Net::HTTPRequest req(Poco::Net::HTTPRequest::HTTP_GET, path, Poco::Net::HTTPMessage::HTTP_1_1);
  session.sendRequest(req);
  Poco::Net::HTTPResponse resp;
  std::string body;
  Poco::StreamCopier::copyToString(session.receiveResponse(resp), body);
  return {static_cast<int>(resp.getStatus()), body};
}

router::Event share_event(uint32_t n) {
  otd_event_share_t ev{};
  ev.header.size = sizeof ev;
  ev.header.type = OTD_EVENT_SHARE;
  ev.verdict = n % 10 == 0 ? OTD_SHARE_LOW_DIFFICULTY : OTD_SHARE_ACCEPTED;
  const std::string worker = "acct" + std::to_string(n % 7) + ".rig" + std::to_string(n % 3);
  std::memcpy(ev.worker, worker.data(), worker.size());
  std::memcpy(ev.coin, "DEVNET", 6);
  ev.difficulty = 2;
  ev.share_difficulty = 3;
  router::Event e;
  e.bytes.resize(sizeof ev);
  std::memcpy(e.bytes.data(), &ev, sizeof ev);
  return e;
}

struct Fixture {
  config::Config cfg = config::defaults();
  router::Metrics metrics;
  loader::Loader loader{[](std::string_view, uint32_t) -> const otd_host_t* { return nullptr; }, loader::Options{}};
  std::unique_ptr<api::ApiServer> api;
  uint16_t port = 0;
  Fixture() {
    cfg.api.address = {"127.0.0.1", free_port()};
    cfg.api.auth.enabled = false;
    cfg.api.rate_limit = 0;
    cfg.storage.path = ":memory:";
    api::Sources s;
    s.config = &cfg;
    s.metrics = &metrics;
    s.loader = &loader;
    s.version = "test";
    api = std::make_unique<api::ApiServer>(s);
    std::string err;
    if (!api->start(&err)) throw std::runtime_error(err);
    port = api->port();
  }
};

}  // namespace

TEST(ApiServer, CountsRequestsAndLatencyInTheHostsMetrics) {
  Fixture f;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(get(f.port, "/api/status").first, 200);
  EXPECT_EQ(get(f.port, "/api/nope").first, 404);
  EXPECT_EQ(get(f.port, "/api/pools/DEVNET/blocks").first, 200);
  // A request is counted once its answer is out: the client may look before that.
  const auto guard = std::chrono::steady_clock::now() + 60s;
  auto count = [&](const std::string& endpoint, const std::string& code) {
    return f.metrics.value("otedama_api_requests_total", {endpoint, code}).value_or(0);
  };
  while ((count("/api/status", "200") < 3 || count("unknown", "404") < 1 || count("/api/pools/{coin}/blocks", "200") < 1) &&
         std::chrono::steady_clock::now() < guard)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(f.metrics.value("otedama_api_requests_total", {"/api/status", "200"}).value_or(0), 3);
  EXPECT_EQ(f.metrics.value("otedama_api_requests_total", {"unknown", "404"}).value_or(0), 1);
  EXPECT_EQ(f.metrics.value("otedama_api_requests_total", {"/api/pools/{coin}/blocks", "200"}).value_or(0), 1);
  const std::string text = f.metrics.render();
  EXPECT_NE(text.find("otedama_api_request_duration_seconds_bucket{endpoint=\"/api/status\""), std::string::npos) << text;
  EXPECT_NE(text.find("otedama_api_request_duration_seconds_count{endpoint=\"/api/status\"} 3"), std::string::npos) << text;
  // Without a scheduler or storage the endpoints answer empty lists, not errors.
  EXPECT_EQ(get(f.port, "/api/devices").second, R"({"devices":[],"duplicates":[]})");
  EXPECT_EQ(get(f.port, "/api/pools/DEVNET/payments").second, R"({"coin":"DEVNET","payments":[]})");
}

TEST(ApiServer, ASecondServerOnTheSamePortFailsToStart) {
  Fixture f;
  api::Sources s;
  s.config = &f.cfg;
  s.metrics = &f.metrics;
  s.loader = &f.loader;
  api::ApiServer second(s);
  std::string err;
  EXPECT_FALSE(second.start(&err));
  EXPECT_NE(err.find("cannot listen on 127.0.0.1:" + std::to_string(f.port)), std::string::npos) << err;
  EXPECT_EQ(get(f.port, "/api/status").first, 200);
}

TEST(ApiServer, SharesFeedWorkersAndRejectionReasons) {
  Fixture f;
  for (uint32_t i = 0; i < 70; ++i) f.api->on_event(share_event(i));
  const auto [code, body] = get(f.port, "/api/workers");
  ASSERT_EQ(code, 200);
  Poco::JSON::Parser parser;
  const auto workers = parser.parse(body).extract<Poco::JSON::Object::Ptr>()->getArray("workers");
  // 7 accounts x 3 rigs cycle over 70 shares: 21 distinct workers (lcm 21).
  EXPECT_EQ(workers->size(), 21U);
  uint64_t accepted = 0, rejected = 0;
  for (size_t i = 0; i < workers->size(); ++i) {
    const auto w = workers->getObject(static_cast<unsigned>(i));
    EXPECT_EQ(w->getValue<std::string>("account"), w->getValue<std::string>("name").substr(0, 5));
    accepted += w->getValue<uint64_t>("shares_accepted");
    rejected += w->getValue<uint64_t>("shares_rejected");
  }
  EXPECT_EQ(accepted, 63U);
  EXPECT_EQ(rejected, 7U);
  const auto stats = parser.parse(get(f.port, "/api/stats").second).extract<Poco::JSON::Object::Ptr>();
  EXPECT_EQ(stats->getObject("rejected_by_reason")->getValue<uint64_t>("low difficulty"), 7U);
  EXPECT_EQ(stats->getObject("shares")->getValue<uint64_t>("accepted"), 63U);
}

TEST(ApiServer, ASlowWebSocketClientIsDroppedAndNobodyWaitsForIt) {
  Fixture f;
  // The slow client: a WebSocket that never reads, with a tiny receive buffer.
  Poco::Net::StreamSocket slow(Poco::Net::SocketAddress::IPv4);
  slow.setReceiveBufferSize(4096);
  slow.connect(Poco::Net::SocketAddress("127.0.0.1", f.port));
  const std::string hs = "GET /api/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  slow.sendBytes(hs.data(), static_cast<int>(hs.size()));
  // A good client on the hashrate topic, reading all the time.
  Poco::Net::HTTPClientSession session("127.0.0.1", f.port);
  Poco::Net::HTTPRequest req(Poco::Net::HTTPRequest::HTTP_GET, "/api/ws", Poco::Net::HTTPMessage::HTTP_1_1);
  Poco::Net::HTTPResponse resp;
  Poco::Net::WebSocket good(session, req, resp);
  good.setReceiveTimeout(Poco::Timespan(60, 0));
  const std::string sub = R"({"subscribe":["hashrate"]})";
  good.sendFrame(sub.data(), static_cast<int>(sub.size()), Poco::Net::WebSocket::FRAME_TEXT);
  std::atomic<uint64_t> hashrate_messages{0};
  std::atomic<bool> done{false};
  std::thread reader([&] {
    std::vector<char> buf(1 << 16);
    while (!done.load()) {
      int flags = 0;
      int n = 0;
      try {
        n = good.receiveFrame(buf.data(), static_cast<int>(buf.size()), flags);
      } catch (const Poco::Exception&) {
        return;
      }
      if (n <= 0) return;
      if (std::string(buf.data(), static_cast<size_t>(n)).find(R"("topic":"hashrate")") != std::string::npos) hashrate_messages.fetch_add(1);
    }
  });
  // Shares as fast as the bus would deliver them; on_event never waits for the slow client.
  auto dropped = [&] { return f.metrics.value("otedama_api_websocket_dropped_total", {"slow"}).value_or(0) +
                              f.metrics.value("otedama_api_websocket_dropped_total", {"send_failed"}).value_or(0); };
  const auto guard = std::chrono::steady_clock::now() + 180s;
  uint32_t n = 0;
  while (dropped() < 1 && std::chrono::steady_clock::now() < guard) {
    for (int i = 0; i < 500; ++i) f.api->on_event(share_event(n++));
    std::this_thread::sleep_for(2ms);
  }
  EXPECT_GE(dropped(), 1.0) << n << " events posted";
  // The other client still gets its hashrate messages afterwards.
  const uint64_t before = hashrate_messages.load();
  const auto guard2 = std::chrono::steady_clock::now() + 120s;
  while (hashrate_messages.load() < before + 2 && std::chrono::steady_clock::now() < guard2) std::this_thread::sleep_for(50ms);
  EXPECT_GE(hashrate_messages.load(), before + 2);
  Poco::JSON::Parser parser;
  const auto stats = parser.parse(get(f.port, "/api/stats").second).extract<Poco::JSON::Object::Ptr>();
  EXPECT_GE(stats->getObject("api")->getValue<uint64_t>("websocket_dropped"), 1U);
  EXPECT_EQ(stats->getObject("api")->getValue<uint64_t>("websocket_clients"), 1U);
  done.store(true);
  good.shutdown();
  reader.join();
}

TEST(Auth, TokensExpireAndWrongSecretsGetNone) {
  api::TokenStore store("the-secret", std::chrono::milliseconds(1000));
  const auto t0 = std::chrono::system_clock::time_point(std::chrono::seconds(1'000'000));
  EXPECT_FALSE(store.issue("the-secreT", t0));
  EXPECT_FALSE(store.issue("", t0));
  const auto issued = store.issue("the-secret", t0);
  ASSERT_TRUE(issued);
  EXPECT_EQ(issued->token.size(), 64U);
  EXPECT_EQ(issued->expires_ms, 1'000'001'000);
  EXPECT_EQ(store.check("Bearer " + issued->token, t0 + std::chrono::milliseconds(999)), api::TokenStore::Check::ok);
  EXPECT_EQ(store.check(issued->token, t0), api::TokenStore::Check::ok);
  EXPECT_EQ(store.check("Bearer " + issued->token + "x", t0), api::TokenStore::Check::unknown);
  EXPECT_EQ(store.check("", t0), api::TokenStore::Check::missing);
  EXPECT_EQ(store.check("Bearer ", t0), api::TokenStore::Check::missing);
  EXPECT_EQ(store.check("Bearer " + issued->token, t0 + std::chrono::milliseconds(1000)), api::TokenStore::Check::expired);
  EXPECT_EQ(store.check("Bearer " + issued->token, t0), api::TokenStore::Check::unknown);  // forgotten once expired
  api::TokenStore none("", std::chrono::milliseconds(1000));
  EXPECT_FALSE(none.issue("", t0));
  EXPECT_TRUE(api::constant_time_equal("abc", "abc"));
  EXPECT_FALSE(api::constant_time_equal("abc", "abd"));
  EXPECT_FALSE(api::constant_time_equal("abc", "abcd"));
}

TEST(Auth, TokenBucketPerClient) {
  api::RateLimiter limiter(2.0, 4.0);  // 2 a second, bursts of 4
  const auto t0 = std::chrono::steady_clock::time_point(std::chrono::seconds(100));
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(limiter.allow("10.0.0.1", t0)) << i;
  double retry = 0;
  EXPECT_FALSE(limiter.allow("10.0.0.1", t0, &retry));
  EXPECT_DOUBLE_EQ(retry, 0.5);
  EXPECT_TRUE(limiter.allow("10.0.0.2", t0));  // another client has its own bucket
  EXPECT_TRUE(limiter.allow("10.0.0.1", t0 + std::chrono::milliseconds(500)));
  EXPECT_FALSE(limiter.allow("10.0.0.1", t0 + std::chrono::milliseconds(500)));
  EXPECT_EQ(limiter.limited(), 2U);
  api::RateLimiter off(0, 0);
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(off.allow("x", t0));
}

TEST(Stats, HashrateFromAcceptedDifficultyOverTheWindow) {
  // Started 10 minutes before: the full five-minute window counts.
  const int64_t start = 1'000'000'000;
  api::LiveStats s(start);
  const int64_t now = start + 600'000;
  // 300 shares of difficulty 2 spread over the last 290 s: 600 difficulty in ~300 s.
  for (int i = 0; i < 300; ++i) s.share(now - 290'000 + i * 966, "a.r", "C", true, false, 2, "");
  s.share(now, "a.r", "C", false, false, 2, "stale");
  const auto snap = s.snapshot(now);
  EXPECT_EQ(snap.totals.accepted, 300U);
  EXPECT_EQ(snap.totals.rejected, 1U);
  // The window: 29 whole buckets plus the part of the current one.
  const double window_s = (29 * 10'000 + now % 10'000) / 1000.0;
  EXPECT_NEAR(snap.pool_difficulty_per_s, 600.0 / window_s, 1e-9);
  // Shares older than the window no longer count.
  const auto later = s.snapshot(now + 400'000);
  EXPECT_EQ(later.pool_difficulty_per_s, 0);
  EXPECT_EQ(later.workers_active, 0U);
  EXPECT_EQ(api::LiveStats::account_of("wallet.rig1"), "wallet");
}

TEST(Stats, WorkersAndMinersAreThoseWithAnAcceptedShareInTheWindow) {
  const int64_t start = 1'000'000'000;
  api::LiveStats s(start);
  const int64_t now = start + 60'000;
  s.share(now, "local:cpu0", "C", true, false, 1, "");
  s.share(now, "local:gpu0", "C", true, false, 1, "");
  s.share(now, "a.r1", "C", true, false, 1, "");
  s.share(now, "a.r2", "C", true, false, 1, "");
  s.share(now, "b.x", "C", false, false, 1, "low difficulty");  // only rejected: neither a worker nor a miner
  auto snap = s.snapshot(now);
  EXPECT_EQ(snap.workers_active, 4U);
  // Accounts a and the host's own (the local devices together).
  EXPECT_EQ(snap.accounts_active.size(), 2U);
  // Only the local device: one worker, one miner (the dashboard's "miners 0, workers 1" before).
  api::LiveStats local(start);
  local.share(now, "local:cpu0", "C", true, false, 1, "");
  snap = local.snapshot(now);
  EXPECT_EQ(snap.workers_active, 1U);
  EXPECT_EQ(snap.accounts_active.size(), 1U);
  // Out of the window: neither.
  snap = local.snapshot(now + 400'000);
  EXPECT_EQ(snap.workers_active, 0U);
  EXPECT_EQ(snap.accounts_active.size(), 0U);
  EXPECT_EQ(api::LiveStats::account_of("local:cpu0"), "");
}
