#include "otedama/common/flat_json.hpp"

#include <array>
#include <charconv>

namespace otedama::common {
namespace {

class Parser {
public:
    explicit Parser(std::string_view text) : text_(text) {}

    FlatJsonObject object() {
        FlatJsonObject out;
        try {
            skip_ws();
            expect('{', "expected '{' (the configuration must be a JSON object)");
            skip_ws();
            if (!eat('}')) {
                for (;;) {
                    skip_ws();
                    if (peek() != '"') fail("expected a quoted key");
                    JsonMember member;
                    const std::size_t key_pos = pos_;
                    member.key = string();
                    for (const auto& m : out.members) {
                        if (m.key == member.key) {
                            pos_ = key_pos;
                            fail("duplicate key \"" + member.key + "\"");
                        }
                    }
                    skip_ws();
                    expect(':', "expected ':' after key \"" + member.key + "\"");
                    skip_ws();
                    member.value = value();
                    out.members.push_back(std::move(member));
                    skip_ws();
                    if (eat(',')) continue;
                    expect('}', "expected ',' or '}'");
                    break;
                }
            }
            skip_ws();
            if (pos_ != text_.size()) fail("unexpected text after the object");
        } catch (const Failure& f) {
            out.members.clear();
            out.error = f.message;
        }
        return out;
    }

private:
    struct Failure {
        std::string message;
    };

