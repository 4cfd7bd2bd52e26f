#include "cli/commands.hpp"

#include "config/config.hpp"
#include "host/host.hpp"
#include "log/log.hpp"
#include "storage/storage.hpp"

#include <otedama/common/hex.hpp>

#include <otedama/otedama.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#ifndef OTEDAMA_VERSION
#define OTEDAMA_VERSION "0.0.0"
#endif

namespace otedama::cli {

namespace {

constexpr const char* kUsageText = R"(usage: otedama-host [--version] [--help] COMMAND [OPTIONS]

commands:
  serve --config FILE [--run-for SECONDS]   run the configured job (pool, miner) until SIGINT/SIGTERM
  --list-plugins [--json] [--config FILE]   list every plugin found, loaded or rejected with its reason
  --list-devices [--json] [--config FILE]   list the devices of every loaded backend
  hash --algo NAME --hex INPUT [--raw]      hash INPUT (hex) with an algorithm plugin; prints the hash as
                                            block explorers show it (--raw: in memory order)
  bench [--algo NAME] [--seconds N] [--warmup N] [--threads N] [--json] [--config FILE]
                                            CPU hashrate through the cpu backend: the median of
                                            one-second samples after a warm-up (default 10 s, 2 s)
  status [--json] [--config FILE]           summary of the ledger: share count and the newest shares
  config check FILE | config print [FILE]   validate a configuration / print the effective one

exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error, 3 storage error,
            4 job source missing or failed, 5 algorithm or plugin not found
)";

std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) { g_stop.store(true); }

std::string json_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}
std::string q(std::string_view s) { return "\"" + json_escape(s) + "\""; }

/// Command-line arguments after the command word: flags with values and boolean switches.
struct Args {
  std::vector<std::string> positional;
  std::vector<std::pair<std::string, std::string>> values;
  std::vector<std::string> switches;
  std::string error;

  [[nodiscard]] std::optional<std::string> get(std::string_view name) const {
    for (const auto& [k, v] : values)
      if (k == name) return v;
    return std::nullopt;
  }
  [[nodiscard]] bool has(std::string_view name) const {
    return std::find(switches.begin(), switches.end(), name) != switches.end();
  }
};

Args parse(int argc, char** argv, int first, std::initializer_list<std::string_view> with_value,
           std::initializer_list<std::string_view> flags) {
  Args a;
  for (int i = first; i < argc; ++i) {
    std::string s = argv[i];
    if (s.rfind("--", 0) != 0) {
      a.positional.push_back(s);
      continue;
    }
    std::string value;
    bool inline_value = false;
    if (auto eq = s.find('='); eq != std::string::npos) {
      value = s.substr(eq + 1);
      s = s.substr(0, eq);
      inline_value = true;
    }
    if (std::find(with_value.begin(), with_value.end(), s) != with_value.end()) {
      if (!inline_value) {
        if (i + 1 >= argc) {
          a.error = "option " + s + " needs a value";
          return a;
        }
        value = argv[++i];
      }
      a.values.emplace_back(s, value);
    } else if (std::find(flags.begin(), flags.end(), s) != flags.end() && !inline_value) {
      a.switches.push_back(s);
    } else {
      a.error = "unknown option " + s;
      return a;
    }
  }
  return a;
}

/// The configuration of a command: --config FILE, or the built-in defaults.
std::optional<config::Config> load_config(const Args& args, bool required) {
  const auto path = args.get("--config");
  if (!path) {
    if (required) {
      std::cerr << "otedama-host: --config FILE is required\n";
      return std::nullopt;
    }
    return config::defaults();
  }
  config::LoadResult r = config::load_file(*path);
  if (!r.ok()) {
    for (const auto& e : r.errors) std::cerr << e.to_string() << "\n";
    std::cerr << "otedama-host: configuration " << *path << " has " << r.errors.size() << " error(s)\n";
    return std::nullopt;
  }
  return std::move(*r.config);
}

namespace common = otedama::common;

/// Logging for one-shot commands: errors only, so stdout stays clean for scripts (rejections are what
/// --list-plugins prints anyway).
void init_quiet_logging(const config::Config& cfg, bool json_output) {
  (void)json_output;
  log::Options o;
  // Rejections are part of what --list-plugins prints; other commands keep stdout clean for scripts.
  o.level = "error";
  o.json = false;
  (void)cfg;
  log::init(o);
}

