#include "cli/commands.hpp"

#include "api/api_server.hpp"
#include "config/config.hpp"
#include "host/host.hpp"
#include "log/log.hpp"
#include "scheduler/device_selection.hpp"
#include "storage/storage.hpp"

#include <otedama/common/hex.hpp>
#include <otedama/common/http_url.hpp>
#include <otedama/common/stratum_url.hpp>

#include <otedama/otedama.h>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
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
  mine -o URL -u USER [-p PASS] [-a ALGO] [-t THREADS] [--config FILE] [--run-for SECONDS]
       [--print-time SECONDS]               mine for a stratum pool (several -o: failover order);
                                            prints accepted/rejected shares and the hashrate
  mine --solo --node URL --address ADDR -a ALGO [-u RPCUSER -p RPCPASS] [-t THREADS] [--config FILE]
       [--run-for SECONDS]                  mine straight against a coin node (randomx: monerod); every
                                            block pays ADDR; prints the blocks the node accepts
  --list-plugins [--json] [--config FILE]   list every plugin found, loaded or rejected with its reason
  --list-devices [--json] [--config FILE]   list the devices of every loaded backend
  hash --algo NAME --hex INPUT [--raw]      hash INPUT (hex) with an algorithm plugin; prints the hash as
                                            block explorers show it (--raw: in memory order)
  hash --algo randomx --key HEX --hex INPUT RandomX with that key (light mode); the raw hash
  hash --algo ethash|kawpow --height N --header HEX --nonce HEX
                                            the mix hash and the final hash (raw bytes; the nonce
                                            is the hex of the 64-bit value)
  bench [--algo NAME] [--seconds N] [--warmup N] [--threads N] [--json] [--config FILE]
        [--verify [--dataset light|full]] [--key HEX] [--height N]
                                            CPU hashrate through the cpu backend: the median of
                                            one-second samples after a warm-up (default 10 s, 2 s);
                                            --verify: verifications per second (on the light
                                            context; --dataset full: on the full dataset/DAG,
                                            as a pool with pool.verify_dataset: full)
  status [--json] [--config FILE]           summary of a running host from its admin API (api.address);
                                            without one, of the ledger: share count and the newest shares
  ledger balances|blocks|payments [--coin C] [--limit N] [--json] [--config FILE]
                                            the ledger's balances (largest first), blocks or payments
                                            (newest first, 100 unless --limit); amounts in atomic units
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

/// A device UUID as 8-4-4-4-12 lowercase hex ("" when it reports none).
std::string uuid_text(const otd_device_info_t& info) {
  if (!scheduler::has_uuid(info)) return {};
  std::string hex = common::to_hex(std::span<const uint8_t>(info.uuid, sizeof info.uuid));
  for (const size_t at : {20U, 16U, 12U, 8U}) hex.insert(at, "-");
  return hex;
}

