// Tests of core/router: the event bus (validation, copies, overflow) and the metrics registry.
#include "router/event_bus.hpp"
#include "router/metrics.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

using otedama::router::Event;
using otedama::router::EventBus;
using otedama::router::Metrics;

namespace {
otd_event_share_t share_event(uint64_t job) {
  otd_event_share_t ev{};
  ev.header.size = sizeof ev;
  ev.header.type = OTD_EVENT_SHARE;
  ev.job_id = job;
  std::strcpy(ev.worker, "alice.rig1");
  return ev;
}
}  // namespace

TEST(EventBus, DeliversCopiesWithSourceAndTime) {
  EventBus bus;
  std::vector<Event> got;
  bus.subscribe([&](const Event& e) { got.push_back(e); });
  auto ev = share_event(7);
  std::strcpy(ev.header.source, "spoofed.id");
  ASSERT_EQ(bus.post(&ev.header, "org.example.poster", 1234), EventBus::PostResult::ok);
  ev.job_id = 99;  // the bus holds a copy: later changes by the poster do not leak in
  bus.drain();
  ASSERT_EQ(got.size(), 1u);
  const auto* s = got[0].as<otd_event_share_t>(OTD_EVENT_SHARE);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->job_id, 7u);
  EXPECT_STREQ(s->header.source, "org.example.poster");  // the host overwrites the claimed source
  EXPECT_EQ(s->header.time_ns, 1234u);
  EXPECT_STREQ(s->worker, "alice.rig1");
  EXPECT_EQ(got[0].as<otd_event_block_t>(OTD_EVENT_BLOCK), nullptr);
}

// A share event as an ABI 1.0 plugin posts it (before `reason` was appended): accepted, and subscribers read
// the current struct with an empty reason.
TEST(EventBus, WidensAnOlderShorterShareEvent) {
  EventBus bus;
  std::vector<Event> got;
  bus.subscribe([&](const Event& e) { got.push_back(e); });
  std::vector<uint8_t> old(offsetof(otd_event_share_t, reason), 0xee);  // whatever follows in the poster's memory
  auto ev = share_event(5);
  ev.header.size = static_cast<uint32_t>(old.size());
  std::memcpy(old.data(), &ev, old.size());
  std::string why;
  ASSERT_EQ(bus.post(reinterpret_cast<const otd_event_header_t*>(old.data()), "org.example.old", 1, &why), EventBus::PostResult::ok) << why;
  bus.drain();
  ASSERT_EQ(got.size(), 1u);
  const auto* s = got[0].as<otd_event_share_t>(OTD_EVENT_SHARE);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->job_id, 5u);
  EXPECT_EQ(s->header.size, sizeof(otd_event_share_t));
  EXPECT_EQ(s->reason[0], '\0');
}

TEST(EventBus, RejectsMalformedEventsWithAReason) {
  EventBus bus;
  std::string why;
  EXPECT_EQ(bus.post(nullptr, "p", 1, &why), EventBus::PostResult::invalid);
  auto ev = share_event(1);
  ev.header.size = sizeof(otd_event_header_t) + 4;  // claims to be a share event but is truncated
  EXPECT_EQ(bus.post(&ev.header, "p", 1, &why), EventBus::PostResult::invalid);
  EXPECT_NE(why.find("needs at least"), std::string::npos) << why;
  ev.header.size = 1u << 20;  // absurd size
  EXPECT_EQ(bus.post(&ev.header, "p", 1, &why), EventBus::PostResult::invalid);
  ev = share_event(1);
  ev.header.type = 999;  // unknown core type below the user range
  EXPECT_EQ(bus.post(&ev.header, "p", 1, &why), EventBus::PostResult::invalid);
  EXPECT_NE(why.find("unknown event type 999"), std::string::npos) << why;
  EXPECT_EQ(bus.invalid(), 4u);
  // Plugin-private types are accepted at any size from the header up.
  otd_event_header_t user{};
  user.size = sizeof user;
  user.type = OTD_EVENT_USER_BASE + 5;
  EXPECT_EQ(bus.post(&user, "p", 1, &why), EventBus::PostResult::ok);
}

TEST(EventBus, FullQueueDropsAndCounts) {
  EventBus bus(2);
  auto ev = share_event(1);
  EXPECT_EQ(bus.post(&ev.header, "p", 1), EventBus::PostResult::ok);
  EXPECT_EQ(bus.post(&ev.header, "p", 1), EventBus::PostResult::ok);
  EXPECT_EQ(bus.post(&ev.header, "p", 1), EventBus::PostResult::full);
  EXPECT_EQ(bus.dropped(), 1u);
  bus.drain();
  EXPECT_EQ(bus.delivered(), 2u);
}

