#include "fuzz_entry.hpp"

#include "json.hpp"
#include "rpc.hpp"
#include "server.hpp"

#include <otedama/common/uint256.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace otedama::stratum::fuzz {
namespace {

[[noreturn]] void fail(const char* what, std::string_view detail) {
  std::fprintf(stderr, "stratum fuzz invariant broken: %s: %.*s\n", what, static_cast<int>(detail.size()), detail.data());
  std::abort();
}

/// Touch every value: decoding, numbers, lookups.
void walk(const json::Value& v, std::string& scratch) {
  (void)v.token();
  switch (v.type()) {
    case json::Type::string:
      v.decode_string(scratch);
      break;
    case json::Type::number:
      (void)v.number();
      (void)v.integer();
      break;
    case json::Type::array:
      for (uint32_t i = 0; i < v.size(); ++i) walk(v.at(i), scratch);
      break;
    case json::Type::object:
      for (uint32_t i = 0; i < v.size(); ++i) {
        v.key_at(i).decode_string(scratch);
        (void)v.find(scratch);
        walk(v.value_at(i), scratch);
      }
      break;
    default:
      break;
  }
}

/// An Env that checks every line the engine sends and keeps the candidates for verdicts.
class CheckingEnv : public Env {
 public:
  void send(uint64_t, std::string_view data) override {
    if (data.empty() || data.back() != '\n') fail("a send that is not whole lines", data);
    size_t start = 0;
    while (start < data.size()) {
      const size_t nl = data.find('\n', start);
      const std::string_view line = data.substr(start, nl - start);
      if (!doc_.parse(line)) fail("the engine sent invalid JSON", line);
      ++lines;
      start = nl + 1;
    }
  }
  void send_many(std::span<const uint64_t> conns, std::string_view data) override {
    for (uint64_t c : conns) send(c, data);
  }
  void close(uint64_t) override { closed = true; }
  otd_status_t submit_candidate(const otd_candidate_t& c) override {
    if (c.extranonce == nullptr || c.extranonce_size != 8 || c.worker == nullptr || c.struct_size != sizeof c) fail("a malformed candidate", "");
    if (++submits % 7 == 0) return OTD_ERR_BUSY;
    pending.push_back(c);
    return OTD_OK;
  }
  uint64_t now_ms() override { return now += 250; }
  void log(otd_log_level_t, std::string_view) override {}
  bool build_blob(const otd_template_t& t, std::span<const uint8_t> extranonce, std::vector<uint8_t>& blob, std::string&) override {
    // A stand-in hashing blob: the template bytes with the extranonce over the reserved space.
    blob.assign(t.blob, t.blob + t.blob_size);
    std::copy(extranonce.begin(), extranonce.end(), blob.begin() + t.reserved_offset);
    return true;
  }

  size_t lines = 0;
  bool closed = false;
  uint64_t submits = 0;
  uint64_t now = 0;
  std::vector<otd_candidate_t> pending;

 private:
  json::Document doc_;
};

ServerConfig fuzz_config() {
  std::string error;
  auto cfg = parse_config(R"({"malformed_limit":5,"max_pending":16,"ban":{"enabled":false},"ports":[{"address":"127.0.0.1:0",
      "algorithm":"sha256d","difficulty":1,"vardiff":{"min":0.001,"window_shares":3,"retarget":"2s"}},
      {"address":"127.0.0.1:0","dialect":"monero","difficulty":1000,"vardiff":{"min":10,"window_shares":3,"retarget":"2s"}}]})", &error);
  if (!cfg) fail("the fuzz configuration", error);
  return *cfg;
}

struct Engine {
  CheckingEnv env;
  Server server{fuzz_config(), env};
  std::vector<uint8_t> cb1 = std::vector<uint8_t>(42, 0x01), cb2 = std::vector<uint8_t>(30, 0x02), branch = std::vector<uint8_t>(64, 0x03);
  otd_template_t tmpl{};
  otd_job_t job{};
  std::vector<uint8_t> xmr_blob = std::vector<uint8_t>(76, 0x07), xmr_seed = std::vector<uint8_t>(32, 0x09);
  otd_template_t xmr_tmpl{};
  otd_job_t xmr_job{};
  uint64_t next_conn = 1;
  uint64_t next_job = 1;

