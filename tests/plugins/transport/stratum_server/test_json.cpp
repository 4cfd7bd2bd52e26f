// The stratum server's strict JSON reader and writers (plugins/transport/stratum-server/json.hpp) and the
// JSON-RPC framing on top (rpc.hpp). Strictness is checked against RFC 8259's grammar case by case.
#include "json.hpp"
#include "rpc.hpp"

#include <gtest/gtest.h>

#include <string>

namespace json = otedama::stratum::json;
namespace stratum = otedama::stratum;

namespace {

bool parses(std::string_view text) {
  json::Document d;
  return d.parse(text);
}

std::string error_of(std::string_view text, const json::Limits& limits = {}) {
  json::Document d;
  EXPECT_FALSE(d.parse(text, limits)) << text;
  return std::string(d.error());
}

}  // namespace

TEST(StratumJson, ParsesATypicalSubmitWithoutCopying) {
  const std::string line =
      R"({"id": 4, "method": "mining.submit", "params": ["acct.rig1", "1b", "00000000", "647025b5", "0a029ed1"]})";
  json::Document d;
  ASSERT_TRUE(d.parse(line)) << d.error();
  const json::Value root = d.root();
  ASSERT_TRUE(root.is_object());
  EXPECT_EQ(root.size(), 3u);
  EXPECT_EQ(root.find("id").token(), "4");
  EXPECT_EQ(*root.find("id").integer(), 4);
  EXPECT_EQ(*root.find("method").plain_string(), "mining.submit");
  const json::Value params = root.find("params");
  ASSERT_TRUE(params.is_array());
  ASSERT_EQ(params.size(), 5u);
  EXPECT_EQ(*params.at(4).plain_string(), "0a029ed1");
  EXPECT_EQ(params.at(0).after().raw_string(), "1b");
  // Views point into the caller's text.
  EXPECT_EQ(params.at(0).raw_string().data(), line.data() + line.find("acct.rig1"));
  EXPECT_FALSE(params.at(5).exists());
  EXPECT_FALSE(root.find("nope").exists());
}

TEST(StratumJson, TokensEchoExactlyAsWritten) {
  json::Document d;
  ASSERT_TRUE(d.parse(R"({"a":"x\u0041y","b":-1.5e+3,"c":[1, 2],"d":{"e":null},"f":true,"g":false})"));
  const json::Value r = d.root();
  EXPECT_EQ(r.find("a").token(), R"("x\u0041y")");
  EXPECT_EQ(r.find("b").token(), "-1.5e+3");
  EXPECT_EQ(r.find("c").token(), "[1, 2]");
  EXPECT_EQ(r.find("d").token(), R"({"e":null})");
  EXPECT_TRUE(r.find("d").find("e").is_null());
  EXPECT_TRUE(r.find("f").boolean());
  EXPECT_TRUE(r.find("g").is_bool());
  EXPECT_FALSE(r.find("g").boolean());
  EXPECT_EQ(*r.find("b").number(), -1500.0);
  EXPECT_FALSE(r.find("b").integer());
  EXPECT_FALSE(r.find("a").plain_string());  // escaped
  std::string s;
  ASSERT_TRUE(r.find("a").decode_string(s));
  EXPECT_EQ(s, "xAy");
  EXPECT_EQ(r.key_at(2).raw_string(), "c");
  EXPECT_EQ(r.value_at(2).size(), 2u);
}

