// Tests for lib/otedama/common/flat_json.hpp.
#include "otedama/common/flat_json.hpp"

#include <gtest/gtest.h>

namespace {

using namespace otedama::common;
using Kind = JsonValue::Kind;

TEST(FlatJson, ReadsScalarsInOrder) {
    const auto o = parse_flat_json_object(R"( { "a" : "x", "b":12, "c":-1.5e3, "d":true, "e":false, "f":null } )");
    ASSERT_TRUE(o.ok()) << o.error;
    ASSERT_EQ(o.members.size(), 6u);
    EXPECT_EQ(o.members[0].key, "a");
    EXPECT_EQ(o.members[0].value.kind, Kind::string);
    EXPECT_EQ(o.members[0].value.text, "x");
    EXPECT_EQ(o.find("b")->kind, Kind::number);
    EXPECT_EQ(o.find("b")->text, "12");
    EXPECT_EQ(o.find("c")->text, "-1.5e3");
    EXPECT_TRUE(o.find("d")->boolean);
    EXPECT_FALSE(o.find("e")->boolean);
    EXPECT_EQ(o.find("f")->kind, Kind::null);
    EXPECT_EQ(o.find("zz"), nullptr);
}

TEST(FlatJson, EmptyObject) {
    const auto o = parse_flat_json_object("{}");
    ASSERT_TRUE(o.ok());
    EXPECT_TRUE(o.members.empty());
}

TEST(FlatJson, StringEscapes) {
    const auto o = parse_flat_json_object(R"({"s":"q\"b\\s\/n\nt\tu\u00e9\ud83d\ude00"})");
    ASSERT_TRUE(o.ok()) << o.error;
    EXPECT_EQ(o.find("s")->text, "q\"b\\s/n\nt\tu\xc3\xa9\xf0\x9f\x98\x80");
}

TEST(FlatJson, NestedValuesKeptRaw) {
    const auto o = parse_flat_json_object(R"({"n":{"x":[1,2,{"y":"]"}]},"m":[]})");
    ASSERT_TRUE(o.ok()) << o.error;
    EXPECT_EQ(o.find("n")->kind, Kind::nested);
    EXPECT_EQ(o.find("n")->text, R"({"x":[1,2,{"y":"]"}]})");
    EXPECT_EQ(o.find("m")->text, "[]");
}

TEST(FlatJson, RefusalsNameThePosition) {
    const std::pair<const char*, const char*> cases[] = {
        {"", "invalid JSON at position 0: expected '{' (the configuration must be a JSON object)"},
        {"[]", "invalid JSON at position 0: expected '{' (the configuration must be a JSON object)"},
        {R"({"a":1,"a":2})", "invalid JSON at position 7: duplicate key \"a\""},
        {R"({"a":1} x)", "invalid JSON at position 8: unexpected text after the object"},
        {R"({"a":01})", "invalid JSON at position 6: expected ',' or '}'"},
        {R"({"a":1.})", "invalid JSON at position 7: malformed number"},
        {R"({"a":-})", "invalid JSON at position 6: malformed number"},
        {R"({"a":tru})", "invalid JSON at position 5: expected a value"},
        {R"({"a":"x)", "invalid JSON at position 7: unterminated string"},
        {R"({"a":"\x"})", "invalid JSON at position 7: bad escape in string"},
        {R"({"a":"\ud800"})", "invalid JSON at position 12: unpaired surrogate in \\u escape"},
        {R"({a:1})", "invalid JSON at position 1: expected a quoted key"},
        {R"({"a" 1})", "invalid JSON at position 5: expected ':' after key \"a\""},
        {R"({"a":[1,2})", "invalid JSON at position 9: mismatched bracket"},
        {R"({"a":[1,2)", "invalid JSON at position 9: unterminated object or array"},
        {R"({"a":[1}]})", "invalid JSON at position 7: mismatched bracket"},
        {"{\"a\":\"\x01\"}", "invalid JSON at position 6: control character inside a string"},
        {R"({"a":1,})", "invalid JSON at position 7: expected a quoted key"},
    };
    for (const auto& [text, error] : cases) {
        const auto o = parse_flat_json_object(text);
        EXPECT_FALSE(o.ok()) << text;
        EXPECT_EQ(o.error, error) << text;
        EXPECT_TRUE(o.members.empty());
    }
}

TEST(FlatJson, Integers) {
    const auto o = parse_flat_json_object(R"({"a":42,"b":-7,"c":1.0,"d":1e3,"e":"5","f":99999999999999999999})");
    ASSERT_TRUE(o.ok()) << o.error;
    EXPECT_EQ(json_integer(*o.find("a")), 42);
    EXPECT_EQ(json_integer(*o.find("b")), -7);
    EXPECT_FALSE(json_integer(*o.find("b"), 0, 100)) << "below min";
    EXPECT_FALSE(json_integer(*o.find("a"), 0, 41)) << "above max";
    EXPECT_FALSE(json_integer(*o.find("c"))) << "fraction";
    EXPECT_FALSE(json_integer(*o.find("d"))) << "exponent";
    EXPECT_FALSE(json_integer(*o.find("e"))) << "a string is not a number";
    EXPECT_FALSE(json_integer(*o.find("f"))) << "out of int64 range";
}

TEST(Duration, HostSpellings) {
    EXPECT_EQ(parse_duration_ms("2h"), 7'200'000u);
    EXPECT_EQ(parse_duration_ms("30m"), 1'800'000u);
    EXPECT_EQ(parse_duration_ms("45s"), 45'000u);
    EXPECT_EQ(parse_duration_ms("500ms"), 500u);
    EXPECT_EQ(parse_duration_ms("1d"), 86'400'000u);
    EXPECT_EQ(parse_duration_ms("1h30m"), 5'400'000u);
    EXPECT_EQ(parse_duration_ms("1m500ms"), 60'500u);
    EXPECT_EQ(parse_duration_ms("90"), 90'000u) << "a plain number means seconds";
    EXPECT_EQ(parse_duration_ms("0s"), 0u);
}

TEST(Duration, Refusals) {
    for (const char* bad : {"", "h", "2x", "2 h", "-1h", "1.5h", "1h30", "2H", "99999999999999999999s",
                            "9223372036854775807d"}) {
        std::string error;
        EXPECT_FALSE(parse_duration_ms(bad, &error)) << bad;
        EXPECT_EQ(error, std::string("expected a duration such as 500ms, 30s, 2h or 1d, got \"") + bad + "\"");
    }
}

}  // namespace
