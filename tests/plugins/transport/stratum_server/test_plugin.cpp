// The stratum-server plugin as the host loads it: the built .so through the C ABI (plugin_harness.hpp),
// with fake otedama.jobs/1, otedama.timer/1 and otedama.net/1 services. The net fake records how the
// plugin listens and lets the test play the host's [io] callbacks; no socket is opened here (the loopback
// tests through a real host are in test_integration.cpp).
#include "plugin_harness.hpp"

#include <otedama/common/uint256.hpp>

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace th = otedama::testing;

namespace {

constexpr const char* kId = "org.otedama.transport.stratum-server";

struct FakeNet {
  otd_net_service_t table{};
  std::mutex mutex;
  struct Listen {
    std::string host;
    uint16_t port = 0;
    otd_net_options_t options{};
    otd_net_handlers_t handlers{};
    bool tls = false;
  };
  std::vector<Listen> listens;
  std::map<otd_conn_t, std::string> sent;
  std::vector<otd_conn_t> closed;
  std::vector<otd_conn_t> open;
  size_t shutdowns = 0;
  otd_status_t listen_status = OTD_OK;

  FakeNet() {
    table.struct_size = sizeof table;
    table.listen = &listen_cb;
    table.close_listener = [](const otd_host_t*, otd_net_listener_t*) {};
    table.connect = [](const otd_host_t*, const char*, uint16_t, const otd_net_options_t*, const otd_net_handlers_t*, uint64_t,
                       otd_conn_t*, char*, size_t) -> otd_status_t { return OTD_ERR_UNSUPPORTED; };
    table.send = &send_cb;
    table.send_many = &send_many_cb;
    table.close = &close_cb;
    table.shutdown = &shutdown_cb;
  }
  static FakeNet*& self() {
    static FakeNet* instance = nullptr;
    return instance;
  }
  static otd_status_t OTD_CALL listen_cb(const otd_host_t*, const char* address, uint16_t port, const otd_net_options_t* options,
                                         const otd_net_handlers_t* handlers, otd_net_listener_t** out, uint16_t* bound, char* err,
                                         size_t cap) {
    FakeNet& n = *self();
    if (n.listen_status != OTD_OK) {
      std::snprintf(err, cap, "address already in use");
      return n.listen_status;
    }
    Listen l;
    l.host = address;
    l.port = port;
    l.options = *options;
    l.handlers = *handlers;
    l.tls = options->tls != 0;
    n.listens.push_back(l);
    *out = reinterpret_cast<otd_net_listener_t*>(&n.listens.back());
    if (bound != nullptr) *bound = port == 0 ? 40000 : port;
    return OTD_OK;
  }
  static otd_status_t OTD_CALL send_cb(const otd_host_t*, otd_conn_t conn, const uint8_t* data, size_t size) {
    FakeNet& n = *self();
    std::lock_guard lock(n.mutex);
    n.sent[conn].append(reinterpret_cast<const char*>(data), size);
    return OTD_OK;
  }
  static otd_status_t OTD_CALL send_many_cb(const otd_host_t* h, const otd_conn_t* conns, size_t count, const uint8_t* data, size_t size,
                                            size_t* sent) {
    for (size_t i = 0; i < count; ++i) send_cb(h, conns[i], data, size);
    if (sent != nullptr) *sent = count;
    return OTD_OK;
  }
  static void OTD_CALL close_cb(const otd_host_t*, otd_conn_t conn, uint32_t) {
    FakeNet& n = *self();
    std::lock_guard lock(n.mutex);
    n.closed.push_back(conn);
  }
  static void OTD_CALL shutdown_cb(const otd_host_t*) {
    FakeNet& n = *self();
    ++n.shutdowns;
    // The contract: every open connection gets its on_close before shutdown returns.
    for (otd_conn_t c : n.open)
      if (!n.listens.empty()) n.listens[0].handlers.on_close(n.listens[0].handlers.user, c, OTD_NET_CLOSED_SHUTDOWN, "shutdown");
    n.open.clear();
  }

