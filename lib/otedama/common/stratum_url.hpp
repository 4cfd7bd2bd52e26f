// Pool URLs as miners write them (`-o` of cpuminer and xmrig, `miner.pools[].url` in otedama.yaml):
//
//   stratum+tcp://pool.example.com:3333      plain TCP (also "stratum://", "tcp://")
//   stratum+ssl://pool.example.com:3443      TLS (also "stratum+tls://", "ssl://", "tls://")
//   pool.example.com:3333                    no scheme: plain TCP (xmrig's spelling)
//   stratum+tcp://[2001:db8::1]:3333         IPv6 literal in brackets
//   stratum+tcp://pool.example.com:3333#xnsub  ask for mining.set_extranonce (the NiceHash/cgminer convention)
//
// The port is required (pools have no standard one). Credentials in the URL ("user:pass@") are refused:
// they belong in `-u`/`-p` (`user`/`pass`), where they are not echoed in logs. Stratum V2 ("stratum2+tcp")
// is a different binary protocol and is refused by name. Shared by the host's configuration checks and the
// stratum-client plugin, so both accept exactly the same spellings.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace otedama::common {

struct StratumUrl {
    std::string host;                   ///< host name or IP address, without brackets
    uint16_t port = 0;                  ///< 1..65535
    bool tls = false;                   ///< stratum+ssl:// and friends
    bool extranonce_subscribe = false;  ///< "#xnsub": send mining.extranonce.subscribe

    /// "stratum+tcp://host:port" / "stratum+ssl://[::1]:port" (+ "#xnsub"): the canonical spelling.
    [[nodiscard]] std::string to_string() const;
    /// "host:port" ("[::1]:port" for IPv6): for status lines.
    [[nodiscard]] std::string endpoint() const;
};

/// Parse a pool URL. std::nullopt with the reason in `error` ("unknown scheme 'http' (use stratum+tcp:// or
/// stratum+ssl://)", "the port is missing", ...).
[[nodiscard]] std::optional<StratumUrl> parse_stratum_url(std::string_view text, std::string* error = nullptr);

}  // namespace otedama::common
