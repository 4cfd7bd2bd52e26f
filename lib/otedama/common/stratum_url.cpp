#include "otedama/common/stratum_url.hpp"

#include <algorithm>
#include <cctype>

namespace otedama::common {
namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

/// A DNS name or an IPv4 literal: letters, digits, '-', '.', '_' (some internal names carry one).
bool valid_host_name(std::string_view host) {
    if (host.empty() || host.size() > 253) return false;
    return std::all_of(host.begin(), host.end(), [](unsigned char c) { return std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_'; });
}

bool valid_ipv6(std::string_view host) {
    if (host.size() < 2 || host.size() > 45) return false;
    return std::all_of(host.begin(), host.end(), [](unsigned char c) { return std::isxdigit(c) != 0 || c == ':' || c == '.'; }) &&
           host.find(':') != std::string_view::npos;
}

}  // namespace

std::string StratumUrl::endpoint() const {
    const bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string StratumUrl::to_string() const {
    return std::string(tls ? "stratum+ssl://" : "stratum+tcp://") + endpoint() + (extranonce_subscribe ? "#xnsub" : "");
}

std::optional<StratumUrl> parse_stratum_url(std::string_view text, std::string* error) {
    const auto fail = [error](std::string message) -> std::optional<StratumUrl> {
        if (error != nullptr) *error = std::move(message);
        return std::nullopt;
    };
    StratumUrl url;
    if (text.empty()) return fail("the URL is empty");
    if (std::any_of(text.begin(), text.end(), [](unsigned char c) { return c <= 0x20 || c >= 0x7f; }))
        return fail("the URL contains a space, a control character or a non-ASCII character");

    std::string_view rest = text;
    if (const auto colon = rest.find("://"); colon != std::string_view::npos) {
        const std::string scheme = lower(rest.substr(0, colon));
        rest.remove_prefix(colon + 3);
        if (scheme == "stratum+tcp" || scheme == "stratum" || scheme == "tcp") {
            url.tls = false;
        } else if (scheme == "stratum+ssl" || scheme == "stratum+tls" || scheme == "ssl" || scheme == "tls") {
            url.tls = true;
        } else if (scheme.rfind("stratum2", 0) == 0) {
            return fail("Stratum V2 ('" + scheme + "') is not supported: use a Stratum V1 port (stratum+tcp://)");
        } else {
            return fail("unknown scheme '" + scheme + "' (use stratum+tcp:// or stratum+ssl://)");
        }
    }
    if (const auto hash = rest.find('#'); hash != std::string_view::npos) {
        const std::string fragment = lower(rest.substr(hash + 1));
        if (fragment != "xnsub") return fail("unknown URL fragment '#" + std::string(rest.substr(hash + 1)) + "' (only #xnsub is known)");
        url.extranonce_subscribe = true;
        rest = rest.substr(0, hash);
    }
    if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
    if (rest.find('/') != std::string_view::npos) return fail("a stratum URL has no path");
    if (rest.find('@') != std::string_view::npos)
        return fail("credentials in the URL are not supported: give the user and password separately (-u/-p, user/pass)");

    std::string_view port_text;
    if (!rest.empty() && rest.front() == '[') {
        const auto close = rest.find(']');
        if (close == std::string_view::npos) return fail("an IPv6 address in '[' has no closing ']'");
        url.host = std::string(rest.substr(1, close - 1));
        if (!valid_ipv6(url.host)) return fail("'" + url.host + "' is not an IPv6 address");
        rest.remove_prefix(close + 1);
        if (rest.empty() || rest.front() != ':') return fail("the port is missing (write [address]:port)");
        port_text = rest.substr(1);
    } else {
        const auto colon = rest.rfind(':');
        if (colon == std::string_view::npos) return fail("the port is missing (write host:port)");
        url.host = std::string(rest.substr(0, colon));
        if (url.host.find(':') != std::string::npos) return fail("an IPv6 address must be written in brackets: [address]:port");
        if (!valid_host_name(url.host)) return fail("'" + url.host + "' is not a host name or address");
        port_text = rest.substr(colon + 1);
    }
    if (port_text.empty() || port_text.size() > 5 || !std::all_of(port_text.begin(), port_text.end(), [](unsigned char c) { return std::isdigit(c) != 0; }))
        return fail("the port '" + std::string(port_text) + "' is not a number 1..65535");
    const unsigned long port = std::stoul(std::string(port_text));
    if (port == 0 || port > 65535) return fail("the port " + std::string(port_text) + " is not in 1..65535");
    url.port = static_cast<uint16_t>(port);
    return url;
}

}  // namespace otedama::common