void init_logging(const config::Config& cfg) {
  log::Options o;
  o.level = std::string(config::to_string(cfg.log.level));
  o.file = cfg.log.file;
  o.json = cfg.log.format == config::LogFormat::json;
  log::init(o);
}

/// The host with every plugin loaded, for one-shot commands (nullptr after a configuration error,
/// already reported).
std::unique_ptr<host::Host> loaded_host(const Args& args) {
  auto cfg = load_config(args, false);
  if (!cfg) return nullptr;
  init_quiet_logging(*cfg, args.has("--json"));
  auto host = std::make_unique<host::Host>(*cfg);
  host->load_plugins();
  return host;
}

int list_plugins(const Args& args) {
  const auto host = loaded_host(args);
  if (!host) return kUsage;
  const bool json = args.has("--json");
  const auto& records = host->plugins().records();
  if (json) {
    std::string out = "[";
    for (size_t i = 0; i < records.size(); ++i) {
      const auto& r = records[i];
      out += i == 0 ? "\n" : ",\n";
      out += "  {\"id\":" + q(r.id) + ",\"kind\":" + q(r.kind != 0 ? loader::kind_name(r.kind) : "") + ",\"name\":" + q(r.name) +
             ",\"version\":" + q(r.version) + ",\"vendor\":" + q(r.vendor) + ",\"abi\":" +
             q(std::to_string(r.abi_major) + "." + std::to_string(r.abi_minor)) + ",\"interface\":" + q(r.interface_id) +
             ",\"path\":" + q(r.path.string()) + ",\"status\":" +
             q(r.loaded() ? "loaded" : r.stage == loader::Stage::disabled ? "disabled" : "rejected") + ",\"stage\":" +
             q(loader::stage_name(r.stage)) + ",\"reason\":" + q(r.reason) + "}";
    }
    out += records.empty() ? "]\n" : "\n]\n";
    std::cout << out;
    return kOk;
  }
  size_t loaded = 0;
  for (const auto& r : records) {
    loaded += r.loaded() ? 1 : 0;
    std::cout << (r.id.empty() ? std::string("-") : r.id) << "\n"
              << "  kind " << (r.kind != 0 ? loader::kind_name(r.kind) : "-") << ", version " << (r.version.empty() ? "-" : r.version)
              << ", ABI " << r.abi_major << "." << r.abi_minor << ", vendor " << (r.vendor.empty() ? "-" : r.vendor) << "\n"
              << "  path " << r.path.string() << "\n"
              << "  status " << r.status() << "\n";
  }
  std::cout << records.size() << " plugin(s): " << loaded << " loaded, " << records.size() - loaded << " not loaded\n";
  return kOk;
}

int list_devices(const Args& args) {
  const auto host = loaded_host(args);
  if (!host) return kUsage;
  const bool json = args.has("--json");
  std::string out = json ? "[" : "";
  size_t n = 0;
  for (const auto* rec : host->plugins().loaded(OTD_KIND_BACKEND)) {
    const auto* t = static_cast<const otd_backend_t*>(rec->table);
    uint32_t count = 0;
    if (t->enumerate(rec->instance, nullptr, 0, &count) != OTD_OK) {
      std::cerr << rec->id << ": device enumeration failed\n";
      continue;
    }
    std::vector<otd_device_info_t> infos(count);
    for (auto& i : infos) i.struct_size = sizeof i;
    if (count > 0 && t->enumerate(rec->instance, infos.data(), count, &count) != OTD_OK) continue;
    for (const auto& d : infos) {
      if (json) {
        out += (n == 0 ? "\n" : ",\n");
        out += "  {\"backend\":" + q(rec->id) + ",\"id\":" + q(d.id) + ",\"name\":" + q(d.name) + ",\"style\":" +
               q(d.style == OTD_DEVICE_QUEUED ? "queued" : "scan") + ",\"algorithms\":" + q(d.algorithms) +
               ",\"memory_bytes\":" + std::to_string(d.memory_bytes) + ",\"compute_units\":" + std::to_string(d.compute_units) +
               ",\"max_lanes\":" + std::to_string(d.max_lanes) + "}";
      } else {
        out += std::string(d.id) + "  " + d.name + "\n  backend " + rec->id + ", " + (d.style == OTD_DEVICE_QUEUED ? "queued" : "scan") +
               ", algorithms " + d.algorithms + ", " + std::to_string(d.compute_units) + " compute units, " +
               std::to_string(d.memory_bytes >> 20) + " MiB, up to " + std::to_string(d.max_lanes) + " lanes\n";
      }
      ++n;
    }
  }
  if (json) out += n == 0 ? "]\n" : "\n]\n";
  else out += std::to_string(n) + " device(s)\n";
  std::cout << out;
  return kOk;
}