TEST(StratumJson, DecodesEveryEscapeAndSurrogatePairs) {
  json::Document d;
  ASSERT_TRUE(d.parse(R"(["\"\\\/\b\f\n\r\t", "\u00e9\u20ac\ud83d\ude00", "caf\u00E9"])"));
  std::string s;
  d.root().at(0).decode_string(s);
  EXPECT_EQ(s, "\"\\/\b\f\n\r\t");
  d.root().at(1).decode_string(s);
  EXPECT_EQ(s, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");  // é € 😀
  d.root().at(2).decode_string(s);
  EXPECT_EQ(s, "caf\xc3\xa9");
}

TEST(StratumJson, FindComparesDecodedKeys) {
  json::Document d;
  ASSERT_TRUE(d.parse(R"({"m\u0065thod":"x"})"));
  EXPECT_EQ(*d.root().find("method").plain_string(), "x");
}

TEST(StratumJson, AcceptsWhatRfc8259Allows) {
  for (const char* ok : {"0", "-0", "1.5", "1e10", "1E-2", "-12.5e+07", "\"\"", "[]", "{}", " \t\r\n[ 1 , 2 ] \n", "null", "true",
                         "[[[[]]]]", "\"\xc3\xa9\"", "\"\xf4\x8f\xbf\xbf\"", "{\"a\":{\"a\":1}}", "1e400"})
    EXPECT_TRUE(parses(ok)) << ok;
}

TEST(StratumJson, RefusesEverythingElseNamingWhatAndWhere) {
  const struct {
    const char* text;
    const char* says;
  } cases[] = {
      {"", "unexpected end of text, expected a value"},
      {"   ", "offset 3: unexpected end of text"},
      {"{", "expected a quoted object key"},
      {"{\"a\" 1}", "expected ':' after an object key"},
      {"{\"a\":1,}", "expected a quoted object key"},
      {"[1,]", "unexpected character ']'"},
      {"[1 2]", "expected ',' or ']' in an array"},
      {"{\"a\":1 \"b\":2}", "expected ',' or '}' in an object"},
      {"01", "leading zero in a number"},
      {"-", "a number needs digits after '-'"},
      {"1.", "a number needs digits after '.'"},
      {"1e", "a number needs digits in its exponent"},
      {".5", "unexpected character '.'"},
      {"+1", "unexpected character '+'"},
      {"NaN", "unexpected character 'N'"},
      {"Infinity", "unexpected character 'I'"},
      {"tru", "expected a value"},
      {"nul", "expected a value"},
      {"\"abc", "unterminated string"},
      {"\"a\tb\"", "raw control character in a string"},
      {"\"\\x\"", "expected an escape"},
      {"\"\\u12\"", "\\u needs four hex digits"},
      {"\"\\u12g4\"", "\\u needs four hex digits"},
      {"\"\\udc00\"", "lone low surrogate"},
      {"\"\\ud800\"", "high surrogate without a low surrogate"},
      {"\"\\ud800\\u0041\"", "high surrogate without a low surrogate"},
      {"\"\xc0\xaf\"", "invalid UTF-8 lead byte"},  // overlong '/'
      {"\"\xe0\x80\xaf\"", "overlong 3-byte form"},
      {"\"\xed\xa0\x80\"", "encoded surrogate"},
      {"\"\xf4\x90\x80\x80\"", "above U+10FFFF"},
      {"\"\xf0\x80\x80\x80\"", "overlong 4-byte form"},
      {"\"\xc3\"", "truncated UTF-8 sequence"},
      {"\"\xff\"", "invalid UTF-8 lead byte"},
      {"{\"a\":1,\"a\":2}", "duplicate object key"},
      {"{\"a\":1,\"\\u0061\":2}", "duplicate object key"},
      {"[1] [2]", "unexpected text after the value"},
      {"{\"a\":1}x", "offset 7: unexpected text after the value"},
      {"// comment\n1", "unexpected character '/'"},
      {"'single'", "unexpected character '''"},
      {"\x01", "unexpected byte 0x01"},
  };
  for (const auto& c : cases) {
    const std::string err = error_of(c.text);
    EXPECT_NE(err.find(c.says), std::string::npos) << "text: " << c.text << "\nerror: " << err;
    EXPECT_EQ(err.rfind("invalid JSON", 0), 0u) << err;
  }
  // A NUL inside a string is a raw control character; a NUL outside is an unexpected byte.
  EXPECT_NE(error_of(std::string_view("\"a\0b\"", 5)).find("raw control character"), std::string::npos);
  EXPECT_NE(error_of(std::string_view("[1]\0", 4)).find("unexpected text after the value"), std::string::npos);
}

TEST(StratumJson, LimitsBoundTheWork) {
  json::Limits limits;
  limits.max_depth = 3;
  limits.max_nodes = 5;
  limits.max_members = 2;
  EXPECT_NE(error_of("[[[[]]]]", limits).find("nesting deeper than 3 levels"), std::string::npos);
  EXPECT_NE(error_of("[1,2,3,4,5]", limits).find("more than 5 values"), std::string::npos);
  EXPECT_NE(error_of("{\"a\":1,\"b\":2,\"c\":3}", limits).find("more than 2 members"), std::string::npos);
  json::Document d;
  EXPECT_TRUE(d.parse("[[[]]]", limits));
  // The default depth limit holds even for a line of brackets only (no stack exhaustion).
  EXPECT_NE(error_of(std::string(100000, '[')).find("nesting deeper than 32 levels"), std::string::npos);
}

TEST(StratumJson, ADocumentIsReusableAfterAFailure) {
  json::Document d;
  EXPECT_FALSE(d.parse("[1,"));
  EXPECT_FALSE(d.root().exists());
  ASSERT_TRUE(d.parse("[7]"));
  EXPECT_TRUE(d.error().empty());
  EXPECT_EQ(*d.root().at(0).integer(), 7);
}

TEST(StratumJson, NumbersReadStrictly) {
  json::Document d;
  ASSERT_TRUE(d.parse("[9223372036854775807, 9223372036854775808, 1e400, 0.001, -3]"));
  EXPECT_EQ(*d.root().at(0).integer(), INT64_MAX);
  EXPECT_FALSE(d.root().at(1).integer());  // out of int64
  EXPECT_TRUE(d.root().at(1).number());
  EXPECT_FALSE(d.root().at(2).number());  // out of double range
  EXPECT_DOUBLE_EQ(*d.root().at(3).number(), 0.001);
  EXPECT_EQ(*d.root().at(4).integer(), -3);
  EXPECT_FALSE(d.root().at(3).integer());
}

TEST(StratumJson, WritersProduceValidJsonWhateverTheInput) {
  std::string out;
  json::append_string(out, std::string_view("a\"b\\c\n\x01\xc3\xa9\xff" "d", 11));
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\n\\u0001\xc3\xa9\\ufffdd\"");
  json::Document d;
  EXPECT_TRUE(d.parse(out)) << d.error();

  const struct {
    double v;
    const char* text;
  } numbers[] = {{512, "512"},      {0.001, "0.001"},     {-3, "-3"},          {1e-05, "0.00001"},
                 {1.5, "1.5"},      {65536, "65536"},     {1e20, "1e+20"},     {1e-12, "1e-12"},
                 {0.1 + 0.2, "0.30000000000000004"}, {-2.5e-7, "-0.00000025"}};
  for (const auto& n : numbers) {
    std::string s;
    json::append_number(s, n.v);
    EXPECT_EQ(s, n.text);
    ASSERT_TRUE(d.parse(s)) << s;
    EXPECT_EQ(*d.root().number(), n.v);
  }
}

