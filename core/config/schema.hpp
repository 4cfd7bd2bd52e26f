// Internal to core/config: the schema machinery. Not part of the public API (it exposes yaml-cpp);
// users read the schema through describe_schema() in config.hpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "config/config.hpp"

namespace otedama::config::detail {

// Collects errors for one source, converting yaml-cpp's 0-based marks to 1-based positions.
class Diagnostics {
public:
    explicit Diagnostics(std::string file) : file_(std::move(file)) {}

    void add(const YAML::Mark& mark, std::string key, std::string message);
    void add_whole_file(std::string message);

    [[nodiscard]] bool empty() const { return errors_.empty(); }
    [[nodiscard]] std::vector<Error> take() { return std::move(errors_); }

private:
    std::string file_;
    std::vector<Error> errors_;
};

// Where a value sits in the file: the node, the dotted key it belongs to, and the key's own mark. The key
// mark stands in when the value has no useful one: yaml-cpp places an empty value (`threads:`) at the
// start of the *next* line.
struct Site {
    const YAML::Node& node;
    std::string path;
    YAML::Mark key_mark;
    Diagnostics& diagnostics;

    void error(std::string message) const;
    [[nodiscard]] Site element(const YAML::Node& element_node, std::size_t index) const;
};

// "a map", "a list", "an empty value", "'text'": how an unexpected node is described in messages.
[[nodiscard]] std::string describe_node(const YAML::Node& node);

// Converts a YAML subtree to a Value: plain integers become numbers, plain true/false booleans, empty
// values and ~/null become null, every other scalar (quoted ones included) a string.
[[nodiscard]] std::optional<Value> to_free_value(const Site& site);

// ---- Key types. Each has value_type, parse(Site) -> optional<value_type>, render(value) -> Value, name().

struct StringType {
    using value_type = std::string;
    [[nodiscard]] std::optional<value_type> parse(const Site& site) const;
    [[nodiscard]] Value render(const value_type& value) const { return value; }
    [[nodiscard]] std::string name() const { return "string"; }
};

struct BoolType {
    using value_type = bool;
    [[nodiscard]] std::optional<value_type> parse(const Site& site) const;
    [[nodiscard]] Value render(value_type value) const { return value; }
    [[nodiscard]] std::string name() const { return "boolean"; }
};

struct IntegerType {
    using value_type = std::int64_t;
    std::int64_t min = std::numeric_limits<std::int64_t>::min();
    std::int64_t max = std::numeric_limits<std::int64_t>::max();
    [[nodiscard]] std::optional<value_type> parse(const Site& site) const;
    [[nodiscard]] Value render(value_type value) const { return value; }
    [[nodiscard]] std::string name() const { return "integer" + range(); }
    // " >= 0", " 1..31", or "" when unbounded.
    [[nodiscard]] std::string range() const;
};

struct DoubleType {
    using value_type = double;
    double min = std::numeric_limits<double>::lowest();
    double max = std::numeric_limits<double>::max();
    [[nodiscard]] std::optional<value_type> parse(const Site& site) const;
    [[nodiscard]] Value render(value_type value) const { return value; }
    [[nodiscard]] std::string name() const;
};

struct DurationType {
    using value_type = std::chrono::milliseconds;
    [[nodiscard]] std::optional<value_type> parse(const Site& site) const;
    [[nodiscard]] Value render(value_type value) const;
    [[nodiscard]] std::string name() const { return "duration"; }
};

struct AddressType {
    using value_type = Address;
    [[nodiscard]] std::optional<value_type> parse(const Site& site) const;
    [[nodiscard]] Value render(const value_type& value) const { return value.to_string(); }
    [[nodiscard]] std::string name() const { return "address"; }
};

// Stores the index into `names`; the key's field is the matching C++ enum.
struct EnumType {
    using value_type = std::size_t;
    std::span<const std::string_view> names;
    [[nodiscard]] std::optional<value_type> parse(const Site& site) const;
    [[nodiscard]] Value render(value_type value) const { return std::string(names[value]); }
    [[nodiscard]] std::string name() const;
};

// With `allowed` non-empty, each element must be one of those names (exact spelling), at most once.
struct StringListType {
    using value_type = std::vector<std::string>;
    std::span<const std::string_view> allowed{};
    [[nodiscard]] std::optional<value_type> parse(const Site& site) const;
    [[nodiscard]] Value render(const value_type& value) const;
    [[nodiscard]] std::string name() const;
};

struct IntegerListType {
    using value_type = std::vector<std::int64_t>;
    IntegerType element;
    [[nodiscard]] std::optional<value_type> parse(const Site& site) const;
    [[nodiscard]] Value render(const value_type& value) const;
    [[nodiscard]] std::string name() const;
};

// miner.pools: a list of {url, user, pass} maps; url must be a pool URL parse_stratum_url() accepts.
struct PoolListType {
    using value_type = std::vector<Config::Miner::Pool>;
    [[nodiscard]] std::optional<value_type> parse(const Site& site) const;
    [[nodiscard]] Value render(const value_type& value) const;
    [[nodiscard]] std::string name() const { return "list of pools {url, user, pass}"; }
};

// node.daemons: a list of {url, user, pass, cookie_file, zmq} maps; url must be an http(s) URL that
// parse_http_url() accepts, zmq empty or tcp://host:port.
struct DaemonListType {
    using value_type = std::vector<Config::Node::Daemon>;
    [[nodiscard]] std::optional<value_type> parse(const Site& site) const;
    [[nodiscard]] Value render(const value_type& value) const;
    [[nodiscard]] std::string name() const { return "list of daemons {url, user, pass, cookie_file, zmq}"; }
};

// Any YAML below the key, kept whole. With entries_are_maps, each entry must itself be a map (plugin
// settings: a plugin receives a JSON object, so a stray scalar is reported here with its line).
struct FreeMapType {
    using value_type = Value;
    bool entries_are_maps = false;
    [[nodiscard]] std::optional<value_type> parse(const Site& site) const;
    [[nodiscard]] Value render(const value_type& value) const { return value; }
    [[nodiscard]] std::string name() const { return entries_are_maps ? "map of maps (free-form)" : "map (free-form)"; }
};

// pool.coins: a list of coin maps {coin, algorithm, address_network, source, address, fee_percentage,
// fee_account, rewards: {...}, payments: {...}, node: {...}, devnet: {...}}. Every value is checked with the
// type of the top-level key it stands in for (rewards.window as pool.rewards.window ...); tickers are unique.
struct CoinListType {
    using value_type = std::vector<Config::Pool::Coin>;
    [[nodiscard]] std::optional<value_type> parse(const Site& site) const;
    [[nodiscard]] Value render(const value_type& value) const;
    [[nodiscard]] std::string name() const { return "list of coins {coin, algorithm, source, address, rewards, payments, node, devnet ...}"; }
};

using KeyType = std::variant<StringType, BoolType, IntegerType, DoubleType, DurationType, AddressType, EnumType,
                             StringListType, IntegerListType, PoolListType, DaemonListType, FreeMapType, CoinListType>;

// One leaf key. parse/render are generated per key by make_key() and bridge the type to the field.
struct Key {
    std::string_view path;
    KeyType type;
    std::string_view default_yaml;
    std::string_view meaning;
    bool (*parse)(const Key& key, const Site& site, Config& config);  // false if errors were reported
    Value (*render)(const Key& key, const Config& config);
};

template <class Type, class Field>
constexpr bool field_matches =
    std::is_same_v<typename Type::value_type, Field> || (std::is_same_v<Type, EnumType> && std::is_enum_v<Field>);

// Access is a captureless generic lambda `[](auto& c) -> auto& { return c.some.field; }`; being
// stateless it can be re-created inside the generated functions, which therefore stay plain pointers.
template <class Type, class Access>
Key make_key(std::string_view path, Type type, std::string_view default_yaml, std::string_view meaning, Access) {
    using Field = std::remove_cvref_t<decltype(Access{}(std::declval<Config&>()))>;
    static_assert(field_matches<Type, Field>, "the key's type does not match its Config field");
    return Key{
        path,
        type,
        default_yaml,
        meaning,
        [](const Key& key, const Site& site, Config& config) {
            auto parsed = std::get<Type>(key.type).parse(site);
            if (!parsed) return false;
            Access{}(config) = static_cast<Field>(std::move(*parsed));
            return true;
        },
        [](const Key& key, const Config& config) {
            return std::get<Type>(key.type).render(static_cast<typename Type::value_type>(Access{}(config)));
        },
    };
}

// Every key, in documentation order.
[[nodiscard]] std::span<const Key> schema();

// The schema key at a dotted path, or nullptr.
[[nodiscard]] const Key* find_key(std::string_view path);

// The top-level key a pool.coins entry's key stands in for: "rewards" + "window" -> "pool.rewards.window",
// "node" + "daemons" -> "node.daemons", "" + "address" -> "pool.address"; "" when the entry has no such key.
[[nodiscard]] std::string coin_key_path(std::string_view section, std::string_view name);

}  // namespace otedama::config::detail
