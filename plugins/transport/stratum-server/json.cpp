#include "json.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace otedama::stratum::json {

// ---------------------------------------------------------------------------------------------------------
// Parser

class Parser {
 public:
  Parser(Document& doc, const Limits& limits) : doc_(doc), limits_(limits), s_(doc.text_.data()), n_(doc.text_.size()) {}

  bool run() {
    skip_ws();
    if (!value(0)) return false;
    skip_ws();
    if (pos_ != n_) return fail("unexpected text after the value");
    return true;
  }

 private:
  bool fail(const char* what) {
    doc_.error_offset_ = pos_;
    const int w = std::snprintf(doc_.error_, sizeof doc_.error_, "invalid JSON at offset %zu: %s", pos_, what);
    doc_.error_length_ = w < 0 ? 0 : std::min<size_t>(static_cast<size_t>(w), sizeof doc_.error_ - 1);
    return false;
  }
  bool fail_char(const char* expected) {
    char msg[120];
    if (pos_ >= n_) {
      std::snprintf(msg, sizeof msg, "unexpected end of text, %s", expected);
    } else {
      const auto c = static_cast<unsigned char>(s_[pos_]);
      if (c >= 0x20 && c < 0x7f) {
        std::snprintf(msg, sizeof msg, "unexpected character '%c', %s", c, expected);
      } else {
        std::snprintf(msg, sizeof msg, "unexpected byte 0x%02x, %s", c, expected);
      }
    }
    return fail(msg);
  }

  void skip_ws() noexcept {
    while (pos_ < n_) {
      const char c = s_[pos_];
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
      ++pos_;
    }
  }

  /// Append a node; UINT32_MAX when the node limit is reached.
  uint32_t push(Type type) {
    if (doc_.nodes_.size() >= limits_.max_nodes) return UINT32_MAX;
    Node node;
    node.type = type;
    node.offset = static_cast<uint32_t>(pos_);
    doc_.nodes_.push_back(node);
    return static_cast<uint32_t>(doc_.nodes_.size() - 1);
  }
  bool too_many_nodes() {
    char msg[80];
    std::snprintf(msg, sizeof msg, "more than %u values", limits_.max_nodes);
    return fail(msg);
  }
  void close(uint32_t index) {
    Node& node = doc_.nodes_[index];
    node.end = static_cast<uint32_t>(doc_.nodes_.size());
    node.length = static_cast<uint32_t>(pos_ - node.offset);
  }

  bool value(uint32_t depth) {
    if (pos_ >= n_) return fail("unexpected end of text, expected a value");
    switch (s_[pos_]) {
      case '{':
        return object(depth);
      case '[':
        return array(depth);
      case '"':
        return string();
      case 't':
        return literal("true", Type::boolean, true);
      case 'f':
        return literal("false", Type::boolean, false);
      case 'n':
        return literal("null", Type::null, false);
      default:
        if (s_[pos_] == '-' || (s_[pos_] >= '0' && s_[pos_] <= '9')) return number();
        return fail_char("expected a value");
    }
  }

  bool literal(const char* word, Type type, bool truth) {
    const size_t len = std::strlen(word);
    if (n_ - pos_ < len || std::memcmp(s_ + pos_, word, len) != 0) return fail_char("expected a value");
    const uint32_t index = push(type);
    if (index == UINT32_MAX) return too_many_nodes();
    doc_.nodes_[index].truth = truth;
    pos_ += len;
    close(index);
    return true;
  }