TEST(EventBus, ThreadDeliversEverythingBeforeStop) {
  EventBus bus;
  std::atomic<int> n{0};
  bus.subscribe([&](const Event&) { n.fetch_add(1); });
  bus.start();
  auto ev = share_event(1);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(bus.post(&ev.header, "p", 1), EventBus::PostResult::ok);
  bus.stop();
  EXPECT_EQ(n.load(), 1000);
}

TEST(Metrics, CountersGaugesHistogramsRender) {
  Metrics m;
  const auto c = m.add({OTD_METRIC_COUNTER, "otedama_shares_total", "Shares", {"result"}, {}});
  const auto g = m.add({OTD_METRIC_GAUGE, "otedama_hashrate_hashes_per_second", "Rate", {}, {}});
  const auto h = m.add({OTD_METRIC_HISTOGRAM, "otedama_verify_seconds", "Verify", {}, {0.001, 0.01}});
  ASSERT_TRUE(c && g && h);
  m.update(*c, {"accepted"}, 1);
  m.update(*c, {"accepted"}, 2);
  m.update(*c, {"accepted"}, -1);  // counters never go down: refused and counted
  m.update(*g, {}, 5);
  m.update(*g, {}, 3);
  m.update(*h, {}, 0.0005);
  m.update(*h, {}, 0.005);
  m.update(*h, {}, 1);
  m.update(*c, {}, 1);  // wrong label count
  EXPECT_EQ(m.value("otedama_shares_total", {"accepted"}), 3.0);
  EXPECT_EQ(m.value("otedama_hashrate_hashes_per_second"), 3.0);
  EXPECT_EQ(m.rejected_updates(), 2u);
  const std::string text = m.render();
  EXPECT_NE(text.find("# TYPE otedama_shares_total counter\n"), std::string::npos) << text;
  EXPECT_NE(text.find("otedama_shares_total{result=\"accepted\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("otedama_verify_seconds_bucket{le=\"0.001\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("otedama_verify_seconds_bucket{le=\"0.01\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("otedama_verify_seconds_bucket{le=\"+Inf\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("otedama_verify_seconds_count 3\n"), std::string::npos) << text;
}

TEST(Metrics, RegistrationRules) {
  Metrics m;
  std::string why;
  EXPECT_FALSE(m.add({OTD_METRIC_COUNTER, "bad name", "", {}, {}}, &why));
  EXPECT_NE(why.find("invalid metric name"), std::string::npos);
  const auto a = m.add({OTD_METRIC_COUNTER, "otedama_x_total", "", {"l"}, {}});
  const auto b = m.add({OTD_METRIC_COUNTER, "otedama_x_total", "", {"l"}, {}});
  ASSERT_TRUE(a && b);
  EXPECT_EQ(*a, *b);  // idempotent
  EXPECT_FALSE(m.add({OTD_METRIC_GAUGE, "otedama_x_total", "", {"l"}, {}}, &why));
  EXPECT_FALSE(m.add({OTD_METRIC_HISTOGRAM, "otedama_h", "", {}, {2, 1}}, &why));
}

TEST(Metrics, PluginMetricsArePrefixedAndLabelled) {
  Metrics m;
  const char* labels[] = {"device"};
  otd_metric_desc_t d{};
  d.struct_size = sizeof d;
  d.type = OTD_METRIC_COUNTER;
  d.name = "asic_resets_total";
  d.help = "Resets";
  d.label_count = 1;
  d.label_names = labels;
  std::string why;
  const auto id = m.add_plugin("com.example.asic", &d, &why);
  ASSERT_TRUE(id) << why;
  const char* values[] = {"usb:1-2"};
  m.update_plugin(*id, "com.example.asic", values, 2);
  m.update_plugin(*id, "com.example.asic", nullptr, 2);  // missing label values: refused, not a crash
  EXPECT_EQ(m.value("otedama_asic_resets_total", {"com.example.asic", "usb:1-2"}), 2.0);
  EXPECT_EQ(m.rejected_updates(), 1u);
  d.label_count = OTD_METRIC_MAX_LABELS + 1;
  EXPECT_FALSE(m.add_plugin("p", &d, &why));
  EXPECT_FALSE(m.add_plugin("p", nullptr, &why));
}

// The text exposition format 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/): a label
// value escapes \ as \\, " as \" and a line feed as \n; HELP text escapes \ and line feed (a " stays).
TEST(Metrics, RenderEscapesLabelValuesAndHelp) {
  Metrics m;
  const auto c = m.add({OTD_METRIC_COUNTER, "otedama_escape_total", "Back\\slash and \"quotes\"\nsecond line", {"worker"}, {}});
  ASSERT_TRUE(c);
  m.update(*c, {"a\\b\"c\nd"}, 1);
  const std::string text = m.render();
  EXPECT_NE(text.find("# HELP otedama_escape_total Back\\\\slash and \"quotes\"\\nsecond line\n"), std::string::npos) << text;
  EXPECT_NE(text.find("otedama_escape_total{worker=\"a\\\\b\\\"c\\nd\"} 1\n"), std::string::npos) << text;
  // Every line is one sample or one comment: the line feeds inside were escaped.
  size_t lines = 0;
  for (char ch : text) lines += ch == '\n' ? 1 : 0;
  EXPECT_EQ(lines, 3u) << text;
}

// Histograms: cumulative _bucket series with le in ascending order, the last le="+Inf" equal to _count,
// then _sum and _count; the bounds are written in their shortest form (0.1, not 0.10000000000000001).
TEST(Metrics, RenderHistogramSeries) {
  Metrics m;
  const auto h = m.add({OTD_METRIC_HISTOGRAM, "otedama_call_duration_seconds", "Calls", {"plugin", "call"}, {0.1, 0.25, 1}});
  ASSERT_TRUE(h);
  for (double v : {0.0625, 0.0625, 0.1875, 0.5, 2.0}) m.update  // exact in binary: the sum is too
      (*h, {"org.x", "verify"}, v);
  const std::string text = m.render();
  const std::string expected =
      "# HELP otedama_call_duration_seconds Calls\n"
      "# TYPE otedama_call_duration_seconds histogram\n"
      "otedama_call_duration_seconds_bucket{plugin=\"org.x\",call=\"verify\",le=\"0.1\"} 2\n"
      "otedama_call_duration_seconds_bucket{plugin=\"org.x\",call=\"verify\",le=\"0.25\"} 3\n"
      "otedama_call_duration_seconds_bucket{plugin=\"org.x\",call=\"verify\",le=\"1\"} 4\n"
      "otedama_call_duration_seconds_bucket{plugin=\"org.x\",call=\"verify\",le=\"+Inf\"} 5\n"
      "otedama_call_duration_seconds_sum{plugin=\"org.x\",call=\"verify\"} 2.8125\n"
      "otedama_call_duration_seconds_count{plugin=\"org.x\",call=\"verify\"} 5\n";
  EXPECT_EQ(text, expected);
  EXPECT_EQ(m.value("otedama_call_duration_seconds", {"org.x", "verify"}), 2.8125);
}

TEST(Metrics, PrometheusNamingIsEnforced) {
  Metrics m;
  std::string why;
  EXPECT_FALSE(m.add({OTD_METRIC_COUNTER, "otedama_shares", "", {}, {}}, &why));  // a counter ends in _total
  EXPECT_NE(why.find("_total"), std::string::npos) << why;
  EXPECT_FALSE(m.add({OTD_METRIC_HISTOGRAM, "otedama_h_seconds", "", {"le"}, {1}}, &why));  // le is the histogram's
  EXPECT_NE(why.find("reserved"), std::string::npos) << why;
  EXPECT_FALSE(m.add({OTD_METRIC_GAUGE, "otedama_g", "", {"__name"}, {}}, &why));
  EXPECT_FALSE(m.add({OTD_METRIC_GAUGE, "otedama_g", "", {"a", "a"}, {}}, &why));
  EXPECT_NE(why.find("twice"), std::string::npos) << why;
  EXPECT_FALSE(m.add({OTD_METRIC_HISTOGRAM, "otedama_h2_seconds", "", {}, {1, 1}}, &why));
  EXPECT_FALSE(m.add({OTD_METRIC_HISTOGRAM, "otedama_h3_seconds", "", {}, {1, std::numeric_limits<double>::infinity()}}, &why));
  // A plugin's own label may not be called `plugin`: the host adds that one.
  const char* labels[] = {"plugin"};
  otd_metric_desc_t d{};
  d.struct_size = sizeof d;
  d.type = OTD_METRIC_GAUGE;
  d.name = "thing";
  d.label_count = 1;
  d.label_names = labels;
  EXPECT_FALSE(m.add_plugin("p", &d, &why));
  // An empty HELP text renders the name, so that no HELP line ends in a space.
  const auto g = m.add({OTD_METRIC_GAUGE, "otedama_g", "", {}, {}});
  ASSERT_TRUE(g);
  m.update(*g, {}, 0.5);
  EXPECT_NE(m.render().find("# HELP otedama_g otedama_g\n# TYPE otedama_g gauge\notedama_g 0.5\n"), std::string::npos) << m.render();
}
