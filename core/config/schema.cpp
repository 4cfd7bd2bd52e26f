#include "config/schema.hpp"

#include <algorithm>
#include <charconv>
#include <unordered_map>

#include "config/scalars.hpp"

#include <otedama/common/http_url.hpp>
#include <otedama/common/stratum_url.hpp>

namespace otedama::config::detail {

// ---- Diagnostics and sites

void Diagnostics::add(const YAML::Mark& mark, std::string key, std::string message) {
    const bool known = !mark.is_null() && mark.line >= 0;
    errors_.push_back(Error{file_, known ? mark.line + 1 : 0, known ? mark.column + 1 : 0, std::move(key),
                            std::move(message)});
}

void Diagnostics::add_whole_file(std::string message) {
    errors_.push_back(Error{file_, 0, 0, {}, std::move(message)});
}

void Site::error(std::string message) const {
    const bool use_value_mark = node.IsDefined() && !node.IsNull() && !node.Mark().is_null();
    diagnostics.add(use_value_mark ? node.Mark() : key_mark, path, std::move(message));
}

Site Site::element(const YAML::Node& element_node, std::size_t index) const {
    return Site{element_node, path + "[" + std::to_string(index) + "]", key_mark, diagnostics};
}

std::string describe_node(const YAML::Node& node) {
    if (!node.IsDefined() || node.IsNull()) return "an empty value";
    if (node.IsMap()) return "a map";
    if (node.IsSequence()) return "a list";
    return "'" + node.Scalar() + "'";
}

namespace {

// yaml-cpp tags a plain (unquoted, untagged) scalar "?"; only plain scalars are typed by their
// spelling, so that a quoted "123" stays a string.
bool is_plain(const YAML::Node& node) { return node.Tag() == "?"; }

bool is_plain_null(const YAML::Node& node) {
    if (node.IsNull()) return true;
    if (!node.IsScalar() || !is_plain(node)) return false;
    const std::string& text = node.Scalar();
    return text == "~" || iequals(text, "null");
}

// The scalar text of a node, or an error naming the expected type.
std::optional<std::string> scalar_or_error(const Site& site, std::string_view expected) {
    if (site.node.IsScalar()) return site.node.Scalar();
    site.error("expected " + std::string(expected) + ", got " + describe_node(site.node));
    return std::nullopt;
}

template <class T>
std::optional<T> report(const Site& site, Parsed<T> parsed) {
    if (!parsed.value) site.error(std::move(parsed.error));
    return std::move(parsed.value);
}

std::string number_text(double value) {
    char buffer[32];
    const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
    return ec == std::errc{} ? std::string(buffer, end) : std::string("?");
}

constexpr auto int_min = std::numeric_limits<std::int64_t>::min();
constexpr auto int_max = std::numeric_limits<std::int64_t>::max();

}  // namespace

std::optional<Value> to_free_value(const Site& site) {
    const YAML::Node& node = site.node;
    if (is_plain_null(node)) return Value{};
    if (node.IsScalar()) {
        if (!is_plain(node)) return Value{node.Scalar()};
        // Only integers and booleans are typed: turning "1.10" into a double would lose the zero of a
        // version string, so every other scalar reaches the plugin exactly as written.
        if (const auto integer = parse_integer(node.Scalar()); integer.value) return Value{*integer.value};
        if (const auto boolean = parse_bool(node.Scalar()); boolean.value) return Value{*boolean.value};
        return Value{node.Scalar()};
    }
    if (node.IsSequence()) {
        Value::Array array;
        bool ok = true;
        std::size_t index = 0;
        for (const auto& element : node) {
            auto value = to_free_value(site.element(element, index++));
            if (value) array.push_back(std::move(*value));
            ok = ok && value.has_value();
        }
        return ok ? std::optional<Value>(std::move(array)) : std::nullopt;
    }
    Value::Object object;
    std::unordered_map<std::string, int> first_line;
    bool ok = true;
    for (const auto& entry : node) {
        const YAML::Node& key = entry.first;
        if (!key.IsScalar()) {
            Site{key, site.path, key.Mark(), site.diagnostics}.error("expected a key name, got " + describe_node(key));
            ok = false;
            continue;
        }
        const std::string child_path = site.path + "." + key.Scalar();
        if (const auto [it, inserted] = first_line.emplace(key.Scalar(), key.Mark().line + 1); !inserted) {
            site.diagnostics.add(key.Mark(), child_path,
                                 "duplicate key '" + key.Scalar() + "' (first at line " + std::to_string(it->second) + ")");
            ok = false;
            continue;
        }
        auto value = to_free_value(Site{entry.second, child_path, key.Mark(), site.diagnostics});
        if (value) object.emplace_back(key.Scalar(), std::move(*value));
        ok = ok && value.has_value();
    }
    return ok ? std::optional<Value>(std::move(object)) : std::nullopt;
}

// ---- Key types

std::optional<std::string> StringType::parse(const Site& site) const {
    if (site.node.IsNull()) return std::string{};  // `file:` with nothing after it means empty
    return scalar_or_error(site, "a string");
}

std::optional<bool> BoolType::parse(const Site& site) const {
    const auto text = scalar_or_error(site, "true or false");
    return text ? report(site, parse_bool(*text)) : std::nullopt;
}

std::string IntegerType::range() const {
    if (min == int_min && max == int_max) return "";
    if (max == int_max) return " >= " + std::to_string(min);
    return " " + std::to_string(min) + ".." + std::to_string(max);
}

std::optional<std::int64_t> IntegerType::parse(const Site& site) const {
    const auto text = scalar_or_error(site, "an integer");
    if (!text) return std::nullopt;
    const auto value = report(site, parse_integer(*text));
    if (!value) return std::nullopt;
    if (*value < min || *value > max) {
        site.error(max == int_max ? "must be at least " + std::to_string(min) + ", got " + *text
                                  : "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                                        ", got " + *text);
        return std::nullopt;
    }
    return value;
}

std::string DoubleType::name() const {
    return "number " + number_text(min) + ".." + number_text(max);
}

std::optional<double> DoubleType::parse(const Site& site) const {
    const auto text = scalar_or_error(site, "a number");
    if (!text) return std::nullopt;
    const auto value = report(site, parse_double(*text));
    if (!value) return std::nullopt;
    if (*value < min || *value > max) {
        site.error("must be between " + number_text(min) + " and " + number_text(max) + ", got " + *text);
        return std::nullopt;
    }
    return value;
}

std::optional<std::chrono::milliseconds> DurationType::parse(const Site& site) const {
    const auto text = scalar_or_error(site, "a duration");
    return text ? report(site, parse_duration(*text)) : std::nullopt;
}

Value DurationType::render(std::chrono::milliseconds value) const { return format_duration(value); }

std::optional<Address> AddressType::parse(const Site& site) const {
    const auto text = scalar_or_error(site, "an address host:port");
    return text ? report(site, parse_address(*text)) : std::nullopt;
}

std::string EnumType::name() const {
    std::string joined;
    for (const auto name : names) joined += (joined.empty() ? "" : ", ") + std::string(name);
    return "one of " + joined;
}

std::optional<std::size_t> EnumType::parse(const Site& site) const {
    const auto text = scalar_or_error(site, name());
    if (!text) return std::nullopt;
    const auto found =
        std::find_if(names.begin(), names.end(), [&](std::string_view candidate) { return iequals(candidate, *text); });
    if (found == names.end()) {
        site.error("expected " + name() + ", got '" + *text + "'");
        return std::nullopt;
    }
    return static_cast<std::size_t>(found - names.begin());
}

namespace {

// A list key: an empty value means an empty list; each element is checked, all errors reported.
template <class Element, class ParseElement>
std::optional<std::vector<Element>> parse_list(const Site& site, std::string_view expected, ParseElement parse_element) {
    if (site.node.IsNull()) return std::vector<Element>{};
    if (!site.node.IsSequence()) {
        site.error("expected " + std::string(expected) + ", got " + describe_node(site.node));
        return std::nullopt;
    }
    std::vector<Element> elements;
    bool ok = true;
    std::size_t index = 0;
    for (const auto& element : site.node) {
        auto parsed = parse_element(site.element(element, index++));
        if (parsed) elements.push_back(std::move(*parsed));
        ok = ok && parsed.has_value();
    }
    return ok ? std::optional<std::vector<Element>>(std::move(elements)) : std::nullopt;
}

}  // namespace

std::string StringListType::name() const {
    if (allowed.empty()) return "list of strings";
    std::string joined;
    for (const auto name : allowed) joined += (joined.empty() ? "" : ", ") + std::string(name);
    return "list of distinct names from " + joined;
}

std::optional<std::vector<std::string>> StringListType::parse(const Site& site) const {
    if (allowed.empty()) {
        return parse_list<std::string>(site, "a list of strings",
                                       [](const Site& element) { return scalar_or_error(element, "a string"); });
    }
    std::vector<std::string> seen;
    return parse_list<std::string>(site, "a " + name(), [&](const Site& element) -> std::optional<std::string> {
        auto text = scalar_or_error(element, "a string");
        if (!text) return std::nullopt;
        if (std::find(allowed.begin(), allowed.end(), *text) == allowed.end()) {
            element.error("expected one of " + name().substr(std::string_view("list of distinct names from ").size()) + ", got '" + *text + "'");
            return std::nullopt;
        }
        if (std::find(seen.begin(), seen.end(), *text) != seen.end()) {
            element.error("'" + *text + "' is listed twice");
            return std::nullopt;
        }
        seen.push_back(*text);
        return text;
    });
}

Value StringListType::render(const std::vector<std::string>& value) const {
    return Value::Array(value.begin(), value.end());
}

std::optional<std::vector<std::int64_t>> IntegerListType::parse(const Site& site) const {
    return parse_list<std::int64_t>(site, "a list of integers",
                                    [this](const Site& element) { return this->element.parse(element); });
}

std::string IntegerListType::name() const { return "list of integers" + element.range(); }

Value IntegerListType::render(const std::vector<std::int64_t>& value) const {
    return Value::Array(value.begin(), value.end());
}

std::optional<std::vector<Config::Miner::Pool>> PoolListType::parse(const Site& site) const {
    return parse_list<Config::Miner::Pool>(site, "a list of pools {url, user, pass}", [](const Site& element) -> std::optional<Config::Miner::Pool> {
        if (!element.node.IsMap()) {
            element.error("expected a map {url, user, pass}, got " + describe_node(element.node));
            return std::nullopt;
        }
        Config::Miner::Pool pool;
        bool ok = true;
        for (const auto& entry : element.node) {
            const std::string name = entry.first.IsScalar() ? entry.first.Scalar() : std::string();
            const Site field{entry.second, element.path + "." + name, entry.first.Mark(), element.diagnostics};
            std::string* slot = name == "url" ? &pool.url : name == "user" ? &pool.user : name == "pass" ? &pool.pass : nullptr;
            if (slot == nullptr) {
                element.diagnostics.add(entry.first.Mark(), field.path, "unknown key '" + name + "' (known: url, user, pass)");
                ok = false;
                continue;
            }
            auto text = StringType{}.parse(field);
            if (!text) {
                ok = false;
                continue;
            }
            *slot = std::move(*text);
            if (slot == &pool.url) {
                std::string why;
                if (!common::parse_stratum_url(pool.url, &why)) {
                    field.error(why);
                    ok = false;
                }
            }
        }
        if (ok && pool.url.empty()) {
            element.error("a pool needs a url (stratum+tcp://host:port)");
            ok = false;
        }
        if (ok && pool.user.empty()) {
            element.error("a pool needs a user (often the payout address, with .worker appended)");
            ok = false;
        }
        return ok ? std::optional<Config::Miner::Pool>(std::move(pool)) : std::nullopt;
    });
}

Value PoolListType::render(const std::vector<Config::Miner::Pool>& value) const {
    Value::Array array;
    for (const auto& pool : value) array.push_back(Value::Object{{"url", pool.url}, {"user", pool.user}, {"pass", pool.pass}});
    return array;
}

std::optional<std::vector<Config::Node::Daemon>> DaemonListType::parse(const Site& site) const {
    static constexpr std::string_view kKnown = "url, user, pass, cookie_file, zmq";
    return parse_list<Config::Node::Daemon>(site, "a list of daemons {url, user, pass, cookie_file, zmq}", [](const Site& element) -> std::optional<Config::Node::Daemon> {
        if (!element.node.IsMap()) {
            element.error("expected a map {url, user, pass, cookie_file, zmq}, got " + describe_node(element.node));
            return std::nullopt;
        }
        Config::Node::Daemon daemon;
        bool ok = true;
        for (const auto& entry : element.node) {
            const std::string name = entry.first.IsScalar() ? entry.first.Scalar() : std::string();
            const Site field{entry.second, element.path + "." + name, entry.first.Mark(), element.diagnostics};
            std::string* slot = name == "url" ? &daemon.url : name == "user" ? &daemon.user : name == "pass" ? &daemon.pass
                              : name == "cookie_file" ? &daemon.cookie_file : name == "zmq" ? &daemon.zmq : nullptr;
            if (slot == nullptr) {
                element.diagnostics.add(entry.first.Mark(), field.path, "unknown key '" + name + "' (known: " + std::string(kKnown) + ")");
                ok = false;
                continue;
            }
            auto text = StringType{}.parse(field);
            if (!text) {
                ok = false;
                continue;
            }
            *slot = std::move(*text);
            std::string why;
            if (slot == &daemon.url && !common::parse_http_url(daemon.url, &why)) {
                field.error(why);
                ok = false;
            } else if (slot == &daemon.zmq && !daemon.zmq.empty()) {
                const std::string_view z = daemon.zmq;
                const auto colon = z.rfind(':');
                if (z.rfind("tcp://", 0) != 0 || colon == std::string_view::npos || colon < 6 || colon + 1 >= z.size()) {
                    field.error("expected the node's ZMQ publisher as tcp://host:port, got '" + daemon.zmq + "'");
                    ok = false;
                }
            }
        }
        if (ok && daemon.url.empty()) {
            element.error("a daemon needs a url (http://host:port of the node's RPC)");
            ok = false;
        }
        return ok ? std::optional<Config::Node::Daemon>(std::move(daemon)) : std::nullopt;
    });
}

Value DaemonListType::render(const std::vector<Config::Node::Daemon>& value) const {
    Value::Array array;
    for (const auto& d : value)
        array.push_back(Value::Object{{"url", d.url}, {"user", d.user}, {"pass", d.pass}, {"cookie_file", d.cookie_file}, {"zmq", d.zmq}});
    return array;
}

std::optional<Value> FreeMapType::parse(const Site& site) const {
    if (site.node.IsNull()) return Value::object();
    if (!site.node.IsMap()) {
        site.error("expected a map, got " + describe_node(site.node));
        return std::nullopt;
    }
    auto value = to_free_value(site);
    if (!value || !entries_are_maps) return value;

    bool ok = true;
    for (auto& [name, entry] : std::get<Value::Object>(value->storage())) {
        if (entry.is_null()) entry = Value::object();  // `my.plugin:` with nothing below: no settings
        if (entry.is_object()) continue;
        const YAML::Node entry_node = site.node[name];
        site.diagnostics.add(entry_node.Mark(), site.path + "." + name,
                             "expected a map, got " + describe_node(entry_node));
        ok = false;
    }
    return ok ? value : std::nullopt;
}

std::string coin_key_path(std::string_view section, std::string_view name) {
    if (section.empty()) {
        if (name == "source" || name == "address" || name == "fee_percentage" || name == "fee_account") return "pool." + std::string(name);
        return {};
    }
    if (section == "rewards" || section == "payments") return "pool." + std::string(section) + "." + std::string(name);
    if (section == "node" && name != "coin") return "node." + std::string(name);
    return {};
}

namespace {

constexpr std::string_view kCoinKeys =
    "coin, algorithm, address_network, source, address, fee_percentage, fee_account, rewards, payments, node, devnet, stratum";

bool valid_ticker(std::string_view t) {
    if (t.empty() || t.size() > 16) return false;
    return std::all_of(t.begin(), t.end(), [](char ch) {
        return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
    });
}

// One value of a coin entry, checked with the type of the top-level key it stands in for; its rendering.
std::optional<Value> parse_coin_value(const Site& field, const std::string& schema_path) {
    const Key* key = find_key(schema_path);
    if (key == nullptr) return std::nullopt;
    Config scratch;
    if (!key->parse(*key, field, scratch)) return std::nullopt;
    return key->render(*key, scratch);
}

std::optional<Config::Pool::Coin> parse_coin(const Site& element) {
    if (!element.node.IsMap()) {
        element.error("expected a map {coin, algorithm, source, address, ...}, got " + describe_node(element.node));
        return std::nullopt;
    }
    Config::Pool::Coin coin;
    bool ok = true;
    bool have_coin = false;
    std::unordered_map<std::string, int> first_line;
    for (const auto& entry : element.node) {
        const std::string name = entry.first.IsScalar() ? entry.first.Scalar() : std::string();
        const Site field{entry.second, element.path + "." + name, entry.first.Mark(), element.diagnostics};
        if (const auto [it, inserted] = first_line.emplace(name, entry.first.Mark().line + 1); !inserted) {
            element.diagnostics.add(entry.first.Mark(), field.path, "duplicate key '" + name + "' (first at line " + std::to_string(it->second) + ")");
            ok = false;
            continue;
        }
        if (name == "coin" || name == "algorithm" || name == "address_network") {
            auto text = StringType{}.parse(field);
            if (!text) {
                ok = false;
                continue;
            }
            if (name == "coin") {
                if (!valid_ticker(*text)) {
                    field.error("expected a ticker of 1 to 16 letters, digits, '_' or '-', got '" + *text + "'");
                    ok = false;
                    continue;
                }
                coin.coin = std::move(*text);
                have_coin = true;
            } else if (name == "algorithm") {
                if (text->empty()) {
                    field.error("expected an algorithm name (sha256d, scrypt, randomx ...), got an empty value");
                    ok = false;
                    continue;
                }
                coin.algorithm = std::move(*text);
            } else {
                coin.address_network = std::move(*text);
            }
        } else if (name == "devnet" || name == "stratum") {
            auto value = FreeMapType{false}.parse(field);
            if (!value) {
                ok = false;
                continue;
            }
            coin.overrides[name] = std::move(*value);
        } else if (name == "rewards" || name == "payments" || name == "node") {
            if (field.node.IsNull()) continue;
            if (!field.node.IsMap()) {
                field.error("expected a map, got " + describe_node(field.node));
                ok = false;
                continue;
            }
            Value section = Value::object();
            std::unordered_map<std::string, int> seen;
            for (const auto& child : field.node) {
                const std::string cname = child.first.IsScalar() ? child.first.Scalar() : std::string();
                const Site cfield{child.second, field.path + "." + cname, child.first.Mark(), element.diagnostics};
                if (const auto [it, inserted] = seen.emplace(cname, child.first.Mark().line + 1); !inserted) {
                    element.diagnostics.add(child.first.Mark(), cfield.path, "duplicate key '" + cname + "' (first at line " + std::to_string(it->second) + ")");
                    ok = false;
                    continue;
                }
                const std::string path = coin_key_path(name, cname);
                if (path.empty() || find_key(path) == nullptr) {
                    std::string valid;
                    const std::string prefix = name == "node" ? "node." : "pool." + name + ".";
                    for (const Key& k : schema()) {
                        if (k.path.rfind(prefix, 0) != 0 || k.path == "node.coin") continue;
                        valid += (valid.empty() ? "" : ", ") + std::string(k.path.substr(prefix.size()));
                    }
                    element.diagnostics.add(child.first.Mark(), cfield.path,
                                            name == "node" && cname == "coin" ? "unknown key 'coin' (a coin's ticker is its entry's `coin`)"
                                                                              : "unknown key '" + cname + "' (valid keys: " + valid + ")");
                    ok = false;
                    continue;
                }
                auto value = parse_coin_value(cfield, path);
                if (!value) {
                    ok = false;
                    continue;
                }
                section[cname] = std::move(*value);
            }
            coin.overrides[name] = std::move(section);
        } else if (const std::string path = coin_key_path("", name); !path.empty()) {
            auto value = parse_coin_value(field, path);
            if (!value) {
                ok = false;
                continue;
            }
            coin.overrides[name] = std::move(*value);
        } else {
            element.diagnostics.add(entry.first.Mark(), field.path, "unknown key '" + name + "' (valid keys: " + std::string(kCoinKeys) + ")");
            ok = false;
        }
    }
    if (ok && !have_coin) {
        element.error("a coin needs its ticker: coin (e.g. LTC)");
        ok = false;
    }
    return ok ? std::optional<Config::Pool::Coin>(std::move(coin)) : std::nullopt;
}

}  // namespace

std::optional<std::vector<Config::Pool::Coin>> CoinListType::parse(const Site& site) const {
    auto coins = parse_list<Config::Pool::Coin>(site, "a list of coins {coin, algorithm, source, address, ...}", parse_coin);
    if (!coins) return coins;
    bool ok = true;
    for (std::size_t i = 0; i < coins->size(); ++i) {
        for (std::size_t j = 0; j < i; ++j) {
            if (!iequals((*coins)[i].coin, (*coins)[j].coin)) continue;
            const YAML::Node element = site.node[i];
            const YAML::Node coin_node = element["coin"];
            site.diagnostics.add(coin_node.Mark(), site.path + "[" + std::to_string(i) + "].coin",
                                 "coin '" + (*coins)[i].coin + "' is already pool.coins[" + std::to_string(j) + "] (each coin once)");
            ok = false;
            break;
        }
    }
    if (!ok) return std::nullopt;
    return coins;
}

Value CoinListType::render(const std::vector<Config::Pool::Coin>& value) const {
    Value::Array array;
    for (const auto& c : value) {
        Value entry = Value::object();
        entry["coin"] = c.coin;
        if (!c.algorithm.empty()) entry["algorithm"] = c.algorithm;
        if (!c.address_network.empty()) entry["address_network"] = c.address_network;
        if (c.overrides.is_object())
            for (const auto& [name, v] : std::get<Value::Object>(c.overrides.storage())) entry[name] = v;
        array.push_back(std::move(entry));
    }
    return array;
}

// ---- The schema

namespace {

IntegerType integer(std::int64_t min = int_min, std::int64_t max = int_max) { return IntegerType{min, max}; }
DoubleType number(double min, double max) { return DoubleType{min, max}; }
EnumType enumeration(std::span<const std::string_view> names) { return EnumType{names}; }
IntegerListType integer_list(std::int64_t min, std::int64_t max) { return IntegerListType{integer(min, max)}; }
FreeMapType free_map() { return FreeMapType{false}; }
FreeMapType map_of_maps() { return FreeMapType{true}; }

// The member path is written once: it becomes both the dotted key name and the field accessor, so a key
// and the field it fills cannot drift apart. To add a key: add the field to Config, then one line here.
#define OTEDAMA_CONFIG_KEY(member, type, default_yaml, meaning) \
    make_key(#member, type, default_yaml, meaning, [](auto& c) -> auto& { return c.member; })

std::vector<Key> build_schema() {
    // clang-format off
    return {
        OTEDAMA_CONFIG_KEY(app.name,                      StringType{},      "otedama",        "Instance name, shown in logs and the API"),
        OTEDAMA_CONFIG_KEY(app.mode,                      enumeration(mode_names), "pool",     "What this host runs: a pool server, a miner for a remote pool, solo mining or a p2p pool node"),
        OTEDAMA_CONFIG_KEY(mining.algorithm,              StringType{},      "sha256d",        "Hash algorithm to mine"),
        OTEDAMA_CONFIG_KEY(mining.enable_cpu,             BoolType{},        "true",           "Mine on the CPU"),
        OTEDAMA_CONFIG_KEY(mining.enable_gpu,             BoolType{},        "false",          "Mine on GPUs"),
        OTEDAMA_CONFIG_KEY(mining.enable_asic,            BoolType{},        "false",          "Mine on ASICs"),
        OTEDAMA_CONFIG_KEY(mining.dataset,                enumeration(dataset_mode_names), "full", "RandomX, Ethash, KawPow: mine on the full dataset/DAG (fastest; 1-5 GiB) or the light cache (16-256 MiB, many times slower)"),
        OTEDAMA_CONFIG_KEY(mining.cpu.threads,            integer(0),        "0",              "CPU mining threads; 0 = one per core"),
        OTEDAMA_CONFIG_KEY(mining.cpu.priority,           integer(0, 19),    "0",              "Nice level of the CPU mining threads"),
        OTEDAMA_CONFIG_KEY(mining.cpu.affinity,           BoolType{},        "false",          "Pin each CPU mining thread to its own core"),
        OTEDAMA_CONFIG_KEY(mining.cpu.huge_pages,         BoolType{},        "true",           "Use huge pages for scratchpads and datasets where the OS allows (falls back with one warning)"),
        OTEDAMA_CONFIG_KEY(mining.gpu.devices,            integer_list(0, int_max), "[]",      "GPUs to use, by their number in the de-duplicated GPU list --list-devices shows (gpu N); empty = all"),
        OTEDAMA_CONFIG_KEY(mining.gpu.backends,           StringListType{gpu_backend_names}, "[cuda, opencl, vulkan]", "Which backend mines a GPU that several backends list (most preferred first); the others list it as a duplicate. Backends not named rank last"),
        OTEDAMA_CONFIG_KEY(mining.gpu.intensity,          integer(1, 31),    "20",             "GPU work size exponent; higher = more throughput, less responsive desktop"),
        OTEDAMA_CONFIG_KEY(mining.gpu.temperature_limit,  integer(40, 110),  "85",             "GPU temperature (°C) above which mining throttles"),
        OTEDAMA_CONFIG_KEY(mining.asic.devices,           StringListType{},  "[]",             "ASIC serial or USB device paths; empty = none"),
        OTEDAMA_CONFIG_KEY(mining.asic.poll_interval,     DurationType{},    "100ms",          "How often ASICs are polled for results"),
        OTEDAMA_CONFIG_KEY(pool.enable,                   BoolType{},        "true",           "Run the pool (stratum) server"),
        OTEDAMA_CONFIG_KEY(pool.address,                  AddressType{},     "0.0.0.0:3333",   "Stratum listen address"),
        OTEDAMA_CONFIG_KEY(pool.max_connections,          integer(1, 1'000'000), "10000",      "Most miner connections served at once"),
        OTEDAMA_CONFIG_KEY(pool.fee_percentage,           number(0, 100),    "1.0",            "Pool fee, percent of each reward"),
        OTEDAMA_CONFIG_KEY(pool.rewards.system,           enumeration(reward_system_names), "PPLNS", "How rewards are split among miners"),
        OTEDAMA_CONFIG_KEY(pool.rewards.window,           DurationType{},    "2h",             "Share window the reward system looks back over"),
        OTEDAMA_CONFIG_KEY(pool.rewards.confirmations,    integer(1, 100'000), "10",           "Confirmations a found block needs before its reward is credited"),
        OTEDAMA_CONFIG_KEY(pool.rewards.reserve_floor,    integer(0),        "0",              "PPS/FPPS: warn when the pool's reserve (atomic units) falls below this"),
        OTEDAMA_CONFIG_KEY(pool.fee_account,              StringType{},      "pool",           "Ledger account that receives the pool fee and local devices' shares"),
        OTEDAMA_CONFIG_KEY(pool.payments.minimum,         integer(0),        "0",              "Pay balances at or above this many atomic units; 0 = no payments"),
        OTEDAMA_CONFIG_KEY(pool.payments.interval,        DurationType{},    "10m",            "How often balances due are paid"),
        OTEDAMA_CONFIG_KEY(pool.payments.wallet,          enumeration(wallet_kind_names), "devnet", "Wallet that sends payments: devnet (a file next to the ledger), bitcoind (its wallet RPC: sendmany), monero (monero-wallet-rpc: transfer)"),
        OTEDAMA_CONFIG_KEY(pool.payments.rpc_url,         StringType{},      "\"\"",           "bitcoind/monero: the wallet's RPC URL (http://127.0.0.1:9332, http://127.0.0.1:18083/json_rpc)"),
        OTEDAMA_CONFIG_KEY(pool.payments.rpc_user,        StringType{},      "\"\"",           "bitcoind/monero: RPC user"),
        OTEDAMA_CONFIG_KEY(pool.payments.rpc_password,    StringType{},      "\"\"",           "bitcoind/monero: RPC password"),
        OTEDAMA_CONFIG_KEY(pool.payments.rpc_cookie_file, StringType{},      "\"\"",           "bitcoind: the node's RPC cookie file (wins over rpc_user/rpc_password)"),
        OTEDAMA_CONFIG_KEY(pool.payments.wallet_name,     StringType{},      "\"\"",           "bitcoind: the loaded wallet to pay from (RPC path /wallet/<name>); empty = the node's default wallet"),
        OTEDAMA_CONFIG_KEY(pool.payments.subtract_fee,    BoolType{},        "false",          "bitcoind: the transaction fee comes out of the miner's amount (else the pool pays it)"),
        OTEDAMA_CONFIG_KEY(pool.payments.confirmations,   integer(1),        "6",              "bitcoind/monero: a sent payment is recorded confirmed at this many confirmations"),
        OTEDAMA_CONFIG_KEY(pool.verify_dataset,           enumeration(dataset_mode_names), "light", "RandomX, Ethash, KawPow: verify shares on the light cache (16-256 MiB) or on the full dataset/DAG (1-5 GiB; about 10x (RandomX) to 80x (Ethash) faster per share)"),
        OTEDAMA_CONFIG_KEY(pool.source,                   StringType{},      "devnet",         "Transport that supplies block templates (devnet = the built-in chain)"),
        OTEDAMA_CONFIG_KEY(pool.coins,                    CoinListType{},    "[]",             "Several coins in one process: one entry per coin {coin, algorithm, source, address, address_network, fee_percentage, rewards, payments, node, devnet, stratum}; a key not given takes the top-level value; empty = one coin from the keys above"),
        OTEDAMA_CONFIG_KEY(miner.pools,                   PoolListType{},    "[]",             "Miner mode (otedama-host mine): the pools to mine for, in failover order"),
        OTEDAMA_CONFIG_KEY(miner.keepalive,               DurationType{},    "60s",            "Miner mode: how often a keepalive is sent to pools whose protocol has one (xmrig's keepalived)"),
        OTEDAMA_CONFIG_KEY(miner.timeout,                 DurationType{},    "2m",             "Miner mode: a pool that sends nothing for this long is dropped for the next one"),
        OTEDAMA_CONFIG_KEY(miner.retry_max,               DurationType{},    "60s",            "Miner mode: longest pause between reconnect rounds (1 s doubling); also how often higher pools are retried"),
        OTEDAMA_CONFIG_KEY(miner.share_difficulty,        number(0, 1e15),   "0",              "Miner mode: difficulty of the shares local mining looks for (only those meeting the pool's go out); 0 = about one a second"),
        OTEDAMA_CONFIG_KEY(node.daemons,                  DaemonListType{},  "[]",             "The coin node(s) for pool.source monerod | bitcoind | ethnode, in failover order: {url, user, pass, cookie_file, zmq}"),
        OTEDAMA_CONFIG_KEY(node.payout_address,           StringType{},      "\"\"",           "The pool's address every block it finds pays (coinbase output / monerod wallet_address)"),
        OTEDAMA_CONFIG_KEY(node.coin,                     StringType{},      "\"\"",           "Ticker for the ledger (XMR, BTC, LTC ...); empty = the transport's default"),
        OTEDAMA_CONFIG_KEY(node.poll_interval,            DurationType{},    "1s",             "Template refresh when no ZMQ / long-poll notice came"),
        OTEDAMA_CONFIG_KEY(node.reserve_size,             integer(0, 255),   "8",              "Extranonce bytes reserved in each template (the per-connection extranonce)"),
        OTEDAMA_CONFIG_KEY(api.enable,                    BoolType{},        "true",           "Serve the HTTP API and dashboard"),
        OTEDAMA_CONFIG_KEY(api.address,                   AddressType{},     "127.0.0.1:8080", "API listen address"),
        OTEDAMA_CONFIG_KEY(api.auth.enabled,              BoolType{},        "true",           "Require a token for the API"),
        OTEDAMA_CONFIG_KEY(api.auth.token_expiry,         DurationType{},    "24h",            "Lifetime of an API token"),
        OTEDAMA_CONFIG_KEY(api.auth.secret,               StringType{},      "\"\"",           "Admin secret exchanged for tokens (POST /api/auth/token); OTEDAMA_API_SECRET overrides; empty = generated into <storage.path>.api-secret"),
        OTEDAMA_CONFIG_KEY(api.auth.public_read,          BoolType{},        "true",           "Read-only endpoints and the WebSocket answer without a token (state-changing ones always need one)"),
        OTEDAMA_CONFIG_KEY(api.rate_limit,                integer(0, 1'000'000), "50",         "Requests per second per client IP (token bucket, bursts of twice that); 0 = no limit"),
        OTEDAMA_CONFIG_KEY(api.cors_origins,              StringListType{},  "[]",             "Origins allowed cross-origin access (Access-Control-Allow-Origin); empty = CORS off; \"*\" = any"),
        OTEDAMA_CONFIG_KEY(monitoring.metrics.enable,     BoolType{},        "true",           "Serve Prometheus metrics"),
        OTEDAMA_CONFIG_KEY(monitoring.metrics.address,    AddressType{},     "127.0.0.1:9090", "Metrics listen address"),
        OTEDAMA_CONFIG_KEY(monitoring.health.enable,      BoolType{},        "true",           "Serve the health check"),
        OTEDAMA_CONFIG_KEY(monitoring.health.address,     AddressType{},     "127.0.0.1:8081", "Health check listen address"),
        OTEDAMA_CONFIG_KEY(net.io_threads,                integer(0, 64),    "0",              "Network I/O threads that run the sockets of transports (stratum, nodes, peers); 0 = min(2, cores)"),
        OTEDAMA_CONFIG_KEY(log.level,                     enumeration(log_level_names), "info", "Least severe level logged"),
        OTEDAMA_CONFIG_KEY(log.file,                      StringType{},      "\"\"",           "Log file; empty = console only"),
        OTEDAMA_CONFIG_KEY(log.format,                    enumeration(log_format_names), "text", "Log line format"),
        OTEDAMA_CONFIG_KEY(storage.path,                  StringType{},      "otedama.db",     "Database file"),
        OTEDAMA_CONFIG_KEY(plugins.dirs,                  StringListType{},  "[]",             "Extra directories searched for plugins"),
        OTEDAMA_CONFIG_KEY(plugins.disable,               StringListType{},  "[]",             "Plugin ids not to load"),
        OTEDAMA_CONFIG_KEY(plugins.settings,              map_of_maps(),     "{}",             "Per plugin id, settings handed to that plugin as JSON"),
        OTEDAMA_CONFIG_KEY(devnet,                        free_map(),        "{}",             "Settings of the built-in devnet chain"),
    };
    // clang-format on
}

#undef OTEDAMA_CONFIG_KEY

}  // namespace

std::span<const Key> schema() {
    static const std::vector<Key> keys = build_schema();
    return keys;
}

const Key* find_key(std::string_view path) {
    for (const Key& key : schema())
        if (key.path == path) return &key;
    return nullptr;
}

}  // namespace otedama::config::detail
