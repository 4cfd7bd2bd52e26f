#include "log/log.hpp"

#include <chrono>
#include <ctime>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <spdlog/formatter.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/dist_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

namespace otedama::log {
namespace {

// ---------------------------------------------------------------------------------------------
// Escaping

constexpr char hex_digits[] = "0123456789abcdef";

/// Length of the well-formed UTF-8 sequence starting at s[i] (RFC 3629: no overlongs, no
/// surrogates, nothing above U+10FFFF), with its code point in `cp`; 0 when it is not well formed.
std::size_t utf8_sequence(std::string_view s, std::size_t i, char32_t& cp) noexcept {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
    const unsigned char b0 = byte(0);
    if (b0 < 0x80) {
        cp = b0;
        return 1;
    }
    std::size_t n = 0;
    unsigned char lo = 0x80;
    unsigned char hi = 0xbf;
    if (b0 >= 0xc2 && b0 <= 0xdf) {
        n = 2;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
        n = 3;
        if (b0 == 0xe0) lo = 0xa0;
        if (b0 == 0xed) hi = 0x9f;
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
        n = 4;
        if (b0 == 0xf0) lo = 0x90;
        if (b0 == 0xf4) hi = 0x8f;
    } else {
        return 0;
    }
    if (s.size() - i < n) return 0;
    const unsigned char b1 = byte(1);
    if (b1 < lo || b1 > hi) return 0;
    char32_t value = b0 & (0xffu >> (n + 1));
    value = (value << 6) | (b1 & 0x3fu);
    for (std::size_t k = 2; k < n; ++k) {
        const unsigned char b = byte(k);
        if ((b & 0xc0) != 0x80) return 0;
        value = (value << 6) | (b & 0x3fu);
    }
    cp = value;
    return n;
}

enum class Escape {
    log_line,  // sanitize(): keep it on one line, keep it printable
    json,      // a JSON string body (RFC 8259), always valid UTF-8
};

template <class Out>
void append(Out& out, std::string_view text) {
    out.append(text.data(), text.data() + text.size());
}

template <class Out>
void append_hex_escape(Out& out, const char* prefix, unsigned value, int digits) {
    append(out, prefix);
    for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) {
        out.push_back(hex_digits[(value >> shift) & 0xfu]);
    }
}

/// Appends `text` to `out`, escaped for `mode`. Runs of bytes that need nothing are copied at once.
template <class Out>
void escape_into(std::string_view text, Escape mode, Out& out) {
    std::size_t run_start = 0;
    std::size_t i = 0;
    const auto flush_run = [&](std::size_t end) {
        if (end > run_start) out.append(text.data() + run_start, text.data() + end);
    };
    while (i < text.size()) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c >= 0x20 && c < 0x7f && !(mode == Escape::json && (c == '"' || c == '\\'))) {
            ++i;
            continue;
        }
        char32_t cp = 0;
        const std::size_t n = utf8_sequence(text, i, cp);
        if (n > 1 && !(cp >= 0x80 && cp <= 0x9f) && cp != 0x2028 && cp != 0x2029) {
            i += n;  // printable non-ASCII character
            continue;
        }
        flush_run(i);
        if (n == 0) {
            // Not UTF-8. The text log shows the byte; JSON must stay valid UTF-8.
            if (mode == Escape::json) {
                append(out, "\\ufffd");
            } else {
                append_hex_escape(out, "\\x", c, 2);
            }
            i += 1;
        } else if (n > 1) {
            append_hex_escape(out, "\\u", static_cast<unsigned>(cp), 4);  // C1 control, U+2028/9
            i += n;
        } else {
            switch (c) {
                case '\n': append(out, "\\n"); break;
                case '\r': append(out, "\\r"); break;
                case '\t': append(out, "\\t"); break;
                case '"': append(out, "\\\""); break;
                case '\\': append(out, "\\\\"); break;
                case '\b':
                    if (mode == Escape::json) {
                        append(out, "\\b");
                        break;
                    }
                    [[fallthrough]];
                default:
                    append_hex_escape(out, mode == Escape::json ? "\\u" : "\\x", c, mode == Escape::json ? 4 : 2);
                    break;
            }
            i += 1;
        }
        run_start = i;
    }
    flush_run(text.size());
}