  /// Play an accepted connection on listener 0.
  otd_status_t accept(otd_conn_t conn, const char* peer) {
    const auto& h = listens.at(0).handlers;
    const otd_status_t st = h.on_open(h.user, conn, 0, peer, "127.0.0.1:40000");
    if (st == OTD_OK) {
      open.push_back(conn);
    } else {
      h.on_close(h.user, conn, OTD_NET_CLOSED_BY_PLUGIN, "refused");
    }
    return st;
  }
  void line(otd_conn_t conn, const std::string& text) {
    const auto& h = listens.at(0).handlers;
    h.on_data(h.user, conn, reinterpret_cast<const uint8_t*>(text.data()), text.size());
  }
  std::string take(otd_conn_t conn) {
    std::lock_guard lock(mutex);
    return std::exchange(sent[conn], std::string());
  }
};

struct FakeJobs {
  otd_jobs_service_t table{};
  std::vector<otd_candidate_t> candidates;
  std::vector<std::vector<uint8_t>> extranonces;
  FakeJobs() {
    table.struct_size = sizeof table;
    table.submit_template = [](const otd_host_t*, const otd_template_t*, uint64_t*, char*, size_t) -> otd_status_t { return OTD_ERR_UNSUPPORTED; };
    table.submit_candidate = &submit_cb;
  }
  static FakeJobs*& self() {
    static FakeJobs* instance = nullptr;
    return instance;
  }
  static otd_status_t OTD_CALL submit_cb(const otd_host_t*, const otd_candidate_t* c) {
    self()->candidates.push_back(*c);
    self()->extranonces.emplace_back(c->extranonce, c->extranonce + c->extranonce_size);
    return OTD_OK;
  }
};

struct FakeTimer {
  otd_timer_service_t table{};
  otd_timer_fn fn = nullptr;
  void* user = nullptr;
  uint32_t interval = 0;
  size_t cancels = 0;
  FakeTimer() {
    table.struct_size = sizeof table;
    table.start = &start_cb;
    table.cancel = &cancel_cb;
  }
  static FakeTimer*& self() {
    static FakeTimer* instance = nullptr;
    return instance;
  }
  static otd_status_t OTD_CALL start_cb(const otd_host_t*, uint32_t interval_ms, uint32_t, otd_timer_fn fn, void* user, otd_timer_t** out) {
    self()->fn = fn;
    self()->user = user;
    self()->interval = interval_ms;
    *out = reinterpret_cast<otd_timer_t*>(self());
    return OTD_OK;
  }
  static void OTD_CALL cancel_cb(const otd_host_t*, otd_timer_t*) { ++self()->cancels; }
};

/// otedama.algorithms/1 with a stand-in "randomx" whose build_blob writes the extranonce over the reserved
/// bytes of the template (the real one recomputes the tree root; tests/.../test_server_monero.cpp covers that).
struct FakeAlgorithms {
  otd_algorithms_service_t table{};
  otd_algorithm_t algo{};
  otd_plugin_t plugin{};
  size_t builds = 0;
  FakeAlgorithms() {
    table.struct_size = sizeof table;
    table.find = &find_cb;
    algo.struct_size = sizeof algo;
    algo.name = "randomx";
    algo.build_blob = &build_cb;
    plugin.struct_size = sizeof plugin;
  }
  static FakeAlgorithms*& self() {
    static FakeAlgorithms* instance = nullptr;
    return instance;
  }
  static otd_status_t OTD_CALL find_cb(const otd_host_t*, const char* name, const otd_plugin_t** plugin, const otd_algorithm_t** table) {
    if (std::string_view(name) != "randomx") return OTD_ERR_NOT_FOUND;
    *plugin = &self()->plugin;
    *table = &self()->algo;
    return OTD_OK;
  }
  static otd_status_t OTD_CALL build_cb(const otd_plugin_t*, const otd_template_t* t, const uint8_t* extranonce, uint32_t size, uint32_t,
                                        uint32_t, uint8_t* blob, uint32_t cap, uint32_t* blob_size, uint32_t* nonce_offset,
                                        uint32_t* nonce_size, char*, size_t) {
    ++self()->builds;
    *blob_size = t->blob_size;
    if (cap < t->blob_size) return OTD_ERR_BUFFER_TOO_SMALL;
    std::memcpy(blob, t->blob, t->blob_size);
    std::memcpy(blob + t->reserved_offset, extranonce, size);
    *nonce_offset = 39;
    *nonce_size = 4;
    return OTD_OK;
  }
};

class StratumPlugin : public ::testing::Test {
 protected:
  void SetUp() override {
    FakeNet::self() = &net;
    FakeJobs::self() = &jobs;
    FakeTimer::self() = &timer;
    FakeAlgorithms::self() = &algorithms;
  }
  void give_services(bool with_net = true) {
    host.set_service(OTD_SERVICE_JOBS, &jobs.table);
    host.set_service(OTD_SERVICE_TIMER, &timer.table);
    if (with_net) host.set_service(OTD_SERVICE_NET, &net.table);
  }
  th::CreateResult create() {
    return th::create_instance(OTEDAMA_STRATUM_SERVER_PLUGIN, kId, OTD_TRANSPORT_INTERFACE_ID, host);
  }

