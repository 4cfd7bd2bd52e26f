// Coin-node RPC URLs (node.daemons[].url in otedama.yaml, `mine --node`):
//
//   http://127.0.0.1:18081            monerod's RPC (the path defaults to "/")
//   http://127.0.0.1:8332/wallet/w1   a path (bitcoind's per-wallet endpoint), query kept
//   https://node.example:443          TLS (through the host's net service)
//   http://[::1]:18081                IPv6 literal in brackets
//
// The port defaults to 80 / 443. Credentials in the URL ("user:pass@") are refused: they go in the
// daemon's user/pass/cookie_file, where they are not echoed in logs. Shared by the host's configuration
// checks and lib/otedama/node's HTTP client, so both accept exactly the same spellings.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace otedama::common {

struct HttpUrl {
    std::string scheme;      ///< "http" or "https"
    std::string host;        ///< host name or IP address, without brackets
    uint16_t port = 0;
    std::string path = "/";  ///< with its leading '/', query included
    [[nodiscard]] bool tls() const noexcept { return scheme == "https"; }
    /// "host:port" ("[::1]:port" for IPv6) for logs and status lines.
    [[nodiscard]] std::string endpoint() const;
    /// "http://host:port/path".
    [[nodiscard]] std::string to_string() const;
};

/// Parse a node URL. std::nullopt with the reason in `error` ("unknown scheme 'ftp' (use http:// or
/// https://)", "the port '0' is not a number from 1 to 65535", ...).
[[nodiscard]] std::optional<HttpUrl> parse_http_url(std::string_view text, std::string* error = nullptr);

}  // namespace otedama::common
