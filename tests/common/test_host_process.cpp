// The shared child-process helper (host_process.hpp): what every test that spawns otedama-host relies on.
//  - a child's stdout and stderr land in its log (one file, or two), with its exit code;
//  - wait_for finds the last words of a child that already exited, and gives up once it exited;
//  - stop() is SIGTERM then SIGKILL, kill9() is kill -9, every child is reaped; the environment is set;
//  - free ports are distinct and nobody listens on them;
//  - the configuration HostConfig writes names no default port (API 8080, metrics 9090, health 8081,
//    stratum 3333) and refuses a test's own api:/monitoring: section;
//  - a real `otedama-host serve` answers HTTP on the free API, metrics and health ports it was given, says
//    where its stratum server listens, and stops cleanly; a port taken before the host bound it is retried.
// No timing is asserted: every wait is a guard of minutes.
#include "host_process.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <set>

namespace {

using namespace otedama::test;
using namespace std::chrono_literals;

TEST(HostProcessHelper, OutputLandsInTheLogWithTheExitCode) {
  const fs::path dir = fresh_dir("helper-output");
  {
    Process p("/bin/sh", {"-c", "echo to-stdout; echo to-stderr >&2; exit 3"}, {.dir = dir, .name = "merged"});
    EXPECT_EQ(p.wait_exit(), 3);
    EXPECT_FALSE(p.running());
    EXPECT_NE(p.log().find("to-stdout"), std::string::npos) << p.log();
    EXPECT_NE(p.log().find("to-stderr"), std::string::npos) << p.log();
    EXPECT_EQ(p.log_path(), dir / "merged.log");
  }
  {
    Process p("/bin/sh", {"-c", "echo to-stdout; echo to-stderr >&2"}, {.dir = dir, .name = "split", .separate_stdout = true});
    EXPECT_EQ(p.wait_exit(), 0);
    EXPECT_EQ(p.out(), "to-stdout\n");
    EXPECT_EQ(p.log(), "to-stderr\n");
    EXPECT_TRUE(p.wait_for(std::regex("to-stdout"), kHangGuard, /*in_stdout=*/true).has_value());
  }
  if (!::testing::Test::HasFailure()) fs::remove_all(dir);
}

TEST(HostProcessHelper, WaitForSeesLastWordsAndGivesUpWhenTheChildExited) {
  const fs::path dir = fresh_dir("helper-wait");
  Process p("/bin/sh", {"-c", "echo 'port 4242 ready'"}, {.dir = dir, .name = "once"});
  const auto m = p.wait_for(std::regex("port ([0-9]+) ready"));
  ASSERT_TRUE(m.has_value()) << p.log();
  EXPECT_EQ((*m)[1], "4242");
  EXPECT_EQ(m->position, 0U);
  // Never written, and the child is gone: nullopt, long before the guard (the test would time out otherwise).
  EXPECT_FALSE(p.wait_for(std::regex("never written"), 1h).has_value());
  EXPECT_EQ(p.exit_code(), 0);
  // `from` skips what came before ("port 4242 ready": "ready" starts at 10).
  EXPECT_EQ(p.wait_for(std::regex("ready"), 1h, false, 10)->position, 10U);
  EXPECT_FALSE(p.wait_for(std::regex("ready"), 1h, false, 11).has_value());
  if (!::testing::Test::HasFailure()) fs::remove_all(dir);
}

TEST(HostProcessHelper, StopIsSigtermThenSigkillAndKill9Reaps) {
  const fs::path dir = fresh_dir("helper-stop");
  {
    Process p("/bin/sh", {"-c", "trap 'exit 7' TERM; echo up; while :; do sleep 0.1; done"}, {.dir = dir, .name = "term"});
    ASSERT_TRUE(p.wait_for(std::regex("up")).has_value());
    EXPECT_EQ(p.stop(), 7);  // it handled SIGTERM
  }
  {
    Process p("/bin/sh", {"-c", "trap '' TERM; echo up; while :; do sleep 0.1; done"}, {.dir = dir, .name = "deaf"});
    ASSERT_TRUE(p.wait_for(std::regex("up")).has_value());
    // Deaf to SIGTERM: killed after the guard (a short one: what is waited for must not happen).
    EXPECT_EQ(p.kill(SIGTERM, 2s), std::nullopt);
    EXPECT_EQ(p.exit_code(), 128 + SIGKILL);
    EXPECT_FALSE(p.running());
  }
  {
    Process p("/bin/sh", {"-c", "echo up; while :; do sleep 0.1; done"}, {.dir = dir, .name = "nine"});
    ASSERT_TRUE(p.wait_for(std::regex("up")).has_value());
    const pid_t pid = p.pid();
    EXPECT_EQ(p.kill9(), 128 + SIGKILL);
    EXPECT_EQ(::waitpid(pid, nullptr, WNOHANG), -1) << "already reaped";
  }
  pid_t left = -1;
  {
    Process p("/bin/sh", {"-c", "while :; do sleep 0.1; done"}, {.dir = dir, .name = "scope"});
    left = p.pid();
  }
  EXPECT_EQ(::kill(left, 0), -1) << "the destructor stopped and reaped the child";
  if (!::testing::Test::HasFailure()) fs::remove_all(dir);
}

TEST(HostProcessHelper, EnvironmentAndWorkingDirectory) {
  const fs::path dir = fresh_dir("helper-env");
  ::setenv("OTEDAMA_PLUGIN_PATH", "/nowhere", 1);
  Process p("/bin/sh", {"-c", "echo \"$OTEDAMA_TEST_FOO:${OTEDAMA_PLUGIN_PATH-unset}:$(pwd)\""},
            {.dir = dir, .name = "env", .env = {{"OTEDAMA_TEST_FOO", "bar"}}});
  ::unsetenv("OTEDAMA_PLUGIN_PATH");
  EXPECT_EQ(p.wait_exit(), 0);
  EXPECT_EQ(p.log(), "bar:unset:" + fs::canonical(dir).string() + "\n");
  if (!::testing::Test::HasFailure()) fs::remove_all(dir);
}

TEST(HostProcessHelper, FreePortsAreDistinctAndNobodyListens) {
  const auto ports = free_ports(16);
  std::set<uint16_t> distinct(ports.begin(), ports.end());
  EXPECT_EQ(distinct.size(), ports.size());
  for (uint16_t p : ports) {
    EXPECT_NE(p, 0);
    EXPECT_EQ(http_get(p, "/", 5s).status, 0) << "something answers on " << p;
  }
}

TEST(HostProcessHelper, ConfigNamesNoDefaultPort) {
  static const std::regex defaults(":(8080|9090|8081|3333)\n");
  HostPorts p;
  const std::string off = HostConfig("mining:\n  enable_cpu: false\n").render(&p);
  EXPECT_FALSE(std::regex_search(off, defaults)) << off;
  EXPECT_NE(off.find("api:\n  enable: false\n"), std::string::npos) << off;
  EXPECT_NE(off.find("  metrics:\n    enable: false\n"), std::string::npos) << off;
  EXPECT_NE(off.find("  health:\n    enable: false\n"), std::string::npos) << off;
  EXPECT_NE(off.find("pool:\n  address: 127.0.0.1:" + std::to_string(p.pool) + "\n"), std::string::npos) << off;
  EXPECT_EQ(p.api, 0);

  const std::string on = HostConfig("pool: {enable: false}\n").api("  rate_limit: 0\n").metrics().health().render(&p);
  EXPECT_FALSE(std::regex_search(on, defaults)) << on;
  EXPECT_EQ(p.pool, 0) << "the test's own pool section stays";
  EXPECT_NE(on.find("address: 127.0.0.1:" + std::to_string(p.api) + "\n  rate_limit: 0\n"), std::string::npos) << on;
  EXPECT_NE(on.find("address: 127.0.0.1:" + std::to_string(p.metrics) + "\n"), std::string::npos) << on;
  EXPECT_NE(on.find("address: 127.0.0.1:" + std::to_string(p.health) + "\n"), std::string::npos) << on;
  EXPECT_EQ(std::set<uint16_t>({p.api, p.metrics, p.health}).size(), 3U);

  EXPECT_THROW(HostConfig("api:\n  enable: true\n"), std::logic_error);
  EXPECT_THROW(HostConfig("storage: {path: x}\nmonitoring: {metrics: {enable: false}}\n"), std::logic_error);
  EXPECT_NO_THROW(HostConfig("plugins:\n  settings:\n    api: {}\n"));  // not a top-level section
}

std::string devnet_yaml(const fs::path& dir) {
  return "mining:\n  enable_cpu: false\nstorage:\n  path: " + (dir / "ledger.db").string() +
         "\ndevnet:\n  difficulty: 0.001\n  block_time: 0\n";
}

TEST(HostProcessHelper, ServeOnFreePortsAnswersAndStopsCleanly) {
  const fs::path dir = fresh_dir("helper-serve");
  HostProcess host(dir, HostConfig(devnet_yaml(dir)).api("  auth: {enabled: false}\n").metrics().health(),
                   {.args = {"serve", "--run-for", "600"}});
  ASSERT_TRUE(host.services_up()) << host.log();
  EXPECT_EQ(host.config_path(), dir / "host.yaml");
  const auto stratum = host.stratum_port();
  ASSERT_TRUE(stratum.has_value()) << host.log();
  EXPECT_EQ(*stratum, host.ports().pool);
  HttpReply r;
  EXPECT_TRUE(eventually([&] { return (r = http_get(host.api_port(), "/api/status")).status == 200; })) << r.headers << r.body;
  EXPECT_NE(r.body.find("\"mode\""), std::string::npos) << r.body;
  r = http_get(host.metrics_port(), "/metrics");
  EXPECT_EQ(r.status, 200) << r.headers;
  EXPECT_NE(r.body.find("# TYPE "), std::string::npos) << r.body;
  EXPECT_EQ(http_get(host.health_port(), "/livez").status, 200);
  EXPECT_EQ(host.stop(), 0);
  EXPECT_EQ(host.log().find("cannot listen"), std::string::npos) << host.log();
  if (!::testing::Test::HasFailure()) fs::remove_all(dir);
}

TEST(HostProcessHelper, APortTakenBeforeTheHostBindsItIsRetried) {
  const fs::path dir = fresh_dir("helper-retry");
  LoopbackListener taken;  // as if another test's host had bound the free port first
  HostProcess host(dir, HostConfig(devnet_yaml(dir)).api("  auth: {enabled: false}\n").first_try({.api = taken.port()}),
                   {.args = {"serve", "--run-for", "600"}});
  ASSERT_TRUE(host.services_up()) << host.log();
  EXPECT_NE(host.api_port(), taken.port());
  EXPECT_TRUE(eventually([&] { return http_get(host.api_port(), "/api/status").status == 200; })) << host.log();
  EXPECT_EQ(host.stop(), 0);
  if (!::testing::Test::HasFailure()) fs::remove_all(dir);
}

}  // namespace
