// Tests for core/log/log.hpp.
#include "log/log.hpp"

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace fs = std::filesystem;
namespace otlog = otedama::log;

namespace {

/// A unique directory under the system temp dir, removed with everything in it.
class TempDir {
public:
    TempDir() {
        std::string pattern = (fs::temp_directory_path() / "otedama-log-test-XXXXXX").string();
        if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        path_ = pattern;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    [[nodiscard]] const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

std::vector<std::string> read_lines(const fs::path& file) {
    otlog::flush();
    std::vector<std::string> lines;
    std::ifstream in(file, std::ios::binary);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

// A minimal JSON reader, enough for one log record: a flat object whose values are all strings.
// It rejects anything else, including raw control characters inside strings (RFC 8259 section 7).
class FlatJson {
public:
    static std::optional<std::vector<std::pair<std::string, std::string>>> parse(std::string_view text) {
        FlatJson p(text);
        std::vector<std::pair<std::string, std::string>> members;
        if (!p.eat('{')) return std::nullopt;
        if (p.eat('}')) return p.at_end() ? std::optional(members) : std::nullopt;
        do {
            auto key = p.string();
            if (!key || !p.eat(':')) return std::nullopt;
            auto value = p.string();
            if (!value) return std::nullopt;
            members.emplace_back(std::move(*key), std::move(*value));
        } while (p.eat(','));
        if (!p.eat('}') || !p.at_end()) return std::nullopt;
        return members;
    }

private:
    explicit FlatJson(std::string_view text) : s_(text) {}

    bool eat(char c) {
        if (i_ < s_.size() && s_[i_] == c) {
            ++i_;
            return true;
        }
        return false;
    }
    [[nodiscard]] bool at_end() const { return i_ == s_.size(); }

    std::optional<unsigned> hex4() {
        if (s_.size() - i_ < 4) return std::nullopt;
        unsigned v = 0;
        for (int k = 0; k < 4; ++k) {
            const char c = s_[i_++];
            v <<= 4;
            if (c >= '0' && c <= '9') {
                v |= static_cast<unsigned>(c - '0');
            } else if (c >= 'a' && c <= 'f') {
                v |= static_cast<unsigned>(c - 'a' + 10);
            } else if (c >= 'A' && c <= 'F') {
                v |= static_cast<unsigned>(c - 'A' + 10);
            } else {
                return std::nullopt;
            }
        }
        return v;
    }

    static void put_utf8(std::string& out, char32_t cp) {
        if (cp < 0x80) {
            out += static_cast<char>(cp);
        } else if (cp < 0x800) {
            out += static_cast<char>(0xc0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            out += static_cast<char>(0xe0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
            out += static_cast<char>(0x80 | (cp & 0x3f));
        } else {
            out += static_cast<char>(0xf0 | (cp >> 18));
            out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
            out += static_cast<char>(0x80 | (cp & 0x3f));
        }
    }

    std::optional<std::string> string() {
        if (!eat('"')) return std::nullopt;
        std::string out;
        while (i_ < s_.size()) {
            const auto c = static_cast<unsigned char>(s_[i_++]);
            if (c == '"') return out;
            if (c < 0x20) return std::nullopt;
            if (c != '\\') {
                out += static_cast<char>(c);
                continue;
            }
            if (i_ >= s_.size()) return std::nullopt;
            switch (s_[i_++]) {
                case '"': out += '"'; break;
                case '\\': out += '\\'; break;
                case '/': out += '/'; break;
                case 'b': out += '\b'; break;
                case 'f': out += '\f'; break;
                case 'n': out += '\n'; break;
                case 'r': out += '\r'; break;
                case 't': out += '\t'; break;
                case 'u': {
                    auto hi = hex4();
                    if (!hi) return std::nullopt;
                    char32_t cp = *hi;
                    if (cp >= 0xd800 && cp <= 0xdbff) {
                        if (!eat('\\') || !eat('u')) return std::nullopt;
                        auto lo = hex4();
                        if (!lo || *lo < 0xdc00 || *lo > 0xdfff) return std::nullopt;
                        cp = 0x10000 + ((cp - 0xd800) << 10) + (*lo - 0xdc00);
                    }
                    put_utf8(out, cp);
                    break;
                }
                default: return std::nullopt;
            }
        }
        return std::nullopt;
    }

    std::string_view s_;
    std::size_t i_ = 0;
};

// Hand-written rather than std::regex: GCC 12 with -fsanitize warns inside <regex> (-Werror).
bool is_timestamp(std::string_view s) {
    constexpr std::string_view shape = "0000-00-00T00:00:00.000Z";
    if (s.size() != shape.size()) return false;
    for (std::size_t i = 0; i < shape.size(); ++i) {
        const bool ok = shape[i] == '0' ? (s[i] >= '0' && s[i] <= '9') : s[i] == shape[i];
        if (!ok) return false;
    }
    return true;
}

/// "2026-11-21T06:43:12.123Z [info] loader: message"
struct TextLine {
    std::string level;
    std::string logger;
    std::string msg;
};

std::optional<TextLine> parse_text_line(std::string_view line) {
    constexpr std::size_t ts = 24;
    if (line.size() < ts || !is_timestamp(line.substr(0, ts))) return std::nullopt;
    std::string_view rest = line.substr(ts);
    if (!rest.starts_with(" [")) return std::nullopt;
    const auto level_end = rest.find("] ");
    if (level_end == std::string_view::npos) return std::nullopt;
    TextLine parsed;
    parsed.level = rest.substr(2, level_end - 2);
    rest.remove_prefix(level_end + 2);
    const auto name_end = rest.find(": ");
    if (name_end == std::string_view::npos) return std::nullopt;
    parsed.logger = rest.substr(0, name_end);
    parsed.msg = rest.substr(name_end + 2);
    return parsed;
}

class LogTest : public ::testing::Test {
protected:
    void TearDown() override {
        // Close the log file before the temp dir goes; later tests start from a quiet setup.
        otlog::init({.level = "info", .file = "", .json = false, .console = false});
    }

    otlog::Options file_options(std::string level = "info", bool json = false) const {
        return {.level = std::move(level), .file = log_file.string(), .json = json, .console = false};
    }

    TempDir dir;
    fs::path log_file = dir.path() / "otedama.log";
};

TEST_F(LogTest, FileSinkReceivesTextLines) {
    otlog::init(file_options());
    otlog::get("loader")->info("loaded {} plugins", 3);
    otlog::get("scheduler")->warn("no job yet");

    const auto lines = read_lines(log_file);
    ASSERT_EQ(lines.size(), 2u);
    auto m = parse_text_line(lines[0]);
    ASSERT_TRUE(m.has_value()) << lines[0];
    EXPECT_EQ(m->level, "info");
    EXPECT_EQ(m->logger, "loader");
    EXPECT_EQ(m->msg, "loaded 3 plugins");
    m = parse_text_line(lines[1]);
    ASSERT_TRUE(m.has_value()) << lines[1];
    EXPECT_EQ(m->level, "warn");
    EXPECT_EQ(m->logger, "scheduler");
    EXPECT_EQ(m->msg, "no job yet");
}

TEST_F(LogTest, FileSinkAppendsAndCreatesParentDirectory) {
    const fs::path nested = dir.path() / "var" / "log" / "otedama.log";
    ASSERT_FALSE(fs::exists(nested.parent_path()));
    otlog::init({.level = "info", .file = nested.string(), .json = false, .console = false});
    otlog::get("loader")->info("first run");
    otlog::init({.level = "info", .file = "", .json = false, .console = false});  // closes the file
    otlog::init({.level = "info", .file = nested.string(), .json = false, .console = false});
    otlog::get("loader")->info("second run");

    const auto lines = read_lines(nested);
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_NE(lines[0].find("first run"), std::string::npos);
    EXPECT_NE(lines[1].find("second run"), std::string::npos);
}

TEST_F(LogTest, JsonLinesParseWithAllFields) {
    otlog::init(file_options("info", true));
    const std::string message = "say \"hi\"\nnext line\\path\ttab \x01 caf\xc3\xa9 \xe2\x80\xa8 end";
    otlog::get("config")->info("{}", message);

    const auto lines = read_lines(log_file);
    ASSERT_EQ(lines.size(), 1u) << "a record must stay on one line";
    const std::string& line = lines[0];

    // Exact escaping, checked on the raw text.
    EXPECT_NE(line.find(R"("msg":"say \"hi\"\nnext line\\path\ttab \u0001 caf)"
                        "\xc3\xa9"
                        R"( \u2028 end"})"),
              std::string::npos)
        << line;

    const auto members = FlatJson::parse(line);
    ASSERT_TRUE(members.has_value()) << "not a JSON object of strings: " << line;
    ASSERT_EQ(members->size(), 4u);
    EXPECT_EQ((*members)[0].first, "ts");
    EXPECT_TRUE(is_timestamp((*members)[0].second)) << (*members)[0].second;
    EXPECT_EQ((*members)[1], (std::pair<std::string, std::string>{"level", "info"}));
    EXPECT_EQ((*members)[2], (std::pair<std::string, std::string>{"logger", "config"}));
    EXPECT_EQ((*members)[3], (std::pair<std::string, std::string>{"msg", message})) << "escaping must round-trip";
}

TEST_F(LogTest, JsonStaysValidUtf8AndUsesConfigLevelNames) {
    otlog::init(file_options("trace", true));
    otlog::get("quo\"te")->warn("bad \xff byte");
    otlog::get("loader")->error("e");
    otlog::get("loader")->trace("t");

    const auto lines = read_lines(log_file);
    ASSERT_EQ(lines.size(), 3u);
    const auto warn = FlatJson::parse(lines[0]);
    ASSERT_TRUE(warn.has_value()) << lines[0];
    EXPECT_EQ((*warn)[1].second, "warn");
    EXPECT_EQ((*warn)[2].second, "quo\"te");
    EXPECT_EQ((*warn)[3].second, "bad \xef\xbf\xbd byte");  // U+FFFD
    EXPECT_EQ((*FlatJson::parse(lines[1]))[1].second, "error");
    EXPECT_EQ((*FlatJson::parse(lines[2]))[1].second, "trace");
}

TEST_F(LogTest, LevelFiltering) {
    otlog::init(file_options("warn"));
    const auto logger = otlog::get("router");
    logger->trace("t");
    logger->debug("d");
    logger->info("i");
    logger->warn("w");
    logger->error("e");
    auto lines = read_lines(log_file);
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_NE(lines[0].find("[warn] router: w"), std::string::npos) << lines[0];
    EXPECT_NE(lines[1].find("[error] router: e"), std::string::npos) << lines[1];

    otlog::init(file_options("off"));
    logger->error("not written");
    otlog::plugin_message("otedama.test", otlog::plugin_error, "not written either");
    EXPECT_EQ(read_lines(log_file).size(), 2u);
}

TEST_F(LogTest, ParseLevel) {
    EXPECT_EQ(otlog::parse_level("trace"), spdlog::level::trace);
    EXPECT_EQ(otlog::parse_level("debug"), spdlog::level::debug);
    EXPECT_EQ(otlog::parse_level("info"), spdlog::level::info);
    EXPECT_EQ(otlog::parse_level("warn"), spdlog::level::warn);
    EXPECT_EQ(otlog::parse_level("error"), spdlog::level::err);
    EXPECT_EQ(otlog::parse_level("off"), spdlog::level::off);
    EXPECT_EQ(otlog::parse_level("warning"), std::nullopt);
    EXPECT_EQ(otlog::parse_level("INFO"), std::nullopt);
    EXPECT_EQ(otlog::parse_level(""), std::nullopt);
}

TEST_F(LogTest, UnknownLevelIsRejectedAndOldSetupKept) {
    otlog::init(file_options("info"));
    EXPECT_THROW(otlog::init(file_options("verbose")), std::invalid_argument);
    otlog::get("loader")->info("still here");
    const auto lines = read_lines(log_file);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_NE(lines[0].find("still here"), std::string::npos);
}

TEST_F(LogTest, PluginMessageCannotInjectLines) {
    otlog::init(file_options("trace"));
    const std::string hostile =
        "ok\n2026-11-21T06:43:12.123Z [error] loader: fake record\r\x1b[2J\x7f\xc2\x85\xe2\x80\xa9\xff";
    otlog::plugin_message("otedama.algorithm.evil", otlog::plugin_info, hostile);

    const auto lines = read_lines(log_file);
    ASSERT_EQ(lines.size(), 1u);
    const auto m = parse_text_line(lines[0]);
    ASSERT_TRUE(m.has_value()) << lines[0];
    EXPECT_EQ(m->level, "info");
    EXPECT_EQ(m->logger, "otedama.algorithm.evil");
    EXPECT_EQ(m->msg, R"(ok\n2026-11-21T06:43:12.123Z [error] loader: fake record\r\x1b[2J\x7f\u0085\u2029\xff)");
}

TEST_F(LogTest, PluginMessageInJsonIsSanitizedThenEscaped) {
    otlog::init(file_options("info", true));
    otlog::plugin_message("otedama.test", otlog::plugin_warn, "a\nb\"c");
    const auto lines = read_lines(log_file);
    ASSERT_EQ(lines.size(), 1u);
    const auto members = FlatJson::parse(lines[0]);
    ASSERT_TRUE(members.has_value()) << lines[0];
    EXPECT_EQ((*members)[1].second, "warn");
    EXPECT_EQ((*members)[2].second, "otedama.test");
    EXPECT_EQ((*members)[3].second, "a\\nb\"c");  // the visible escape, not a newline
}

TEST_F(LogTest, PluginLevelsMapAndClamp) {
    otlog::init(file_options("trace"));
    const std::vector<std::pair<int, std::string>> cases = {
        {0, "trace"}, {1, "debug"}, {2, "info"}, {3, "warn"}, {4, "error"}, {-7, "trace"}, {99, "error"},
    };
    for (const auto& [level, _] : cases) otlog::plugin_message("otedama.test", level, "m");
    const auto lines = read_lines(log_file);
    ASSERT_EQ(lines.size(), cases.size());
    for (std::size_t i = 0; i < cases.size(); ++i) {
        const auto m = parse_text_line(lines[i]);
        ASSERT_TRUE(m.has_value()) << lines[i];
        EXPECT_EQ(m->level, cases[i].second) << "plugin level " << cases[i].first;
    }
}

TEST_F(LogTest, LongPluginMessageIsCut) {
    otlog::init(file_options("info"));
    otlog::plugin_message("otedama.test", otlog::plugin_info, std::string(otlog::max_plugin_message + 1000, 'a'));
    const auto lines = read_lines(log_file);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_LT(lines[0].size(), otlog::max_plugin_message + 200);
    EXPECT_NE(lines[0].find("[... 1000 more bytes cut by the host]"), std::string::npos);
}

TEST_F(LogTest, HostMessagesAreKeptOnOneLineToo) {
    otlog::init(file_options("info"));
    otlog::get("api")->info("worker {} connected", "rig1\nFAKE");
    const auto lines = read_lines(log_file);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_NE(lines[0].find(R"(worker rig1\nFAKE connected)"), std::string::npos) << lines[0];
}

TEST(LogSanitize, EscapesOnlyWhatIsUnsafe) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"plain text 123 ~!@#$%^&*()\"\\", "plain text 123 ~!@#$%^&*()\"\\"},
        {"a\nb\rc\td", R"(a\nb\rc\td)"},
        {std::string("nul\0x", 5), R"(nul\x00x)"},
        {"\x1b[31mred", R"(\x1b[31mred)"},
        {"del\x7f", R"(del\x7f)"},
        {"caf\xc3\xa9 \xf0\x9f\x98\x80", "caf\xc3\xa9 \xf0\x9f\x98\x80"},  // UTF-8 passes through
        {"c1 \xc2\x9b", R"(c1 \u009b)"},                                     // C1 CSI
        {"ls \xe2\x80\xa8 ps \xe2\x80\xa9", R"(ls \u2028 ps \u2029)"},
        {"bad \xff\xfe", R"(bad \xff\xfe)"},
        {"overlong \xc0\xaf", R"(overlong \xc0\xaf)"},
        {"surrogate \xed\xa0\x80", R"(surrogate \xed\xa0\x80)"},
        {"truncated \xe2\x82", R"(truncated \xe2\x82)"},
        {"", ""},
    };
    for (const auto& [in, expected] : cases) EXPECT_EQ(otlog::sanitize(in), expected) << in;
}

TEST_F(LogTest, ReinitUpdatesExistingLoggers) {
    const auto early = otlog::get("loader");  // created before any init() of this test
    const fs::path first = dir.path() / "first.log";
    const fs::path second = dir.path() / "second.log";

    otlog::init({.level = "info", .file = first.string(), .json = false, .console = false});
    early->info("to first");
    otlog::init({.level = "error", .file = second.string(), .json = true, .console = false});
    EXPECT_EQ(early->level(), spdlog::level::err);
    early->info("filtered");
    early->error("to second");

    const auto first_lines = read_lines(first);
    ASSERT_EQ(first_lines.size(), 1u);
    EXPECT_NE(first_lines[0].find("to first"), std::string::npos);
    const auto second_lines = read_lines(second);
    ASSERT_EQ(second_lines.size(), 1u);
    const auto members = FlatJson::parse(second_lines[0]);
    ASSERT_TRUE(members.has_value()) << second_lines[0];
    EXPECT_EQ((*members)[3].second, "to second");
    EXPECT_EQ(otlog::get("loader"), early) << "one logger per name";
}

TEST_F(LogTest, ConcurrentGetAndLog) {
    otlog::init(file_options("info"));
    constexpr int threads = 8;
    constexpr int per_thread = 200;
    std::vector<std::thread> pool;
    std::vector<std::shared_ptr<spdlog::logger>> seen(threads);
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([t, &seen] {
            for (int i = 0; i < per_thread; ++i) {
                seen[static_cast<std::size_t>(t)] = otlog::get("worker-pool");
                seen[static_cast<std::size_t>(t)]->info("thread {} line {}", t, i);
            }
        });
    }
    for (auto& th : pool) th.join();
    for (const auto& logger : seen) EXPECT_EQ(logger, seen[0]);
    const auto lines = read_lines(log_file);
    EXPECT_EQ(lines.size(), static_cast<std::size_t>(threads * per_thread));
    for (const auto& line : lines) ASSERT_TRUE(parse_text_line(line).has_value()) << line;
}

}  // namespace
