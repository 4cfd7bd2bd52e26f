// Test harness for plugins: loads a built plugin module through its C ABI exactly as the host does, and
// hands it a fake host table. Header-only; used by tests/plugins/<kind>/test_*.cpp.
//
//   #include "plugin_harness.hpp"
//   namespace th = otedama::testing;
//
//   th::FakeHost host(R"({"window":"30m"})");                 // config JSON, captured logs, clocks
//   th::CreateResult r = th::create_instance(PLUGIN_PATH, "org.otedama.payout.pplns",
//                                            OTD_PAYOUT_INTERFACE_ID, host);
//   ASSERT_TRUE(r.ok()) << r.describe();
//   const otd_payout_t& payout = r.instance.table<otd_payout_t>();
//   payout.compute(r.instance.plugin(), ...);
//
// What it does, in the host's order (core/loader): dlopen -> entry symbol -> ABI major -> negotiate ->
// entry init -> factory -> create -> instance init -> kind table. The library-level steps run once per
// path for the life of the test process (the host never unloads a plugin, so neither does the harness);
// every create_instance() makes a new instance that PluginInstance destroys when it goes out of scope.
//
// FakeHost: log records are captured (thread-safe, [any]); get_config serves the JSON given (with the
// BUFFER_TOO_SMALL protocol); monotonic/wall clocks are real unless pinned with set_*; metric_register
// hands out ids and remembers the names, metric_update does nothing; post_event copies each event;
// get_service returns NULL unless a table was registered with set_service(). A FakeHost must outlive
// every instance created with it (the instance keeps its host table until destroy).
#pragma once

#include <otedama/otedama.h>

#include <dlfcn.h>

#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace otedama::testing {

/// A caller-side error buffer as the ABI functions take it.
struct ErrorBuffer {
    char text[OTD_ERROR_CAP] = {};
    [[nodiscard]] std::string str() const { return text; }
};

struct LogRecord {
    otd_log_level_t level;
    std::string message;
};

class FakeHost {
public:
    explicit FakeHost(std::string config_json = "{}") : config_(std::move(config_json)) {
        table_.struct_size = static_cast<uint32_t>(sizeof(otd_host_t));
        table_.abi_major = OTD_ABI_MAJOR;
        table_.abi_minor = OTD_ABI_MINOR;
        table_.host_data = this;
        table_.host_name = "otedama-test-host";
        table_.host_version = "0.0.0-test";
        table_.log = &log_cb;
        table_.post_event = &post_event_cb;
        table_.get_config = &get_config_cb;
        table_.monotonic_ns = &monotonic_cb;
        table_.wall_time_ms = &wall_cb;
        table_.metric_register = &metric_register_cb;
        table_.metric_update = &metric_update_cb;
        table_.get_service = &get_service_cb;
    }
    FakeHost(const FakeHost&) = delete;
    FakeHost& operator=(const FakeHost&) = delete;

    [[nodiscard]] const otd_host_t* table() const noexcept { return &table_; }

    void set_config(std::string json) {
        std::lock_guard lock(mu_);
        config_ = std::move(json);
    }
    /// Pin the clocks (std::nullopt: back to the real clocks).
    void set_monotonic_ns(std::optional<uint64_t> ns) {
        std::lock_guard lock(mu_);
        monotonic_ns_ = ns;
    }
    void set_wall_time_ms(std::optional<int64_t> ms) {
        std::lock_guard lock(mu_);
        wall_time_ms_ = ms;
    }
    /// Make get_service(id) return `service_table` (nullptr removes it).
    void set_service(const std::string& id, const void* service_table) {
        std::lock_guard lock(mu_);
        if (service_table == nullptr) {
            services_.erase(id);
        } else {
            services_[id] = service_table;
        }
    }

