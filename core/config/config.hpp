// The YAML configuration of otedama-host: typed sections, loading with exact error positions, and
// JSON views of any subtree for plugins.
//
// Error contract: loading never throws for bad input. Every problem found in one pass is returned as an
// Error; the caller decides how to log them. Exceptions only escape for programmer errors
// (std::logic_error, e.g. a schema default that does not parse) and std::bad_alloc.
// Thread contract: all functions are reentrant; a Config is a plain value type.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/value.hpp"

namespace otedama::config {

// A listen or connect address. An empty host means every interface (written ":3333").
struct Address {
    std::string host;
    std::uint16_t port = 0;

    // "host:port", "[v6:host]:port" or ":port"; parses back to the same Address.
    [[nodiscard]] std::string to_string() const;
    bool operator==(const Address&) const = default;
};

// Enumerations. The names arrays hold the canonical spelling of each enumerator, in declaration order;
// the config matches them case-insensitively.
enum class Mode { pool, miner, solo, p2p };
inline constexpr std::array<std::string_view, 4> mode_names{"pool", "miner", "solo", "p2p"};

enum class RewardSystem { pplns, pps, fpps, prop, solo };
inline constexpr std::array<std::string_view, 5> reward_system_names{"PPLNS", "PPS", "FPPS", "PROP", "SOLO"};

// pool.payments.wallet: what sends payments (core/host/payments.hpp, core/host/wallet_rpc.hpp).
enum class WalletKind { devnet, bitcoind, monero };
inline constexpr std::array<std::string_view, 3> wallet_kind_names{"devnet", "bitcoind", "monero"};
/// mining.dataset: memory-hard algorithms mine on the full dataset/DAG or on the light cache.
enum class DatasetMode { full, light };
inline constexpr std::array<std::string_view, 2> dataset_mode_names{"full", "light"};
// The GPU backends mining.gpu.backends may name (their plugin names).
inline constexpr std::array<std::string_view, 3> gpu_backend_names{"cuda", "opencl", "vulkan"};

enum class LogLevel { trace, debug, info, warn, error, off };
inline constexpr std::array<std::string_view, 6> log_level_names{"trace", "debug", "info", "warn", "error", "off"};

enum class LogFormat { text, json };
inline constexpr std::array<std::string_view, 2> log_format_names{"text", "json"};

[[nodiscard]] std::string_view to_string(Mode value);
[[nodiscard]] std::string_view to_string(RewardSystem value);
[[nodiscard]] std::string_view to_string(DatasetMode value);
[[nodiscard]] std::string_view to_string(LogLevel value);
[[nodiscard]] std::string_view to_string(LogFormat value);

// The effective configuration. Field names are the config keys (one concept, one name): the key
// `mining.cpu.threads` is the field `cfg.mining.cpu.threads`. Obtain one from defaults() or load_*();
// a value-initialised Config{} holds zeros, not the defaults.
struct Config {
    struct App {
        std::string name;
        Mode mode{};
        bool operator==(const App&) const = default;
    };
    struct Mining {
        struct Cpu {
            std::int64_t threads = 0;   // 0 = one per core
            std::int64_t priority = 0;  // nice level 0..19
            bool affinity = false;      // pin each thread to a core
            bool huge_pages = true;     // huge pages where the OS allows
            bool operator==(const Cpu&) const = default;
        };
        struct Gpu {
            std::vector<std::int64_t> devices;  // empty = all; indexes the de-duplicated GPU list
            std::vector<std::string> backends;  // preference among GPU backends listing one physical GPU
            std::int64_t intensity = 0;
            std::int64_t temperature_limit = 0;  // °C
            bool operator==(const Gpu&) const = default;
        };
        struct Asic {
            std::vector<std::string> devices;  // serial or USB paths
            std::chrono::milliseconds poll_interval{};
            bool operator==(const Asic&) const = default;
        };
        std::string algorithm;
        bool enable_cpu = false;
        bool enable_gpu = false;
        bool enable_asic = false;
        DatasetMode dataset{};
        Cpu cpu;
        Gpu gpu;
        Asic asic;
        bool operator==(const Mining&) const = default;
    };
    struct Pool {
        struct Rewards {
            RewardSystem system{};
            std::chrono::milliseconds window{};
            std::int64_t confirmations = 0;  // a block is credited once it has this many
            std::int64_t reserve_floor = 0;  // PPS/FPPS: warn when the pool's reserve falls below (atomic units)
            bool operator==(const Rewards&) const = default;
        };
        struct Payments {
            std::int64_t minimum = 0;              // pay balances at or above this (atomic units); 0 = no payments
            std::chrono::milliseconds interval{};  // how often payments run
            WalletKind wallet{};                   // devnet, bitcoind (wallet RPC), monero (monero-wallet-rpc)
            std::string rpc_url;                   // bitcoind / monero: the wallet's RPC (http://host:port[/path])
            std::string rpc_user;
            std::string rpc_password;
            std::string rpc_cookie_file;           // bitcoind: the node's .cookie (wins over user/password)
            std::string wallet_name;               // bitcoind: a loaded wallet's name (RPC path /wallet/<name>)
            bool subtract_fee = false;             // bitcoind: the transaction fee comes out of the miner's amount
            std::int64_t confirmations = 0;        // a sent payment is 'confirmed' at this many (bitcoind, monero)
            bool operator==(const Payments&) const = default;
        };
        // pool.coins: one entry per coin this host runs a pool for (several coins in one process). Only the
        // coin's own settings are kept here; coin_configs() gives each coin's effective configuration.
        struct Coin {
            std::string coin;             // ticker (ledger coin, stratum port coin filter, plugin instance suffix)
            std::string algorithm;        // "" = mining.algorithm
            std::string address_network;  // Bitcoin family: the network miners' payout addresses must be on ("" = unchecked)
            Value overrides = Value::object();  // source, address, fee_percentage, fee_account, rewards, payments, node, devnet, stratum as given
            bool operator==(const Coin&) const = default;
        };
        bool enable = false;
        Address address;
        std::int64_t max_connections = 0;
        double fee_percentage = 0.0;
        std::string fee_account;  // the operator's ledger account: the pool fee, and local devices' shares
        Rewards rewards;
        Payments payments;
        std::string source;  // the transport that supplies block templates
        DatasetMode verify_dataset{DatasetMode::light};  // what shares of memory-hard algorithms are verified on
        std::vector<Coin> coins;  // empty = one coin, from the keys above
        bool operator==(const Pool&) const = default;
    };
    struct Miner {
        struct Pool {
            std::string url;   // stratum+tcp://host:port, stratum+ssl://host:port (common/stratum_url.hpp)
            std::string user;
            std::string pass;
            bool operator==(const Pool&) const = default;
        };
        std::vector<Pool> pools;  // failover order
        std::chrono::milliseconds keepalive{};
        std::chrono::milliseconds timeout{};
        std::chrono::milliseconds retry_max{};
        double share_difficulty = 0.0;  // 0 = automatic
        bool operator==(const Miner&) const = default;
    };
    struct Node {
        struct Daemon {
            std::string url;          // http://host:port (common/http_url.hpp)
            std::string user;         // RPC user ("" = none)
            std::string pass;
            std::string cookie_file;  // bitcoind's .cookie ("__cookie__:password"); wins over user/pass
            std::string zmq;          // tcp://host:port of the node's ZMQ publisher ("" = poll only)
            bool operator==(const Daemon&) const = default;
        };
        std::vector<Daemon> daemons;  // failover order
        std::string payout_address;   // the pool's address every block it finds pays
        std::string coin;             // ticker for the ledger; "" = the transport's default
        std::chrono::milliseconds poll_interval{};
        std::int64_t reserve_size = 0;  // extranonce bytes reserved in each template
        bool operator==(const Node&) const = default;
    };
    struct Api {
        struct Auth {
            bool enabled = false;
            std::chrono::milliseconds token_expiry{};
            std::string secret;
            bool public_read = true;
            bool operator==(const Auth&) const = default;
        };
        bool enable = false;
        Address address;
        Auth auth;
        std::int64_t rate_limit = 0;
        std::vector<std::string> cors_origins;
        bool operator==(const Api&) const = default;
    };
    struct Monitoring {
        struct Endpoint {
            bool enable = false;
            Address address;
            bool operator==(const Endpoint&) const = default;
        };
        Endpoint metrics;
        Endpoint health;
        bool operator==(const Monitoring&) const = default;
    };
    struct Net {
        std::int64_t io_threads = 0;  // network I/O threads of otedama.net/1; 0 = min(2, cores)
        bool operator==(const Net&) const = default;
    };
    struct Log {
        LogLevel level{};
        std::string file;  // empty = console only
        LogFormat format{};
        bool operator==(const Log&) const = default;
    };
    struct Storage {
        std::string path;
        bool operator==(const Storage&) const = default;
    };
    struct Plugins {
        std::vector<std::string> dirs;
        std::vector<std::string> disable;  // plugin ids not to load
        Value settings = Value::object();  // plugin id -> that plugin's settings (always a map)
        bool operator==(const Plugins&) const = default;
    };

