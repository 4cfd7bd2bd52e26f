#include "config/config.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <map>
#include <memory>
#include <stdexcept>
#include <system_error>
#include <unordered_map>

#include <yaml-cpp/yaml.h>

#include "config/scalars.hpp"
#include "config/schema.hpp"

namespace otedama::config {

using detail::Diagnostics;
using detail::Key;
using detail::Site;

// ---- Small value types

std::string Address::to_string() const {
    const std::string port_text = std::to_string(port);
    if (host.find(':') != std::string::npos) return "[" + host + "]:" + port_text;
    return host + ":" + port_text;
}

std::string_view to_string(Mode value) { return mode_names.at(static_cast<std::size_t>(value)); }
std::string_view to_string(RewardSystem value) { return reward_system_names.at(static_cast<std::size_t>(value)); }
std::string_view to_string(DatasetMode value) { return dataset_mode_names.at(static_cast<std::size_t>(value)); }
std::string_view to_string(LogLevel value) { return log_level_names.at(static_cast<std::size_t>(value)); }
std::string_view to_string(LogFormat value) { return log_format_names.at(static_cast<std::size_t>(value)); }

std::string Error::to_string() const {
    std::string text = file;
    if (line > 0) text += ":" + std::to_string(line) + ":" + std::to_string(column);
    text += ": ";
    if (!key.empty()) text += key + ": ";
    return text + message;
}

namespace {

// ---- The schema as a tree: which dotted paths are leaf keys, which are sections, and each
// section's children in schema order (for "valid keys" lists and suggestions).

struct SchemaIndex {
    std::unordered_map<std::string, const Key*> leaves;
    std::map<std::string, std::vector<std::string_view>, std::less<>> sections;  // "" is the root
};

const SchemaIndex& schema_index() {
    static const SchemaIndex index = [] {
        SchemaIndex built;
        built.sections[""];
        for (const Key& key : detail::schema()) {
            built.leaves.emplace(std::string(key.path), &key);
            std::size_t start = 0;
            for (;;) {
                const std::size_t dot = key.path.find('.', start);
                const std::string parent(key.path.substr(0, start == 0 ? 0 : start - 1));
                const std::string_view name = key.path.substr(start, dot == std::string_view::npos ? dot : dot - start);
                auto& children = built.sections[parent];
                if (std::find(children.begin(), children.end(), name) == children.end()) children.push_back(name);
                if (dot == std::string_view::npos) break;
                start = dot + 1;
            }
        }
        return built;
    }();
    return index;
}

std::string join_path(std::string_view parent, std::string_view name) {
    return parent.empty() ? std::string(name) : std::string(parent) + "." + std::string(name);
}

std::string unknown_key_message(std::string_view name, const std::vector<std::string_view>& siblings) {
    std::string message = "unknown key '" + std::string(name) + "'";
    if (const auto guess = suggest(name, siblings)) return message + " (did you mean '" + std::string(*guess) + "'?)";
    std::string valid;
    for (const auto sibling : siblings) valid += (valid.empty() ? "" : ", ") + std::string(sibling);
    return message + " (valid keys: " + valid + ")";
}

// Applies one YAML map to the section at site.path, reporting every problem and carrying on.
void load_section(const Site& site, Config& config) {
    const SchemaIndex& index = schema_index();
    if (site.node.IsNull()) return;  // `mining:` with nothing below keeps every default
    if (!site.node.IsMap()) {
        site.error("expected a map, got " + detail::describe_node(site.node));
        return;
    }
    std::unordered_map<std::string, int> first_line;
    for (const auto& entry : site.node) {
        const YAML::Node& key_node = entry.first;
        if (!key_node.IsScalar()) {
            site.diagnostics.add(key_node.Mark(), site.path, "expected a key name, got " + detail::describe_node(key_node));
            continue;
        }
        const std::string& name = key_node.Scalar();
        const std::string path = join_path(site.path, name);
        if (const auto [it, inserted] = first_line.emplace(name, key_node.Mark().line + 1); !inserted) {
            site.diagnostics.add(key_node.Mark(), path,
                                 "duplicate key '" + name + "' (first at line " + std::to_string(it->second) + ")");
            continue;
        }
        const Site child{entry.second, path, key_node.Mark(), site.diagnostics};
        if (name.find('.') != std::string::npos) {
            // Only nesting selects a key: `mining.cpu:` at the top would otherwise slip past the
            // duplicate check against a `mining:` map elsewhere in the file.
            site.diagnostics.add(key_node.Mark(), path,
                                 "unknown key '" + name + "' (dotted keys are not expanded; nest the sections)");
        } else if (const auto leaf = index.leaves.find(path); leaf != index.leaves.end()) {
            leaf->second->parse(*leaf->second, child, config);
        } else if (index.sections.contains(path)) {
            load_section(child, config);
        } else {
            site.diagnostics.add(key_node.Mark(), path, unknown_key_message(name, index.sections.at(site.path)));
        }
    }
}

Config build_defaults() {
    Config config;
    for (const Key& key : detail::schema()) {
        Diagnostics diagnostics("<default of " + std::string(key.path) + ">");
        const YAML::Node node = YAML::Load(std::string(key.default_yaml));
        if (!key.parse(key, Site{node, std::string(key.path), node.Mark(), diagnostics}, config)) {
            // A schema bug, not bad input: the tests load every default.
            throw std::logic_error(diagnostics.take().front().to_string());
        }
    }
    return config;
}

std::vector<std::string_view> split_path(std::string_view dotted) {
    std::vector<std::string_view> parts;
    while (true) {
        const std::size_t dot = dotted.find('.');
        parts.push_back(dotted.substr(0, dot));
        if (dot == std::string_view::npos) return parts;
        dotted.remove_prefix(dot + 1);
    }
}

// The Bitcoin-family algorithms: the only ones whose stratum ports check address_network.
bool bitcoin_family(std::string_view algorithm) { return algorithm == "sha256d" || algorithm == "scrypt"; }

// Cross-checks of pool.coins that need the top-level keys (every entry inherits what it does not give):
// each coin its own stratum address (port 0: each its own ephemeral port), address_network only for the Bitcoin dialect.
void check_coins(const Config& config, Diagnostics& diagnostics) {
    if (config.pool.coins.empty()) return;
    std::vector<CoinConfig> coins;
    try {
        coins = coin_configs(config);
    } catch (const std::logic_error& e) {
        diagnostics.add(YAML::Mark::null_mark(), "pool.coins", e.what());
        return;
    }
    for (std::size_t i = 0; i < coins.size(); ++i) {
        const std::string at = "pool.coins[" + std::to_string(i) + "]";
        for (std::size_t j = 0; j < i; ++j) {
            if (config.pool.enable && coins[i].config.pool.address.port != 0 && coins[i].config.pool.address == coins[j].config.pool.address) {
                diagnostics.add(YAML::Mark::null_mark(), at + ".address",
                                "stratum address " + coins[i].config.pool.address.to_string() + " is also pool.coins[" + std::to_string(j) +
                                    "]'s (" + coins[j].coin + "): each coin needs its own port");
            }
        }
        if (!coins[i].address_network.empty() && !bitcoin_family(coins[i].algorithm)) {
            diagnostics.add(YAML::Mark::null_mark(), at + ".address_network",
                            "is for Bitcoin-family coins (sha256d, scrypt); " + coins[i].coin + " mines " + coins[i].algorithm);
        }
        if (coins[i].config.pool.source.empty())
            diagnostics.add(YAML::Mark::null_mark(), at + ".source", "expected a job source (devnet, bitcoind, monerod, ethnode), got an empty value");
    }
}

}  // namespace

std::vector<CoinConfig> coin_configs(const Config& config) {
    std::vector<CoinConfig> out;
    for (std::size_t i = 0; i < config.pool.coins.size(); ++i) {
        const Config::Pool::Coin& coin = config.pool.coins[i];
        CoinConfig cc;
        cc.coin = coin.coin;
        cc.algorithm = coin.algorithm.empty() ? config.mining.algorithm : coin.algorithm;
        cc.address_network = coin.address_network;
        cc.config = config;
        cc.config.pool.coins.clear();
        Config& c = cc.config;
        const std::string at = "pool.coins[" + std::to_string(i) + "]";
        const auto apply = [&](const std::string& schema_path, const Value& value, const std::string& where) {
            const Key* key = detail::find_key(schema_path);
            if (key == nullptr) throw std::logic_error(where + ": no key " + schema_path);
            const YAML::Node node = YAML::Load(to_json(value));
            Diagnostics diagnostics("<" + where + ">");
            if (!key->parse(*key, Site{node, where, node.Mark(), diagnostics}, c))
                throw std::logic_error(diagnostics.empty() ? where + ": does not apply" : diagnostics.take().front().to_string());
        };
        if (coin.overrides.is_object()) {
            for (const auto& [name, value] : std::get<Value::Object>(coin.overrides.storage())) {
                if (name == "stratum") {
                    cc.stratum = value;
                } else if (name == "devnet") {
                    if (!c.devnet.is_object()) c.devnet = Value::object();
                    if (value.is_object())
                        for (const auto& [k, v] : std::get<Value::Object>(value.storage())) c.devnet[k] = v;
                } else if (name == "rewards" || name == "payments" || name == "node") {
                    if (!value.is_object()) continue;
                    for (const auto& [k, v] : std::get<Value::Object>(value.storage()))
                        apply(detail::coin_key_path(name, k), v, at + "." + name + "." + k);
                } else {
                    apply(detail::coin_key_path("", name), value, at + "." + name);
                }
            }
        }
        c.mining.algorithm = cc.algorithm;
        c.node.coin = cc.coin;
        if (!c.devnet.is_object()) c.devnet = Value::object();
        c.devnet["coin"] = cc.coin;
        c.devnet["algorithm"] = cc.algorithm;
        out.push_back(std::move(cc));
    }
    return out;
}

Config defaults() {
    static const Config cached = build_defaults();
    return cached;
}

LoadResult load_string(std::string_view yaml, std::string_view source_name) {
    Diagnostics diagnostics{std::string(source_name)};
    std::vector<YAML::Node> documents;
    try {
        documents = YAML::LoadAll(std::string(yaml));
    } catch (const YAML::Exception& e) {
        diagnostics.add(e.mark, {}, e.msg);
        return LoadResult{std::nullopt, diagnostics.take()};
    }
    if (documents.size() > 1) {
        diagnostics.add(documents[1].Mark(), {},
                        "expected one YAML document, found " + std::to_string(documents.size()));
    }
    Config config = defaults();
    if (!documents.empty()) load_section(Site{documents[0], {}, documents[0].Mark(), diagnostics}, config);
    if (diagnostics.empty()) check_coins(config, diagnostics);
    if (!diagnostics.empty()) return LoadResult{std::nullopt, diagnostics.take()};
    return LoadResult{std::move(config), {}};
}

LoadResult load_file(const std::filesystem::path& path) {
    const std::string file_name = path.string();
    const auto cannot_read = [&](int error_number) {
        Diagnostics diagnostics(file_name);
        diagnostics.add_whole_file("cannot read config file: " +
                                   std::error_code(error_number, std::generic_category()).message());
        return LoadResult{std::nullopt, diagnostics.take()};
    };
    const std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(file_name.c_str(), "rb"), &std::fclose);
    if (!file) return cannot_read(errno);
    std::string text;
    char buffer[8192];
    std::size_t count = 0;
    while ((count = std::fread(buffer, 1, sizeof buffer, file.get())) > 0) text.append(buffer, count);
    if (std::ferror(file.get())) return cannot_read(errno);  // e.g. EISDIR: fopen accepts a directory
    return load_string(text, file_name);
}