  FakeNet net;
  FakeJobs jobs;
  FakeTimer timer;
  FakeAlgorithms algorithms;
  th::FakeHost host{R"({"max_connections":2,"idle_timeout":"2m","max_line":2048,"ports":[{"address":"127.0.0.1:0","algorithm":"sha256d","difficulty":2,"vardiff":{"enabled":false}}]})"};
};

/// A small sha256d job as the host's on_job gives it.
struct Job {
  std::vector<uint8_t> cb1 = std::vector<uint8_t>(40, 0x11), cb2 = std::vector<uint8_t>(20, 0x22);
  otd_template_t tmpl{};
  otd_job_t job{};
  explicit Job(uint64_t id) {
    tmpl.struct_size = sizeof tmpl;
    tmpl.flags = OTD_TEMPLATE_CLEAN;
    tmpl.coin = "DEVNET";
    tmpl.algorithm = "sha256d";
    tmpl.source_job_id = "1-1";
    tmpl.version = 0x20000000;
    tmpl.ntime = 0x66000000;
    tmpl.nbits = 0x1e0ffff0;
    tmpl.extranonce_size = 8;
    tmpl.coinbase1 = cb1.data();
    tmpl.coinbase1_size = static_cast<uint32_t>(cb1.size());
    tmpl.coinbase2 = cb2.data();
    tmpl.coinbase2_size = static_cast<uint32_t>(cb2.size());
    job.struct_size = sizeof job;
    job.flags = tmpl.flags;
    job.job_id = id;
    job.tmpl = &tmpl;
    const auto t = *otedama::common::bitcoin_target_from_difficulty(2);
    std::memcpy(job.share_target, t.data(), 32);
    job.share_difficulty = 2;
  }
};

}  // namespace

TEST_F(StratumPlugin, IsAServerTransport) {
  give_services();
  auto r = create();
  ASSERT_TRUE(r.ok()) << r.describe();
  const auto& t = r.instance.table<otd_transport_t>();
  EXPECT_EQ(t.roles, OTD_TRANSPORT_SERVER);
  EXPECT_NE(t.on_job, nullptr);
  EXPECT_NE(t.on_share_result, nullptr);
  EXPECT_EQ(t.submit_block, nullptr);
  EXPECT_EQ(t.submit_share, nullptr);
}

TEST_F(StratumPlugin, ABadConfigurationFailsInitNamingTheKey) {
  host.set_config(R"({"ports":[{"address":"127.0.0.1:0","dialect":"bitcoin","algorithm":"sha256d","difficulty":-1}]})");
  auto r = create();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.step, "plugin-init");
  EXPECT_NE(r.message.find("stratum-server.ports[0].difficulty: must be a number > 0"), std::string::npos) << r.message;
}

TEST_F(StratumPlugin, WithoutPortsItStartsAndListensNowhere) {
  host.set_config("{}");
  give_services(/*with_net=*/false);
  auto r = create();
  ASSERT_TRUE(r.ok()) << r.describe();
  const auto& t = r.instance.table<otd_transport_t>();
  th::ErrorBuffer err;
  ASSERT_EQ(t.start(r.instance.plugin(), err.text, sizeof err.text), OTD_OK) << err.str();
  EXPECT_TRUE(host.logged("no ports configured"));
  otd_transport_status_t s{};
  s.struct_size = sizeof s;
  ASSERT_EQ(t.get_status(r.instance.plugin(), &s), OTD_OK);
  EXPECT_STREQ(s.endpoint, "stratum (no ports)");
  t.stop(r.instance.plugin());
}

TEST_F(StratumPlugin, PortsNeedTheNetService) {
  give_services(/*with_net=*/false);
  auto r = create();
  ASSERT_TRUE(r.ok()) << r.describe();
  const auto& t = r.instance.table<otd_transport_t>();
  th::ErrorBuffer err;
  EXPECT_EQ(t.start(r.instance.plugin(), err.text, sizeof err.text), OTD_ERR_UNSUPPORTED);
  EXPECT_NE(err.str().find("needs the host's otedama.net/1 service"), std::string::npos) << err.str();
}