const loader::PluginRecord* need_algorithm(host::Host& host, const std::string& name) {
  const auto* rec = host.plugins().find_algorithm(name);
  if (rec == nullptr) {
    std::cerr << "otedama-host: no loaded algorithm plugin named '" << name << "' (see --list-plugins)\n";
  }
  return rec;
}

int hash(const Args& args) {
  const auto algo = args.get("--algo");
  const auto hex = args.get("--hex");
  if (!algo || !hex) {
    std::cerr << "otedama-host hash: --algo NAME and --hex INPUT are required\n";
    return kUsage;
  }
  std::string why;
  const auto input = common::from_hex(*hex, &why);
  if (!input) {
    std::cerr << "otedama-host hash: --hex is not valid hexadecimal: " << why << "\n";
    return kUsage;
  }
  const auto host = loaded_host(args);
  if (!host) return kUsage;
  const auto* rec = need_algorithm(*host, *algo);
  if (rec == nullptr) return kNotFound;
  const auto* t = static_cast<const otd_algorithm_t*>(rec->table);
  if ((t->flags & OTD_ALGO_NEEDS_CONTEXT) != 0U) {
    std::cerr << "otedama-host hash: " << *algo << " needs a seed/epoch context; not supported by this command yet\n";
    return kFailure;
  }
  uint8_t out[64] = {};
  char err[OTD_ERROR_CAP] = {};
  const otd_status_t st = t->hash(rec->instance, nullptr, input->data(), input->size(), out, sizeof out, err, sizeof err);
  if (st != OTD_OK) {
    std::cerr << "otedama-host hash: " << *algo << " failed (status " << st << "): " << err << "\n";
    return kFailure;
  }
  // Display order (most significant byte first, as explorers print block hashes) unless --raw.
  if (!args.has("--raw")) std::reverse(out, out + OTD_HASH_SIZE);
  std::cout << common::to_hex(std::span<const uint8_t>(out, OTD_HASH_SIZE)) << "\n";
  return kOk;
}