    App app;
    Mining mining;
    Pool pool;
    Miner miner;
    Node node;
    Api api;
    Monitoring monitoring;
    Net net;
    Log log;
    Storage storage;
    Plugins plugins;
    Value devnet = Value::object();  // settings of the built-in devnet chain, passed through as written

    // The effective subtree at a dotted path ("mining.cpu", "devnet.blocks", "" for everything) as
    // compact JSON; nullopt if nothing lives there. Durations render as canonical strings ("2h"),
    // addresses as "host:port", enums by their canonical name. Keys that contain dots cannot be
    // addressed this way; use plugin_settings_json() for plugin ids.
    [[nodiscard]] std::optional<std::string> subtree_json(std::string_view dotted_path) const;

    // `plugins.settings.<plugin_id>` as compact JSON, "{}" when the plugin has none. The id is matched
    // exactly (ids may contain dots).
    [[nodiscard]] std::string plugin_settings_json(std::string_view plugin_id) const;

    bool operator==(const Config&) const = default;
};

// One problem found while loading. line and column are 1-based; line 0 means the problem concerns the
// whole file (e.g. it cannot be read). key is the dotted path ("mining.cpu.threads", "plugins.dirs[2]"),
// empty when the problem is not tied to a key (e.g. a YAML syntax error).
struct Error {
    std::string file;
    int line = 0;
    int column = 0;
    std::string key;
    std::string message;