    [[nodiscard]] std::vector<LogRecord> logs() const {
        std::lock_guard lock(mu_);
        return logs_;
    }
    /// True when a record at `min_level` or above contains `needle`.
    [[nodiscard]] bool logged(std::string_view needle, otd_log_level_t min_level = OTD_LOG_TRACE) const {
        std::lock_guard lock(mu_);
        for (const auto& r : logs_) {
            if (r.level >= min_level && r.message.find(needle) != std::string::npos) return true;
        }
        return false;
    }
    void clear_logs() {
        std::lock_guard lock(mu_);
        logs_.clear();
    }
    /// Copies of every posted event (header->size bytes each).
    [[nodiscard]] std::vector<std::vector<uint8_t>> events() const {
        std::lock_guard lock(mu_);
        return events_;
    }
    [[nodiscard]] std::vector<std::string> metric_names() const {
        std::lock_guard lock(mu_);
        return metric_names_;
    }

private:
    static FakeHost& self(const otd_host_t* h) noexcept { return *static_cast<FakeHost*>(h->host_data); }

    static void OTD_CALL log_cb(const otd_host_t* h, otd_log_level_t level, const char* message) noexcept {
        auto& s = self(h);
        std::lock_guard lock(s.mu_);
        s.logs_.push_back(LogRecord{level, message != nullptr ? message : "(null)"});
    }
    static otd_status_t OTD_CALL post_event_cb(const otd_host_t* h, const otd_event_header_t* event) noexcept {
        if (event == nullptr || event->size < sizeof(otd_event_header_t)) return OTD_ERR_INVALID_ARG;
        auto& s = self(h);
        std::lock_guard lock(s.mu_);
        const auto* p = reinterpret_cast<const uint8_t*>(event);
        s.events_.emplace_back(p, p + event->size);
        return OTD_OK;
    }
    static otd_status_t OTD_CALL get_config_cb(const otd_host_t* h, char* buf, size_t cap, size_t* needed) noexcept {
        auto& s = self(h);
        std::lock_guard lock(s.mu_);
        const size_t need = s.config_.size() + 1;
        if (needed != nullptr) *needed = need;
        if (buf == nullptr || cap < need) return OTD_ERR_BUFFER_TOO_SMALL;
        std::memcpy(buf, s.config_.c_str(), need);
        return OTD_OK;
    }
    static uint64_t OTD_CALL monotonic_cb(const otd_host_t* h) noexcept {
        auto& s = self(h);
        {
            std::lock_guard lock(s.mu_);
            if (s.monotonic_ns_) return *s.monotonic_ns_;
        }
        return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                         std::chrono::steady_clock::now().time_since_epoch())
                                         .count());
    }
    static int64_t OTD_CALL wall_cb(const otd_host_t* h) noexcept {
        auto& s = self(h);
        {
            std::lock_guard lock(s.mu_);
            if (s.wall_time_ms_) return *s.wall_time_ms_;
        }
        return std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
    }
    static otd_status_t OTD_CALL metric_register_cb(const otd_host_t* h, const otd_metric_desc_t* desc,
                                                    uint32_t* metric_id) noexcept {
        if (desc == nullptr || metric_id == nullptr || desc->name == nullptr) return OTD_ERR_INVALID_ARG;
        auto& s = self(h);
        std::lock_guard lock(s.mu_);
        for (size_t i = 0; i < s.metric_names_.size(); ++i) {
            if (s.metric_names_[i] == desc->name) {
                *metric_id = static_cast<uint32_t>(i + 1);
                return OTD_OK;
            }
        }
        s.metric_names_.emplace_back(desc->name);
        *metric_id = static_cast<uint32_t>(s.metric_names_.size());
        return OTD_OK;
    }
    static void OTD_CALL metric_update_cb(const otd_host_t*, uint32_t, const char* const*, double) noexcept {}
    static const void* OTD_CALL get_service_cb(const otd_host_t* h, const char* id) noexcept {
        if (id == nullptr) return nullptr;
        auto& s = self(h);
        std::lock_guard lock(s.mu_);
        const auto it = s.services_.find(id);
        return it == s.services_.end() ? nullptr : it->second;
    }

    otd_host_t table_{};
    mutable std::mutex mu_;
    std::string config_;
    std::optional<uint64_t> monotonic_ns_;
    std::optional<int64_t> wall_time_ms_;
    std::vector<LogRecord> logs_;
    std::vector<std::vector<uint8_t>> events_;
    std::vector<std::string> metric_names_;
    std::map<std::string, const void*, std::less<>> services_;
};

