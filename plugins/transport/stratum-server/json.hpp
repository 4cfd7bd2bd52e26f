// A strict, allocation-light JSON reader for stratum lines (RFC 8259).
//
// Why not Poco::JSON or a DOM: a stratum server parses one small object per line, tens of thousands of
// times a second per core, from untrusted peers. This reader validates the whole text in one pass into a
// flat "tape" of nodes that point back into the caller's text (no copies, no per-node allocation: the
// tape's vector keeps its capacity across lines), and only decodes a string when asked.
//
// Strict means: exactly one value with optional surrounding whitespace; no comments, no trailing commas,
// no leading zeros, no NaN/Infinity; strings must be valid UTF-8 (no overlong forms, no surrogates) with
// no raw control characters, and \u escapes must pair surrogates correctly; duplicate object keys are
// refused (a request with two "id"s has no single meaning). Limits on depth, node count and members per
// object bound the work any line can cause. Every refusal names the byte offset and what was wrong.
//
// Lifetimes: a Document refers to the text it parsed; the text must outlive every Value taken from it.
// Thread safety: a Document is used by one thread at a time (the server keeps one per I/O thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace otedama::stratum::json {

enum class Type : uint8_t { null, boolean, number, string, array, object };

/// Bounds on what one parse may build; a text beyond them is refused (not truncated).
struct Limits {
  uint32_t max_depth = 32;      ///< nesting of arrays/objects
  uint32_t max_nodes = 100000;  ///< values in the whole text (keys count as nodes)
  uint32_t max_members = 256;   ///< members of one object (duplicate-key checks are quadratic in this)
};

/// One value on the tape. Containers are followed by their children in document order; an object's
/// children alternate key (a string node) and value.
struct Node {
  Type type = Type::null;
  bool escaped = false;  ///< string: contains backslash escapes (decode before use)
  bool integer = false;  ///< number: no fraction and no exponent
  bool truth = false;    ///< boolean: its value
  uint32_t end = 0;      ///< index one past the last node of this value's subtree
  uint32_t count = 0;    ///< array: elements; object: members
  uint32_t offset = 0;   ///< text span: strings without their quotes; everything else the whole token
  uint32_t length = 0;
};

class Document;

/// A read-only view of one value of a Document. A default-constructed (or not-found) Value is "missing":
/// every accessor answers as for an absent value (type() is null, exists() false).
class Value {
 public:
  Value() = default;
  Value(const Document* doc, uint32_t index) noexcept : doc_(doc), index_(index) {}

  [[nodiscard]] bool exists() const noexcept { return doc_ != nullptr; }
  [[nodiscard]] Type type() const noexcept;
  [[nodiscard]] bool is_null() const noexcept { return type() == Type::null; }
  [[nodiscard]] bool is_string() const noexcept { return exists() && type() == Type::string; }
  [[nodiscard]] bool is_number() const noexcept { return exists() && type() == Type::number; }
  [[nodiscard]] bool is_bool() const noexcept { return exists() && type() == Type::boolean; }
  [[nodiscard]] bool is_array() const noexcept { return exists() && type() == Type::array; }
  [[nodiscard]] bool is_object() const noexcept { return exists() && type() == Type::object; }

  /// The value's JSON text exactly as written (strings with their quotes): what a reply echoes as "id".
  [[nodiscard]] std::string_view token() const noexcept;
  /// A string's content as written between the quotes (escape sequences not decoded).
  [[nodiscard]] std::string_view raw_string() const noexcept;
  /// A string without escapes, as a view into the text; std::nullopt for other types or escaped strings.
  [[nodiscard]] std::optional<std::string_view> plain_string() const noexcept;
  /// A string decoded into `out` (replacing its content). False for non-strings.
  bool decode_string(std::string& out) const;
  [[nodiscard]] bool boolean() const noexcept;
  /// A number as a double; std::nullopt for non-numbers and numbers outside the double range.
  [[nodiscard]] std::optional<double> number() const noexcept;
  /// An integer number literal (no fraction, no exponent) within int64; std::nullopt otherwise.
  [[nodiscard]] std::optional<int64_t> integer() const noexcept;

  /// Elements (arrays) or members (objects); 0 otherwise.
  [[nodiscard]] uint32_t size() const noexcept;
  /// The i-th element of an array (linear in i); missing when out of range or not an array.
  [[nodiscard]] Value at(uint32_t i) const noexcept;
  /// The member named `key` of an object (keys compared after decoding); missing when absent.
  [[nodiscard]] Value find(std::string_view key) const;
  /// The i-th member's key / value of an object (linear in i).
  [[nodiscard]] Value key_at(uint32_t i) const noexcept;
  [[nodiscard]] Value value_at(uint32_t i) const noexcept { return next_sibling(key_at(i)); }
  /// The value after this one's subtree on the tape: the next element of its array. Meaningful only when
  /// the caller knows one exists (index < the array's size()); missing at the end of the text.
  [[nodiscard]] Value after() const noexcept;

 private:
  [[nodiscard]] const Node& node() const noexcept;
  [[nodiscard]] Value next_sibling(Value v) const noexcept;
  const Document* doc_ = nullptr;
  uint32_t index_ = 0;
};

class Document {
 public:
  /// Parse `text`; on failure error() says why and root() is missing. The text must outlive the Document's
  /// use of it (until the next parse()).
  bool parse(std::string_view text, const Limits& limits = {});
  [[nodiscard]] Value root() const noexcept { return ok_ ? Value(this, 0) : Value(); }
  [[nodiscard]] bool ok() const noexcept { return ok_; }
  /// "invalid JSON at offset 12: expected ':' after an object key" (empty after a successful parse).
  [[nodiscard]] std::string_view error() const noexcept { return std::string_view(error_, error_length_); }
  [[nodiscard]] size_t error_offset() const noexcept { return error_offset_; }
  [[nodiscard]] std::string_view text() const noexcept { return text_; }
  [[nodiscard]] const std::vector<Node>& nodes() const noexcept { return nodes_; }

 private:
  friend class Parser;
  friend class Value;
  std::string_view text_;
  std::vector<Node> nodes_;
  bool ok_ = false;
  char error_[160] = {};
  size_t error_length_ = 0;
  size_t error_offset_ = 0;
};

/// Decode the escapes of a raw string body (as between the quotes of a validated string) into `out`
/// (appending). The body must come from a successfully parsed Document.
void decode_escaped(std::string_view raw, std::string& out);

/// Append `s` as a JSON string literal (quotes included): `"`, `\` and control characters escaped, bytes
/// that are not valid UTF-8 replaced by U+FFFD so the output is always valid JSON whatever `s` holds.
void append_string(std::string& out, std::string_view s);

/// Append a JSON number: integers (|x| < 2^53) without a fraction; others as the shortest plain decimal
/// that reads back as the same double (0.00001) when 1e-9 <= |x| < 1e15, else the shortest form with an
/// exponent (1e-12). Non-finite values are written as 0 (JSON has no NaN/Infinity).
void append_number(std::string& out, double value);

}  // namespace otedama::stratum::json
