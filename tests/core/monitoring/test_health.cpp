// The health state behind /livez and /readyz (core/monitoring), without a host: the checks are stubs the
// tests set, and a job source's OTD_EVENT_STATUS events mark it down and up again. Also: a server whose
// port is taken throws an error naming the address, and a served /metrics is the registry's rendering.
#include "monitoring/monitoring.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include <cstring>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

using namespace otedama;

namespace {

router::Event status_event(const char* source, uint32_t state, const char* message) {
  otd_event_status_t st{};
  st.header.size = sizeof st;
  st.header.type = OTD_EVENT_STATUS;
  std::strncpy(st.header.source, source, OTD_ID_CAP - 1);
  st.state = state;
  std::strncpy(st.component, "node:127.0.0.1:18081", OTD_ID_CAP - 1);
  std::strncpy(st.message, message, OTD_NAME_CAP - 1);
  router::Event e;
  e.bytes.resize(sizeof st);
  std::memcpy(e.bytes.data(), &st, sizeof st);
  return e;
}

struct Stubs {
  bool control = true, work = true, storage = true;
  monitoring::HealthChecks checks() {
    monitoring::HealthChecks c;
    c.control_answers = [this](std::chrono::milliseconds) { return control; };
    c.source_has_work = [this] { return work; };
    c.storage_writable = [this] { return storage; };
    return c;
  }
};

}  // namespace

TEST(Health, LivenessFollowsTheControlStrand) {
  Stubs s;
  monitoring::Health h("org.x.source", s.checks());
  EXPECT_EQ(h.livez().status, 200);
  s.control = false;
  const auto r = h.livez();
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("\"live\":false"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("control strand"), std::string::npos) << r.body;
}

TEST(Health, ReadinessNeedsWorkAndWritableStorage) {
  Stubs s;
  monitoring::Health h("org.x.source", s.checks());
  EXPECT_EQ(h.readyz().status, 200);
  s.work = false;
  auto r = h.readyz();
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("\"job_source\":{\"ok\":false"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"storage\":{\"ok\":true"), std::string::npos) << r.body;
  s.work = true;
  s.storage = false;
  r = h.readyz();
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("\"storage\":{\"ok\":false"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"reason\":"), std::string::npos) << r.body;
  s.storage = true;
  EXPECT_EQ(h.readyz().status, 200);
}

TEST(Health, ASourceThatReportsItselfDownIsNotReadyUntilUp) {
  Stubs s;
  monitoring::Health h("org.x.source", s.checks());
  h.on_event(status_event("org.other.plugin", OTD_STATUS_DOWN, "not the source"));  // someone else: ignored
  EXPECT_EQ(h.readyz().status, 200);
  h.on_event(status_event("org.x.source", OTD_STATUS_DOWN, "connection refused \"quoted\"\n"));
  auto r = h.readyz();
  EXPECT_EQ(r.status, 503);
  // The plugin's message is in the JSON, escaped.
  EXPECT_NE(r.body.find("node:127.0.0.1:18081: connection refused \\\"quoted\\\"\\n"), std::string::npos) << r.body;
  h.on_event(status_event("org.x.source", OTD_STATUS_DEGRADED, "slow"));  // degraded is still not up
  EXPECT_EQ(h.readyz().status, 503);
  h.on_event(status_event("org.x.source", OTD_STATUS_UP, "mining"));
  EXPECT_EQ(h.readyz().status, 200);
  EXPECT_EQ(h.handle("GET", "/other").status, 404);
  EXPECT_EQ(h.handle("DELETE", "/readyz").status, 405);
}

TEST(Health, JsonStringEscapes) {
  EXPECT_EQ(monitoring::json_string("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\u0001\"");
}

TEST(HttpServer, ATakenPortIsAnErrorNamingTheAddress) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  const uint16_t port = ntohs(a.sin_port);
  try {
    monitoring::HttpServer server("metrics", config::Address{"127.0.0.1", port}, [](const std::string&, const std::string&) { return monitoring::Response{}; });
    ADD_FAILURE() << "bound a port another socket listens on";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("metrics: cannot listen on 127.0.0.1:" + std::to_string(port)), std::string::npos) << e.what();
  }
  ::close(fd);
}

TEST(HttpServer, ServesTheRegistry) {
  router::Metrics metrics;
  const auto c = metrics.add({OTD_METRIC_COUNTER, "otedama_test_things_total", "Things", {"kind"}, {}});
  ASSERT_TRUE(c);
  metrics.update(*c, {"a"}, 2);
  monitoring::HttpServer server("metrics", config::Address{"127.0.0.1", 0},
                                [&metrics](const std::string& m, const std::string& p) { return monitoring::metrics_response(metrics, m, p); });
  ASSERT_NE(server.port(), 0);
  Poco::Net::HTTPClientSession session("127.0.0.1", server.port());
  Poco::Net::HTTPRequest request("GET", "/metrics?x=1", Poco::Net::HTTPMessage::HTTP_1_1);
  session.sendRequest(request);
  Poco::Net::HTTPResponse response;
  std::string body;
  Poco::StreamCopier::copyToString(session.receiveResponse(response), body);
  EXPECT_EQ(response.getStatus(), Poco::Net::HTTPResponse::HTTP_OK);
  EXPECT_EQ(response.getContentType(), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(body, metrics.render());
  EXPECT_NE(body.find("otedama_test_things_total{kind=\"a\"} 2\n"), std::string::npos) << body;
}
