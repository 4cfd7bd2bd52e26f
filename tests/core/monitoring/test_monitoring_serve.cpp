// Monitoring (issue 8) over real HTTP on loopback, against a running `otedama-host serve`:
//  - a devnet pool with local CPU mining (one confirmation, payments every second): /metrics has the
//    expected families, the share counters rise as shares are accepted, blocks are confirmed and payments
//    sent, and `promtool check metrics` (Debian's prometheus package) passes on the scraped text; /livez answers 200; /readyz 200 once the devnet delivered a template, 503 while another
//    connection holds the ledger's write lock, and 200 again when it lets go;
//  - a miner whose pool is not there: its job source never delivers a template, so /readyz answers 503 and
//    says why, /livez 200; the metrics port is taken by the test, so the host logs that address and goes on.
// Ports are free ones the test picks on 127.0.0.1. No timing is asserted: every wait is a guard of minutes
// that polls for its condition.
#include <sys/wait.h>
#include <unistd.h>

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "host_process.hpp"

#include "storage/database.hpp"

#ifndef OTEDAMA_HOST
#error "OTEDAMA_HOST must name the built otedama-host"
#endif

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

using otedama::test::free_port;
using otedama::test::HostConfig;
using otedama::test::HostProcess;
using otedama::test::LoopbackListener;

HostProcess serve(const fs::path& dir, HostConfig config) { return HostProcess(dir, std::move(config), {.args = {"serve", "--run-for", "900"}}); }

struct Reply {
  int status = 0;
  std::string content_type;
  std::string body;
};
Reply http(uint16_t port, const std::string& path, const std::string& method = "GET") {
  Poco::Net::HTTPClientSession session("127.0.0.1", port);
  session.setTimeout(Poco::Timespan(30, 0));
  Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
  session.sendRequest(request);
  Poco::Net::HTTPResponse response;
  std::istream& in = session.receiveResponse(response);
  Reply r;
  r.status = static_cast<int>(response.getStatus());
  r.content_type = response.getContentType();
  Poco::StreamCopier::copyToString(in, r.body);
  return r;
}

/// Polls `fetch` until `done` holds (guard: minutes). Returns the last reply.
Reply poll(const std::function<Reply()>& fetch, const std::function<bool(const Reply&)>& done, std::chrono::seconds guard = 180s) {
  const auto until = std::chrono::steady_clock::now() + guard;
  Reply r = fetch();
  while (!done(r) && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(200ms);
    r = fetch();
  }
  return r;
}

/// The value of the sample `series` (name and labels, exactly as rendered) in an exposition, or nullopt.
std::optional<double> sample(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 && line[series.size()] == ' ')
      return std::strtod(line.c_str() + series.size() + 1, nullptr);
  }
  return std::nullopt;
}
double accepted_shares(const std::string& text) {
  return sample(text, "otedama_shares_total{result=\"accepted\"}").value_or(0) + sample(text, "otedama_shares_total{result=\"block\"}").value_or(0);
}

/// `promtool check metrics` on `text`: its exit status and what it printed. promtool must be installed
/// (scripts/install-deps.sh: Debian's prometheus package); a missing promtool fails the test.
std::pair<int, std::string> promtool_check(const fs::path& dir, const std::string& text) {
  const fs::path in = dir / "scrape.txt", out = dir / "promtool.txt";
  std::ofstream(in, std::ios::binary) << text;
  const std::string cmd = "promtool check metrics < '" + in.string() + "' > '" + out.string() + "' 2>&1";
  const int st = std::system(cmd.c_str());
  std::ifstream o(out);
  std::stringstream ss;
  ss << o.rdbuf();
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, ss.str()};
}

fs::path fresh_dir(const std::string& name) { return otedama::test::fresh_dir("monitoring-" + name); }

}  // namespace

