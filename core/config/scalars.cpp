#include "config/scalars.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <system_error>
#include <vector>

namespace otedama::config {
namespace {

char ascii_lower(char ch) { return (ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch - 'A' + 'a') : ch; }
bool is_digit(char ch) { return ch >= '0' && ch <= '9'; }
bool is_alnum(char ch) { return is_digit(ch) || (ascii_lower(ch) >= 'a' && ascii_lower(ch) <= 'z'); }

std::string quoted(std::string_view text) { return "'" + std::string(text) + "'"; }

template <class T>
Parsed<T> refuse(std::string message) {
    return Parsed<T>{std::nullopt, std::move(message)};
}

// Unsigned decimal digits only (no sign, no spaces); nullopt on anything else or overflow.
std::optional<std::int64_t> parse_digits(std::string_view text) {
    if (text.empty() || !std::all_of(text.begin(), text.end(), is_digit)) return std::nullopt;
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return value;
}

struct DurationUnit {
    std::string_view suffix;
    std::int64_t milliseconds;
};
// Longest suffix first where one is a prefix of another ("ms" before "m").
constexpr std::array<DurationUnit, 5> duration_units{{
    {"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000},
}};

bool is_hostname_char(char ch) { return is_alnum(ch) || ch == '-' || ch == '.' || ch == '_'; }
bool is_ipv6_char(char ch) { return is_alnum(ch) || ch == ':' || ch == '.' || ch == '%'; }

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

Parsed<bool> parse_bool(std::string_view text) {
    if (iequals(text, "true")) return {true, {}};
    if (iequals(text, "false")) return {false, {}};
    return refuse<bool>("expected true or false, got " + quoted(text));
}

Parsed<std::int64_t> parse_integer(std::string_view text) {
    const std::string_view digits = (!text.empty() && (text[0] == '-' || text[0] == '+')) ? text.substr(1) : text;
    if (digits.empty() || !std::all_of(digits.begin(), digits.end(), is_digit)) {
        return refuse<std::int64_t>("expected an integer, got " + quoted(text));
    }
    // from_chars takes '-' but not '+'.
    const std::string_view signed_digits = text[0] == '+' ? digits : text;
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(signed_digits.data(), signed_digits.data() + signed_digits.size(), value);
    if (ec == std::errc::result_out_of_range) {
        return refuse<std::int64_t>("integer " + quoted(text) + " does not fit in 64 bits");
    }
    if (ec != std::errc{} || end != signed_digits.data() + signed_digits.size()) {
        return refuse<std::int64_t>("expected an integer, got " + quoted(text));
    }
    return {value, {}};
}

Parsed<double> parse_double(std::string_view text) {
    const std::string_view body = (!text.empty() && text[0] == '+') ? text.substr(1) : text;
    double value = 0.0;
    const auto [end, ec] =
        std::from_chars(body.data(), body.data() + body.size(), value, std::chars_format::general);
    // from_chars accepts "nan" and "inf"; a config number is always finite.
    if (body.empty() || ec != std::errc{} || end != body.data() + body.size() || !std::isfinite(value)) {
        return refuse<double>("expected a number, got " + quoted(text));
    }
    return {value, {}};
}

Parsed<std::chrono::milliseconds> parse_duration(std::string_view text) {
    const auto refused = [&] {
        return refuse<std::chrono::milliseconds>("expected a duration such as 500ms, 30s, 2h or 1d, got " +
                                                 quoted(text));
    };
    if (const auto seconds = parse_digits(text)) {
        if (*seconds > std::numeric_limits<std::int64_t>::max() / 1000) return refused();
        return {std::chrono::milliseconds(*seconds * 1000), {}};
    }
    std::int64_t total = 0;
    std::string_view rest = text;
    if (rest.empty()) return refused();
    while (!rest.empty()) {
        const auto digits_end = std::find_if_not(rest.begin(), rest.end(), is_digit);
        const auto count = parse_digits(rest.substr(0, static_cast<std::size_t>(digits_end - rest.begin())));
        if (!count) return refused();
        rest.remove_prefix(static_cast<std::size_t>(digits_end - rest.begin()));
        const auto unit = std::find_if(duration_units.begin(), duration_units.end(),
                                       [&](const DurationUnit& u) { return rest.starts_with(u.suffix); });
        if (unit == duration_units.end()) return refused();
        rest.remove_prefix(unit->suffix.size());
        std::int64_t term = 0;
        if (__builtin_mul_overflow(*count, unit->milliseconds, &term) || __builtin_add_overflow(total, term, &total)) {
            return refused();
        }
    }
    return {std::chrono::milliseconds(total), {}};
}

std::string format_duration(std::chrono::milliseconds duration) {
    const std::int64_t ms = duration.count();
    if (ms == 0) return "0s";
    for (auto unit = duration_units.rbegin(); unit != duration_units.rend(); ++unit) {
        if (ms % unit->milliseconds == 0) return std::to_string(ms / unit->milliseconds) + std::string(unit->suffix);
    }
    return std::to_string(ms) + "ms";  // unreachable: every count divides by 1
}

Parsed<Address> parse_address(std::string_view text) {
    const auto bad_form = [&] {
        return refuse<Address>("expected an address host:port, :port or [ipv6]:port, got " + quoted(text));
    };
    std::string_view host;
    std::string_view port_text;
    if (text.starts_with('[')) {
        const auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') return bad_form();
        host = text.substr(1, close - 1);
        port_text = text.substr(close + 2);
        if (host.find(':') == std::string_view::npos || !std::all_of(host.begin(), host.end(), is_ipv6_char)) {
            return bad_form();
        }
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string_view::npos) return bad_form();
        host = text.substr(0, colon);
        port_text = text.substr(colon + 1);
        if (host.find(':') != std::string_view::npos) {
            return refuse<Address>("an IPv6 host must be written in brackets ([::1]:8080), got " + quoted(text));
        }
        if (!std::all_of(host.begin(), host.end(), is_hostname_char)) return bad_form();
    }
    const auto port = parse_digits(port_text);
    if (!port) return bad_form();
    if (*port < 1 || *port > 65535) {
        return refuse<Address>("port must be between 1 and 65535, got " + quoted(port_text));
    }
    return {Address{std::string(host), static_cast<std::uint16_t>(*port)}, {}};
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
    // Two rows of the classic dynamic programme; key names are short.
    std::vector<std::size_t> previous(b.size() + 1);
    std::vector<std::size_t> current(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) previous[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        current[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
            current[j] = std::min({previous[j] + 1, current[j - 1] + 1, substitution});
        }
        std::swap(previous, current);
    }
    return previous[b.size()];
}

std::optional<std::string_view> suggest(std::string_view typed, std::span<const std::string_view> candidates) {
    std::string lowered(typed);
    std::transform(lowered.begin(), lowered.end(), lowered.begin(), ascii_lower);

    std::optional<std::string_view> best;
    std::size_t best_distance = 3;  // only distances <= 2 qualify
    for (const auto candidate : candidates) {
        const std::size_t distance = edit_distance(lowered, candidate);
        if (distance < best_distance) {
            best = candidate;
            best_distance = distance;
        }
    }
    if (best) return best;

    // A truncated or extended name ("temp" for "temperature_limit"): too short a stem matches anything.
    constexpr std::size_t min_stem = 3;
    for (const auto candidate : candidates) {
        const bool candidate_extends = lowered.size() >= min_stem && candidate.starts_with(lowered);
        const bool typed_extends = candidate.size() >= min_stem && std::string_view(lowered).starts_with(candidate);
        if (candidate_extends || typed_extends) return candidate;
    }
    return std::nullopt;
}

}  // namespace otedama::config