  bool digits() {
    const size_t start = pos_;
    while (pos_ < n_ && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
    return pos_ > start;
  }

  bool number() {
    const uint32_t index = push(Type::number);
    if (index == UINT32_MAX) return too_many_nodes();
    bool integer = true;
    if (s_[pos_] == '-') ++pos_;
    if (pos_ < n_ && s_[pos_] == '0') {
      ++pos_;
      if (pos_ < n_ && s_[pos_] >= '0' && s_[pos_] <= '9') return fail("leading zero in a number");
    } else if (!digits()) {
      return fail("a number needs digits after '-'");
    }
    if (pos_ < n_ && s_[pos_] == '.') {
      ++pos_;
      integer = false;
      if (!digits()) return fail("a number needs digits after '.'");
    }
    if (pos_ < n_ && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      integer = false;
      if (pos_ < n_ && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (!digits()) return fail("a number needs digits in its exponent");
    }
    doc_.nodes_[index].integer = integer;
    close(index);
    return true;
  }

  static int hex_digit(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }
  /// Four hex digits at pos_ (after "\u"); -1 when malformed.
  long hex4() noexcept {
    if (n_ - pos_ < 4) return -1;
    long v = 0;
    for (int i = 0; i < 4; ++i) {
      const int d = hex_digit(s_[pos_ + static_cast<size_t>(i)]);
      if (d < 0) return -1;
      v = v * 16 + d;
    }
    pos_ += 4;
    return v;
  }

  bool is_cont(size_t at) const noexcept {
    return at < n_ && (static_cast<unsigned char>(s_[at]) & 0xC0) == 0x80;
  }
  /// Validate one multi-byte UTF-8 sequence at pos_ (RFC 3629: no overlongs, no surrogates, <= U+10FFFF).
  bool utf8() {
    const auto c = static_cast<unsigned char>(s_[pos_]);
    auto byte = [&](size_t k) { return pos_ + k < n_ ? static_cast<unsigned char>(s_[pos_ + k]) : 0; };
    size_t len = 0;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c == 0xE0) {
      if (byte(1) < 0xA0 || byte(1) > 0xBF) return fail("invalid UTF-8 (overlong 3-byte form)");
      len = 3;
    } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
      len = 3;
    } else if (c == 0xED) {
      if (byte(1) < 0x80 || byte(1) > 0x9F) return fail("invalid UTF-8 (encoded surrogate)");
      len = 3;
    } else if (c == 0xF0) {
      if (byte(1) < 0x90 || byte(1) > 0xBF) return fail("invalid UTF-8 (overlong 4-byte form)");
      len = 4;
    } else if (c >= 0xF1 && c <= 0xF3) {
      len = 4;
    } else if (c == 0xF4) {
      if (byte(1) < 0x80 || byte(1) > 0x8F) return fail("invalid UTF-8 (above U+10FFFF)");
      len = 4;
    } else {
      return fail("invalid UTF-8 lead byte in a string");
    }
    for (size_t k = 1; k < len; ++k)
      if (!is_cont(pos_ + k)) return fail("truncated UTF-8 sequence in a string");
    pos_ += len;
    return true;
  }