TEST_F(StratumPlugin, AListenFailureNamesTheAddress) {
  give_services();
  net.listen_status = OTD_ERR_IO;
  auto r = create();
  ASSERT_TRUE(r.ok()) << r.describe();
  th::ErrorBuffer err;
  EXPECT_EQ(r.instance.table<otd_transport_t>().start(r.instance.plugin(), err.text, sizeof err.text), OTD_ERR_IO);
  EXPECT_EQ(err.str(), "stratum-server: cannot listen on 127.0.0.1:0: address already in use");
}

TEST_F(StratumPlugin, ServesAMinerThroughTheHostServices) {
  give_services();
  auto r = create();
  ASSERT_TRUE(r.ok()) << r.describe();
  const auto& t = r.instance.table<otd_transport_t>();
  const otd_plugin_t* p = r.instance.plugin();
  th::ErrorBuffer err;
  ASSERT_EQ(t.start(p, err.text, sizeof err.text), OTD_OK) << err.str();
  // How it listens: line framing with the configured limits.
  ASSERT_EQ(net.listens.size(), 1u);
  EXPECT_EQ(net.listens[0].host, "127.0.0.1");
  EXPECT_EQ(net.listens[0].port, 0);
  EXPECT_EQ(net.listens[0].options.framing, OTD_NET_FRAMING_LINES);
  EXPECT_EQ(net.listens[0].options.max_line, 2048u);
  EXPECT_EQ(net.listens[0].options.idle_timeout_ms, 120000u);
  EXPECT_FALSE(net.listens[0].tls);
  EXPECT_TRUE(host.logged("stratum-server: listening on 127.0.0.1:40000 (bitcoin dialect, sha256d, difficulty 2)"));
  EXPECT_EQ(timer.interval, 1000u);

  Job job(0x2a);
  ASSERT_EQ(t.on_job(p, &job.job), OTD_OK);
  ASSERT_EQ(net.accept(11, "127.0.0.1:5000"), OTD_OK);
  net.line(11, R"({"id":1,"method":"mining.subscribe","params":["cpuminer/2.5.1"]})");
  net.line(11, R"({"id":2,"method":"mining.authorize","params":["acct.cpu","x"]})");
  const std::string hello = net.take(11);
  EXPECT_NE(hello.find(R"({"id":2,"result":true,"error":null})" "\n" R"({"id":null,"method":"mining.set_difficulty","params":[2]})" "\n"
                       R"({"id":null,"method":"mining.notify","params":["2a",)"),
            std::string::npos)
      << hello;
  net.line(11, R"({"id":3,"method":"mining.submit","params":["acct.cpu","2a","00000007","66000000","12345678"]})");
  ASSERT_EQ(jobs.candidates.size(), 1u);
  const otd_candidate_t& c = jobs.candidates[0];
  EXPECT_EQ(c.job_id, 0x2au);
  EXPECT_EQ(c.connection_id, 11u);
  EXPECT_EQ(c.nonce, 0x12345678u);
  EXPECT_EQ(jobs.extranonces[0].size(), 8u);
  EXPECT_EQ(jobs.extranonces[0][4], 0x00);
  EXPECT_EQ(jobs.extranonces[0][7], 0x07);
  EXPECT_GE(jobs.extranonces[0][3], 0x80);  // extranonce1's marker bit

  otd_share_result_t res{};
  res.struct_size = sizeof res;
  res.verdict = OTD_SHARE_DUPLICATE;
  res.job_id = c.job_id;
  res.connection_id = c.connection_id;
  res.submission_id = c.submission_id;
  ASSERT_EQ(t.on_share_result(p, &res), OTD_OK);
  EXPECT_EQ(net.take(11), R"({"id":3,"result":null,"error":[22,"Duplicate share",null]})" "\n");

  // pool.max_connections = 2: the third connection is refused in on_open.
  ASSERT_EQ(net.accept(12, "127.0.0.2:5000"), OTD_OK);
  EXPECT_NE(net.accept(13, "127.0.0.3:5000"), OTD_OK);

  otd_transport_status_t s{};
  s.struct_size = sizeof s;
  ASSERT_EQ(t.get_status(p, &s), OTD_OK);
  EXPECT_EQ(s.connections, 2u);
  EXPECT_EQ(s.submissions, 1u);
  EXPECT_STREQ(s.endpoint, "127.0.0.1:40000");
  EXPECT_EQ(s.state, OTD_STATUS_UP);

  // The timer ticks and flushes the counters into the host's metrics.
  ASSERT_NE(timer.fn, nullptr);
  timer.fn(timer.user);
  const auto names = host.metric_names();
  for (const char* m : {"stratum_submissions_total", "stratum_connections_refused_total", "stratum_disconnects_total", "stratum_events_total",
                        "stratum_connections"})
    EXPECT_NE(std::find(names.begin(), names.end(), m), names.end()) << m;

  t.stop(p);
  EXPECT_EQ(timer.cancels, 1u);
  EXPECT_EQ(net.shutdowns, 1u);
  ASSERT_EQ(t.get_status(p, &s), OTD_OK);
  EXPECT_EQ(s.connections, 0u);
  EXPECT_EQ(s.state, OTD_STATUS_DOWN);
  // After stop nothing reaches the engine.
  Job later(0x2b);
  EXPECT_EQ(t.on_job(p, &later.job), OTD_OK);
}

