#include "otedama/common/http_url.hpp"

#include <cctype>
#include <charconv>

namespace otedama::common {

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string printable(std::string_view s, std::size_t max = 60) {
    std::string out;
    for (const char c : s.substr(0, max)) out += (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) ? '?' : c;
    if (s.size() > max) out += "...";
    return out;
}

bool set_error(std::string* error, std::string why) {
    if (error != nullptr) *error = std::move(why);
    return false;
}

}  // namespace


std::string HttpUrl::endpoint() const {
    const bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string HttpUrl::to_string() const { return scheme + "://" + endpoint() + path; }

std::optional<HttpUrl> parse_http_url(std::string_view text, std::string* error) {
    HttpUrl url;
    const auto sep = text.find("://");
    if (sep == std::string_view::npos) {
        set_error(error, "'" + printable(text) + "' is not a URL (expected http://host:port)");
        return std::nullopt;
    }
    url.scheme = lower(text.substr(0, sep));
    if (url.scheme != "http" && url.scheme != "https") {
        set_error(error, "unknown scheme '" + printable(url.scheme) + "' (use http:// or https://)");
        return std::nullopt;
    }
    std::string_view rest = text.substr(sep + 3);
    const auto slash = rest.find_first_of("/?");
    std::string_view authority = rest.substr(0, slash);
    if (slash != std::string_view::npos) {
        url.path = std::string(rest.substr(slash));
        if (url.path.front() == '?') url.path = "/" + url.path;
    }
    if (authority.find('@') != std::string_view::npos) {
        set_error(error, "credentials in the URL are not accepted (use user/pass or cookie_file)");
        return std::nullopt;
    }
    std::string_view port_text;
    if (!authority.empty() && authority.front() == '[') {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) {
            set_error(error, "unterminated IPv6 literal '" + printable(authority) + "'");
            return std::nullopt;
        }
        url.host = std::string(authority.substr(1, close - 1));
        std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') {
                set_error(error, "unexpected text after the IPv6 literal in '" + printable(authority) + "'");
                return std::nullopt;
            }
            port_text = after.substr(1);
            if (port_text.empty()) {
                set_error(error, "empty port in '" + printable(text) + "'");
                return std::nullopt;
            }
        }
    } else {
        const auto colon = authority.rfind(':');
        url.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) {
            port_text = authority.substr(colon + 1);
            if (port_text.empty()) {
                set_error(error, "empty port in '" + printable(text) + "'");
                return std::nullopt;
            }
        }
        if (url.host.find(':') != std::string::npos) {
            set_error(error, "an IPv6 address must be in brackets ('[::1]:18081')");
            return std::nullopt;
        }
    }
    if (url.host.empty()) {
        set_error(error, "the host is missing in '" + printable(text) + "'");
        return std::nullopt;
    }
    for (const char c : url.host) {
        if (static_cast<unsigned char>(c) <= 0x20 || c == '/' || c == '#' || static_cast<unsigned char>(c) >= 0x7f) {
            set_error(error, "the host '" + printable(url.host) + "' has characters a host name cannot have");
            return std::nullopt;
        }
    }
    if (port_text.empty()) {
        url.port = url.tls() ? 443 : 80;
    } else {
        unsigned port = 0;
        const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
        if (ec != std::errc{} || end != port_text.data() + port_text.size() || port == 0 || port > 65535) {
            set_error(error, "the port '" + printable(port_text) + "' is not a number from 1 to 65535");
            return std::nullopt;
        }
        url.port = static_cast<uint16_t>(port);
    }
    for (const char c : url.path) {
        if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
            set_error(error, "the path has spaces or control characters");
            return std::nullopt;
        }
    }
    return url;
}

}  // namespace otedama::common