  bool string() {
    const uint32_t index = push(Type::string);
    if (index == UINT32_MAX) return too_many_nodes();
    ++pos_;  // opening quote
    const size_t start = pos_;
    bool escaped = false;
    for (;;) {
      // Fast path over plain ASCII.
      while (pos_ < n_) {
        const auto c = static_cast<unsigned char>(s_[pos_]);
        if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) break;
        ++pos_;
      }
      if (pos_ >= n_) return fail("unterminated string");
      const auto c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') break;
      if (c < 0x20) return fail("raw control character in a string (it must be escaped)");
      if (c >= 0x80) {
        if (!utf8()) return false;
        continue;
      }
      // Backslash escape.
      escaped = true;
      ++pos_;
      if (pos_ >= n_) return fail("unterminated escape in a string");
      const char e = s_[pos_++];
      switch (e) {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
          break;
        case 'u': {
          const long cp = hex4();
          if (cp < 0) return fail("\\u needs four hex digits");
          if (cp >= 0xDC00 && cp <= 0xDFFF) return fail("\\u escape is a lone low surrogate");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (n_ - pos_ < 2 || s_[pos_] != '\\' || s_[pos_ + 1] != 'u') return fail("\\u high surrogate without a low surrogate");
            pos_ += 2;
            const long lo = hex4();
            if (lo < 0) return fail("\\u needs four hex digits");
            if (lo < 0xDC00 || lo > 0xDFFF) return fail("\\u high surrogate without a low surrogate");
          }
          break;
        }
        default:
          --pos_;
          return fail_char("expected an escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)");
      }
    }
    Node& node = doc_.nodes_[index];
    node.offset = static_cast<uint32_t>(start);
    node.length = static_cast<uint32_t>(pos_ - start);
    node.escaped = escaped;
    node.end = static_cast<uint32_t>(doc_.nodes_.size());
    ++pos_;  // closing quote
    return true;
  }

  bool enter(uint32_t depth) {
    if (depth >= limits_.max_depth) {
      char msg[80];
      std::snprintf(msg, sizeof msg, "nesting deeper than %u levels", limits_.max_depth);
      return fail(msg);
    }
    return true;
  }

  bool array(uint32_t depth) {
    if (!enter(depth)) return false;
    const uint32_t index = push(Type::array);
    if (index == UINT32_MAX) return too_many_nodes();
    ++pos_;
    skip_ws();
    uint32_t count = 0;
    if (pos_ < n_ && s_[pos_] == ']') {
      ++pos_;
    } else {
      for (;;) {
        skip_ws();
        if (!value(depth + 1)) return false;
        ++count;
        skip_ws();
        if (pos_ < n_ && s_[pos_] == ',') {
          ++pos_;
          continue;
        }
        if (pos_ < n_ && s_[pos_] == ']') {
          ++pos_;
          break;
        }
        return fail_char("expected ',' or ']' in an array");
      }
    }
    doc_.nodes_[index].count = count;
    close(index);
    return true;
  }

  /// Whether the key node `a` equals the key node `b` after decoding.
  bool same_key(uint32_t a, uint32_t b) {
    const Node& x = doc_.nodes_[a];
    const Node& y = doc_.nodes_[b];
    const std::string_view rx(s_ + x.offset, x.length), ry(s_ + y.offset, y.length);
    if (!x.escaped && !y.escaped) return rx == ry;
    std::string dx, dy;
    decode_escaped(rx, dx);
    decode_escaped(ry, dy);
    return dx == dy;
  }

  bool object(uint32_t depth) {
    if (!enter(depth)) return false;
    const uint32_t index = push(Type::object);
    if (index == UINT32_MAX) return too_many_nodes();
    ++pos_;
    skip_ws();
    uint32_t count = 0;
    if (pos_ < n_ && s_[pos_] == '}') {
      ++pos_;
    } else {
      for (;;) {
        skip_ws();
        if (count == limits_.max_members) {
          char msg[80];
          std::snprintf(msg, sizeof msg, "an object with more than %u members", limits_.max_members);
          return fail(msg);
        }
        if (pos_ >= n_ || s_[pos_] != '"') return fail_char("expected a quoted object key");
        const size_t key_pos = pos_;
        const auto key = static_cast<uint32_t>(doc_.nodes_.size());
        if (!string()) return false;
        // Duplicate keys: walk the earlier keys of this object (key, value subtree, key ...).
        for (uint32_t k = index + 1; k < key; k = doc_.nodes_[k + 1].end) {
          if (same_key(k, key)) {
            pos_ = key_pos;
            return fail("duplicate object key");
          }
        }
        skip_ws();
        if (pos_ >= n_ || s_[pos_] != ':') return fail_char("expected ':' after an object key");
        ++pos_;
        skip_ws();
        if (!value(depth + 1)) return false;
        ++count;
        skip_ws();
        if (pos_ < n_ && s_[pos_] == ',') {
          ++pos_;
          continue;
        }
        if (pos_ < n_ && s_[pos_] == '}') {
          ++pos_;
          break;
        }
        return fail_char("expected ',' or '}' in an object");
      }
    }
    doc_.nodes_[index].count = count;
    close(index);
    return true;
  }

  Document& doc_;
  const Limits& limits_;
  const char* s_;
  size_t n_;
  size_t pos_ = 0;
};