TEST(StratumRpc, ReadsRequestsResponsesAndSaysWhatIsWrong) {
  json::Document d;
  stratum::Request r;
  ASSERT_TRUE(d.parse(R"({"id":"abc","method":"mining.subscribe","params":["cgminer/4.10.0"]})"));
  ASSERT_EQ(stratum::read_request(d, r), nullptr);
  EXPECT_EQ(r.id, "\"abc\"");
  EXPECT_EQ(r.method, "mining.subscribe");
  EXPECT_EQ(r.params.size(), 1u);

  ASSERT_TRUE(d.parse(R"({"id":7,"result":true,"error":null})"));
  ASSERT_EQ(stratum::read_request(d, r), nullptr);
  EXPECT_EQ(r.kind, stratum::Request::Kind::response);

  const struct {
    const char* line;
    const char* says;
    const char* id;
  } bad[] = {
      {"[1,2]", "the line is not a JSON object", "null"},
      {R"({"id":[1],"method":"x"})", "\"id\" must be a number, a string or null", "null"},
      {R"({"id":1,"method":5})", "\"method\" must be a string without escapes", "1"},
      {R"({"id":1,"method":""})", "\"method\" is empty", "1"},
      {R"({"id":1,"params":[]})", "no \"method\"", "1"},
      {R"({"id":2,"method":"m","params":"x"})", "\"params\" must be an array or an object", "2"},
  };
  for (const auto& b : bad) {
    ASSERT_TRUE(d.parse(b.line)) << b.line;
    const char* why = stratum::read_request(d, r);
    ASSERT_NE(why, nullptr) << b.line;
    EXPECT_STREQ(why, b.says);
    EXPECT_EQ(r.id, b.id) << b.line;
  }
  const std::string long_id = "{\"id\":\"" + std::string(70, 'x') + "\",\"method\":\"m\"}";  // outlives the Document's use
  ASSERT_TRUE(d.parse(long_id));
  EXPECT_STREQ(stratum::read_request(d, r), "\"id\" is longer than 64 bytes");
}

TEST(StratumRpc, WritesStratumLinesByteExactly) {
  std::string out;
  stratum::write_result(out, "1", "true");
  stratum::write_error(out, "\"x\"", 23, "Low difficulty share");
  stratum::write_notification(out, "mining.set_difficulty", "[512]");
  EXPECT_EQ(out,
            "{\"id\":1,\"result\":true,\"error\":null}\n"
            "{\"id\":\"x\",\"result\":null,\"error\":[23,\"Low difficulty share\",null]}\n"
            "{\"id\":null,\"method\":\"mining.set_difficulty\",\"params\":[512]}\n");
}