    // "FILE:LINE:COL: KEY: MESSAGE"; the position is omitted when line is 0, the key when it is empty.
    [[nodiscard]] std::string to_string() const;
    bool operator==(const Error&) const = default;
};

// Either a config (errors empty) or every error found (config empty): a file with any error is
// rejected as a whole so that a typo never half-applies.
struct LoadResult {
    std::optional<Config> config;
    std::vector<Error> errors;

    [[nodiscard]] bool ok() const { return config.has_value(); }
};

// Every key at its default. Computed once, then copied.
[[nodiscard]] Config defaults();

// Reads and validates a YAML file. Absent keys keep their defaults.
[[nodiscard]] LoadResult load_file(const std::filesystem::path& path);

// Validates YAML text; source_name stands in for the file name in errors.
[[nodiscard]] LoadResult load_string(std::string_view yaml, std::string_view source_name);

// The effective configuration as a YAML document with every key; load_string() of it gives back `config`.
[[nodiscard]] std::string to_yaml(const Config& config);

// The effective configuration as a Value tree (what subtree_json() and to_yaml() render).
[[nodiscard]] Value to_value(const Config& config);

// One coin of pool.coins with its effective configuration: the top-level keys with the entry's values over
// them, mining.algorithm set to the coin's algorithm, node.coin and devnet.coin to its ticker,
// devnet.algorithm to its algorithm, and pool.coins empty (a coin's config is a single-coin config).
struct CoinConfig {
    std::string coin;
    std::string algorithm;
    std::string address_network;
    Value stratum = Value::object();  // the entry's `stratum` map: more settings of its stratum port (difficulty, vardiff, tls_cert ...)
    Config config;
};
// Every entry of pool.coins, in order; empty when pool.coins is empty (the single-coin form). The config
// must have loaded (its entries were validated): a value that does not apply throws std::logic_error.
[[nodiscard]] std::vector<CoinConfig> coin_configs(const Config& config);

// One schema key, for documentation and `config --help`-style listings.
struct KeyInfo {
    std::string_view path;          // "mining.cpu.threads"
    std::string type;               // "integer >= 0", "duration", "one of pool, miner, solo, p2p", ...
    std::string_view default_yaml;  // the default as written in YAML ("0", "2h", "[]")
    std::string_view meaning;       // one line
};
[[nodiscard]] std::vector<KeyInfo> describe_schema();

}  // namespace otedama::config