int bench(const Args& args) {
  auto cfg = load_config(args, false);
  if (!cfg) return kUsage;
  init_quiet_logging(*cfg, true);
  const std::string algo_name = args.get("--algo").value_or(cfg->mining.algorithm);
  const bool json = args.has("--json");
  int seconds = 10;
  int warmup = 2;
  int threads = static_cast<int>(cfg->mining.cpu.threads);
  try {
    if (auto s = args.get("--seconds")) seconds = std::stoi(*s);
    if (auto w = args.get("--warmup")) warmup = std::stoi(*w);
    if (auto t = args.get("--threads")) threads = std::stoi(*t);
  } catch (const std::exception&) {
    std::cerr << "otedama-host bench: --seconds, --warmup and --threads take integers\n";
    return kUsage;
  }
  if (seconds < 1 || warmup < 0 || threads < 0) {
    std::cerr << "otedama-host bench: --seconds must be >= 1, --warmup and --threads >= 0\n";
    return kUsage;
  }
  host::Host host(*cfg);
  host.load_plugins();
  const auto* algo = need_algorithm(host, algo_name);
  if (algo == nullptr) return kNotFound;
  const auto* at = static_cast<const otd_algorithm_t*>(algo->table);
  const auto* cpu = host.plugins().find("org.otedama.backend.cpu");
  if (cpu == nullptr) {
    std::cerr << "otedama-host bench: the cpu backend plugin (org.otedama.backend.cpu) is not loaded\n";
    return kNotFound;
  }
  if (at->scan == nullptr || (at->flags & OTD_ALGO_NEEDS_CONTEXT) != 0U) {
    std::cerr << "otedama-host bench: " << algo_name << " has no context-free CPU scan to benchmark yet\n";
    return kFailure;
  }
  const auto* bt = static_cast<const otd_backend_t*>(cpu->table);
  otd_device_info_t info{};
  info.struct_size = sizeof info;
  uint32_t count = 1;
  bt->enumerate(cpu->instance, &info, 1, &count);
  const uint32_t lanes = threads > 0 ? static_cast<uint32_t>(threads) : std::max<uint32_t>(1, info.max_lanes);
  otd_device_limits_t limits{};
  limits.struct_size = sizeof limits;
  limits.lanes = lanes;
  otd_device_t* dev = nullptr;
  char err[OTD_ERROR_CAP] = {};
  if (bt->open_device(cpu->instance, 0, &limits, &dev, err, sizeof err) != OTD_OK) {
    std::cerr << "otedama-host bench: cannot open cpu0: " << err << "\n";
    return kFailure;
  }

  // A synthetic template; the share target is zero so nothing is ever "found": pure hashing throughput
  // through the same path mining takes (backend run -> the algorithm's scan).
  std::vector<uint8_t> cb1(42, 0x11), cb2(30, 0x22);
  otd_template_t tmpl{};
  tmpl.struct_size = sizeof tmpl;
  tmpl.coin = "BENCH";
  tmpl.algorithm = algo_name.c_str();
  tmpl.version = 0x20000000;
  tmpl.ntime = 1700000000;
  tmpl.nbits = 0x1d00ffff;
  tmpl.extranonce_size = 8;
  tmpl.coinbase1 = cb1.data();
  tmpl.coinbase1_size = static_cast<uint32_t>(cb1.size());
  tmpl.coinbase2 = cb2.data();
  tmpl.coinbase2_size = static_cast<uint32_t>(cb2.size());
  tmpl.nonce_size = 4;
  std::atomic<uint32_t> abort{0};
  std::vector<std::atomic<uint64_t>> per_lane(lanes);
  std::vector<std::thread> workers;
  std::atomic<bool> failed{false};
  for (uint32_t lane = 0; lane < lanes; ++lane) {
    workers.emplace_back([&, lane] {
      uint8_t en[8] = {static_cast<uint8_t>(lane)};
      std::vector<uint8_t> blob(256);
      uint32_t size = 0, off = 0, nsize = 0;
      char e[OTD_ERROR_CAP] = {};
      if (at->build_blob(algo->instance, &tmpl, en, 8, 0, 0, blob.data(), static_cast<uint32_t>(blob.size()), &size, &off, &nsize, e, sizeof e) != OTD_OK) {
        std::cerr << "bench: build_blob failed: " << e << "\n";
        failed = true;
        return;
      }
      otd_work_unit_t w{};
      w.struct_size = sizeof w;
      w.algorithm = algo_name.c_str();
      w.blob = blob.data();
      w.blob_size = size;
      w.nonce_offset = off;
      w.nonce_size = nsize;
      w.algorithm_plugin = algo->instance;
      w.algorithm_table = at;
      w.abort_flag = reinterpret_cast<const volatile uint32_t*>(&abort);  // same representation (see scheduler.cpp)
      w.on_found = [](void*, const otd_found_t*) -> otd_status_t { return OTD_OK; };
      // Chunks sized to take ~20 ms whatever the algorithm's speed, so one-second samples stay smooth.
      uint64_t start = 0, chunk = 256;
      while (abort.load() == 0) {
        w.nonce_start = start;
        w.nonce_count = chunk;
        start = (start + chunk) & 0xffffffffULL;
        if (start + chunk > 0x100000000ULL) start = 0;
        uint64_t done = 0;
        const auto t0 = std::chrono::steady_clock::now();
        const otd_status_t st = bt->run(cpu->instance, dev, lane, &w, &done, e, sizeof e);
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        per_lane[lane].fetch_add(done);
        if (st != OTD_OK && st != OTD_ERR_ABORTED) {
          std::cerr << "bench: run failed: " << e << "\n";
          failed = true;
          return;
        }
        if (ms > 0 && done == chunk) chunk = std::clamp<uint64_t>(static_cast<uint64_t>(static_cast<double>(chunk) * 20.0 / ms), 16, 1u << 24);
      }
    });
  }
  // Warm-up (caches, turbo, page faults) is not counted; then one-second samples, reported as the median.
  auto total = [&] {
    uint64_t t = 0;
    for (auto& c : per_lane) t += c.load();
    return t;
  };
  const auto t0 = std::chrono::steady_clock::now() + std::chrono::seconds(warmup);
  std::this_thread::sleep_until(t0);
  std::vector<double> samples;
  uint64_t prev = total();
  auto prev_t = std::chrono::steady_clock::now();
  for (int s = 0; s < seconds && !failed; ++s) {
    std::this_thread::sleep_until(t0 + std::chrono::seconds(s + 1));
    const uint64_t now_total = total();
    const auto now_t = std::chrono::steady_clock::now();
    samples.push_back(static_cast<double>(now_total - prev) / std::chrono::duration<double>(now_t - prev_t).count());
    prev = now_total;
    prev_t = now_t;
  }
  abort.store(1);
  for (auto& w : workers) w.join();
  bt->close_device(cpu->instance, dev);
  if (failed || samples.empty()) return kFailure;
  std::vector<double> sorted = samples;
  std::sort(sorted.begin(), sorted.end());
  const size_t n = sorted.size();
  const double median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  otd_algorithm_info_t ai{};
  ai.struct_size = sizeof ai;
  at->get_info(algo->instance, &ai);
  if (json) {
    std::string out = "{\"algo\":" + q(algo_name) + ",\"hashrate\":" + std::to_string(median) + ",\"threads\":" + std::to_string(lanes) +
                      ",\"implementation\":" + q(ai.implementation) + ",\"device\":" + q(info.name) + ",\"seconds\":" + std::to_string(seconds) +
                      ",\"warmup\":" + std::to_string(warmup) + ",\"per_thread\":" + std::to_string(median / lanes) +
                      ",\"min\":" + std::to_string(sorted.front()) + ",\"max\":" + std::to_string(sorted.back()) + ",\"samples\":[";
    for (size_t i = 0; i < samples.size(); ++i) out += (i != 0 ? "," : "") + std::to_string(samples[i]);
    std::cout << out << "]}\n";
  } else {
    std::printf("bench %s (%s) on %s: %u thread(s), %d s after %d s warm-up\n", algo_name.c_str(), ai.implementation, info.name, lanes,
                seconds, warmup);
    std::printf("median %.0f H/s (%.0f H/s per thread), min %.0f, max %.0f\n", median, median / lanes, sorted.front(), sorted.back());
  }
  return kOk;
}