  Engine() {
    tmpl.struct_size = sizeof tmpl;
    tmpl.flags = OTD_TEMPLATE_CLEAN;
    tmpl.coin = "FUZZ";
    tmpl.algorithm = "sha256d";
    tmpl.source_job_id = "f";
    tmpl.version = 0x20000000;
    tmpl.ntime = 0x65000000;
    tmpl.nbits = 0x1d00ffff;
    tmpl.extranonce_size = 8;
    tmpl.coinbase1 = cb1.data();
    tmpl.coinbase1_size = static_cast<uint32_t>(cb1.size());
    tmpl.coinbase2 = cb2.data();
    tmpl.coinbase2_size = static_cast<uint32_t>(cb2.size());
    tmpl.merkle_branch = branch.data();
    tmpl.merkle_branch_count = 2;
    job.struct_size = sizeof job;
    job.tmpl = &tmpl;
    const auto t = *common::bitcoin_target_from_difficulty(1);
    std::memcpy(job.share_target, t.data(), 32);
    job.share_difficulty = 1;
    xmr_tmpl.struct_size = sizeof xmr_tmpl;
    xmr_tmpl.coin = "FUZZXMR";
    xmr_tmpl.algorithm = "randomx";
    xmr_tmpl.source_job_id = "x";
    xmr_tmpl.height = 7;
    xmr_tmpl.extranonce_size = 8;
    xmr_tmpl.blob = xmr_blob.data();
    xmr_tmpl.blob_size = static_cast<uint32_t>(xmr_blob.size());
    xmr_tmpl.reserved_offset = 50;
    xmr_tmpl.nonce_offset = 39;
    xmr_tmpl.nonce_size = 4;
    xmr_tmpl.seed = xmr_seed.data();
    xmr_tmpl.seed_size = 32;
    xmr_job.struct_size = sizeof xmr_job;
    xmr_job.tmpl = &xmr_tmpl;
    const auto mt = *common::monero_target_from_difficulty(1);
    std::memcpy(xmr_job.share_target, mt.data(), 32);
    xmr_job.share_difficulty = 1;
  }

  void new_job(bool clean) {
    job.job_id = next_job++;
    job.flags = clean ? OTD_TEMPLATE_CLEAN : 0;
    tmpl.flags = job.flags;
    server.on_job(job);
    xmr_job.job_id = next_job++;
    xmr_job.flags = job.flags;
    xmr_tmpl.flags = job.flags;
    server.on_job(xmr_job);
  }
};

size_t g_lines = 0;
bool g_closed = false;
bool g_monero = false;

}  // namespace

int one_input(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string scratch;

  // 1. The reader alone, with the default limits and with the engine's.
  {
    json::Document doc;
    if (doc.parse(text)) {
      walk(doc.root(), scratch);
      Request req;
      (void)read_request(doc, req);
    } else if (doc.error().empty()) {
      fail("a refusal without a message", text);
    }
    json::Limits tight{4, 64, 8};
    if (doc.parse(text, tight)) walk(doc.root(), scratch);
  }

  // 2. The engine: a ready connection, then the input's lines.
  static Engine* engine = new Engine();  // one for the process (a fuzzer runs millions of inputs)
  Engine& e = *engine;
  e.env.lines = 0;
  e.env.closed = false;
  if (e.next_job % 32 == 1) e.new_job(true);
  const uint64_t conn = e.next_conn++;
  if (conn % 5 == 0) e.new_job(false);  // before the connection is ready: it gets the job at authorize
  // Inputs that mention "jsonrpc" (every xmrig line does) speak to the Monero port, the rest to the Bitcoin one.
  const bool monero = text.find("jsonrpc") != std::string_view::npos;
  if (e.server.on_open(monero ? 1 : 0, conn, "127.0.0.1:1") != Server::Refusal::none) fail("a fresh connection was refused", "");
  if (monero) {
    e.server.on_line(conn, R"({"id":1,"jsonrpc":"2.0","method":"login","params":{"login":"4fuzz","pass":"x","algo":["rx/0"]}})");
  } else {
    e.server.on_line(conn, R"({"id":1,"method":"mining.subscribe","params":["fuzz"]})");
    e.server.on_line(conn, R"({"id":2,"method":"mining.authorize","params":["acct.fuzz","x"]})");
  }
  g_monero = monero;
  size_t start = 0;
  while (start <= text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(start, nl - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // what LINES framing strips
    e.server.on_line(conn, line);
    start = nl + 1;
  }
  // Verdicts for whatever it submitted, all kinds in turn.
  static uint32_t verdict = 0;
  for (const auto& c : e.env.pending) {
    otd_share_result_t r{};
    r.struct_size = sizeof r;
    r.verdict = verdict++ % 9;
    r.job_id = c.job_id;
    r.connection_id = c.connection_id;
    r.submission_id = c.submission_id;
    std::snprintf(r.reason, sizeof r.reason, "fuzz verdict %u", r.verdict);
    e.server.on_share_result(r);
  }
  e.env.pending.clear();
  e.server.tick();
  e.server.on_close(conn);
  if (e.server.connections() != 0) fail("a connection survived its on_close", "");
  g_lines = e.env.lines;
  g_closed = e.env.closed;
  return 0;
}

size_t last_output_lines() { return g_lines; }
bool last_was_monero() { return g_monero; }
bool last_closed() { return g_closed; }

}  // namespace otedama::stratum::fuzz