// ---------------------------------------------------------------------------------------------
// Formatters

std::string_view to_std(spdlog::string_view_t s) noexcept { return {s.data(), s.size()}; }

/// 2026-11-21T06:43:12.123Z
void append_timestamp(spdlog::log_clock::time_point time, spdlog::memory_buf_t& dest) {
    const auto ms_since_epoch = std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch());
    const auto secs = std::chrono::floor<std::chrono::seconds>(ms_since_epoch);
    const auto millis = (ms_since_epoch - secs).count();
    const std::time_t t = static_cast<std::time_t>(secs.count());
    std::tm tm{};
    gmtime_r(&t, &tm);
    fmt::format_to(fmt::appender(dest), "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900,
                   tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
}

/// 2026-11-21T06:43:12.123Z [info] loader: message
/// The message is sanitized here too, so that no record, from a plugin or not, can span two lines.
class TextFormatter final : public spdlog::formatter {
public:
    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
        append_timestamp(msg.time, dest);
        append(dest, " [");
        msg.color_range_start = dest.size();
        append(dest, level_name(msg.level));
        msg.color_range_end = dest.size();
        append(dest, "] ");
        append(dest, to_std(msg.logger_name));
        append(dest, ": ");
        escape_into(to_std(msg.payload), Escape::log_line, dest);
        append(dest, "\n");
    }
    [[nodiscard]] std::unique_ptr<spdlog::formatter> clone() const override {
        return std::make_unique<TextFormatter>();
    }
};

/// {"ts":"2026-11-21T06:43:12.123Z","level":"info","logger":"loader","msg":"..."}
class JsonFormatter final : public spdlog::formatter {
public:
    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
        append(dest, R"({"ts":")");
        append_timestamp(msg.time, dest);
        append(dest, R"(","level":")");
        append(dest, level_name(msg.level));
        append(dest, R"(","logger":")");
        escape_into(to_std(msg.logger_name), Escape::json, dest);
        append(dest, R"(","msg":")");
        escape_into(to_std(msg.payload), Escape::json, dest);
        append(dest, "\"}\n");
    }
    [[nodiscard]] std::unique_ptr<spdlog::formatter> clone() const override {
        return std::make_unique<JsonFormatter>();
    }
};

std::unique_ptr<spdlog::formatter> make_formatter(bool json) {
    if (json) return std::make_unique<JsonFormatter>();
    return std::make_unique<TextFormatter>();
}

// ---------------------------------------------------------------------------------------------
// The registry

/// Every logger writes into the one `fan_out` sink; init() swaps the sinks behind it, so loggers
/// handed out earlier follow without being touched. Only the level is set on each logger, so that
/// a filtered call costs one comparison and no formatting.
struct State {
    std::mutex mutex;
    std::shared_ptr<spdlog::sinks::dist_sink_mt> fan_out = std::make_shared<spdlog::sinks::dist_sink_mt>();
    std::map<std::string, std::shared_ptr<spdlog::logger>, std::less<>> loggers;
    spdlog::level::level_enum level = spdlog::level::info;

    State() {
        auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>(spdlog::color_mode::automatic);
        console->set_formatter(make_formatter(false));
        fan_out->set_sinks({std::move(console)});
    }
};

State& state() {
    // Deliberately never destroyed: loggers may be used from static destructors of other modules.
    static State* const instance = new State();
    return *instance;
}

std::string cut_plugin_message(std::string_view msg) {
    if (msg.size() <= max_plugin_message) return sanitize(msg);
    std::size_t cut = max_plugin_message;
    // Do not split a UTF-8 sequence: it would show up as \x escapes that the plugin never sent.
    for (int k = 0; k < 3 && cut > 0 && (static_cast<unsigned char>(msg[cut]) & 0xc0) == 0x80; ++k) --cut;
    std::string out = sanitize(msg.substr(0, cut));
    out += fmt::format(" [... {} more bytes cut by the host]", msg.size() - cut);
    return out;
}

}  // namespace

