// The stratum server's configuration, read from the JSON subtree the host hands over (get_config).
// Keys, defaults and meaning: README.md in this folder. Every refusal names the key path.
#pragma once

#include "difficulty.hpp"
#include "vardiff.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace otedama::stratum {

enum class Dialect { bitcoin, monero, ethereum };
[[nodiscard]] const char* dialect_name(Dialect d) noexcept;

struct PortConfig {
  std::string address = "0.0.0.0:3333";  ///< as configured (for logs and status)
  std::string host = "0.0.0.0";          ///< what listen() gets
  uint16_t port = 3333;                  ///< 0 = ephemeral (tests)
  Dialect dialect = Dialect::bitcoin;
  std::string algorithm = "sha256d";
  DifficultyUnit unit = DifficultyUnit::bitcoin;
  std::string coin;                      ///< empty = jobs of any coin with this algorithm
  double difficulty = 1;                 ///< starting share difficulty of every connection
  uint32_t extranonce1_size = 4;         ///< bytes of the per-connection extranonce1
  uint32_t extranonce_size = 8;          ///< total extranonce bytes announced before the first job arrives
  VardiffConfig vardiff;
  std::string tls_cert, tls_key;         ///< both set = TLS (stratum+ssl)
  /// Bitcoin dialect: the network whose payout addresses accounts must be ("litecoin-main", "bitcoin-regtest" ...;
  /// lib/otedama/bitcoin/address.hpp networks()); empty = account names are not checked.
  std::string address_network;
};

struct BanConfig {
  bool enabled = true;
  uint32_t check_threshold = 500;  ///< judge a connection's invalid ratio after this many submissions
  double invalid_percent = 50;     ///< ban when at least this share of them was invalid
  uint64_t duration_ms = 600000;
};

struct ServerConfig {
  std::vector<PortConfig> ports;          ///< none = the server runs but listens nowhere
  uint32_t max_connections = 10000;       ///< pool.max_connections
  uint32_t per_ip_limit = 256;            ///< 0 = no cap
  uint32_t max_line = 4096;               ///< bytes; longer lines close the connection (net service)
  uint64_t idle_timeout_ms = 600000;      ///< 0 = never
  uint32_t version_rolling_mask = 0x1fffe000;  ///< BIP310 bits this pool lets miners roll
  uint32_t ntime_forward_s = 7200;        ///< accepted ntime: template ntime .. + this
  uint32_t malformed_limit = 10;          ///< strikes before a connection sending malformed lines is closed
  uint32_t max_pending = 256;             ///< submissions of one connection awaiting their verdict
  uint32_t max_workers = 16;              ///< authorized worker names per connection
  BanConfig ban;
};

/// Parse the configuration JSON. std::nullopt with `error` ("stratum-server.ports[0].dialect: ...").
[[nodiscard]] std::optional<ServerConfig> parse_config(std::string_view json, std::string* error);

/// "host:port", ":port", "[v6]:port" -> host and port. False when malformed.
bool split_address(std::string_view address, std::string& host, uint16_t& port);

}  // namespace otedama::stratum