// ---- Rendering the effective configuration

Value to_value(const Config& config) {
    Value root = Value::object();
    for (const Key& key : detail::schema()) {
        Value* slot = &root;
        for (const auto part : split_path(key.path)) slot = &(*slot)[part];
        *slot = key.render(key, config);
    }
    return root;
}

std::optional<std::string> Config::subtree_json(std::string_view dotted_path) const {
    const Value root = to_value(*this);
    const Value* node = &root;
    if (!dotted_path.empty()) {
        for (const auto part : split_path(dotted_path)) {
            node = node->find(part);
            if (node == nullptr) return std::nullopt;
        }
    }
    return to_json(*node);
}

std::string Config::plugin_settings_json(std::string_view plugin_id) const {
    const Value* settings = plugins.settings.find(plugin_id);
    if (settings == nullptr || settings->is_null()) return "{}";
    return to_json(*settings);
}

namespace {

// A string that a plain YAML scalar would not read back as the same string must be quoted.
bool needs_quotes(const std::string& text) {
    return text.empty() || text == "~" || iequals(text, "null") || parse_bool(text).value ||
           parse_integer(text).value || parse_double(text).value;
}

void emit(YAML::Emitter& out, const Value& value) {
    struct Visitor {
        YAML::Emitter& out;
        void operator()(std::nullptr_t) const { out << YAML::Null; }
        void operator()(bool b) const { out << (b ? "true" : "false"); }
        void operator()(std::int64_t i) const { out << std::to_string(i); }
        void operator()(double d) const {
            // JSON and YAML agree on this number syntax.
            std::string text = to_json(Value{d});
            out << text;
        }
        void operator()(const std::string& s) const {
            if (needs_quotes(s)) out << YAML::DoubleQuoted;
            out << s;
        }
        void operator()(const Value::Array& array) const {
            if (array.empty()) out << YAML::Flow;
            out << YAML::BeginSeq;
            for (const auto& element : array) emit(out, element);
            out << YAML::EndSeq;
        }
        void operator()(const Value::Object& object) const {
            if (object.empty()) out << YAML::Flow;
            out << YAML::BeginMap;
            for (const auto& [name, member] : object) {
                out << YAML::Key;
                if (needs_quotes(name)) out << YAML::DoubleQuoted;
                out << name << YAML::Value;
                emit(out, member);
            }
            out << YAML::EndMap;
        }
    };
    std::visit(Visitor{out}, value.storage());
}

}  // namespace

std::string to_yaml(const Config& config) {
    YAML::Emitter out;
    emit(out, to_value(config));
    return std::string(out.c_str()) + "\n";
}

std::vector<KeyInfo> describe_schema() {
    std::vector<KeyInfo> keys;
    for (const Key& key : detail::schema()) {
        keys.push_back(KeyInfo{key.path, std::visit([](const auto& type) { return type.name(); }, key.type),
                               key.default_yaml, key.meaning});
    }
    return keys;
}

}  // namespace otedama::config