TEST_F(StratumPlugin, MoneroPortsBuildEachMinersBlobWithTheAlgorithmPlugin) {
  host.set_config(R"({"ports":[{"address":"127.0.0.1:0","dialect":"monero","difficulty":10000,"vardiff":{"enabled":false}}]})");
  give_services();
  auto r = create();
  ASSERT_TRUE(r.ok()) << r.describe();
  const auto& t = r.instance.table<otd_transport_t>();
  const otd_plugin_t* p = r.instance.plugin();
  th::ErrorBuffer err;
  // Without otedama.algorithms/1 there is no way to build a miner's blob: start says so.
  EXPECT_EQ(t.start(p, err.text, sizeof err.text), OTD_ERR_NOT_FOUND);
  EXPECT_NE(err.str().find("needs the randomx algorithm plugin"), std::string::npos) << err.str();
  host.set_service(OTD_SERVICE_ALGORITHMS, &algorithms.table);
  ASSERT_EQ(t.start(p, err.text, sizeof err.text), OTD_OK) << err.str();
  EXPECT_TRUE(host.logged("listening on 127.0.0.1:40000 (monero dialect, randomx, difficulty 10000)"));

  std::vector<uint8_t> blob(80, 0x44), seed(32, 0x55);
  otd_template_t tmpl{};
  tmpl.struct_size = sizeof tmpl;
  tmpl.flags = OTD_TEMPLATE_CLEAN;
  tmpl.coin = "XMR";
  tmpl.algorithm = "randomx";
  tmpl.source_job_id = "x";
  tmpl.height = 3000000;
  tmpl.extranonce_size = 8;
  tmpl.blob = blob.data();
  tmpl.blob_size = static_cast<uint32_t>(blob.size());
  tmpl.reserved_offset = 60;
  tmpl.seed = seed.data();
  tmpl.seed_size = 32;
  otd_job_t job{};
  job.struct_size = sizeof job;
  job.flags = tmpl.flags;
  job.job_id = 5;
  job.tmpl = &tmpl;
  const auto target = *otedama::common::monero_target_from_difficulty(1);
  std::memcpy(job.share_target, target.data(), 32);
  job.share_difficulty = 1;
  ASSERT_EQ(t.on_job(p, &job), OTD_OK);
  ASSERT_EQ(net.accept(21, "127.0.0.1:6000"), OTD_OK);
  net.line(21, R"({"id":1,"jsonrpc":"2.0","method":"login","params":{"login":"4Wallet","pass":"x","agent":"XMRig/6.21.0","algo":["rx/0"]}})");
  const std::string login = net.take(21);
  EXPECT_EQ(login.rfind(R"({"id":1,"jsonrpc":"2.0","error":null,"result":{"id":"15","job":{"blob":"4444)", 0), 0u) << login;
  EXPECT_NE(login.find(R"("target":"b88d0600","algo":"rx/0","height":3000000,"seed_hash":"5555)"), std::string::npos) << login;
  EXPECT_EQ(algorithms.builds, 1u);
  net.line(21, R"({"id":2,"jsonrpc":"2.0","method":"submit","params":{"id":"15","job_id":"1","nonce":"01020304"}})");
  ASSERT_EQ(jobs.candidates.size(), 1u);
  EXPECT_EQ(jobs.candidates[0].nonce, 0x04030201u);
  EXPECT_EQ(jobs.extranonces[0].size(), 8u);
  t.stop(p);
}