/// The library-level state of one loaded module.
struct PluginLibrary {
    std::string path;
    void* handle = nullptr;
    const otd_plugin_entry_t* entry = nullptr;
    uint32_t negotiated_minor = 0;
    const otd_plugin_factory_t* factory = nullptr;

    /// Descriptors the factory lists.
    [[nodiscard]] std::vector<const otd_plugin_descriptor_t*> descriptors() const {
        std::vector<const otd_plugin_descriptor_t*> out;
        const uint32_t n = factory->get_plugin_count(factory);
        for (uint32_t i = 0; i < n; ++i) out.push_back(factory->get_plugin_descriptor(factory, i));
        return out;
    }
};

/// Thrown by open_library(): `step` names the load step that failed, what() the reason.
class LoadError : public std::runtime_error {
public:
    LoadError(std::string step, const std::string& reason)
        : std::runtime_error(step + ": " + reason), step_(std::move(step)) {}
    [[nodiscard]] const std::string& step() const noexcept { return step_; }

private:
    std::string step_;
};

/// The host table handed to every library's entry init(): lives for the process, like the host's.
inline FakeHost& library_host() {
    static FakeHost* host = new FakeHost();  // never destroyed: libraries keep the pointer until exit
    return *host;
}

/// dlopen `path` and run the library-level steps once (later calls return the same record). Throws LoadError.
inline const PluginLibrary& open_library(const std::string& path) {
    static std::mutex mu;
    static std::map<std::string, std::unique_ptr<PluginLibrary>> loaded;
    std::lock_guard lock(mu);
    if (const auto it = loaded.find(path); it != loaded.end()) return *it->second;

    auto lib = std::make_unique<PluginLibrary>();
    lib->path = path;
    lib->handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (lib->handle == nullptr) {
        const char* why = ::dlerror();
        throw LoadError("open", why != nullptr ? why : "dlopen failed");
    }
    lib->entry = static_cast<const otd_plugin_entry_t*>(::dlsym(lib->handle, OTD_ENTRY_SYMBOL));
    if (lib->entry == nullptr) throw LoadError("entry", std::string("no symbol ") + OTD_ENTRY_SYMBOL);
    if (lib->entry->struct_size < sizeof(otd_plugin_entry_t)) {
        throw LoadError("entry", "entry struct_size " + std::to_string(lib->entry->struct_size) + " is too small");
    }
    if (lib->entry->abi_major != OTD_ABI_MAJOR) {
        throw LoadError("abi-major", "plugin ABI major " + std::to_string(lib->entry->abi_major) + ", harness speaks " +
                                         std::to_string(OTD_ABI_MAJOR));
    }
    ErrorBuffer err;
    if (const otd_status_t st = lib->entry->negotiate(OTD_ABI_MINOR, &lib->negotiated_minor, err.text, sizeof err.text);
        st != OTD_OK) {
        throw LoadError("negotiate", "status " + std::to_string(st) + ": " + err.str());
    }
    if (const otd_status_t st = lib->entry->init(library_host().table(), err.text, sizeof err.text); st != OTD_OK) {
        throw LoadError("init", "status " + std::to_string(st) + ": " + err.str());
    }
    lib->factory = static_cast<const otd_plugin_factory_t*>(lib->entry->get_factory(OTD_PLUGIN_FACTORY_ID));
    if (lib->factory == nullptr) throw LoadError("factory", "get_factory returned NULL");
    auto& ref = *lib;
    loaded.emplace(path, std::move(lib));
    return ref;
}