bool Document::parse(std::string_view text, const Limits& limits) {
  text_ = text;
  nodes_.clear();
  ok_ = false;
  error_length_ = 0;
  error_offset_ = 0;
  if (text.size() >= UINT32_MAX) {
    const char msg[] = "invalid JSON: text longer than 4 GiB";
    std::memcpy(error_, msg, sizeof msg);
    error_length_ = sizeof msg - 1;
    return false;
  }
  Parser parser(*this, limits);
  ok_ = parser.run();
  if (!ok_) nodes_.clear();
  return ok_;
}

// ---------------------------------------------------------------------------------------------------------
// Value

const Node& Value::node() const noexcept { return doc_->nodes_[index_]; }

Type Value::type() const noexcept { return doc_ == nullptr ? Type::null : node().type; }

std::string_view Value::token() const noexcept {
  if (doc_ == nullptr) return "null";
  const Node& n = node();
  if (n.type == Type::string) return doc_->text_.substr(n.offset - 1, n.length + 2);
  return doc_->text_.substr(n.offset, n.length);
}

std::string_view Value::raw_string() const noexcept {
  if (!is_string()) return {};
  const Node& n = node();
  return doc_->text_.substr(n.offset, n.length);
}

std::optional<std::string_view> Value::plain_string() const noexcept {
  if (!is_string() || node().escaped) return std::nullopt;
  return raw_string();
}

bool Value::decode_string(std::string& out) const {
  out.clear();
  if (!is_string()) return false;
  if (!node().escaped) {
    out.assign(raw_string());
  } else {
    decode_escaped(raw_string(), out);
  }
  return true;
}

bool Value::boolean() const noexcept { return is_bool() && node().truth; }

std::optional<double> Value::number() const noexcept {
  if (!is_number()) return std::nullopt;
  const std::string_view t = token();
  double v = 0;
  const auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc{} || ptr != t.data() + t.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<int64_t> Value::integer() const noexcept {
  if (!is_number() || !node().integer) return std::nullopt;
  const std::string_view t = token();
  int64_t v = 0;
  const auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc{} || ptr != t.data() + t.size()) return std::nullopt;
  return v;
}

uint32_t Value::size() const noexcept {
  if (doc_ == nullptr) return 0;
  const Node& n = node();
  return n.type == Type::array || n.type == Type::object ? n.count : 0;
}

Value Value::next_sibling(Value v) const noexcept {
  if (!v.exists()) return {};
  return Value(doc_, v.index_ + 1);
}

Value Value::after() const noexcept {
  if (doc_ == nullptr) return {};
  const uint32_t next = node().end;
  if (next >= doc_->nodes_.size()) return {};
  return Value(doc_, next);
}

Value Value::at(uint32_t i) const noexcept {
  if (!is_array() || i >= node().count) return {};
  uint32_t k = index_ + 1;
  for (uint32_t j = 0; j < i; ++j) k = doc_->nodes_[k].end;
  return Value(doc_, k);
}

Value Value::key_at(uint32_t i) const noexcept {
  if (!is_object() || i >= node().count) return {};
  uint32_t k = index_ + 1;
  for (uint32_t j = 0; j < i; ++j) k = doc_->nodes_[k + 1].end;
  return Value(doc_, k);
}

Value Value::find(std::string_view key) const {
  if (!is_object()) return {};
  uint32_t k = index_ + 1;
  std::string decoded;
  for (uint32_t j = 0; j < node().count; ++j) {
    const Node& kn = doc_->nodes_[k];
    const std::string_view raw = doc_->text_.substr(kn.offset, kn.length);
    if (!kn.escaped) {
      if (raw == key) return Value(doc_, k + 1);
    } else {
      decoded.clear();
      decode_escaped(raw, decoded);
      if (decoded == key) return Value(doc_, k + 1);
    }
    k = doc_->nodes_[k + 1].end;
  }
  return {};
}