    [[noreturn]] void fail(const std::string& what) const {
        throw Failure{"invalid JSON at position " + std::to_string(pos_) + ": " + what};
    }
    char peek() const noexcept { return pos_ < text_.size() ? text_[pos_] : '\0'; }
    bool eat(char c) noexcept {
        if (pos_ < text_.size() && text_[pos_] == c) {
            ++pos_;
            return true;
        }
        return false;
    }
    void expect(char c, const std::string& what) {
        if (!eat(c)) fail(what);
    }
    void skip_ws() noexcept {
        while (pos_ < text_.size() &&
               (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r')) {
            ++pos_;
        }
    }

    JsonValue value() {
        JsonValue v;
        const char c = peek();
        if (c == '"') {
            v.kind = JsonValue::Kind::string;
            v.text = string();
        } else if (c == '{' || c == '[') {
            const std::size_t start = pos_;
            skip_nested();
            v.kind = JsonValue::Kind::nested;
            v.text = std::string(text_.substr(start, pos_ - start));
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            v.kind = JsonValue::Kind::number;
            v.text = number();
        } else if (literal("true")) {
            v.kind = JsonValue::Kind::boolean;
            v.boolean = true;
            v.text = "true";
        } else if (literal("false")) {
            v.kind = JsonValue::Kind::boolean;
            v.text = "false";
        } else if (literal("null")) {
            v.kind = JsonValue::Kind::null;
            v.text = "null";
        } else {
            fail("expected a value");
        }
        return v;
    }

    bool literal(std::string_view word) noexcept {
        if (text_.substr(pos_, word.size()) != word) return false;
        pos_ += word.size();
        return true;
    }

    std::string number() {
        // RFC 8259 section 6: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
        const std::size_t start = pos_;
        const auto digits = [&] {
            const std::size_t from = pos_;
            while (peek() >= '0' && peek() <= '9') ++pos_;
            return pos_ - from;
        };
        eat('-');
        if (peek() == '0') {
            ++pos_;
        } else if (digits() == 0) {
            fail("malformed number");
        }
        if (eat('.') && digits() == 0) fail("malformed number");
        if (peek() == 'e' || peek() == 'E') {
            ++pos_;
            if (!eat('+')) eat('-');
            if (digits() == 0) fail("malformed number");
        }
        return std::string(text_.substr(start, pos_ - start));
    }

    static void append_utf8(std::string& out, uint32_t cp) {
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

    uint32_t hex4() {
        uint32_t v = 0;
        for (int i = 0; i < 4; ++i) {
            const char c = peek();
            uint32_t d = 0;
            if (c >= '0' && c <= '9') {
                d = static_cast<uint32_t>(c - '0');
            } else if (c >= 'a' && c <= 'f') {
                d = static_cast<uint32_t>(c - 'a' + 10);
            } else if (c >= 'A' && c <= 'F') {
                d = static_cast<uint32_t>(c - 'A' + 10);
            } else {
                fail("bad \\u escape");
            }
            v = (v << 4) | d;
            ++pos_;
        }
        return v;
    }

    std::string string() {
        expect('"', "expected '\"'");
        std::string out;
        for (;;) {
            if (pos_ >= text_.size()) fail("unterminated string");
            const char c = text_[pos_++];
            if (c == '"') break;
            if (static_cast<unsigned char>(c) < 0x20) {
                --pos_;
                fail("control character inside a string");
            }
            if (c != '\\') {
                out += c;
                continue;
            }
            const char e = peek();
            ++pos_;
            switch (e) {
                case '"': out += '"'; break;
                case '\\': out += '\\'; break;
                case '/': out += '/'; break;
                case 'b': out += '\b'; break;
                case 'f': out += '\f'; break;
                case 'n': out += '\n'; break;
                case 'r': out += '\r'; break;
                case 't': out += '\t'; break;
                case 'u': {
                    uint32_t cp = hex4();
                    if (cp >= 0xd800 && cp < 0xdc00) {
                        if (!literal("\\u")) fail("unpaired surrogate in \\u escape");
                        const uint32_t low = hex4();
                        if (low < 0xdc00 || low >= 0xe000) fail("unpaired surrogate in \\u escape");
                        cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
                    } else if (cp >= 0xdc00 && cp < 0xe000) {
                        fail("unpaired surrogate in \\u escape");
                    }
                    append_utf8(out, cp);
                    break;
                }
                default:
                    --pos_;
                    fail("bad escape in string");
            }
        }
        return out;
    }

    /// Skip a nested object or array, checking its strings and bracket nesting (not its full grammar).
    void skip_nested() {
        std::string stack;
        do {
            const char c = peek();
            if (c == '\0' && pos_ >= text_.size()) fail("unterminated object or array");
            if (c == '"') {
                (void)string();
                continue;
            }
            if (c == '{' || c == '[') {
                stack += c == '{' ? '}' : ']';
                if (stack.size() > 64) fail("nesting too deep");
            } else if (c == '}' || c == ']') {
                if (stack.empty() || stack.back() != c) fail("mismatched bracket");
                stack.pop_back();
            }
            ++pos_;
        } while (!stack.empty());
    }

    std::string_view text_;
    std::size_t pos_ = 0;
};

}  // namespace

const char* JsonValue::kind_name() const noexcept {
    switch (kind) {
        case Kind::string: return "a string";
        case Kind::number: return "a number";
        case Kind::boolean: return "a boolean";
        case Kind::null: return "null";
        case Kind::nested: return "an object or array";
    }
    return "a value";
}

const JsonValue* FlatJsonObject::find(std::string_view key) const noexcept {
    for (const auto& m : members) {
        if (m.key == key) return &m.value;
    }
    return nullptr;
}

FlatJsonObject parse_flat_json_object(std::string_view json) { return Parser(json).object(); }

std::optional<int64_t> json_integer(const JsonValue& value, int64_t min, int64_t max) noexcept {
    if (value.kind != JsonValue::Kind::number) return std::nullopt;
    const std::string& t = value.text;
    int64_t out = 0;
    const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
    if (ec != std::errc() || end != t.data() + t.size()) return std::nullopt;  // fraction, exponent, range
    if (out < min || out > max) return std::nullopt;
    return out;
}

std::optional<uint64_t> parse_duration_ms(std::string_view text, std::string* error) {
    struct Unit {
        std::string_view suffix;
        uint64_t ms;
    };
    // "ms" before "m": the longer suffix must win.
    static constexpr std::array<Unit, 5> kUnits{{{"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}}};
    const auto refuse = [&]() -> std::optional<uint64_t> {
        if (error != nullptr) {
            *error = "expected a duration such as 500ms, 30s, 2h or 1d, got \"" + std::string(text) + "\"";
        }
        return std::nullopt;
    };
    const auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
    std::string_view rest = text;
    if (rest.empty()) return refuse();
    uint64_t total = 0;
    bool first = true;
    while (!rest.empty()) {
        std::size_t n = 0;
        while (n < rest.size() && is_digit(rest[n])) ++n;
        if (n == 0) return refuse();
        uint64_t count = 0;
        const auto [end, ec] = std::from_chars(rest.data(), rest.data() + n, count);
        if (ec != std::errc() || end != rest.data() + n) return refuse();
        rest.remove_prefix(n);
        uint64_t unit_ms = 0;
        if (rest.empty() && first) {
            unit_ms = 1000;  // a plain number means seconds
        } else {
            for (const auto& u : kUnits) {
                if (rest.starts_with(u.suffix)) {
                    unit_ms = u.ms;
                    rest.remove_prefix(u.suffix.size());
                    break;
                }
            }
            if (unit_ms == 0) return refuse();
        }
        uint64_t term = 0;
        if (__builtin_mul_overflow(count, unit_ms, &term) || __builtin_add_overflow(total, term, &total) ||
            total > static_cast<uint64_t>(INT64_MAX)) {
            return refuse();
        }
        first = false;
    }
    return total;
}

}  // namespace otedama::common