TEST(MonitoringServe, DevnetPoolMetricsPromtoolAndHealth) {
  ASSERT_EQ(std::system("command -v promtool > /dev/null"), 0)
      << "promtool is missing: install Debian's prometheus package (scripts/install-deps.sh installs it)";
  const fs::path dir = fresh_dir("pool");
  const fs::path db = dir / "ledger.db";
  // Devnet sha256d at a fixed difficulty 0.001 (~4.3 M hashes a block): one CPU thread finds blocks (every
  // local share is a block candidate in pool mode) every second or few. Metrics and health on free ports.
  HostProcess host = serve(dir, HostConfig("mining:\n  enable_cpu: true\n  cpu: {threads: 1}\n"
                                           "pool:\n  address: 127.0.0.1:" + std::to_string(free_port()) + "\n"
                                           "  rewards: {confirmations: 1}\n  payments: {minimum: 1, interval: 1s, wallet: devnet}\n"
                                           "storage:\n  path: " + db.string() + "\n"
                                           "devnet:\n  difficulty: 0.001\n  block_time: 0\n")
                                    .metrics()
                                    .health());
  ASSERT_TRUE(host.services_up()) << host.output();
  const uint16_t metrics_port = host.metrics_port(), health_port = host.health_port();

  // Ready once the devnet delivered its first template (and the ledger takes writes).
  const auto readyz = [&] { return http(health_port, "/readyz"); };
  Reply r = poll(readyz, [](const Reply& x) { return x.status == 200; });
  ASSERT_EQ(r.status, 200) << r.body << host.output();
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_NE(r.body.find("\"ready\":true"), std::string::npos) << r.body;
  r = http(health_port, "/livez");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("\"live\":true"), std::string::npos) << r.body;
  EXPECT_EQ(http(health_port, "/nothing").status, 404);
  EXPECT_EQ(http(health_port, "/livez", "POST").status, 405);

  // Shares accepted: the counter is there, then rises.
  const auto metrics = [&] { return http(metrics_port, "/metrics"); };
  r = poll(metrics, [](const Reply& x) { return x.status == 200 && accepted_shares(x.body) > 0; });
  ASSERT_GT(accepted_shares(r.body), 0) << r.body << host.output();
  EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
  const double first = accepted_shares(r.body);
  r = poll(metrics, [&](const Reply& x) { return x.status == 200 && accepted_shares(x.body) > first; });
  EXPECT_GT(accepted_shares(r.body), first) << r.body;
  // Wait for a scrape with a storage commit, a pool hashrate measured, a block confirmed (one confirmation)
  // and a payment sent (the pool's balance, from the local shares' credits), then check the families.
  r = poll(metrics, [](const Reply& x) {
    return sample(x.body, "otedama_storage_commit_duration_seconds_count").value_or(0) > 0 &&
           sample(x.body, "otedama_blocks_confirmed_total{coin=\"DEVNET\"}").value_or(0) > 0 &&
           sample(x.body, "otedama_payments_total{wallet=\"devnet\",result=\"sent\"}").value_or(0) > 0 &&
           sample(x.body, "otedama_pool_hashrate_hashes_per_second").value_or(0) > 0 &&
           sample(x.body, "otedama_local_hashrate_hashes_per_second").value_or(0) > 0;
  });
  const std::string& text = r.body;
  for (const char* family : {
           "# TYPE otedama_shares_total counter",
           "# TYPE otedama_blocks_found_total counter",
           "# TYPE otedama_blocks_confirmed_total counter",
           "# TYPE otedama_blocks_orphaned_total counter",
           "# TYPE otedama_blocks_rejected_total counter",
           "# TYPE otedama_payments_total counter",
           "# TYPE otedama_payments_amount_atomic_units_total counter",
           "# TYPE otedama_accepted_work_hashes_total counter",
           "# TYPE otedama_local_hashrate_hashes_per_second gauge",
           "# TYPE otedama_pool_hashrate_hashes_per_second gauge",
           "# TYPE otedama_device_hashrate_hashes_per_second gauge",
           "# TYPE otedama_device_hashes_total counter",
           "# TYPE otedama_device_errors_total counter",
           "# TYPE otedama_device_temperature_celsius gauge",
           "# TYPE otedama_device_fan_speed_ratio gauge",
           "# TYPE otedama_device_power_watts gauge",
           "# TYPE otedama_plugin_call_duration_seconds histogram",
           "# TYPE otedama_storage_commit_duration_seconds histogram",
           "# TYPE otedama_net_connections gauge",
           "# TYPE otedama_stratum_connections gauge",
       })
    EXPECT_NE(text.find(std::string(family) + "\n"), std::string::npos) << family << "\n" << text;
  EXPECT_GT(sample(text, "otedama_blocks_found_total{coin=\"DEVNET\"}").value_or(0), 0) << text;
  EXPECT_GT(sample(text, "otedama_local_hashrate_hashes_per_second").value_or(0), 0) << text;
  EXPECT_GT(sample(text, "otedama_blocks_confirmed_total{coin=\"DEVNET\"}").value_or(0), 0) << text;
  EXPECT_GT(sample(text, "otedama_payments_total{wallet=\"devnet\",result=\"sent\"}").value_or(0), 0) << text;
  EXPECT_GT(sample(text, "otedama_payments_amount_atomic_units_total{coin=\"DEVNET\"}").value_or(0), 0) << text;
  EXPECT_GT(sample(text, "otedama_pool_hashrate_hashes_per_second").value_or(0), 0) << text;
  EXPECT_GT(sample(text, "otedama_storage_commit_duration_seconds_count").value_or(0), 0) << text;
  // The scheduler's re-verification of local shares by the algorithm plugin, a histogram with +Inf.
  EXPECT_GT(sample(text, "otedama_plugin_call_duration_seconds_count{plugin=\"org.otedama.algorithm.sha256d\",call=\"verify\"}").value_or(0), 0) << text;
  EXPECT_EQ(sample(text, "otedama_plugin_call_duration_seconds_bucket{plugin=\"org.otedama.algorithm.sha256d\",call=\"verify\",le=\"+Inf\"}"),
            sample(text, "otedama_plugin_call_duration_seconds_count{plugin=\"org.otedama.algorithm.sha256d\",call=\"verify\"}")) << text;
  EXPECT_EQ(sample(text, "otedama_monitoring_server_up{server=\"metrics\"}"), 1.0) << text;
  EXPECT_EQ(sample(text, "otedama_stratum_connections{plugin=\"org.otedama.transport.stratum-server\"}"), 0.0) << text;

  const auto [rc, lint] = promtool_check(dir, text);
  EXPECT_EQ(rc, 0) << lint;
  EXPECT_EQ(lint, "") << lint;

  // Storage that cannot take a write: another connection holds the write lock.
  {
    otedama::storage::Database locker(db.string());
    locker.exec("BEGIN EXCLUSIVE");
    r = poll(readyz, [](const Reply& x) { return x.status == 503; });
    EXPECT_EQ(r.status, 503) << r.body;
    EXPECT_NE(r.body.find("\"storage\":{\"ok\":false"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("\"job_source\":{\"ok\":true"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("\"reason\":"), std::string::npos) << r.body;
    EXPECT_EQ(http(health_port, "/livez").status, 200);  // alive all the same
    locker.exec("ROLLBACK");
  }
  r = poll(readyz, [](const Reply& x) { return x.status == 200; });
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(host.stop(), 0) << host.output();
}

TEST(MonitoringServe, NotReadyWithoutATemplateAndATakenMetricsPort) {
  const fs::path dir = fresh_dir("miner");
  LoopbackListener taken;  // the metrics port is in use
  const uint16_t absent_pool = free_port();  // nothing listens there: the miner's pool is down
  HostProcess host = serve(dir, HostConfig("app:\n  mode: miner\n"
                                           "mining:\n  enable_cpu: false\n"
                                           "pool:\n  enable: false\n  source: stratum-client\n"
                                           "miner:\n  pools:\n    - {url: stratum+tcp://127.0.0.1:" + std::to_string(absent_pool) + ", user: tester}\n"
                                           "storage:\n  path: " + (dir / "ledger.db").string() + "\n")
                                    .metrics_at(taken.port())
                                    .health());
  const uint16_t health_port = host.health_port();
  ASSERT_TRUE(host.wait_for(std::regex("metrics: cannot listen on 127\\.0\\.0\\.1:" + std::to_string(taken.port())))) << host.output();
  ASSERT_TRUE(host.wait_for(std::regex("health: serving /livez and /readyz"))) << host.output();
  ASSERT_TRUE(host.wait_for(std::regex("serving: job source stratum-client"))) << host.output();
  const Reply live = http(health_port, "/livez");
  EXPECT_EQ(live.status, 200) << live.body;
  const Reply ready = http(health_port, "/readyz");
  EXPECT_EQ(ready.status, 503) << ready.body;
  EXPECT_NE(ready.body.find("\"ready\":false"), std::string::npos) << ready.body;
  EXPECT_NE(ready.body.find("\"job_source\":{\"ok\":false"), std::string::npos) << ready.body;
  EXPECT_NE(ready.body.find("not delivered a template"), std::string::npos) << ready.body;
  EXPECT_NE(ready.body.find("\"storage\":{\"ok\":true"), std::string::npos) << ready.body;
  EXPECT_EQ(host.stop(), 0) << host.output();
}