int serve(const Args& args) {
  auto cfg = load_config(args, true);
  if (!cfg) return kUsage;
  int run_for = 0;
  if (auto s = args.get("--run-for")) {
    try {
      run_for = std::stoi(*s);
    } catch (const std::exception&) {
      run_for = -1;
    }
    if (run_for < 0) {
      std::cerr << "otedama-host serve: --run-for takes a number of seconds >= 0 (0 = until a signal)\n";
      return kUsage;
    }
  }
  init_logging(*cfg);
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  host::Host host(*cfg);
  host.load_plugins(/*self_tests=*/true, /*conformance_fixtures=*/false);  // a running host loads no broken fixtures
  return host.serve(g_stop, std::chrono::seconds(run_for));
}

int status(const Args& args) {
  auto cfg = load_config(args, false);
  if (!cfg) return kUsage;
  try {
    auto db = storage::Storage::open(cfg->storage.path);
    const auto shares = db.count_shares();
    const auto recent = db.recent_shares(10);
    if (args.has("--json")) {
      std::string out = "{\"storage\":" + q(cfg->storage.path) + ",\"shares\":" + std::to_string(shares) + ",\"recent\":[";
      for (size_t i = 0; i < recent.size(); ++i) {
        const auto& s = recent[i];
        out += (i != 0 ? "," : "") + std::string("{\"time_ms\":") + std::to_string(s.created_at_ms) + ",\"coin\":" + q(s.coin) +
               ",\"worker\":" + q(s.worker) + ",\"difficulty\":" + std::to_string(s.difficulty) + ",\"block\":" + (s.is_block ? "true" : "false") + "}";
      }
      std::cout << out << "]}\n";
    } else {
      std::cout << "storage " << cfg->storage.path << ": " << shares << " share(s)\n";
      for (const auto& s : recent)
        std::cout << "  " << s.created_at_ms << "  " << s.coin << "  " << s.worker << "  difficulty " << s.difficulty << (s.is_block ? "  BLOCK" : "") << "\n";
    }
  } catch (const std::exception& e) {
    std::cerr << "otedama-host status: storage '" << cfg->storage.path << "': " << e.what() << "\n";
    return kStorage;
  }
  return kOk;
}