// ---------------------------------------------------------------------------------------------------------
// Strings and numbers

namespace {

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return 0;
}

uint32_t read_hex4(std::string_view s, size_t at) noexcept {
  uint32_t v = 0;
  for (size_t i = 0; i < 4 && at + i < s.size(); ++i) v = v * 16 + static_cast<uint32_t>(hex_value(s[at + i]));
  return v;
}

void put_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

/// Length of the valid UTF-8 sequence starting at s[i] (a byte >= 0x80), or 0 when invalid.
size_t utf8_sequence(std::string_view s, size_t i) noexcept {
  auto b = [&](size_t k) { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0; };
  auto cont = [&](size_t k) { return (b(k) & 0xC0) == 0x80; };
  const unsigned char c = b(0);
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c == 0xE0) return b(1) >= 0xA0 && b(1) <= 0xBF && cont(2) ? 3 : 0;
  if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) return cont(1) && cont(2) ? 3 : 0;
  if (c == 0xED) return b(1) >= 0x80 && b(1) <= 0x9F && cont(2) ? 3 : 0;
  if (c == 0xF0) return b(1) >= 0x90 && b(1) <= 0xBF && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xF1 && c <= 0xF3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c == 0xF4) return b(1) >= 0x80 && b(1) <= 0x8F && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

}  // namespace

void decode_escaped(std::string_view raw, std::string& out) {
  out.reserve(out.size() + raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    const char c = raw[i];
    if (c != '\\' || i + 1 >= raw.size()) {
      out.push_back(c);
      continue;
    }
    const char e = raw[++i];
    switch (e) {
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 't': out.push_back('\t'); break;
      case 'u': {
        uint32_t cp = read_hex4(raw, i + 1);
        i += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF && i + 6 < raw.size() && raw[i + 1] == '\\' && raw[i + 2] == 'u') {
          const uint32_t lo = read_hex4(raw, i + 3);
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          i += 6;
        }
        put_utf8(out, cp);
        break;
      }
      default: out.push_back(e); break;  // " \ /
    }
  }
}

void append_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      // Copy a run of plain ASCII at once.
      size_t j = i + 1;
      while (j < s.size()) {
        const auto d = static_cast<unsigned char>(s[j]);
        if (d < 0x20 || d >= 0x80 || d == '"' || d == '\\') break;
        ++j;
      }
      out.append(s.data() + i, j - i);
      i = j;
      continue;
    }
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
      ++i;
    } else if (c < 0x20) {
      switch (c) {
        case '\n': out.append("\\n"); break;
        case '\r': out.append("\\r"); break;
        case '\t': out.append("\\t"); break;
        case '\b': out.append("\\b"); break;
        case '\f': out.append("\\f"); break;
        default:
          out.append("\\u00");
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xF]);
      }
      ++i;
    } else {
      const size_t len = utf8_sequence(s, i);
      if (len == 0) {
        out.append("\\ufffd");
        ++i;
      } else {
        out.append(s.data() + i, len);
        i += len;
      }
    }
  }
  out.push_back('"');
}

void append_number(std::string& out, double value) {
  char buf[32];
  if (!std::isfinite(value)) {
    out.push_back('0');
    return;
  }
  if (value == std::trunc(value) && std::fabs(value) < 9007199254740992.0) {
    const auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(value));
    out.append(buf, ec == std::errc{} ? static_cast<size_t>(ptr - buf) : 0);
    return;
  }
  // Plain decimals where they stay short (difficulties like 0.00001 read better than 1e-05 and every
  // miner's JSON library takes both); the shortest round-trip form otherwise.
  const double magnitude = std::fabs(value);
  const auto [ptr, ec] = magnitude >= 1e-9 && magnitude < 1e15 ? std::to_chars(buf, buf + sizeof buf, value, std::chars_format::fixed)
                                                                : std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, ec == std::errc{} ? static_cast<size_t>(ptr - buf) : 0);
}

}  // namespace otedama::stratum::json