int list_devices(const Args& args) {
  const auto host = loaded_host(args);
  if (!host) return kUsage;
  const bool json = args.has("--json");
  const config::Config& cfg = host->config();
  // Every loaded backend's devices, ordered and de-duplicated as the scheduler does (device_selection.hpp),
  // so that "gpu N" here is what mining.gpu.devices selects.
  std::vector<scheduler::EnumeratedDevice> found;
  std::string out = json ? "[" : "";
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
    // A loaded backend without devices (a GPU backend on a machine without that GPU) is named, so that an
    // empty list is not mistaken for a backend that did not load; the backend logged why at start.
    if (count == 0 && !json) out += rec->id + ": no devices\n";
    for (uint32_t i = 0; i < count && i < infos.size(); ++i) found.push_back(scheduler::EnumeratedDevice{rec->id, rec->name, i, infos[i]});
  }
  scheduler::order_devices(found, cfg.mining.gpu.backends);
  const auto choices = scheduler::deduplicate(found, cfg.mining.algorithm);
  std::vector<int> selected;
  for (const auto d : cfg.mining.gpu.devices) selected.push_back(static_cast<int>(d));
  size_t n = 0;
  for (size_t k = 0; k < found.size(); ++k) {
    const auto& d = found[k].info;
    const auto& rec_id = found[k].backend_id;
    const auto& c = choices[k];
    const bool gpu = scheduler::device_class(found[k].backend_name) == scheduler::DeviceClass::gpu;
    const std::string pci(scheduler::pci_bus_id(d));
    const std::string uuid = uuid_text(d);
    std::string duplicate;
    if (c.duplicate_of >= 0) {
      const auto o = static_cast<size_t>(c.duplicate_of);
      duplicate = scheduler::duplicate_words(found[o], choices[o]);
    }
    if (json) {
      out += (n == 0 ? "\n" : ",\n");
      out += "  {\"backend\":" + q(rec_id) + ",\"id\":" + q(d.id) + ",\"name\":" + q(d.name) + ",\"style\":" +
             q(d.style == OTD_DEVICE_QUEUED ? "queued" : "scan") + ",\"algorithms\":" + q(d.algorithms) +
             ",\"memory_bytes\":" + std::to_string(d.memory_bytes) + ",\"compute_units\":" + std::to_string(d.compute_units) +
             ",\"max_lanes\":" + std::to_string(d.max_lanes) + ",\"pci_bus_id\":" + q(pci) + ",\"uuid\":" + q(uuid) +
             ",\"gpu_index\":" + (c.gpu_index >= 0 ? std::to_string(c.gpu_index) : std::string("null")) + ",\"duplicate_of\":";
      if (c.duplicate_of >= 0) {
        const auto o = static_cast<size_t>(c.duplicate_of);
        out += "{\"backend\":" + q(found[o].backend_id) + ",\"id\":" + q(found[o].info.id) + ",\"gpu_index\":" +
               (choices[o].gpu_index >= 0 ? std::to_string(choices[o].gpu_index) : std::string("null")) + ",\"text\":" + q(duplicate) + "}";
      } else {
        out += "null";
      }
      out += "}";
    } else {
      out += std::string(d.id) + "  " + d.name + "\n  backend " + rec_id + ", " + (d.style == OTD_DEVICE_QUEUED ? "queued" : "scan") +
             ", algorithms " + d.algorithms + ", " + std::to_string(d.compute_units) + " compute units, " +
             std::to_string(d.memory_bytes >> 20) + " MiB, up to " + std::to_string(d.max_lanes) + " lanes\n";
      if (gpu) {
        std::string line = "  ";
        if (c.duplicate_of >= 0) line += duplicate + ": not mined";
        else line += "gpu " + std::to_string(c.gpu_index) + (scheduler::gpu_selected(selected, c.gpu_index) ? "" : " (not in mining.gpu.devices: not mined)");
        line += ", pci " + (pci.empty() ? std::string("unknown") : pci) + ", uuid " + (uuid.empty() ? std::string("unknown") : uuid);
        out += line + "\n";
      }
    }
    ++n;
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

/// A context an algorithm plugin prepared, released when the command is done with it.
class ScopedContext {
 public:
  ScopedContext(const loader::PluginRecord& rec, otd_algo_context_t* handle) : rec_(rec), handle_(handle) {}
  ScopedContext(const ScopedContext&) = delete;
  ScopedContext& operator=(const ScopedContext&) = delete;
  ~ScopedContext() {
    if (handle_ != nullptr) static_cast<const otd_algorithm_t*>(rec_.table)->release_context(rec_.instance, handle_);
  }
  [[nodiscard]] const otd_algo_context_t* get() const noexcept { return handle_; }

 private:
  const loader::PluginRecord& rec_;
  otd_algo_context_t* handle_;
};

/// Prepare a context for a one-off command (hash, bench). Prints the plugin's error and returns nullptr on
/// failure.
std::unique_ptr<ScopedContext> prepare_context(const loader::PluginRecord& rec, const char* command, uint32_t mode,
                                               const std::vector<uint8_t>& seed, uint64_t height, uint32_t threads,
                                               bool huge_pages) {
  const auto* t = static_cast<const otd_algorithm_t*>(rec.table);
  otd_context_params_t params{};
  params.struct_size = sizeof params;
  params.mode = mode;
  params.seed = seed.empty() ? nullptr : seed.data();
  params.seed_size = static_cast<uint32_t>(seed.size());
  params.height = height;
  params.threads = threads;
  params.flags = huge_pages ? OTD_CONTEXT_FLAG_HUGE_PAGES : 0U;
  params.numa_node = -1;
  otd_algo_context_t* handle = nullptr;
  char err[OTD_ERROR_CAP] = {};
  const otd_status_t st = t->prepare_context(rec.instance, &params, &handle, err, sizeof err);
  if (st != OTD_OK || handle == nullptr) {
    std::cerr << "otedama-host " << command << ": " << rec.name << " could not prepare its context (status " << st << "): " << err << "\n";
    return nullptr;
  }
  return std::make_unique<ScopedContext>(rec, handle);
}

/// Parses a decimal or 0x-prefixed unsigned 64-bit value; nullopt when it is not one.
std::optional<uint64_t> parse_u64(const std::string& text, int base = 10) {
  if (text.empty()) return std::nullopt;
  size_t used = 0;
  try {
    const unsigned long long v = std::stoull(text, &used, base);
    if (used != text.size() || text[0] == '-') return std::nullopt;
    return static_cast<uint64_t>(v);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

/// `hash` for algorithms that need a seed/epoch context: RandomX (--key) and the Ethash family (--height,
/// --header, --nonce). The context is a light one: what a pool verifies with.
int hash_with_context(const Args& args, const loader::PluginRecord& rec, const std::vector<uint8_t>& input) {
  const auto* t = static_cast<const otd_algorithm_t*>(rec.table);
  std::string why;
  char err[OTD_ERROR_CAP] = {};
  if ((t->flags & OTD_ALGO_HAS_MIX) == 0U) {
    // Keyed (RandomX): the key is the context's seed, the input is hashed as given.
    const auto key_hex = args.get("--key");
    if (!key_hex) {
      std::cerr << "otedama-host hash: " << rec.name << " needs --key HEX (the seed the hash is keyed with)\n";
      return kUsage;
    }
    const auto key = common::from_hex(*key_hex, &why);
    if (!key) {
      std::cerr << "otedama-host hash: --key is not valid hexadecimal: " << why << "\n";
      return kUsage;
    }
    auto ctx = prepare_context(rec, "hash", OTD_CONTEXT_LIGHT, *key, 0, 0, false);
    if (!ctx) return kFailure;
    uint8_t out[64] = {};
    const otd_status_t st = t->hash(rec.instance, ctx->get(), input.data(), input.size(), out, sizeof out, err, sizeof err);
    if (st != OTD_OK) {
      std::cerr << "otedama-host hash: " << rec.name << " failed (status " << st << "): " << err << "\n";
      return kFailure;
    }
    std::cout << common::to_hex(std::span<const uint8_t>(out, OTD_HASH_SIZE)) << "\n";  // raw, as Monero prints it
    return kOk;
  }
  // Ethash family: the epoch comes from the height; the header hash and the 64-bit nonce are hashed.
  const auto height = parse_u64(args.get("--height").value_or(""));
  const auto header = common::from_hex(args.get("--header").value_or(""), &why);
  std::string nonce_text = args.get("--nonce").value_or("");
  if (nonce_text.rfind("0x", 0) == 0) nonce_text = nonce_text.substr(2);
  uint64_t nonce = 0;
  bool nonce_ok = false;
  if (nonce_text.size() <= 16) {
    if (const auto parsed = parse_u64(nonce_text, 16)) {
      nonce = *parsed;
      nonce_ok = true;
    }
  }
  if (!height || !header || header->size() != 32 || !nonce_ok) {
    std::cerr << "otedama-host hash: " << rec.name
              << " needs --height N (decimal), --header HEX (the 32-byte header hash) and --nonce HEX (the 64-bit nonce)\n";
    return kUsage;
  }
  auto ctx = prepare_context(rec, "hash", OTD_CONTEXT_LIGHT, {}, *height, 0, false);
  if (!ctx) return kFailure;
  std::vector<uint8_t> blob(*header);
  for (int i = 0; i < 8; ++i) blob.push_back(static_cast<uint8_t>(nonce >> (8 * i)));
  otd_verify_request_t req{};
  req.struct_size = sizeof req;
  req.blob = blob.data();
  req.blob_size = static_cast<uint32_t>(blob.size());
  req.nonce = nonce;
  req.height = *height;
  std::memset(req.share_target, 0xff, sizeof req.share_target);
  std::memset(req.block_target, 0xff, sizeof req.block_target);
  otd_verify_result_t res{};
  res.struct_size = sizeof res;
  const otd_status_t st = t->verify(rec.instance, ctx->get(), &req, &res, err, sizeof err);
  if (st != OTD_OK) {
    std::cerr << "otedama-host hash: " << rec.name << " failed (status " << st << "): " << err << "\n";
    return kFailure;
  }
  // The verifier's hash is the 256-bit little-endian number targets are compared with; the Ethash family
  // compares its raw hash big-endian, so the raw bytes are that number reversed.
  std::reverse(std::begin(res.hash), std::end(res.hash));
  std::cout << "mix_hash " << common::to_hex(std::span<const uint8_t>(res.mix, OTD_HASH_SIZE)) << "\n"
            << "final_hash " << common::to_hex(std::span<const uint8_t>(res.hash, OTD_HASH_SIZE)) << "\n";
  return kOk;
}

int hash(const Args& args) {
  const auto algo = args.get("--algo");
  std::optional<std::string> hex = args.get("--hex");
  if (algo && !hex && args.get("--header")) hex = std::string();  // ethash/kawpow take --header and --nonce
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
  if ((t->flags & OTD_ALGO_NEEDS_CONTEXT) != 0U) return hash_with_context(args, *rec, *input);
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

/// One-second samples of a set of counters, after a warm-up that is not counted: the samples in units per
/// second. Stops early when `failed` is set.
std::vector<double> sample_rates(const std::vector<std::atomic<uint64_t>>& counters, int warmup, int seconds,
                                 const std::atomic<bool>& failed) {
  auto total = [&] {
    uint64_t t = 0;
    for (const auto& c : counters) t += c.load();
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
  return samples;
}

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n == 0 ? 0 : n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/// Prints a bench result, as text or as one JSON object.
void print_bench(bool json, const std::string& algo, const char* what, const char* unit, const std::vector<double>& samples,
                 uint32_t threads, const char* implementation, const char* device, int seconds, int warmup, double prepare_s) {
  const double median = median_of(samples);
  const double lo = *std::min_element(samples.begin(), samples.end());
  const double hi = *std::max_element(samples.begin(), samples.end());
  if (json) {
    std::string out = "{\"algo\":" + q(algo) + ",\"mode\":" + q(what) + ",\"" + (std::string(what) == "verify" ? "verifications" : "hashrate") +
                      "\":" + std::to_string(median) + ",\"threads\":" + std::to_string(threads) +
                      ",\"implementation\":" + q(implementation) + ",\"device\":" + q(device) + ",\"seconds\":" + std::to_string(seconds) +
                      ",\"warmup\":" + std::to_string(warmup) + ",\"per_thread\":" + std::to_string(median / threads) +
                      ",\"min\":" + std::to_string(lo) + ",\"max\":" + std::to_string(hi) + ",\"context_seconds\":" + std::to_string(prepare_s) +
                      ",\"samples\":[";
    for (size_t i = 0; i < samples.size(); ++i) out += (i != 0 ? "," : "") + std::to_string(samples[i]);
    std::cout << out << "]}\n";
  } else {
    std::printf("bench %s %s (%s) on %s: %u thread(s), %d s after %d s warm-up\n", algo.c_str(), what, implementation, device, threads,
                seconds, warmup);
    if (prepare_s > 0) std::printf("context prepared in %.2f s\n", prepare_s);
    std::printf("median %.1f %s (%.1f %s per thread), min %.1f, max %.1f\n", median, unit, median / threads, unit, lo, hi);
  }
}

int bench(const Args& args) {
  auto cfg = load_config(args, false);
  if (!cfg) return kUsage;
  init_quiet_logging(*cfg, true);
  const std::string algo_name = args.get("--algo").value_or(cfg->mining.algorithm);
  const bool json = args.has("--json");
  const bool verify_mode = args.has("--verify");
  bool verify_full = false;
  if (const auto d = args.get("--dataset")) {
    if (*d != "light" && *d != "full") {
      std::cerr << "otedama-host bench: --dataset is light or full, got '" << *d << "'\n";
      return kUsage;
    }
    if (!verify_mode) {
      std::cerr << "otedama-host bench: --dataset goes with --verify (mining always uses the full dataset)\n";
      return kUsage;
    }
    verify_full = *d == "full";
  }
  const bool light = verify_mode && !verify_full;
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
  // Context algorithms: the RandomX key and the Ethash-family height (epoch) to benchmark with.
  std::vector<uint8_t> key{'o', 't', 'e', 'd', 'a', 'm', 'a', ' ', 'b', 'e', 'n', 'c', 'h'};
  if (auto k = args.get("--key")) {
    std::string why;
    auto parsed = common::from_hex(*k, &why);
    if (!parsed) {
      std::cerr << "otedama-host bench: --key is not valid hexadecimal: " << why << "\n";
      return kUsage;
    }
    key = *parsed;
  }
  const auto height = parse_u64(args.get("--height").value_or("0"));
  if (!height) {
    std::cerr << "otedama-host bench: --height takes a block height (decimal)\n";
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
  if (at->scan == nullptr && !verify_mode) {
    std::cerr << "otedama-host bench: " << algo_name << " has no CPU scan to benchmark (try --verify)\n";
    return kFailure;
  }
  const auto* bt = static_cast<const otd_backend_t*>(cpu->table);
  otd_device_info_t info{};
  info.struct_size = sizeof info;
  uint32_t count = 1;
  bt->enumerate(cpu->instance, &info, 1, &count);
  const uint32_t lanes = threads > 0 ? static_cast<uint32_t>(threads) : std::max<uint32_t>(1, info.max_lanes);

  // The context, when the algorithm needs one: the full dataset/DAG to mine (built with every core, as
  // mining does), the light one to verify (what a pool holds). Its build time is reported, not sampled.
  const bool needs_context = (at->flags & OTD_ALGO_NEEDS_CONTEXT) != 0U;
  std::unique_ptr<ScopedContext> ctx;
  double prepare_s = 0;
  if (needs_context) {
    if (!json) std::printf("preparing the %s %s context...\n", algo_name.c_str(), light ? "light" : "full");
    std::fflush(stdout);
    const auto t0 = std::chrono::steady_clock::now();
    // The key is RandomX's; the Ethash family takes its epoch (and seed) from the height alone.
    const bool has_mix = (at->flags & OTD_ALGO_HAS_MIX) != 0U;
    ctx = prepare_context(*algo, "bench", light ? OTD_CONTEXT_LIGHT : OTD_CONTEXT_FULL, has_mix ? std::vector<uint8_t>{} : key, *height, 0,
                          cfg->mining.cpu.huge_pages);
    if (!ctx) return kFailure;
    prepare_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }

  // The hashing blob of lane `lane`: Bitcoin-family algorithms build it from a synthetic template; the
  // others hash a fixed-size synthetic blob of their family's shape (the content does not change the cost):
  // Ethash family header hash || 8-byte nonce, Monero family a 76-byte hashing blob with the nonce at 39.
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
  auto make_blob = [&](uint32_t lane, std::vector<uint8_t>& blob, uint32_t& off, uint32_t& nsize) -> bool {
    if (needs_context) {
      const bool has_mix = (at->flags & OTD_ALGO_HAS_MIX) != 0U;
      blob.assign(has_mix ? 40 : 76, 0);
      for (size_t i = 0; i < blob.size(); ++i) blob[i] = static_cast<uint8_t>(i * 13 + lane);
      if (!has_mix) {
        // A well-formed Monero hashing blob (verifiers parse it): major 16, minor 16, timestamp 1700000000
        // (a 5-byte varint), previous id, nonce at 39, tree root, transaction count 1.
        const uint8_t head[7] = {0x10, 0x10, 0x80, 0xe2, 0xcf, 0xaa, 0x06};
        std::copy(std::begin(head), std::end(head), blob.begin());
        blob[75] = 0x01;
      }
      off = has_mix ? 32 : 39;
      nsize = has_mix ? 8 : 4;
      std::fill(blob.begin() + off, blob.begin() + off + nsize, 0);
      return true;
    }
    uint8_t en[8] = {static_cast<uint8_t>(lane)};
    blob.resize(256);
    uint32_t size = 0;
    char e[OTD_ERROR_CAP] = {};
    if (at->build_blob(algo->instance, &tmpl, en, 8, 0, 0, blob.data(), static_cast<uint32_t>(blob.size()), &size, &off, &nsize, e, sizeof e) != OTD_OK) {
      std::cerr << "bench: build_blob failed: " << e << "\n";
      return false;
    }
    blob.resize(size);
    return true;
  };

  otd_algorithm_info_t ai{};
  ai.struct_size = sizeof ai;
  at->get_info(algo->instance, &ai);
  std::atomic<uint32_t> abort{0};
  std::vector<std::atomic<uint64_t>> per_lane(lanes);
  std::vector<std::thread> workers;
  std::atomic<bool> failed{false};

  if (verify_mode) {
    // What a pool's verification pool does: verify() from `lanes` threads at once on one shared context.
    for (uint32_t lane = 0; lane < lanes; ++lane) {
      workers.emplace_back([&, lane] {
        std::vector<uint8_t> blob;
        uint32_t off = 0, nsize = 0;
        if (!make_blob(lane, blob, off, nsize)) {
          failed = true;
          return;
        }
        otd_verify_request_t req{};
        req.struct_size = sizeof req;
        req.blob = blob.data();
        req.blob_size = static_cast<uint32_t>(blob.size());
        req.height = *height;
        std::memset(req.share_target, 0xff, sizeof req.share_target);
        otd_verify_result_t res{};
        char e[OTD_ERROR_CAP] = {};
        for (uint64_t nonce = static_cast<uint64_t>(lane) << 40; abort.load() == 0; ++nonce) {
          for (uint32_t i = 0; i < nsize; ++i) blob[off + i] = static_cast<uint8_t>(nonce >> (8 * i));
          req.nonce = nonce;
          res = otd_verify_result_t{};
          res.struct_size = sizeof res;
          if (at->verify(algo->instance, ctx ? ctx->get() : nullptr, &req, &res, e, sizeof e) != OTD_OK) {
            std::cerr << "bench: verify failed: " << e << "\n";
            failed = true;
            return;
          }
          per_lane[lane].fetch_add(1);
        }
      });
    }
    const auto samples = sample_rates(per_lane, warmup, seconds, failed);
    abort.store(1);
    for (auto& w : workers) w.join();
    if (failed || samples.empty()) return kFailure;
    print_bench(json, algo_name, "verify", "verifications/s", samples, lanes, ai.implementation, "cpu", seconds, warmup, prepare_s);
    return kOk;
  }

  otd_device_limits_t limits{};
  limits.struct_size = sizeof limits;
  limits.lanes = lanes;
  limits.flags = cfg->mining.cpu.huge_pages ? OTD_LIMIT_HUGE_PAGES : 0U;
  otd_device_t* dev = nullptr;
  char err[OTD_ERROR_CAP] = {};
  if (bt->open_device(cpu->instance, 0, &limits, &dev, err, sizeof err) != OTD_OK) {
    std::cerr << "otedama-host bench: cannot open cpu0: " << err << "\n";
    return kFailure;
  }
  // The share target is zero so nothing is ever "found": pure hashing throughput through the same path
  // mining takes (backend run -> the algorithm's scan).
  for (uint32_t lane = 0; lane < lanes; ++lane) {
    workers.emplace_back([&, lane] {
      std::vector<uint8_t> blob;
      uint32_t off = 0, nsize = 0;
      char e[OTD_ERROR_CAP] = {};
      if (!make_blob(lane, blob, off, nsize)) {
        failed = true;
        return;
      }
      otd_work_unit_t w{};
      w.struct_size = sizeof w;
      w.algorithm = algo_name.c_str();
      w.blob = blob.data();
      w.blob_size = static_cast<uint32_t>(blob.size());
      w.nonce_offset = off;
      w.nonce_size = nsize;
      w.height = *height;
      w.algorithm_plugin = algo->instance;
      w.algorithm_table = at;
      w.algorithm_context = ctx ? ctx->get() : nullptr;
      w.algorithm_context_id = ctx ? 1 : 0;
      w.abort_flag = reinterpret_cast<const volatile uint32_t*>(&abort);  // same representation (see scheduler.cpp)
      w.on_found = [](void*, const otd_found_t*) -> otd_status_t { return OTD_OK; };
      // Chunks sized to take ~20 ms whatever the algorithm's speed, so one-second samples stay smooth.
      uint64_t start = static_cast<uint64_t>(lane) << 28, chunk = 16;
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
        if (ms > 0 && done == chunk) chunk = std::clamp<uint64_t>(static_cast<uint64_t>(static_cast<double>(chunk) * 20.0 / ms), 4, 1u << 24);
      }
    });
  }
  const auto samples = sample_rates(per_lane, warmup, seconds, failed);
  abort.store(1);
  for (auto& w : workers) w.join();
  bt->close_device(cpu->instance, dev);
  if (failed || samples.empty()) return kFailure;
  print_bench(json, algo_name, "mine", "H/s", samples, lanes, ai.implementation, info.name, seconds, warmup, prepare_s);
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

// ---------------------------------------------------------------------------------------------------------
// mine: the host in miner mode (the stratum-client transport as the job source, local mining, no pool server)

int bad_usage(std::string_view prefix, const std::string& error);

/// What `mine` was given on its command line. Short options as cpuminer and xmrig spell them.
struct MineArgs {
  struct Pool {
    std::string url;
    std::optional<std::string> user, pass;
  };
  std::vector<Pool> pools;                     ///< -o, in order
  std::optional<std::string> user, pass;       ///< -u/-p before the first -o
  std::optional<std::string> algo, threads, config, run_for, print_time;
  bool solo = false;                           ///< --solo: against a coin node, no pool
  std::optional<std::string> node, address;    ///< --node URL, --address ADDR (solo)
  std::string error;
};

MineArgs parse_mine(int argc, char** argv) {
  MineArgs a;
  struct Opt {
    const char* short_name;
    const char* long_name;
  };
  static constexpr Opt kOpts[] = {{"-o", "--url"},     {"-u", "--user"},   {"-p", "--pass"},       {"-O", "--userpass"},
                                  {"-a", "--algo"},    {"-t", "--threads"}, {nullptr, "--config"}, {nullptr, "--run-for"},
                                  {nullptr, "--print-time"}, {nullptr, "--node"}, {nullptr, "--address"}};
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--solo") {  // the one option without a value
      a.solo = true;
      continue;
    }
    std::string name, value;
    bool have_value = false;
    for (const Opt& o : kOpts) {
      if (o.short_name != nullptr && arg.rfind(o.short_name, 0) == 0) {
        name = o.long_name;
        if (arg.size() > 2) {  // -oURL
          value = arg.substr(2);
          have_value = true;
        }
        break;
      }
      const std::string l = o.long_name;
      if (arg == l || arg.rfind(l + "=", 0) == 0) {
        name = l;
        if (arg.size() > l.size()) {
          value = arg.substr(l.size() + 1);
          have_value = true;
        }
        break;
      }
    }
    if (name.empty()) {
      a.error = "unknown option " + arg;
      return a;
    }
    if (!have_value) {
      if (i + 1 >= argc) {
        a.error = "option " + arg + " needs a value";
        return a;
      }
      value = argv[++i];
    }
    auto set_user = [&](std::optional<std::string> user, std::optional<std::string> pass) {
      auto& u = a.pools.empty() ? a.user : a.pools.back().user;
      auto& p = a.pools.empty() ? a.pass : a.pools.back().pass;
      if (user) u = std::move(user);
      if (pass) p = std::move(pass);
    };
    if (name == "--url") a.pools.push_back(MineArgs::Pool{value, std::nullopt, std::nullopt});
    else if (name == "--user") set_user(value, std::nullopt);
    else if (name == "--pass") set_user(std::nullopt, value);
    else if (name == "--userpass") {
      const auto colon = value.find(':');
      if (colon == std::string::npos) {
        a.error = "-O/--userpass takes USER:PASS";
        return a;
      }
      set_user(value.substr(0, colon), value.substr(colon + 1));
    } else if (name == "--algo") a.algo = value;
    else if (name == "--threads") a.threads = value;
    else if (name == "--config") a.config = value;
    else if (name == "--run-for") a.run_for = value;
    else if (name == "--print-time") a.print_time = value;
    else if (name == "--node") a.node = value;
    else if (name == "--address") a.address = value;
  }
  return a;
}

std::optional<int64_t> non_negative(const std::optional<std::string>& text, int64_t max) {
  if (!text) return std::nullopt;
  try {
    size_t used = 0;
    const long long v = std::stoll(*text, &used);
    if (used == text->size() && v >= 0 && v <= max) return v;
  } catch (const std::exception&) {
  }
  return -1;
}

/// "12.35 MH/s".
std::string format_rate(double h) {
  static constexpr const char* kUnits[] = {"H/s", "kH/s", "MH/s", "GH/s", "TH/s"};
  size_t u = 0;
  while (h >= 1000 && u + 1 < std::size(kUnits)) {
    h /= 1000;
    ++u;
  }
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.2f %s", h, kUnits[u]);
  return buf;
}

std::string clock_stamp() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "[%Y-%m-%d %H:%M:%S]", &tm);
  return buf;
}

const char* verdict_word(uint32_t verdict) {
  switch (verdict) {
    case OTD_SHARE_STALE: return "stale";
    case OTD_SHARE_DUPLICATE: return "duplicate";
    case OTD_SHARE_LOW_DIFFICULTY: return "low difficulty";
    case OTD_SHARE_BAD_NTIME: return "bad ntime";
    default: return "invalid";
  }
}

constexpr const char* kStratumClientId = "org.otedama.transport.stratum-client";

/// The coin-node job source that serves an algorithm's coin family in solo mode ("" = none yet).
std::string solo_source_for(const std::string& algorithm) {
  if (algorithm == "randomx") return "monerod";
  if (algorithm == "sha256d" || algorithm == "scrypt") return "bitcoind";  // bitcoind, litecoind
  return "";
}

/// `mine --solo`: the host with a coin-node job source (pool.source monerod ...), local mining, no pool
/// server; every block pays --address. Prints the node's verdict on each block and the hashrate.
int mine_solo(const MineArgs& a, config::Config cfg) {
  if (!a.pools.empty()) return bad_usage("otedama-host mine: ", "--solo mines against a node (--node URL), not a pool (-o)");
  if (!a.node) return bad_usage("otedama-host mine: ", "--solo needs --node URL (the coin node's RPC, e.g. http://127.0.0.1:18081)");
  if (!a.address || a.address->empty()) return bad_usage("otedama-host mine: ", "--solo needs --address ADDR (the address every block pays)");
  std::string why;
  if (!common::parse_http_url(*a.node, &why)) return bad_usage("otedama-host mine: --node " + *a.node + ": ", why);
  if (a.algo) cfg.mining.algorithm = *a.algo;
  const std::string source = solo_source_for(cfg.mining.algorithm);
  if (source.empty())
    return bad_usage("otedama-host mine: ", "--solo has no coin-node job source for '" + cfg.mining.algorithm + "' yet (randomx: monerod; sha256d, scrypt: bitcoind)");
  if (a.threads) {
    const auto t = non_negative(a.threads, 1024);
    if (!t || *t < 0) return bad_usage("otedama-host mine: ", "-t takes a number of threads 0..1024 (0 = every CPU)");
    cfg.mining.cpu.threads = *t;
  }
  const auto run_for = a.run_for ? non_negative(a.run_for, 365LL * 24 * 3600) : std::optional<int64_t>(0);
  if (!run_for || *run_for < 0) return bad_usage("otedama-host mine: ", "--run-for takes a number of seconds >= 0 (0 = until a signal)");
  config::Config::Node::Daemon daemon;
  daemon.url = *a.node;
  daemon.user = a.user.value_or("");
  daemon.pass = a.pass.value_or("");
  cfg.node.daemons = {daemon};
  cfg.node.payout_address = *a.address;
  cfg.app.mode = config::Mode::solo;
  cfg.pool.source = source;
  cfg.pool.enable = false;  // no stratum server: the blocks are the miner's own

  init_logging(cfg);
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  host::Host host(cfg);
  host.load_plugins(/*self_tests=*/true, /*conformance_fixtures=*/false);
  if (host.plugins().find_algorithm(cfg.mining.algorithm) == nullptr) {
    std::cerr << "otedama-host mine: no loaded algorithm plugin named '" << cfg.mining.algorithm << "' (see --list-plugins)\n";
    return kNotFound;
  }
  const std::string source_id = "org.otedama.transport." + source;
  struct Tally {
    std::mutex mutex;
    uint64_t found = 0, rejected = 0;
  };
  auto tally = std::make_shared<Tally>();
  host.events().subscribe([tally, source_id](const router::Event& e) {
    const auto* b = e.as<otd_event_block_t>(OTD_EVENT_BLOCK);
    if (b == nullptr || std::string_view(e.header().source) != source_id) return;
    std::lock_guard lock(tally->mutex);
    const bool ok = b->state == OTD_BLOCK_FOUND || b->state == OTD_BLOCK_CONFIRMED;
    (ok ? tally->found : tally->rejected) += 1;
    std::cout << clock_stamp() << " block " << b->height << (ok ? " accepted by the node" : b->state == OTD_BLOCK_ORPHANED ? " orphaned (stale)" : " rejected by the node")
              << ", " << tally->found << " found so far" << std::endl;
  });
  const int rc = host.serve(g_stop, std::chrono::seconds(*run_for));
  {
    std::lock_guard lock(tally->mutex);
    std::cout << "mine: " << tally->found << " block(s) accepted by the node, " << tally->rejected << " not" << std::endl;
  }
  return rc;
}

int mine(int argc, char** argv) {
  const MineArgs a = parse_mine(argc, argv);
  if (!a.error.empty()) return bad_usage("otedama-host mine: ", a.error);
  Args config_args;
  if (a.config) config_args.values.emplace_back("--config", *a.config);
  auto cfg = load_config(config_args, false);
  if (!cfg) return kUsage;

  if (a.solo) return mine_solo(a, *cfg);
  if (a.node || a.address) return bad_usage("otedama-host mine: ", "--node and --address go with --solo (mining straight against a coin node)");

  // The command line wins over the file: -o replaces miner.pools, -u/-p fill in what a pool lacks.
  if (!a.pools.empty()) {
    // A pool without its own -u/-p takes those given before the first -o, else the first ones given.
    std::optional<std::string> any_user = a.user, any_pass = a.pass;
    for (const auto& p : a.pools) {
      if (!any_user) any_user = p.user;
      if (!any_pass) any_pass = p.pass;
    }
    cfg->miner.pools.clear();
    for (const auto& p : a.pools) {
      std::string why;
      if (!common::parse_stratum_url(p.url, &why)) return bad_usage("otedama-host mine: -o " + p.url + ": ", why);
      config::Config::Miner::Pool pool;
      pool.url = p.url;
      pool.user = p.user.value_or(any_user.value_or(""));
      pool.pass = p.pass.value_or(any_pass.value_or("x"));
      cfg->miner.pools.push_back(std::move(pool));
    }
  } else {
    for (auto& pool : cfg->miner.pools) {
      if (a.user) pool.user = *a.user;
      if (a.pass) pool.pass = *a.pass;
    }
  }
  if (cfg->miner.pools.empty())
    return bad_usage("otedama-host mine: ", "no pool: give -o stratum+tcp://HOST:PORT (or miner.pools in --config)");
  for (const auto& pool : cfg->miner.pools)
    if (pool.user.empty()) return bad_usage("otedama-host mine: ", "-u USER is required for " + pool.url + " (the pool's user name, often your payout address)");
  if (a.algo) {
    if (a.algo->empty()) return bad_usage("otedama-host mine: ", "-a needs an algorithm name (sha256d, scrypt ...)");
    cfg->mining.algorithm = *a.algo;
  }
  if (a.threads) {
    const auto t = non_negative(a.threads, 1024);
    if (!t || *t < 0) return bad_usage("otedama-host mine: ", "-t takes a number of threads 0..1024 (0 = every CPU)");
    cfg->mining.cpu.threads = *t;
  }
  const auto run_for = a.run_for ? non_negative(a.run_for, 365LL * 24 * 3600) : std::optional<int64_t>(0);
  if (!run_for || *run_for < 0) return bad_usage("otedama-host mine: ", "--run-for takes a number of seconds >= 0 (0 = until a signal)");
  const auto print_time = a.print_time ? non_negative(a.print_time, 86400) : std::optional<int64_t>(10);
  if (!print_time || *print_time < 1) return bad_usage("otedama-host mine: ", "--print-time takes a number of seconds >= 1");
  cfg->app.mode = config::Mode::miner;
  cfg->pool.source = "stratum-client";
  cfg->pool.enable = false;  // no stratum server in miner mode

  init_logging(*cfg);
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  host::Host host(*cfg);
  host.load_plugins(/*self_tests=*/true, /*conformance_fixtures=*/false);
  if (host.plugins().find_algorithm(cfg->mining.algorithm) == nullptr) {
    std::cerr << "otedama-host mine: no loaded algorithm plugin named '" << cfg->mining.algorithm << "' (see --list-plugins)\n";
    return kNotFound;
  }
  const loader::PluginRecord* client = host.plugins().find(kStratumClientId);

  // Output, cpuminer style: one line per pool verdict, and the hashrate every --print-time seconds.
  // Both come from the event bus (its own thread): the transport posts the pool's verdicts as share
  // events, the scheduler posts each device's hashrate every second.
  struct Tally {
    std::mutex mutex;
    uint64_t accepted = 0, rejected = 0;
    /// By device: hashes counted so far, and at the last print. A device counts its hashes when a chunk of
    /// work returns, so the rate is taken over the whole print interval, not from one second's telemetry.
    std::map<std::string, std::pair<uint64_t, uint64_t>> hashes;
    std::map<std::string, double> rate;
    double total = 0;
    std::chrono::steady_clock::time_point last_print = std::chrono::steady_clock::now();
  };
  auto tally = std::make_shared<Tally>();
  const auto interval = std::chrono::seconds(*print_time);
  host.events().subscribe([tally, interval, client](const router::Event& e) {
    std::lock_guard lock(tally->mutex);
    if (const auto* t = e.as<otd_event_telemetry_t>(OTD_EVENT_TELEMETRY)) {
      tally->hashes[t->device].first = t->hashes_total;
      const auto now = std::chrono::steady_clock::now();
      const double seconds = std::chrono::duration<double>(now - tally->last_print).count();
      if (now - tally->last_print < interval || !(seconds > 0)) return;
      tally->last_print = now;
      tally->total = 0;
      std::string devices;
      for (auto& [device, h] : tally->hashes) {
        const double rate = static_cast<double>(h.first - std::min(h.first, h.second)) / seconds;
        h.second = h.first;
        tally->rate[device] = rate;
        tally->total += rate;
        devices += (devices.empty() ? "" : ", ") + device + " " + format_rate(rate);
      }
      std::string pool = "no pool";
      if (client != nullptr) {
        otd_transport_status_t st{};
        st.struct_size = sizeof st;
        const auto* table = static_cast<const otd_transport_t*>(client->table);
        if (table->get_status(client->instance, &st) == OTD_OK)
          pool = st.state == OTD_STATUS_UP ? std::string("pool ") + st.endpoint : std::string(st.message);
      }
      std::cout << clock_stamp() << " speed " << format_rate(tally->total) << " (" << devices << "), shares " << tally->accepted << "/"
                << tally->rejected << " accepted/rejected, " << pool << std::endl;
      return;
    }
    const auto* s = e.as<otd_event_share_t>(OTD_EVENT_SHARE);
    if (s == nullptr || std::string_view(e.header().source) != kStratumClientId) return;
    const bool ok = s->verdict == OTD_SHARE_ACCEPTED || s->verdict == OTD_SHARE_BLOCK;
    (ok ? tally->accepted : tally->rejected) += 1;
    const uint64_t all = tally->accepted + tally->rejected;
    char line[256];
    std::snprintf(line, sizeof line, "%s: %llu/%llu (%.2f%%), difficulty %g (share %.4g)%s%s%s%s", ok ? "accepted" : "rejected",
                  static_cast<unsigned long long>(tally->accepted), static_cast<unsigned long long>(all),
                  100.0 * static_cast<double>(tally->accepted) / static_cast<double>(all), s->difficulty, s->share_difficulty,
                  tally->total > 0 ? ", " : "", tally->total > 0 ? format_rate(tally->total).c_str() : "", ok ? "" : ": ",
                  ok ? "" : (s->reason[0] != '\0' ? std::string(s->reason, strnlen(s->reason, sizeof s->reason)) : std::string(verdict_word(s->verdict))).c_str());
    std::cout << clock_stamp() << " " << line << std::endl;
  });
  const int rc = host.serve(g_stop, std::chrono::seconds(*run_for));
  {
    std::lock_guard lock(tally->mutex);
    std::cout << "mine: " << tally->accepted << " share(s) accepted, " << tally->rejected << " rejected" << std::endl;
  }
  return rc;
}

/// One request to a running host's admin API; nullopt (and `error`) when nothing answered.
struct ApiAnswer {
  int code = 0;
  std::string body;
};
std::optional<ApiAnswer> api_request(const config::Address& a, const std::string& method, const std::string& path, const std::string& body,
                                     const std::string& token, std::string* error) {
  try {
    // A host listening on every address answers on loopback.
    const std::string host = a.host.empty() || a.host == "0.0.0.0" ? "127.0.0.1" : a.host == "::" ? "::1" : a.host;
    Poco::Net::HTTPClientSession session(host, a.port);
    session.setTimeout(Poco::Timespan(3, 0));
    Poco::Net::HTTPRequest req(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
    if (!token.empty()) req.set("Authorization", "Bearer " + token);
    if (!body.empty()) {
      req.setContentType("application/json");
      req.setContentLength(static_cast<std::streamsize>(body.size()));
    }
    session.sendRequest(req) << body;
    Poco::Net::HTTPResponse resp;
    std::istream& in = session.receiveResponse(resp);
    ApiAnswer out;
    out.code = static_cast<int>(resp.getStatus());
    Poco::StreamCopier::copyToString(in, out.body);
    return out;
  } catch (const Poco::Exception& e) {
    if (error != nullptr) *error = e.displayText();
  } catch (const std::exception& e) {
    if (error != nullptr) *error = e.what();
  }
  return std::nullopt;
}

std::string human_rate(double hs) {
  static constexpr const char* kUnits[] = {"H/s", "kH/s", "MH/s", "GH/s", "TH/s", "PH/s", "EH/s"};
  size_t u = 0;
  while (hs >= 1000 && u + 1 < std::size(kUnits)) {
    hs /= 1000;
    ++u;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f %s", hs, kUnits[u]);
  return buf;
}

/// The running host's /api/stats for this config: nullopt (and `note`) when no host answers, or when
/// the one that answers serves another ledger than this config's storage.path.
std::optional<std::string> fetch_live_stats(const config::Config& cfg, std::string* note) {
  const std::string where = cfg.api.address.to_string();
  if (!cfg.api.enable) {
    *note = "api.enable is false";
    return std::nullopt;
  }
  std::string error;
  auto r = api_request(cfg.api.address, "GET", "/api/stats", "", "", &error);
  if (!r) {
    *note = "no host answered at " + where + " (" + error + ")";
    return std::nullopt;
  }
  if (r->code == 401) {
    // Reads need a token (api.auth.public_read false): get one with the admin secret, if this user has it.
    std::string why;
    const std::string secret = api::resolve_admin_secret(cfg, &why, /*generate=*/false);
    if (secret.empty()) {
      *note = "the host at " + where + " wants a token and " + why;
      return std::nullopt;
    }
    Poco::JSON::Object body;
    body.set("secret", secret);
    std::ostringstream b;
    body.stringify(b);
    auto t = api_request(cfg.api.address, "POST", "/api/auth/token", b.str(), "", &error);
    if (!t || t->code != 200) {
      *note = "the host at " + where + " refused the admin secret" + (t ? " (HTTP " + std::to_string(t->code) + ")" : ": " + error);
      return std::nullopt;
    }
    try {
      Poco::JSON::Parser parser;
      const auto token = parser.parse(t->body).extract<Poco::JSON::Object::Ptr>()->getValue<std::string>("token");
      r = api_request(cfg.api.address, "GET", "/api/stats", "", token, &error);
    } catch (const std::exception& e) {
      *note = std::string("the host at " + where + " answered the token request with something else: ") + e.what();
      return std::nullopt;
    }
    if (!r) {
      *note = "no host answered at " + where + " (" + error + ")";
      return std::nullopt;
    }
  }
  if (r->code != 200) {
    *note = "the host at " + where + " answered HTTP " + std::to_string(r->code) + ": " + r->body.substr(0, 200);
    return std::nullopt;
  }
  try {
    Poco::JSON::Parser parser;
    const auto o = parser.parse(r->body).extract<Poco::JSON::Object::Ptr>();
    const std::string theirs = o->getObject("storage")->getValue<std::string>("path");
    std::string ours = cfg.storage.path;
    if (ours != ":memory:" && !ours.empty()) ours = std::filesystem::absolute(ours).lexically_normal().string();
    if (theirs != ours) {
      *note = "the host at " + where + " serves another ledger (" + theirs + ")";
      return std::nullopt;
    }
  } catch (const std::exception& e) {
    *note = "the host at " + where + " answered something that is not its status: " + e.what();
    return std::nullopt;
  }
  return r->body;
}

void print_live_status(const std::string& json, const config::Config& cfg) {
  Poco::JSON::Parser parser;
  const auto o = parser.parse(json).extract<Poco::JSON::Object::Ptr>();
  const auto shares = o->getObject("shares");
  const auto blocks = o->getObject("blocks");
  const auto source = o->getObject("job_source");
  const auto up = o->getValue<int64_t>("uptime_s");
  std::cout << "otedama-host " << o->getValue<std::string>("version") << " (" << o->getValue<std::string>("mode") << ", "
            << o->getValue<std::string>("algorithm") << ", " << o->optValue<std::string>("coin", "") << "), up " << up / 3600 << "h "
            << (up / 60) % 60 << "m " << up % 60 << "s, API " << cfg.api.address.to_string() << "\n"
            << "  mining      " << (o->getValue<bool>("mining") ? "on" : "paused") << ", local " << human_rate(o->getValue<double>("hashrate")) << "\n"
            << "  pool        " << human_rate(o->getValue<double>("pool_hashrate")) << ", " << o->getValue<int64_t>("workers") << " worker(s), "
            << o->getValue<int64_t>("connections") << " connection(s)\n"
            << "  shares      " << shares->getValue<uint64_t>("accepted") << " accepted, " << shares->getValue<uint64_t>("rejected") << " rejected\n"
            << "  blocks      " << blocks->getValue<uint64_t>("found") << " found\n"
            << "  job source  " << source->getValue<std::string>("plugin") << " " << (source->getValue<bool>("up") ? "up" : "DOWN") << ", height "
            << source->getValue<uint64_t>("height") << "\n";
  if (o->has("rejected_by_reason")) {
    const auto rej = o->getObject("rejected_by_reason");
    for (const auto& [reason, n] : *rej) std::cout << "    rejected: " << reason << " " << n.toString() << "\n";
  }
  if (o->has("storage")) {
    const auto st = o->getObject("storage");
    std::cout << "  storage     " << st->getValue<std::string>("path") << ": " << st->optValue<int64_t>("shares", 0) << " share(s)\n";
  }
}

int status(const Args& args) {
  auto cfg = load_config(args, false);
  if (!cfg) return kUsage;
  std::string note;
  if (const auto live = fetch_live_stats(*cfg, &note)) {
    try {
      if (args.has("--json")) {
        std::cout << *live << "\n";
      } else {
        print_live_status(*live, *cfg);
      }
      return kOk;
    } catch (const std::exception& e) {
      note = std::string("the host's status could not be read: ") + e.what();
    }
  }
  // No running host for this config: what the ledger says.
  if (!args.has("--json")) std::cout << "note: " << note << "; showing the ledger only\n";
  try {
    auto db = storage::Storage::open(cfg->storage.path);
    const auto shares = db.count_shares();
    const auto recent = db.recent_shares(10);
    if (args.has("--json")) {
      std::string out = "{\"live\":false,\"note\":" + q(note) + ",\"storage\":" + q(cfg->storage.path) + ",\"shares\":" + std::to_string(shares) + ",\"recent\":[";
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

int ledger(const Args& args) {
  if (args.positional.size() != 1 ||
      (args.positional[0] != "balances" && args.positional[0] != "blocks" && args.positional[0] != "payments")) {
    std::cerr << "otedama-host ledger: use 'ledger balances|blocks|payments [--coin C] [--limit N] [--json]'\n";
    return kUsage;
  }
  const std::string what = args.positional[0];
  const std::string coin = args.get("--coin").value_or("");
  std::size_t limit = 100;
  if (const auto l = args.get("--limit")) {
    char* end = nullptr;
    const unsigned long long n = std::strtoull(l->c_str(), &end, 10);
    if (l->empty() || *end != '\0' || n == 0 || l->front() == '-') {
      std::cerr << "otedama-host ledger: --limit: expected a positive integer, got '" << *l << "'\n";
      return kUsage;
    }
    limit = static_cast<std::size_t>(n);
  }
  auto cfg = load_config(args, false);
  if (!cfg) return kUsage;
  const bool json = args.has("--json");
  try {
    auto db = storage::Storage::open(cfg->storage.path);
    std::string out;
    if (what == "balances") {
      const auto rows = db.balances(coin);
      if (json) {
        out = "[";
        for (size_t i = 0; i < rows.size() && i < limit; ++i) {
          const auto& b = rows[i];
          out += (i != 0 ? "," : "") + std::string("{\"coin\":") + q(b.coin) + ",\"account\":" + q(b.account) +
                 ",\"amount\":" + std::to_string(b.amount) + ",\"updated_at_ms\":" + std::to_string(b.updated_at_ms) + "}";
        }
        out += "]\n";
      } else {
        out = std::to_string(rows.size()) + " balance(s)" + (coin.empty() ? "" : " for " + coin) + "\n";
        for (size_t i = 0; i < rows.size() && i < limit; ++i)
          out += "  " + rows[i].coin + "  " + rows[i].account + "  " + std::to_string(rows[i].amount) + "\n";
      }
    } else if (what == "blocks") {
      const auto rows = db.blocks(coin, limit);
      if (json) {
        out = "[";
        for (size_t i = 0; i < rows.size(); ++i) {
          const auto& b = rows[i];
          std::string hash;
          static constexpr char kHex[] = "0123456789abcdef";
          for (const auto byte : b.hash) {
            hash += kHex[byte >> 4];
            hash += kHex[byte & 15];
          }
          out += (i != 0 ? "," : "") + std::string("{\"id\":") + std::to_string(b.id) + ",\"coin\":" + q(b.coin) +
                 ",\"height\":" + std::to_string(b.height) + ",\"hash\":" + q(hash) + ",\"reward\":" + std::to_string(b.reward) +
                 ",\"tx_fees\":" + std::to_string(b.tx_fees) + ",\"finder\":" + q(b.finder) + ",\"status\":" +
                 q(std::string(storage::to_string(b.status))) + ",\"confirmations\":" + std::to_string(b.confirmations) +
                 ",\"found_at_ms\":" + std::to_string(b.found_at_ms) + ",\"credited\":" + (b.credited_at_ms != 0 ? "true" : "false") +
                 ",\"scheme\":" + q(b.scheme) + "}";
        }
        out += "]\n";
      } else {
        out = std::to_string(rows.size()) + " block(s)" + (coin.empty() ? "" : " for " + coin) + ", newest first\n";
        for (const auto& b : rows) {
          out += "  #" + std::to_string(b.id) + "  " + b.coin + "  height " + std::to_string(b.height) + "  " +
                 std::string(storage::to_string(b.status)) + " (" + std::to_string(b.confirmations) + " conf)  reward " +
                 std::to_string(b.reward) + "  finder " + b.finder + (b.credited_at_ms != 0 ? "  credited by " + b.scheme : "") + "\n";
        }
      }
    } else {
      const auto rows = db.payments(coin, limit);
      if (json) {
        out = "[";
        for (size_t i = 0; i < rows.size(); ++i) {
          const auto& p = rows[i];
          out += (i != 0 ? "," : "") + std::string("{\"id\":") + std::to_string(p.id) + ",\"coin\":" + q(p.coin) +
                 ",\"account\":" + q(p.account) + ",\"amount\":" + std::to_string(p.amount) + ",\"idempotency_key\":" +
                 q(p.idempotency_key) + ",\"status\":" + q(p.status) + ",\"txid\":" + q(p.txid) + ",\"error\":" + q(p.error) +
                 ",\"created_at_ms\":" + std::to_string(p.created_at_ms) + ",\"updated_at_ms\":" + std::to_string(p.updated_at_ms) + "}";
        }
        out += "]\n";
      } else {
        out = std::to_string(rows.size()) + " payment(s)" + (coin.empty() ? "" : " for " + coin) + ", newest first\n";
        for (const auto& p : rows) {
          out += "  #" + std::to_string(p.id) + "  " + p.coin + "  " + p.account + "  " + std::to_string(p.amount) + "  " + p.status +
                 (p.txid.empty() ? "" : "  tx " + p.txid) + (p.error.empty() ? "" : "  error: " + p.error) + "\n";
        }
      }
    }
    std::cout << out;
  } catch (const std::exception& e) {
    std::cerr << "otedama-host ledger: storage '" << cfg->storage.path << "': " << e.what() << "\n";
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
  if (check) {
    std::cout << args.positional[1] << ": ok\n";
  } else {
    // The admin secret is not repeated on a terminal or in a pasted config.
    if (!cfg.api.auth.secret.empty()) cfg.api.auth.secret = "(set; not shown)";
    std::cout << config::to_yaml(cfg);
  }
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
      Args a = parse(argc, argv, 2, {"--algo", "--hex", "--key", "--height", "--header", "--nonce", "--config"}, {"--raw"});
      if (!a.error.empty()) return bad_usage("otedama-host hash: ", a.error);
      return hash(a);
    }
    if (cmd == "bench") {
      Args a = parse(argc, argv, 2, {"--algo", "--seconds", "--warmup", "--threads", "--key", "--height", "--config", "--dataset"}, {"--json", "--verify"});
      if (!a.error.empty()) return bad_usage("otedama-host bench: ", a.error);
      return bench(a);
    }
    if (cmd == "serve") {
      Args a = parse(argc, argv, 2, {"--config", "--run-for"}, {});
      if (!a.error.empty()) return bad_usage("otedama-host serve: ", a.error);
      return serve(a);
    }
    if (cmd == "mine") return mine(argc, argv);
    if (cmd == "status") {
      Args a = parse(argc, argv, 2, {"--config"}, {"--json"});
      if (!a.error.empty()) return bad_usage("otedama-host status: ", a.error);
      return status(a);
    }
    if (cmd == "ledger") {
      Args a = parse(argc, argv, 2, {"--config", "--coin", "--limit"}, {"--json"});
      if (!a.error.empty()) return bad_usage("otedama-host ledger: ", a.error);
      return ledger(a);
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
