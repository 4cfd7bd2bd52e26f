// The admin API over real HTTP on loopback, against a running `otedama-host serve` (the devnet chain at a
// tiny difficulty and one CPU mining thread, as `make run` does, on test-chosen free ports): every endpoint
// of docs/api.md, auth accepted / refused / expired, the per-IP rate limit (429), CORS off by default and
// on when configured, the WebSocket (subscribe, share and hashrate messages, a bad JSON message and a
// malformed frame answered cleanly), `otedama-host status`, and no secret or token in the host's log.
// No timing is asserted: every wait polls for its condition under a generous guard.
#include "host_process.hpp"

#include <gtest/gtest.h>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Net/WebSocket.h>
#include <Poco/StreamCopier.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Poco::JSON::Object;

namespace {

using otedama::test::eventually;
using otedama::test::HostConfig;
using otedama::test::HostProcess;

constexpr auto kGuard = 180s;  // a hang guard, never a speed expectation

struct Http {
  int code = 0;
  std::string body;
  std::map<std::string, std::string> headers;
  Object::Ptr json() const {
    Poco::JSON::Parser parser;
    return parser.parse(body).extract<Object::Ptr>();
  }
  [[nodiscard]] bool has(const std::string& h) const { return headers.count(h) != 0; }
};

Http request(uint16_t port, const std::string& method, const std::string& path, const std::string& body = "",
             const std::map<std::string, std::string>& headers = {}) {
  Poco::Net::HTTPClientSession session("127.0.0.1", port);
  session.setTimeout(Poco::Timespan(30, 0));
  Poco::Net::HTTPRequest req(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
  for (const auto& [k, v] : headers) req.set(k, v);
  if (!body.empty() || method == "POST") {
    req.setContentType("application/json");
    req.setContentLength(static_cast<std::streamsize>(body.size()));
  }
  session.sendRequest(req) << body;
  Poco::Net::HTTPResponse resp;
  std::istream& in = session.receiveResponse(resp);
  Http out;
  out.code = static_cast<int>(resp.getStatus());
  Poco::StreamCopier::copyToString(in, out.body);
  for (const auto& [k, v] : resp) out.headers[k] = v;
  return out;
}

/// A request that waits out the rate limit (Retry-After) instead of failing on it.
Http patient(uint16_t port, const std::string& method, const std::string& path, const std::string& body = "",
             const std::map<std::string, std::string>& headers = {}) {
  const auto until = std::chrono::steady_clock::now() + kGuard;
  for (;;) {
    Http r = request(port, method, path, body, headers);
    if (r.code != 429 || std::chrono::steady_clock::now() > until) return r;
    std::this_thread::sleep_for(1s);
  }
}

/// `otedama-host status <args>` run in `dir`: its output (stdout, then stderr) and exit code.
std::pair<std::string, int> status_of(const fs::path& dir, std::vector<std::string> args) {
  args.insert(args.begin(), "status");
  const auto r = otedama::test::run_to_end(otedama::test::host_binary(), args, {.dir = dir, .name = "status"});
  return {r.out + r.err, r.code};
}

fs::path temp_dir(const std::string& tag) { return otedama::test::fresh_dir("api-" + tag); }

/// The devnet at a tiny difficulty (blocks, hence local shares, within seconds on any machine), one CPU
/// thread, no stratum port, the API on a free port with `api_extra` lines under `api:`; metrics and health off.
HostConfig devnet_config(const fs::path& dir, const std::string& api_extra) {
  return HostConfig("mining:\n  cpu:\n    threads: 1\npool:\n  enable: false\nstorage:\n  path: " + (dir / "ledger.db").string() +
                    "\ndevnet:\n  difficulty: 0.00001\n  block_time: 0\n  refresh: 5s\n")
      .api(api_extra);
}

/// otedama-host serve on `config`, in `dir` (its output in dir/host.log), the API up on its free port.
HostProcess serve(const fs::path& dir, HostConfig config, std::map<std::string, std::string> env = {}) {
  return HostProcess(dir, std::move(config),
                     {.args = {"serve", "--run-for", "900"}, .env = std::move(env), .unset_env = {"OTEDAMA_PLUGIN_PATH", "OTEDAMA_API_SECRET"}});
}

struct WsMessage {
  std::string topic;
  Object::Ptr whole;
};

/// Reads one text frame as JSON; nullopt on close.
std::optional<WsMessage> ws_read(Poco::Net::WebSocket& ws) {
  std::vector<char> buf(1 << 20);
  for (;;) {
    int flags = 0;
    const int n = ws.receiveFrame(buf.data(), static_cast<int>(buf.size()), flags);
    const int op = flags & Poco::Net::WebSocket::FRAME_OP_BITMASK;
    if (n <= 0 && op != Poco::Net::WebSocket::FRAME_OP_PING) return std::nullopt;
    if (op == Poco::Net::WebSocket::FRAME_OP_CLOSE) return std::nullopt;
    if (op != Poco::Net::WebSocket::FRAME_OP_TEXT) continue;
    Poco::JSON::Parser parser;
    auto o = parser.parse(std::string(buf.data(), static_cast<size_t>(n))).extract<Object::Ptr>();
    return WsMessage{o->getValue<std::string>("topic"), o};
  }
}

std::unique_ptr<Poco::Net::WebSocket> ws_connect(uint16_t port, Poco::Net::HTTPClientSession& session, const std::string& path = "/api/ws") {
  Poco::Net::HTTPRequest req(Poco::Net::HTTPRequest::HTTP_GET, path, Poco::Net::HTTPMessage::HTTP_1_1);
  Poco::Net::HTTPResponse resp;
  (void)port;
  auto ws = std::make_unique<Poco::Net::WebSocket>(session, req, resp);
  ws->setReceiveTimeout(Poco::Timespan(60, 0));
  return ws;
}

/// The raw bytes after a hand-made WebSocket handshake, for frames Poco would never send.
std::unique_ptr<Poco::Net::StreamSocket> raw_ws(uint16_t port) {
  auto s = std::make_unique<Poco::Net::StreamSocket>(Poco::Net::SocketAddress("127.0.0.1", port));
  s->setReceiveTimeout(Poco::Timespan(60, 0));
  // RFC 6455 section 1.3's sample key.
  const std::string hs = "GET /api/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  s->sendBytes(hs.data(), static_cast<int>(hs.size()));
  std::string got;
  char c;
  while (got.find("\r\n\r\n") == std::string::npos && s->receiveBytes(&c, 1) == 1) got.push_back(c);
  // RFC 6455 section 1.3: that key's Sec-WebSocket-Accept.
  EXPECT_NE(got.find("101"), std::string::npos) << got;
  EXPECT_NE(got.find("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), std::string::npos) << got;
  return s;
}

/// Reads until the server closes: true when it sent a close frame with `code` or dropped the connection.
bool closed_by_server(Poco::Net::StreamSocket& s, int* close_code) {
  std::string got;
  char buf[4096];
  for (;;) {
    int n = 0;
    try {
      n = s.receiveBytes(buf, sizeof buf);
    } catch (const Poco::Exception&) {
      break;  // reset by the server (it closed with our bytes unread): what came before still counts
    }
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  // Find a close frame (0x88) among whatever came first (hashrate messages may precede it).
  size_t i = 0;
  while (i + 2 <= got.size()) {
    const auto op = static_cast<unsigned char>(got[i]) & 0x0f;
    size_t len = static_cast<unsigned char>(got[i + 1]) & 0x7f;
    size_t hdr = 2;
    if (len == 126 && i + 4 <= got.size()) {
      len = (static_cast<unsigned char>(got[i + 2]) << 8) | static_cast<unsigned char>(got[i + 3]);
      hdr = 4;
    } else if (len == 127) {
      break;
    }
    if (op == 0x8 && len >= 2 && i + hdr + 2 <= got.size()) {
      *close_code = (static_cast<unsigned char>(got[i + hdr]) << 8) | static_cast<unsigned char>(got[i + hdr + 1]);
      return true;
    }
    i += hdr + len;
  }
  return true;  // EOF without a close frame: closed all the same
}

std::vector<std::string> strings_of(const Poco::JSON::Array::Ptr& a, const std::string& key) {
  std::vector<std::string> out;
  for (size_t i = 0; i < a->size(); ++i) out.push_back(a->getObject(static_cast<unsigned>(i))->getValue<std::string>(key));
  return out;
}

}  // namespace

// Host A: auth on with a configured secret, reads public, default rate limit, no CORS.
TEST(Api, EveryEndpointAuthWebSocketAndStatusAgainstARunningHost) {
  const fs::path dir = temp_dir("a");
  const std::string secret = "s3cret-admin-4c9b1e";
  HostProcess host = serve(dir, devnet_config(dir, "  auth:\n    enabled: true\n    secret: " + secret + "\n"));
  ASSERT_TRUE(host.services_up()) << host.output();
  const uint16_t port = host.api_port();

  // Status: every field of the contract, and shares counted as the CPU mines.
  Object::Ptr status;
  ASSERT_TRUE(eventually([&] {
    const Http r = request(port, "GET", "/api/status");
    if (r.code != 200) return false;
    status = r.json();
    return status->getObject("shares")->getValue<uint64_t>("accepted") > 0 && status->getObject("job_source")->getValue<bool>("up");
  })) << host.output();
  for (const char* k : {"version", "mode", "algorithm", "coin", "uptime_s", "mining", "hashrate", "pool_hashrate", "shares", "blocks", "connections",
                        "workers", "job_source"})
    EXPECT_TRUE(status->has(k)) << k;
  EXPECT_EQ(status->getValue<std::string>("mode"), "pool");
  EXPECT_EQ(status->getValue<std::string>("algorithm"), "sha256d");
  EXPECT_EQ(status->getValue<std::string>("coin"), "DEVNET");
  EXPECT_TRUE(status->getValue<bool>("mining"));
  EXPECT_GT(status->getValue<double>("pool_hashrate"), 0);
  EXPECT_EQ(status->getObject("job_source")->getValue<std::string>("plugin"), "devnet");
  EXPECT_GT(status->getObject("blocks")->getValue<uint64_t>("found"), 0U);  // local shares are devnet blocks

  const Http stats = request(port, "GET", "/api/stats");
  ASSERT_EQ(stats.code, 200) << stats.body;
  EXPECT_EQ(stats.headers.at("Content-Type"), "application/json");
  const auto st = stats.json();
  EXPECT_TRUE(st->has("rejected_by_reason"));
  EXPECT_TRUE(st->has("share_rates"));
  EXPECT_TRUE(st->getObject("coins")->has("DEVNET"));
  EXPECT_EQ(st->getObject("storage")->getValue<std::string>("path"), (dir / "ledger.db").string());
  EXPECT_GT(st->getObject("storage")->getValue<int64_t>("shares"), 0);

  const Http workers = request(port, "GET", "/api/workers");
  ASSERT_EQ(workers.code, 200);
  const auto wl = workers.json()->getArray("workers");
  ASSERT_GE(wl->size(), 1U) << workers.body;
  EXPECT_EQ(wl->getObject(0)->getValue<std::string>("name"), "local:cpu0");
  EXPECT_GT(wl->getObject(0)->getValue<uint64_t>("shares_accepted"), 0U);
  for (const char* k : {"account", "hashrate", "shares_rejected", "difficulty", "last_share_ms"}) EXPECT_TRUE(wl->getObject(0)->has(k)) << k;

  const Http devices = request(port, "GET", "/api/devices");
  ASSERT_EQ(devices.code, 200);
  const auto dl = devices.json()->getArray("devices");
  ASSERT_GE(dl->size(), 1U) << devices.body;
  EXPECT_EQ(dl->getObject(0)->getValue<std::string>("kind"), "cpu");
  for (const char* k : {"id", "name", "backend", "hashrate", "temperature_c", "fan_percent", "power_w", "errors", "mismatches"})
    EXPECT_TRUE(dl->getObject(0)->has(k)) << k;

  const Http pools = request(port, "GET", "/api/pools");
  ASSERT_EQ(pools.code, 200);
  const auto pl = pools.json()->getArray("pools");
  ASSERT_EQ(pl->size(), 1U);
  EXPECT_EQ(pl->getObject(0)->getValue<std::string>("coin"), "DEVNET");
  EXPECT_EQ(pl->getObject(0)->getValue<std::string>("scheme"), "PPLNS");
  for (const char* k : {"algorithm", "fee", "hashrate", "miners", "blocks_found", "height"}) EXPECT_TRUE(pl->getObject(0)->has(k)) << k;
  // The local CPU's shares were accepted (status above): one worker (local:cpu0) and one miner, the host's own
  // account (docs/api.md: miners are the distinct accounts of the workers with an accepted share in the window).
  EXPECT_EQ(pl->getObject(0)->getValue<uint64_t>("workers"), 1U) << pools.body;
  EXPECT_EQ(pl->getObject(0)->getValue<uint64_t>("miners"), 1U) << pools.body;
  // No stratum server (pool.enable: false): no listening address.
  EXPECT_EQ(pl->getObject(0)->getValue<std::string>("stratum"), "") << pools.body;
  EXPECT_EQ(pl->getObject(0)->getArray("stratum_ports")->size(), 0U) << pools.body;

  Poco::JSON::Array::Ptr blocks;
  ASSERT_TRUE(eventually([&] {
    const Http r = request(port, "GET", "/api/pools/DEVNET/blocks?limit=5");
    if (r.code != 200) return false;
    blocks = r.json()->getArray("blocks");
    return blocks->size() > 0;
  }));
  EXPECT_LE(blocks->size(), 5U);
  const std::string hash = blocks->getObject(0)->getValue<std::string>("hash");
  EXPECT_EQ(hash.size(), 64U);
  // As the host's log shows it (byte-reversed: a devnet block hash at this difficulty starts with zeros).
  EXPECT_NE(host.output().find(hash), std::string::npos) << hash;
  EXPECT_EQ(blocks->getObject(0)->getValue<std::string>("finder"), "local:cpu0");
  for (const char* k : {"height", "status", "reward", "time_ms"}) EXPECT_TRUE(blocks->getObject(0)->has(k)) << k;
  EXPECT_EQ(request(port, "GET", "/api/pools/DEVNET/blocks?limit=0").code, 400);
  EXPECT_EQ(request(port, "GET", "/api/pools/DEVNET/blocks?limit=x").code, 400);

  const Http payments = request(port, "GET", "/api/pools/DEVNET/payments");
  ASSERT_EQ(payments.code, 200);
  EXPECT_TRUE(payments.json()->has("payments"));

  const Http miner = request(port, "GET", "/api/pools/DEVNET/miners/pool");
  ASSERT_EQ(miner.code, 200) << miner.body;
  const auto mo = miner.json();
  EXPECT_EQ(mo->getValue<std::string>("address"), "pool");
  for (const char* k : {"pending", "confirmed", "paid"}) EXPECT_TRUE(mo->getObject("balance")->has(k)) << k;
  EXPECT_TRUE(mo->has("payments"));
  EXPECT_TRUE(mo->getObject("shares")->has("accepted"));
  EXPECT_EQ(request(port, "GET", "/api/pools/DEVNET/miners/%3Cscript%3E").code, 400);

  const Http plugins = request(port, "GET", "/api/plugins");
  ASSERT_EQ(plugins.code, 200);
  const auto ids = strings_of(plugins.json()->getArray("plugins"), "id");
  EXPECT_NE(std::find(ids.begin(), ids.end(), "org.otedama.transport.devnet"), ids.end()) << plugins.body;
  EXPECT_NE(std::find(ids.begin(), ids.end(), "org.otedama.backend.cpu"), ids.end()) << plugins.body;

  // Docs: the page and the OpenAPI 3.0 document, which lists every path of the contract.
  const Http docs = request(port, "GET", "/api/docs");
  ASSERT_EQ(docs.code, 200);
  EXPECT_EQ(docs.headers.at("Content-Type").rfind("text/html", 0), 0U);
  EXPECT_NE(docs.body.find("/api/pools/{coin}/miners/{address}"), std::string::npos);
  const Http openapi = request(port, "GET", "/api/openapi.json");
  ASSERT_EQ(openapi.code, 200);
  const auto oa = openapi.json();
  EXPECT_EQ(oa->getValue<std::string>("openapi").rfind("3.0", 0), 0U);
  for (const char* p : {"/api/status", "/api/stats", "/api/workers", "/api/devices", "/api/pools", "/api/pools/{coin}/blocks",
                        "/api/pools/{coin}/payments", "/api/pools/{coin}/miners/{address}", "/api/plugins", "/api/mining/start",
                        "/api/mining/stop", "/api/auth/token", "/api/ws", "/api/docs", "/api/openapi.json"})
    EXPECT_TRUE(oa->getObject("paths")->has(p)) << p;

  // Static files and clear errors.
  const Http index = request(port, "GET", "/");
  ASSERT_EQ(index.code, 200);
  EXPECT_EQ(index.headers.at("Content-Type").rfind("text/html", 0), 0U);
  EXPECT_NE(index.body.find("<html"), std::string::npos);
  const Http missing = request(port, "GET", "/no-such-file.js");
  EXPECT_EQ(missing.code, 404);
  EXPECT_NE(missing.json()->getValue<std::string>("error").find("no such file"), std::string::npos);
  const Http unknown = request(port, "GET", "/api/nope");
  EXPECT_EQ(unknown.code, 404);
  EXPECT_NE(unknown.json()->getValue<std::string>("error").find("/api/nope"), std::string::npos);
  const Http wrong_method = request(port, "POST", "/api/status");
  EXPECT_EQ(wrong_method.code, 405);
  EXPECT_EQ(wrong_method.headers.at("Allow"), "GET");
  EXPECT_EQ(request(port, "GET", "/api/mining/stop").code, 405);

  // CORS is off by default: no Access-Control-Allow-Origin for any origin.
  const Http cors = request(port, "GET", "/api/status", "", {{"Origin", "http://elsewhere.example"}});
  EXPECT_EQ(cors.code, 200);
  EXPECT_FALSE(cors.has("Access-Control-Allow-Origin"));

  // Another origin's page may not change state or open the WebSocket; the page's own origin may.
  const std::string self_origin = "http://127.0.0.1:" + std::to_string(port);
  const Http cross_post = request(port, "POST", "/api/mining/stop", "", {{"Origin", "http://elsewhere.example"}});
  EXPECT_EQ(cross_post.code, 403);
  EXPECT_NE(cross_post.json()->getValue<std::string>("error").find("cross-origin"), std::string::npos);
  EXPECT_EQ(request(port, "GET", "/api/ws", "", {{"Origin", "http://elsewhere.example"}}).code, 403);
  EXPECT_EQ(request(port, "GET", "/api/ws", "", {{"Origin", self_origin}}).code, 400);  // no upgrade, but not refused
  EXPECT_EQ(request(port, "POST", "/api/mining/stop", "", {{"Origin", self_origin}}).code, 401);

  // Auth: state-changing endpoints need a token.
  const Http no_token = request(port, "POST", "/api/mining/stop");
  EXPECT_EQ(no_token.code, 401);
  EXPECT_NE(no_token.json()->getValue<std::string>("error").find("missing token"), std::string::npos);
  const Http bad_token = request(port, "POST", "/api/mining/stop", "", {{"Authorization", "Bearer 0123abcd"}});
  EXPECT_EQ(bad_token.code, 401);
  EXPECT_NE(bad_token.json()->getValue<std::string>("error").find("unknown token"), std::string::npos);
  const Http wrong_secret = request(port, "POST", "/api/auth/token", R"({"secret":"not-it"})");
  EXPECT_EQ(wrong_secret.code, 401);
  EXPECT_EQ(wrong_secret.json()->getValue<std::string>("error"), "wrong secret");
  const Http not_json = request(port, "POST", "/api/auth/token", "{secret:");
  EXPECT_EQ(not_json.code, 400);
  EXPECT_NE(not_json.json()->getValue<std::string>("error").find("not JSON"), std::string::npos);
  EXPECT_EQ(request(port, "POST", "/api/auth/token", R"({"secret":42})").code, 400);
  const Http issued = request(port, "POST", "/api/auth/token", R"({"secret":")" + secret + R"("})");
  ASSERT_EQ(issued.code, 200) << issued.body;
  const std::string token = issued.json()->getValue<std::string>("token");
  EXPECT_GE(token.size(), 32U);
  EXPECT_GT(issued.json()->getValue<int64_t>("expires_ms"), 0);
  const std::map<std::string, std::string> auth{{"Authorization", "Bearer " + token}};

  const Http stop = request(port, "POST", "/api/mining/stop", "", auth);
  ASSERT_EQ(stop.code, 200) << stop.body;
  EXPECT_FALSE(stop.json()->getValue<bool>("mining"));
  EXPECT_FALSE(request(port, "GET", "/api/status").json()->getValue<bool>("mining"));
  // Paused lanes stop hashing: the device hashrate falls to zero.
  EXPECT_TRUE(eventually([&] { return request(port, "GET", "/api/status").json()->getValue<double>("hashrate") == 0; }));
  const Http start = request(port, "POST", "/api/mining/start", "", auth);
  ASSERT_EQ(start.code, 200) << start.body;
  EXPECT_TRUE(start.json()->getValue<bool>("mining"));
  EXPECT_TRUE(eventually([&] { return request(port, "GET", "/api/status").json()->getValue<double>("hashrate") > 0; }));

  // WebSocket: the default topic set brings hashrate (every second) and share messages.
  {
    Poco::Net::HTTPClientSession session("127.0.0.1", port);
    auto ws = ws_connect(port, session);
    bool got_share = false, got_hashrate = false, got_device = false;
    const auto until = std::chrono::steady_clock::now() + kGuard;
    while (!(got_share && got_hashrate && got_device) && std::chrono::steady_clock::now() < until) {
      const auto m = ws_read(*ws);
      ASSERT_TRUE(m.has_value()) << "the server closed the WebSocket";
      EXPECT_TRUE(m->whole->has("time_ms"));
      const auto data = m->whole->getObject("data");
      if (m->topic == "share") {
        got_share = true;
        EXPECT_EQ(data->getValue<std::string>("worker"), "local:cpu0");
        EXPECT_EQ(data->getValue<std::string>("coin"), "DEVNET");
        EXPECT_TRUE(data->getValue<bool>("accepted"));
        EXPECT_TRUE(data->has("difficulty"));
        EXPECT_TRUE(data->has("reason"));
      } else if (m->topic == "hashrate") {
        got_hashrate = true;
        for (const char* k : {"hashrate", "pool_hashrate", "shares_accepted", "shares_rejected", "workers", "connections"}) EXPECT_TRUE(data->has(k)) << k;
      } else if (m->topic == "device") {
        got_device = true;
        EXPECT_EQ(data->getValue<std::string>("kind"), "cpu");
      }
    }
    EXPECT_TRUE(got_share);
    EXPECT_TRUE(got_hashrate);
    EXPECT_TRUE(got_device);

    // Bad JSON and an unknown topic get an error message; the connection stays open.
    const std::string bad = "{not json";
    ws->sendFrame(bad.data(), static_cast<int>(bad.size()), Poco::Net::WebSocket::FRAME_TEXT);
    std::optional<WsMessage> m;
    do m = ws_read(*ws);
    while (m && m->topic != "error");
    ASSERT_TRUE(m.has_value());
    EXPECT_NE(m->whole->getObject("data")->getValue<std::string>("error").find("not a JSON object"), std::string::npos);
    const std::string unknown_topic = R"({"subscribe":["share","gossip"]})";
    ws->sendFrame(unknown_topic.data(), static_cast<int>(unknown_topic.size()), Poco::Net::WebSocket::FRAME_TEXT);
    do m = ws_read(*ws);
    while (m && m->topic != "error");
    ASSERT_TRUE(m.has_value());
    EXPECT_NE(m->whole->getObject("data")->getValue<std::string>("error").find("gossip"), std::string::npos);

    // Subscribing to hashrate only: answered, and from then on nothing else arrives.
    const std::string sub = R"({"subscribe":["hashrate"]})";
    ws->sendFrame(sub.data(), static_cast<int>(sub.size()), Poco::Net::WebSocket::FRAME_TEXT);
    do m = ws_read(*ws);
    while (m && m->topic != "subscribed");
    ASSERT_TRUE(m.has_value());
    const auto topics = m->whole->getObject("data")->getArray("topics");
    ASSERT_EQ(topics->size(), 1U);
    EXPECT_EQ(topics->getElement<std::string>(0), "hashrate");
    for (int i = 0; i < 3; ++i) {
      m = ws_read(*ws);
      ASSERT_TRUE(m.has_value());
      EXPECT_EQ(m->topic, "hashrate");
    }
    ws->shutdown();
  }

  // A malformed frame (a reserved opcode) and an oversized one: the server closes that connection with a
  // protocol error and goes on serving everyone else.
  {
    auto s = raw_ws(port);
    const unsigned char frame[] = {0x83, 0x80, 1, 2, 3, 4};  // FIN, opcode 0x3 (reserved), masked, empty
    s->sendBytes(frame, sizeof frame);
    int code = 0;
    EXPECT_TRUE(closed_by_server(*s, &code));
    EXPECT_EQ(code, 1002);
  }
  {
    auto s = raw_ws(port);
    // A text frame announcing 16 MiB (64-bit length), far over the API's frame limit.
    const unsigned char frame[] = {0x81, 0xFF, 0, 0, 0, 0, 1, 0, 0, 0, 1, 2, 3, 4};
    s->sendBytes(frame, sizeof frame);
    int code = 0;
    EXPECT_TRUE(closed_by_server(*s, &code));
    EXPECT_EQ(code, 1009);
  }
  EXPECT_EQ(request(port, "GET", "/api/status").code, 200);
  EXPECT_GT(request(port, "GET", "/api/stats").json()->getObject("api")->getValue<uint64_t>("websocket_errors"), 0U);
  // A plain GET on the WebSocket path is answered, not upgraded.
  const Http plain = request(port, "GET", "/api/ws");
  EXPECT_EQ(plain.code, 400);
  EXPECT_NE(plain.json()->getValue<std::string>("error").find("WebSocket upgrade"), std::string::npos);

  // otedama-host status asks the running host.
  const std::string cfg = host.config_path().string();
  const auto [human, hrc] = status_of(dir, {"--config", cfg});
  EXPECT_EQ(hrc, 0) << human;
  EXPECT_NE(human.find("job source  devnet up"), std::string::npos) << human;
  EXPECT_NE(human.find(" accepted, "), std::string::npos) << human;
  const auto [json, jrc] = status_of(dir, {"--json", "--config", cfg});
  EXPECT_EQ(jrc, 0) << json;
  EXPECT_NE(json.find("\"pool_hashrate\""), std::string::npos) << json;

  EXPECT_EQ(host.stop(), 0) << host.output();
  const std::string log = host.output();
  EXPECT_EQ(log.find(secret), std::string::npos) << "the admin secret is in the log";
  EXPECT_EQ(log.find(token), std::string::npos) << "a token is in the log";
  EXPECT_NE(log.find("wrong admin secret from 127.0.0.1"), std::string::npos) << log;

  // No host: status says so and shows the ledger.
  const auto [after, arc] = status_of(dir, {"--config", cfg});
  EXPECT_EQ(arc, 0) << after;
  EXPECT_NE(after.find("note: no host answered at 127.0.0.1:" + std::to_string(port)), std::string::npos) << after;
  EXPECT_NE(after.find("share(s)"), std::string::npos) << after;
  fs::remove_all(dir);
}

// Host B: the secret from $OTEDAMA_API_SECRET, reads need a token, tokens last 1 s, 5 requests a second
// per IP, CORS for one origin.
TEST(Api, PrivateReadsExpiryRateLimitAndCors) {
  const fs::path dir = temp_dir("b");
  const std::string secret = "env-secret-7d31f0aa";
  HostProcess host = serve(dir,
                           devnet_config(dir, "  auth:\n    enabled: true\n    token_expiry: 1s\n    public_read: false\n  rate_limit: 5\n"
                                              "  cors_origins: [\"http://dash.example\"]\n"),
                           {{"OTEDAMA_API_SECRET", secret}});
  ASSERT_TRUE(host.services_up()) << host.output();
  const uint16_t port = host.api_port();
  EXPECT_NE(host.output().find("OTEDAMA_API_SECRET"), std::string::npos) << "the log says where the secret came from";

  // Reads need a token now; the docs, the dashboard's files and the token endpoint do not.
  const Http refused = patient(port, "GET", "/api/status");
  EXPECT_EQ(refused.code, 401);
  EXPECT_EQ(refused.headers.at("WWW-Authenticate"), "Bearer");
  EXPECT_EQ(patient(port, "GET", "/api/docs").code, 200);
  EXPECT_EQ(patient(port, "GET", "/").code, 200);
  {
    Poco::Net::HTTPClientSession session("127.0.0.1", port);
    Poco::Net::HTTPRequest req(Poco::Net::HTTPRequest::HTTP_GET, "/api/ws", Poco::Net::HTTPMessage::HTTP_1_1);
    Poco::Net::HTTPResponse resp;
    EXPECT_THROW(Poco::Net::WebSocket(session, req, resp), Poco::Net::WebSocketException);
    EXPECT_EQ(resp.getStatus(), Poco::Net::HTTPResponse::HTTP_UNAUTHORIZED);
  }

  auto new_token = [&] {
    const Http r = patient(port, "POST", "/api/auth/token", R"({"secret":")" + secret + R"("})");
    EXPECT_EQ(r.code, 200) << r.body;
    return r.code == 200 ? r.json()->getValue<std::string>("token") : std::string();
  };
  const std::string token = new_token();
  ASSERT_FALSE(token.empty());
  // Accepted while fresh (a fresh token each try: the 1 s lifetime is not a speed assertion).
  EXPECT_TRUE(eventually([&] { return patient(port, "GET", "/api/status", "", {{"Authorization", "Bearer " + new_token()}}).code == 200; }));
  {
    // The WebSocket takes the token as ?token= (browsers cannot set its headers).
    Poco::Net::HTTPClientSession session("127.0.0.1", port);
    bool opened = false;
    for (int i = 0; i < 20 && !opened; ++i) {
      try {
        auto ws = ws_connect(port, session, "/api/ws?token=" + new_token());
        opened = true;
        ws->shutdown();
      } catch (const Poco::Exception&) {
        std::this_thread::sleep_for(500ms);
      }
    }
    EXPECT_TRUE(opened);
  }
  // Expired: the first token is refused once its second is over.
  Http expired;
  ASSERT_TRUE(eventually([&] {
    expired = patient(port, "GET", "/api/status", "", {{"Authorization", "Bearer " + token}});
    return expired.code == 401;
  }));
  EXPECT_NE(expired.json()->getValue<std::string>("error").find("expired"), std::string::npos) << expired.body;

  // CORS for the configured origin only, with a preflight.
  const Http cors = patient(port, "GET", "/api/docs", "", {{"Origin", "http://dash.example"}});
  EXPECT_EQ(cors.headers.at("Access-Control-Allow-Origin"), "http://dash.example");
  const Http other = patient(port, "GET", "/api/docs", "", {{"Origin", "http://elsewhere.example"}});
  EXPECT_FALSE(other.has("Access-Control-Allow-Origin"));
  const Http preflight = patient(port, "OPTIONS", "/api/mining/stop", "", {{"Origin", "http://dash.example"}, {"Access-Control-Request-Method", "POST"}});
  EXPECT_EQ(preflight.code, 204);
  EXPECT_EQ(preflight.headers.at("Access-Control-Allow-Origin"), "http://dash.example");
  EXPECT_NE(preflight.headers.at("Access-Control-Allow-Headers").find("Authorization"), std::string::npos);
  // The allowed origin may POST (then needs a token like anyone); another may not.
  EXPECT_EQ(patient(port, "POST", "/api/mining/stop", "", {{"Origin", "http://dash.example"}}).code, 401);
  EXPECT_EQ(patient(port, "POST", "/api/mining/stop", "", {{"Origin", "http://elsewhere.example"}}).code, 403);

  // The rate limit: a burst far over 5 a second (bursts of 10) meets 429 with Retry-After.
  Http limited;
  for (int i = 0; i < 200 && limited.code != 429; ++i) limited = request(port, "GET", "/api/docs");
  ASSERT_EQ(limited.code, 429);
  EXPECT_TRUE(limited.has("Retry-After"));
  EXPECT_NE(limited.json()->getValue<std::string>("error").find("rate limited"), std::string::npos);
  // ... and is counted.
  const Http stats = patient(port, "GET", "/api/stats", "", {{"Authorization", "Bearer " + new_token()}});
  ASSERT_EQ(stats.code, 200) << stats.body;
  EXPECT_GT(stats.json()->getObject("api")->getValue<uint64_t>("rate_limited"), 0U);

  EXPECT_EQ(host.stop(), 0) << host.output();
  EXPECT_EQ(host.output().find(secret), std::string::npos) << "the admin secret is in the log";
  EXPECT_EQ(host.output().find(token), std::string::npos) << "a token is in the log";
  fs::remove_all(dir);
}

// Host C: a stratum server on two ephemeral loopback ports. /api/pools names the addresses it really listens
// on (not the configured port 0 or the pool.address default); the local device's hashrate is a mean over
// the scheduler's window, so it stays above zero from one read to the next once it has mined for a while.
TEST(Api, PoolsNameTheListeningStratumPortsAndDevicesAMeanHashrate) {
  const fs::path dir = temp_dir("c");
  HostProcess host = serve(dir, HostConfig("mining:\n  cpu:\n    threads: 1\nstorage:\n  path: " + (dir / "ledger.db").string() +
                                            "\ndevnet:\n  difficulty: 0.00001\n  block_time: 0\n  refresh: 5s\n"
                                            "plugins:\n  settings:\n    org.otedama.transport.stratum-server:\n      ports:\n"
                                            "        - {address: 127.0.0.1:0, algorithm: sha256d}\n"
                                            "        - {address: 127.0.0.1:0, algorithm: sha256d}\n")
                                     .api());
  ASSERT_TRUE(host.services_up()) << host.output();
  const uint16_t port = host.api_port();
  ASSERT_TRUE(host.wait_for(std::regex("stratum-server: listening on 127\\.0\\.0\\.1:[0-9]+[\\s\\S]*stratum-server: listening on 127\\.0\\.0\\.1:[0-9]+")))
      << host.output();
  // The ports the log names, in order.
  std::vector<std::string> logged;
  {
    const std::string out = host.output();
    const std::regex re("stratum-server: listening on (127\\.0\\.0\\.1:[0-9]+)");
    for (auto it = std::sregex_iterator(out.begin(), out.end(), re); it != std::sregex_iterator(); ++it) logged.push_back((*it)[1].str());
  }
  ASSERT_EQ(logged.size(), 2U) << host.output();
  EXPECT_NE(logged[0], logged[1]);

  Object::Ptr pool;
  ASSERT_TRUE(eventually([&] {
    const Http r = request(port, "GET", "/api/pools");
    if (r.code != 200) return false;
    pool = r.json()->getArray("pools")->getObject(0);
    return pool->getValue<uint64_t>("workers") > 0;
  })) << host.output();
  EXPECT_EQ(pool->getValue<std::string>("stratum"), logged[0]);
  const auto ports = pool->getArray("stratum_ports");
  ASSERT_EQ(ports->size(), 2U);
  EXPECT_EQ(ports->getElement<std::string>(0), logged[0]);
  EXPECT_EQ(ports->getElement<std::string>(1), logged[1]);
  for (const auto& l : logged) EXPECT_NE(l, "127.0.0.1:0");
  EXPECT_EQ(pool->getValue<uint64_t>("workers"), 1U);  // local:cpu0
  EXPECT_EQ(pool->getValue<uint64_t>("miners"), 1U);   // the host's own account

  // Device hashrate: eight reads a second apart, all above zero (a one-second rate of a device that counts
  // its hashes in batches reads 0 between them). Polled: a slow machine only takes longer to get there.
  ASSERT_TRUE(eventually([&] {
    for (int i = 0; i < 8; ++i) {
      if (i > 0) std::this_thread::sleep_for(1s);
      const Http r = request(port, "GET", "/api/devices");
      if (r.code != 200) return false;
      const auto dl = r.json()->getArray("devices");
      if (dl->size() != 1 || !(dl->getObject(0)->getValue<double>("hashrate") > 0)) return false;
      const Http st = request(port, "GET", "/api/status");
      if (st.code != 200 || !(st.json()->getValue<double>("hashrate") > 0)) return false;
    }
    return true;
  }, 300s)) << host.output();
}