/// An owned plugin instance: destroyed (plugin->destroy) when this goes out of scope.
class PluginInstance {
public:
    PluginInstance() = default;
    PluginInstance(const otd_plugin_t* plugin, const void* kind_table) noexcept : plugin_(plugin), table_(kind_table) {}
    PluginInstance(PluginInstance&& o) noexcept : plugin_(std::exchange(o.plugin_, nullptr)), table_(std::exchange(o.table_, nullptr)) {}
    PluginInstance& operator=(PluginInstance&& o) noexcept {
        if (this != &o) {
            reset();
            plugin_ = std::exchange(o.plugin_, nullptr);
            table_ = std::exchange(o.table_, nullptr);
        }
        return *this;
    }
    PluginInstance(const PluginInstance&) = delete;
    PluginInstance& operator=(const PluginInstance&) = delete;
    ~PluginInstance() { reset(); }

    void reset() noexcept {
        if (plugin_ != nullptr) plugin_->destroy(plugin_);
        plugin_ = nullptr;
        table_ = nullptr;
    }
    /// Give up ownership without destroying the instance.
    [[nodiscard]] const otd_plugin_t* release() noexcept {
        table_ = nullptr;
        return std::exchange(plugin_, nullptr);
    }
    [[nodiscard]] explicit operator bool() const noexcept { return plugin_ != nullptr; }
    [[nodiscard]] const otd_plugin_t* plugin() const noexcept { return plugin_; }
    /// The kind table (otd_algorithm_t, otd_payout_t, otd_backend_t, otd_transport_t ...).
    template <class Table>
    [[nodiscard]] const Table& table() const noexcept {
        return *static_cast<const Table*>(table_);
    }
    [[nodiscard]] const void* raw_table() const noexcept { return table_; }

private:
    const otd_plugin_t* plugin_ = nullptr;
    const void* table_ = nullptr;
};

/// The outcome of create_instance(): ok(), or the failing step with its status and message.
struct CreateResult {
    std::string step;  // "" on success; else "open", "entry", "abi-major", "negotiate", "init" (library),
                       // "create", "plugin-init", "interface"
    otd_status_t status = OTD_OK;
    std::string message;
    PluginInstance instance;  // set when ok()

    [[nodiscard]] bool ok() const noexcept { return step.empty(); }
    [[nodiscard]] std::string describe() const {
        return ok() ? std::string("ok") : step + " failed (status " + std::to_string(status) + "): " + message;
    }
};

/// Create an instance of `plugin_id` from the module at `path` with `host` as its host table, run its init()
/// (unless run_init is false) and fetch the kind table for `interface_id`. An instance whose init() fails is
/// destroyed, as the host does.
inline CreateResult create_instance(const std::string& path, const std::string& plugin_id,
                                    const std::string& interface_id, FakeHost& host, bool run_init = true) {
    CreateResult r;
    const PluginLibrary* lib = nullptr;
    try {
        lib = &open_library(path);
    } catch (const LoadError& e) {
        r.step = e.step();
        r.status = OTD_ERR_GENERIC;
        r.message = e.what();
        return r;
    }
    ErrorBuffer err;
    const otd_plugin_t* plugin = nullptr;
    r.status = lib->factory->create_plugin(lib->factory, host.table(), plugin_id.c_str(), &plugin, err.text, sizeof err.text);
    if (r.status != OTD_OK || plugin == nullptr) {
        r.step = "create";
        r.message = err.str();
        if (r.status == OTD_OK) r.status = OTD_ERR_GENERIC;
        return r;
    }
    PluginInstance owned(plugin, nullptr);
    if (run_init) {
        r.status = plugin->init(plugin, err.text, sizeof err.text);
        if (r.status != OTD_OK) {
            r.step = "plugin-init";
            r.message = err.str();
            return r;  // `owned` destroys the instance
        }
    }
    const void* table = plugin->get_interface(plugin, interface_id.c_str());
    if (table == nullptr) {
        r.step = "interface";
        r.status = OTD_ERR_UNSUPPORTED;
        r.message = "get_interface(\"" + interface_id + "\") returned NULL";
        return r;
    }
    r.instance = PluginInstance(owned.release(), table);
    return r;
}

}  // namespace otedama::testing