std::optional<spdlog::level::level_enum> parse_level(std::string_view name) noexcept {
    if (name == "trace") return spdlog::level::trace;
    if (name == "debug") return spdlog::level::debug;
    if (name == "info") return spdlog::level::info;
    if (name == "warn") return spdlog::level::warn;
    if (name == "error") return spdlog::level::err;
    if (name == "off") return spdlog::level::off;
    return std::nullopt;
}

std::string_view level_name(spdlog::level::level_enum level) noexcept {
    switch (level) {
        case spdlog::level::trace: return "trace";
        case spdlog::level::debug: return "debug";
        case spdlog::level::info: return "info";
        case spdlog::level::warn: return "warn";
        case spdlog::level::err: return "error";
        case spdlog::level::critical: return "critical";
        case spdlog::level::off: return "off";
        case spdlog::level::n_levels: break;
    }
    return "unknown";
}

void init(const Options& options) {
    const auto level = parse_level(options.level);
    if (!level) {
        throw std::invalid_argument("unknown log level \"" + sanitize(options.level) +
                                    "\" (expected trace, debug, info, warn, error or off)");
    }

    // Build everything first, so that a log file that cannot be opened leaves the old setup running.
    std::vector<spdlog::sink_ptr> sinks;
    if (options.console) {
        auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>(spdlog::color_mode::automatic);
        console->set_formatter(make_formatter(options.json));
        sinks.push_back(std::move(console));
    }
    if (!options.file.empty()) {
        const std::filesystem::path parent = std::filesystem::path(options.file).parent_path();
        if (!parent.empty()) {
            std::error_code ec;
            std::filesystem::create_directories(parent, ec);
            if (ec) {
                throw std::runtime_error("cannot create log directory \"" + parent.string() + "\": " + ec.message());
            }
        }
        auto file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(options.file, /*truncate=*/false);
        file->set_formatter(make_formatter(options.json));
        sinks.push_back(std::move(file));
    }

    State& st = state();
    const std::lock_guard lock(st.mutex);
    st.fan_out->flush();
    st.fan_out->set_sinks(std::move(sinks));
    st.level = *level;
    for (auto& [name, logger] : st.loggers) logger->set_level(*level);
}

std::shared_ptr<spdlog::logger> get(std::string_view name) {
    State& st = state();
    const std::lock_guard lock(st.mutex);
    if (const auto it = st.loggers.find(name); it != st.loggers.end()) return it->second;
    auto logger = std::make_shared<spdlog::logger>(sanitize(name), st.fan_out);
    logger->set_level(st.level);
    logger->flush_on(spdlog::level::warn);
    st.loggers.emplace(std::string(name), logger);
    return logger;
}

void flush() {
    State& st = state();
    st.fan_out->flush();
}

void plugin_message(std::string_view plugin_id, int level, std::string_view msg) noexcept {
    try {
        spdlog::level::level_enum lvl = spdlog::level::trace;
        if (level >= plugin_error) {
            lvl = spdlog::level::err;
        } else if (level == plugin_warn) {
            lvl = spdlog::level::warn;
        } else if (level == plugin_info) {
            lvl = spdlog::level::info;
        } else if (level == plugin_debug) {
            lvl = spdlog::level::debug;
        }
        const auto logger = get(plugin_id);
        if (!logger->should_log(lvl)) return;
        const std::string text = cut_plugin_message(msg);
        logger->log(lvl, spdlog::string_view_t(text.data(), text.size()));
    } catch (...) {
        // A log call must never take the host down (out of memory, a full disk): drop the message.
    }
}

std::string sanitize(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    escape_into(text, Escape::log_line, out);
    return out;
}

}  // namespace otedama::log