int config_cmd(const Args& args) {
  if (args.positional.empty() || (args.positional[0] != "check" && args.positional[0] != "print")) {
    std::cerr << "otedama-host config: use 'config check FILE' or 'config print [FILE]'\n";
    return kUsage;
  }
  const bool check = args.positional[0] == "check";
  if (check && args.positional.size() < 2) {
    std::cerr << "otedama-host config check: FILE is required\n";
    return kUsage;
  }
  config::Config cfg = config::defaults();
  if (args.positional.size() >= 2) {
    auto r = config::load_file(args.positional[1]);
    if (!r.ok()) {
      for (const auto& e : r.errors) std::cerr << e.to_string() << "\n";
      return kUsage;
    }
    cfg = std::move(*r.config);
  }
  if (check) std::cout << args.positional[1] << ": ok\n";
  else std::cout << config::to_yaml(cfg);
  return kOk;
}

int bad_usage(std::string_view prefix, const std::string& error) {
  std::cerr << prefix << error << "\n";
  return kUsage;
}

}  // namespace

int run(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << kUsageText;
    return kUsage;
  }
  const std::string cmd = argv[1];
  if (cmd == "--version" || cmd == "version") {
    std::cout << "otedama-host " << OTEDAMA_VERSION << " (plugin ABI " << OTD_ABI_MAJOR << "." << OTD_ABI_MINOR << ")\n";
    return kOk;
  }
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    std::cout << kUsageText;
    return kOk;
  }
  try {
    if (cmd == "--list-plugins" || cmd == "list-plugins") {
      Args a = parse(argc, argv, 2, {"--config"}, {"--json"});
      if (!a.error.empty()) return bad_usage("otedama-host: ", a.error);
      return list_plugins(a);
    }
    if (cmd == "--list-devices" || cmd == "list-devices") {
      Args a = parse(argc, argv, 2, {"--config"}, {"--json"});
      if (!a.error.empty()) return bad_usage("otedama-host: ", a.error);
      return list_devices(a);
    }
    if (cmd == "hash") {
      Args a = parse(argc, argv, 2, {"--algo", "--hex", "--config"}, {"--raw"});
      if (!a.error.empty()) return bad_usage("otedama-host hash: ", a.error);
      return hash(a);
    }
    if (cmd == "bench") {
      Args a = parse(argc, argv, 2, {"--algo", "--seconds", "--warmup", "--threads", "--config"}, {"--json"});
      if (!a.error.empty()) return bad_usage("otedama-host bench: ", a.error);
      return bench(a);
    }
    if (cmd == "serve") {
      Args a = parse(argc, argv, 2, {"--config", "--run-for"}, {});
      if (!a.error.empty()) return bad_usage("otedama-host serve: ", a.error);
      return serve(a);
    }
    if (cmd == "status") {
      Args a = parse(argc, argv, 2, {"--config"}, {"--json"});
      if (!a.error.empty()) return bad_usage("otedama-host status: ", a.error);
      return status(a);
    }
    if (cmd == "config") {
      Args a = parse(argc, argv, 2, {}, {});
      if (!a.error.empty()) return bad_usage("otedama-host config: ", a.error);
      return config_cmd(a);
    }
  } catch (const std::exception& e) {
    std::cerr << "otedama-host: " << e.what() << "\n";
    return kFailure;
  }
  std::cerr << "otedama-host: unknown command '" << cmd << "'\n" << kUsageText;
  return kUsage;
}

}  // namespace otedama::cli
