#include "loader/loader.hpp"

#include "abi_layout.hpp"  // static_asserts: the layout of every public struct is pinned
#include "build_paths.hpp"
#include "log/log.hpp"

#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <optional>
#include <stdexcept>

namespace otedama::loader {

namespace {

constexpr size_t kErrCap = OTD_ERROR_CAP;
constexpr uint32_t kMaxPluginsPerLibrary = 1024;  // a larger count is a broken factory, not a product line

// Sizes of the first published version (ABI 1.0) of each struct the loader reads: a plugin must provide at
// least these fields. They equal today's sizeof because 1.0 is the only minor so far; when a minor appends
// fields, these stay and the host's sizeof grows.
constexpr uint32_t kEntrySize10 = sizeof(otd_plugin_entry_t);
constexpr uint32_t kFactorySize10 = sizeof(otd_plugin_factory_t);
constexpr uint32_t kDescriptorSize10 = sizeof(otd_plugin_descriptor_t);
constexpr uint32_t kPluginSize10 = sizeof(otd_plugin_t);

std::string status_text(otd_status_t st, const char* err) {
  std::string out = "(status " + std::to_string(st) + ")";
  if (err != nullptr && err[0] != '\0') out += std::string(": ") + err;
  return out;
}

/// Thrown inside the loader when a plugin call let a C++ exception escape across the ABI.
struct CrossedAbi : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Call into a plugin. A C++ exception escaping a plugin is a broken rule: turn it into CrossedAbi naming the
/// call, so the plugin is rejected and the host goes on.
template <class Fn>
auto call_plugin(const char* what, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const std::exception& e) {
    throw CrossedAbi(std::string("C++ exception crossed the ABI in ") + what + ": " + e.what());
  } catch (...) {
    throw CrossedAbi(std::string("C++ exception crossed the ABI in ") + what + ": (not a std::exception)");
  }
}

bool valid_id(std::string_view id) {
  // Reverse-DNS: at least one dot, so a plugin id can never collide with a host module's logger name.
  if (id.empty() || id.size() >= OTD_ID_CAP || id.find('.') == std::string_view::npos) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  });
}

bool empty_str(const char* s) { return s == nullptr || s[0] == '\0'; }

struct KindInfo {
  otd_kind_t kind;
  const char* name;
  const char* interface_id;
};
constexpr std::array<KindInfo, 4> kKinds{{
    {OTD_KIND_ALGORITHM, "algorithm", OTD_ALGORITHM_INTERFACE_ID},
    {OTD_KIND_BACKEND, "backend", OTD_BACKEND_INTERFACE_ID},
    {OTD_KIND_PAYOUT, "payout", OTD_PAYOUT_INTERFACE_ID},
    {OTD_KIND_TRANSPORT, "transport", OTD_TRANSPORT_INTERFACE_ID},
}};

const KindInfo* kind_info(otd_kind_t kind) {
  for (const auto& k : kKinds)
    if (k.kind == kind) return &k;
  return nullptr;
}

/// One mandatory function pointer of a kind table, checked by name.
struct Mandatory {
  const char* name;
  bool present;
};

template <class Table>
std::optional<std::string> check_table_size(const void* raw, const char* kind) {
  const auto* t = static_cast<const Table*>(raw);
  if (t->struct_size < sizeof(Table)) {
    // 1.0 is the first version: every field of today's struct is part of it.
    return std::string(kind) + " table struct_size " + std::to_string(t->struct_size) +
           " is smaller than ABI 1.0's " + std::to_string(sizeof(Table));
  }
  if (t->struct_size > sizeof(Table)) {
    return std::string(kind) + " table struct_size " + std::to_string(t->struct_size) +
           " is larger than this host knows (" + std::to_string(sizeof(Table)) + ")";
  }
  return std::nullopt;
}

std::optional<std::string> first_missing(std::initializer_list<Mandatory> list) {
  for (const auto& m : list)
    if (!m.present) return std::string("mandatory function '") + m.name + "' is NULL";
  return std::nullopt;
}

/// Size and mandatory pointers of the kind table; rules depend on the kind and on declared capabilities.
std::optional<std::string> check_kind_table(otd_kind_t kind, const void* raw) {
  switch (kind) {
    case OTD_KIND_ALGORITHM: {
      if (auto e = check_table_size<otd_algorithm_t>(raw, "algorithm")) return e;
      const auto* t = static_cast<const otd_algorithm_t*>(raw);
      if (empty_str(t->name)) return std::string("algorithm table field 'name' is NULL or empty");
      if (t->coin_family == nullptr) return std::string("algorithm table field 'coin_family' is NULL");
      if (auto e = first_missing({{"hash", t->hash != nullptr},
                                  {"verify", t->verify != nullptr},
                                  {"target_from_difficulty", t->target_from_difficulty != nullptr},
                                  {"difficulty_from_target", t->difficulty_from_target != nullptr},
                                  {"build_blob", t->build_blob != nullptr},
                                  {"get_info", t->get_info != nullptr}}))
        return e;
      if ((t->flags & OTD_ALGO_NEEDS_CONTEXT) != 0U) {
        if (auto e = first_missing({{"prepare_context", t->prepare_context != nullptr},
                                    {"release_context", t->release_context != nullptr}}))
          return *e + " (mandatory with OTD_ALGO_NEEDS_CONTEXT)";
      }
      const int scan_parts = (t->create_scan_state != nullptr) + (t->destroy_scan_state != nullptr) + (t->scan != nullptr);
      if (scan_parts != 0 && scan_parts != 3)
        return std::string("scan functions must be all set or all NULL (create_scan_state, destroy_scan_state, scan)");
      return std::nullopt;
    }
    case OTD_KIND_BACKEND: {
      if (auto e = check_table_size<otd_backend_t>(raw, "backend")) return e;
      const auto* t = static_cast<const otd_backend_t*>(raw);
      if (auto e = first_missing({{"enumerate", t->enumerate != nullptr},
                                  {"open_device", t->open_device != nullptr},
                                  {"close_device", t->close_device != nullptr},
                                  {"set_limits", t->set_limits != nullptr},
                                  {"get_telemetry", t->get_telemetry != nullptr}}))
        return e;
      const int queued = (t->push_work != nullptr) + (t->poll != nullptr) + (t->flush_work != nullptr);
      if (queued != 0 && queued != 3)
        return std::string("queued-device functions must be all set or all NULL (push_work, poll, flush_work)");
      if (t->run == nullptr && queued == 0)
        return std::string("mandatory function 'run' is NULL (or push_work/poll/flush_work for queued devices)");
      return std::nullopt;
    }
    case OTD_KIND_PAYOUT: {
      if (auto e = check_table_size<otd_payout_t>(raw, "payout")) return e;
      const auto* t = static_cast<const otd_payout_t*>(raw);
      if (empty_str(t->scheme)) return std::string("payout table field 'scheme' is NULL or empty");
      return first_missing({{"get_window", t->get_window != nullptr}, {"compute", t->compute != nullptr}});
    }
    case OTD_KIND_TRANSPORT: {
      if (auto e = check_table_size<otd_transport_t>(raw, "transport")) return e;
      const auto* t = static_cast<const otd_transport_t*>(raw);
      if ((t->roles & (OTD_TRANSPORT_JOB_SOURCE | OTD_TRANSPORT_SERVER | OTD_TRANSPORT_PEER)) == 0U)
        return std::string("transport table declares no role");
      if (auto e = first_missing({{"start", t->start != nullptr},
                                  {"stop", t->stop != nullptr},
                                  {"get_status", t->get_status != nullptr}}))
        return e;
      if ((t->roles & (OTD_TRANSPORT_SERVER | OTD_TRANSPORT_PEER)) != 0U) {
        if (auto e = first_missing({{"on_job", t->on_job != nullptr}, {"on_share_result", t->on_share_result != nullptr}}))
          return *e + " (mandatory for servers and peers)";
      }
      if ((t->roles & OTD_TRANSPORT_JOB_SOURCE) != 0U) {
        if (auto e = first_missing({{"submit_block", t->submit_block != nullptr}}))
          return *e + " (mandatory for job sources)";
      }
      return std::nullopt;
    }
    default:
      return std::string("unknown kind ") + std::to_string(kind);
  }
}

std::optional<std::string> check_descriptor(const otd_plugin_descriptor_t* d) {
  if (d == nullptr) return std::string("factory returned a NULL descriptor");
  if (d->struct_size < kDescriptorSize10)
    return "descriptor struct_size " + std::to_string(d->struct_size) + " is smaller than ABI 1.0's " +
           std::to_string(kDescriptorSize10);
  if (d->struct_size > sizeof(otd_plugin_descriptor_t))
    return "descriptor struct_size " + std::to_string(d->struct_size) + " is larger than this host knows (" +
           std::to_string(sizeof(otd_plugin_descriptor_t)) + ")";
  const std::pair<const char*, const char*> fields[] = {{"id", d->id},
                                                         {"name", d->name},
                                                         {"version", d->version},
                                                         {"vendor", d->vendor},
                                                         {"interface_id", d->interface_id}};
  for (const auto& [field, value] : fields)
    if (empty_str(value)) return std::string("descriptor field '") + field + "' is NULL or empty";
  if (!valid_id(d->id))
    return std::string("descriptor id '") + d->id + "' is invalid (use lowercase reverse-DNS: [a-z0-9._-], < 64 chars)";
  const KindInfo* k = kind_info(d->kind);
  if (k == nullptr) return "descriptor kind " + std::to_string(d->kind) + " is unknown";
  if (std::strcmp(d->interface_id, k->interface_id) != 0)
    return std::string("interface '") + d->interface_id + "' is not supported (host speaks " + k->interface_id + ")";
  return std::nullopt;
}

/// Boost.DLL wraps dlerror() in its own text and appends an unrelated errno; keep only dlerror's words.
std::string dlerror_text(const std::string& what) {
  const std::string marker = "dlerror system message: ";
  const auto at = what.find(marker);
  if (at == std::string::npos) return what;
  const auto begin = at + marker.size();
  const auto end = what.rfind(')');
  return what.substr(begin, end != std::string::npos && end > begin ? end - begin : std::string::npos);
}

/// Libraries are never unloaded (CONVENTIONS: never dlclose; Boost.DLL issue 68). Their handles live here,
/// reachable from a global for the life of the process, so leak checkers see them as still in use.
std::vector<boost::dll::shared_library>& kept_libraries() {
  static auto* kept = new std::vector<boost::dll::shared_library>();
  return *kept;
}

}  // namespace

std::string_view stage_name(Stage stage) noexcept {
  switch (stage) {
    case Stage::open: return "open";
    case Stage::entry_symbol: return "entry symbol";
    case Stage::abi_major: return "ABI major";
    case Stage::negotiate: return "negotiate";
    case Stage::init: return "init";
    case Stage::factory: return "factory";
    case Stage::descriptor: return "descriptor";
    case Stage::duplicate_id: return "duplicate id";
    case Stage::create: return "create";
    case Stage::kind_table: return "kind table";
    case Stage::self_test: return "self-test";
    case Stage::loaded: return "loaded";
    case Stage::disabled: return "disabled";
  }
  return "?";
}

std::string_view kind_name(otd_kind_t kind) noexcept {
  const KindInfo* k = kind_info(kind);
  return k != nullptr ? std::string_view(k->name) : std::string_view("?");
}

std::string PluginRecord::status() const {
  if (stage == Stage::loaded) return "loaded";
  if (stage == Stage::disabled) return "disabled";
  return "rejected at " + std::string(stage_name(stage)) + ": " + reason;
}

/// A library kept for the life of the process (never unloaded: see CONVENTIONS, "Never dlclose").
struct Loader::Library {
  boost::dll::shared_library lib;
  const otd_plugin_entry_t* entry = nullptr;
  bool initialised = false;
  uint32_t minor = 0;  ///< the negotiated ABI minor
  std::vector<const otd_plugin_t*> instances;
};

Loader::Loader(HostTableFactory host_tables, Options options)
    : host_tables_(std::move(host_tables)), options_(std::move(options)) {}

Loader::~Loader() {
  // Destroy instances in reverse load order, then deinit libraries. Libraries stay mapped.
  for (auto it = libraries_.rbegin(); it != libraries_.rend(); ++it) {
    Library& l = **it;
    for (auto inst = l.instances.rbegin(); inst != l.instances.rend(); ++inst) {
      try {
        (*inst)->destroy(*inst);
      } catch (...) {
        log::get("loader")->error("plugin threw from destroy() ({})", l.lib.location().string());
      }
    }
    if (l.initialised && l.entry->deinit != nullptr) {
      try {
        l.entry->deinit();
      } catch (...) {
      }
    }
  }
  for (auto& l : libraries_) kept_libraries().push_back(std::move(l->lib));
}

void Loader::reject(PluginRecord record, Stage stage, std::string reason) {
  record.stage = stage;
  record.reason = std::move(reason);
  log::get("loader")->warn("rejected plugin {}{}{}: {}: {}", record.path.string(), record.id.empty() ? "" : " (",
                           record.id.empty() ? "" : record.id + ")", stage_name(stage), record.reason);
  records_.push_back(std::move(record));
}

void Loader::load_directory(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    log::get("loader")->debug("plugin directory {} does not exist; skipped", dir.string());
    return;
  }
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const auto ext = entry.path().extension();
    if (entry.is_regular_file(ec) && (ext == ".so" || ext == ".dll" || ext == ".dylib")) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) load_file(f);
}

void Loader::load_file(const std::filesystem::path& file) {
  auto logger = log::get("loader");
  PluginRecord base;
  base.path = file;

  // open
  auto library = std::make_unique<Library>();
  try {
    library->lib.load(boost::dll::fs::path(file.string()),
                      boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  } catch (const std::exception& e) {
    reject(base, Stage::open, "cannot open: " + dlerror_text(e.what()));
    return;
  }
  // entry symbol
  if (!library->lib.has(OTD_ENTRY_SYMBOL)) {
    reject(base, Stage::entry_symbol, "no entry symbol '" OTD_ENTRY_SYMBOL "' (not an Otedama plugin?)");
    libraries_.push_back(std::move(library));
    return;
  }
  const otd_plugin_entry_t* entry = &library->lib.get<const otd_plugin_entry_t>(OTD_ENTRY_SYMBOL);
  // The same shared object reached twice (a second directory, a symlink): dlopen returns the same library,
  // which must not be negotiated or initialised again. Its plugins are then rejected as duplicates.
  Library* already = nullptr;
  for (auto& l : libraries_)
    if (l->entry == entry) already = l.get();
  library->entry = entry;
  if (already == nullptr) libraries_.push_back(std::move(library));
  Library& lib = already != nullptr ? *already : *libraries_.back();
  if (already != nullptr && !already->initialised) {
    reject(base, Stage::init, "library already loaded from another path and rejected there");
    return;
  }

  // ABI major
  if (entry->struct_size < sizeof(uint32_t) * 2) {
    reject(base, Stage::abi_major, "entry struct_size " + std::to_string(entry->struct_size) + " is too small");
    return;
  }
  base.abi_major = entry->abi_major;
  base.abi_minor = entry->struct_size >= offsetof(otd_plugin_entry_t, abi_minor) + sizeof(uint32_t) ? entry->abi_minor : 0;
  if (entry->abi_major != OTD_ABI_MAJOR) {
    reject(base, Stage::abi_major,
           "ABI major " + std::to_string(entry->abi_major) + " is not supported (host speaks " +
               std::to_string(OTD_ABI_MAJOR) + "." + std::to_string(OTD_ABI_MINOR) + ")");
    return;
  }
  if (entry->struct_size < kEntrySize10) {
    reject(base, Stage::abi_major,
           "entry struct_size " + std::to_string(entry->struct_size) + " is smaller than ABI 1.0's " +
               std::to_string(kEntrySize10));
    return;
  }
  if (entry->struct_size > sizeof(otd_plugin_entry_t)) {
    reject(base, Stage::abi_major,
           "entry struct_size " + std::to_string(entry->struct_size) + " is larger than this host knows (" +
               std::to_string(sizeof(otd_plugin_entry_t)) + ")");
    return;
  }

  try {
    char err[kErrCap] = {};
    otd_status_t st = OTD_OK;
    if (already == nullptr) {
      // negotiate: the host offers its highest minor; the plugin answers what it speaks.
      if (entry->negotiate == nullptr || entry->init == nullptr || entry->get_factory == nullptr) {
        reject(base, Stage::negotiate, "entry function negotiate, init or get_factory is NULL");
        return;
      }
      uint32_t chosen = 0;
      st = call_plugin("negotiate", [&] { return entry->negotiate(OTD_ABI_MINOR, &chosen, err, sizeof err); });
      if (st != OTD_OK) {
        reject(base, Stage::negotiate, std::string("ABI negotiation failed: ") + (err[0] != '\0' ? err : status_text(st, err)));
        return;
      }
      if (chosen > OTD_ABI_MINOR) {
        reject(base, Stage::negotiate,
               "plugin chose ABI minor " + std::to_string(chosen) + ", above the host's offer " + std::to_string(OTD_ABI_MINOR));
        return;
      }
      lib.minor = chosen;

      // init (library-wide), with a host table named after the library file
      const otd_host_t* lib_host = host_tables_(file.filename().string(), chosen);
      std::memset(err, 0, sizeof err);
      st = call_plugin("init", [&] { return entry->init(lib_host, err, sizeof err); });
      if (st != OTD_OK) {
        reject(base, Stage::init, "init failed " + status_text(st, err));
        return;
      }
      lib.initialised = true;
    }
    const uint32_t chosen = lib.minor;
    base.abi_minor = chosen;

    // factory
    const auto* factory =
        static_cast<const otd_plugin_factory_t*>(call_plugin("get_factory", [&] { return entry->get_factory(OTD_PLUGIN_FACTORY_ID); }));
    if (factory == nullptr) {
      reject(base, Stage::factory, "no factory '" OTD_PLUGIN_FACTORY_ID "'");
      return;
    }
    if (factory->struct_size < kFactorySize10 || factory->struct_size > sizeof(otd_plugin_factory_t) ||
        factory->get_plugin_count == nullptr || factory->get_plugin_descriptor == nullptr ||
        factory->create_plugin == nullptr) {
      reject(base, Stage::factory, "factory table is malformed (struct_size " + std::to_string(factory->struct_size) +
                                       " or a NULL function)");
      return;
    }
    const uint32_t count = call_plugin("get_plugin_count", [&] { return factory->get_plugin_count(factory); });
    if (count == 0) {
      reject(base, Stage::factory, "factory lists no plugins");
      return;
    }
    if (count > kMaxPluginsPerLibrary) {
      reject(base, Stage::factory, "factory lists " + std::to_string(count) + " plugins (at most " +
                                       std::to_string(kMaxPluginsPerLibrary) + ")");
      return;
    }

    for (uint32_t i = 0; i < count; ++i) {
      PluginRecord rec = base;
      const otd_plugin_descriptor_t* d =
          call_plugin("get_plugin_descriptor", [&] { return factory->get_plugin_descriptor(factory, i); });
      // descriptor fields (copy what is readable first so the listing can show it)
      if (d != nullptr && d->struct_size >= kDescriptorSize10) {
        auto s = [](const char* v) { return v != nullptr ? std::string(v) : std::string(); };
        rec.kind = d->kind;
        rec.id = s(d->id);
        rec.name = s(d->name);
        rec.version = s(d->version);
        rec.vendor = s(d->vendor);
        rec.description = s(d->description);
        rec.interface_id = s(d->interface_id);
      }
      if (auto problem = check_descriptor(d)) {
        reject(rec, Stage::descriptor, *problem);
        continue;
      }
      // duplicate id
      if (const PluginRecord* prior = find(rec.id)) {
        reject(rec, Stage::duplicate_id, "duplicate id '" + rec.id + "' (already loaded from " + prior->path.string() + ")");
        continue;
      }
      if (std::find(options_.disabled_ids.begin(), options_.disabled_ids.end(), rec.id) != options_.disabled_ids.end()) {
        rec.stage = Stage::disabled;
        logger->info("plugin {} disabled by configuration (plugins.disable)", rec.id);
        records_.push_back(std::move(rec));
        continue;
      }
      // create (+ the instance's init); `rec.id` is the instance's id, `descriptor_id` the plugin's
      const auto create_one = [&](PluginRecord inst, const std::string& descriptor_id) -> bool {
        const otd_plugin_t* instance = nullptr;
        std::memset(err, 0, sizeof err);
        try {
          const otd_host_t* host = host_tables_(inst.id, chosen);
          st = call_plugin("create_plugin", [&] { return factory->create_plugin(factory, host, descriptor_id.c_str(), &instance, err, sizeof err); });
        } catch (const CrossedAbi& e) {
          reject(inst, Stage::create, e.what());
          return false;
        }
        if (st != OTD_OK || instance == nullptr) {
          reject(inst, Stage::create, "create failed " + status_text(st == OTD_OK ? OTD_ERR_GENERIC : st, err));
          return false;
        }
        auto destroy = [&] {
          try {
            instance->destroy(instance);
          } catch (...) {
          }
        };
        if (instance->struct_size < kPluginSize10 || instance->init == nullptr || instance->destroy == nullptr ||
            instance->get_interface == nullptr) {
          reject(inst, Stage::create, "plugin instance is malformed (struct_size " + std::to_string(instance->struct_size) +
                                         " or NULL init/destroy/get_interface)");
          return false;  // cannot safely destroy an instance without a destroy function
        }
        std::memset(err, 0, sizeof err);
        try {
          st = call_plugin("plugin init", [&] { return instance->init(instance, err, sizeof err); });
        } catch (const CrossedAbi& e) {
          destroy();
          reject(inst, Stage::create, e.what());
          return false;
        }
        if (st != OTD_OK) {
          destroy();
          reject(inst, Stage::create, "plugin init failed " + status_text(st, err));
          return false;
        }
        // kind table size and mandatory pointers
        const void* table = nullptr;
        try {
          table = call_plugin("get_interface", [&] { return instance->get_interface(instance, inst.interface_id.c_str()); });
        } catch (const CrossedAbi& e) {
          destroy();
          reject(inst, Stage::kind_table, e.what());
          return false;
        }
        if (table == nullptr) {
          destroy();
          reject(inst, Stage::kind_table, "get_interface('" + inst.interface_id + "') returned NULL");
          return false;
        }
        if (auto problem = check_kind_table(inst.kind, table)) {
          destroy();
          reject(inst, Stage::kind_table, *problem);
          return false;
        }
        // known-answer self-test: mandatory for algorithms
        if (inst.kind == OTD_KIND_ALGORITHM && instance->self_test == nullptr) {
          destroy();
          reject(inst, Stage::self_test, "algorithm plugins must provide a known-answer self-test (self_test is NULL)");
          return false;
        }
        if (options_.run_self_tests && instance->self_test != nullptr) {
          std::memset(err, 0, sizeof err);
          try {
            st = call_plugin("self_test", [&] { return instance->self_test(instance, err, sizeof err); });
          } catch (const CrossedAbi& e) {
            destroy();
            reject(inst, Stage::self_test, e.what());
            return false;
          }
          if (st != OTD_OK) {
            destroy();
            reject(inst, Stage::self_test, "self-test failed " + status_text(st, err));
            return false;
          }
        }
        inst.stage = Stage::loaded;
        inst.instance = instance;
        inst.table = table;
        lib.instances.push_back(instance);
        logger->debug("loaded plugin {} {} ({}, ABI {}.{}) from {}", inst.id, inst.version, kind_name(inst.kind),
                      inst.abi_major, inst.abi_minor, file.string());
        records_.push_back(std::move(inst));
        return true;
      };
      const PluginRecord pristine = rec;
      const bool base_loaded = create_one(std::move(rec), pristine.id);
      // Further instances of this plugin (several coins: one job source per coin): "<id>@<suffix>", each with its
      // own host table. Each is listed, disabled and rejected on its own, also when the plugin's own instance
      // was refused (its settings are not theirs); then the callback sees the descriptor only (no table).
      if (!options_.extra_instances) continue;
      for (const std::string& suffix : options_.extra_instances(base_loaded ? records_.back() : pristine)) {
        PluginRecord extra = pristine;
        extra.id = pristine.id + "@" + suffix;
        if (suffix.empty() || extra.id.size() >= OTD_ID_CAP) {
          reject(extra, Stage::descriptor, "instance id '" + extra.id + "' is empty after '@' or too long");
          continue;
        }
        if (const PluginRecord* prior = find(extra.id)) {
          reject(extra, Stage::duplicate_id, "duplicate id '" + extra.id + "' (already loaded from " + prior->path.string() + ")");
          continue;
        }
        if (std::find(options_.disabled_ids.begin(), options_.disabled_ids.end(), extra.id) != options_.disabled_ids.end()) {
          extra.stage = Stage::disabled;
          logger->info("plugin {} disabled by configuration (plugins.disable)", extra.id);
          records_.push_back(std::move(extra));
          continue;
        }
        create_one(std::move(extra), pristine.id);
      }
    }
  } catch (const CrossedAbi& e) {
    // An exception crossed at a library-level call (negotiate, init, factory): the stage is the last one tried.
    const std::string what = e.what();
    Stage stage = Stage::factory;
    if (what.find(" negotiate:") != std::string::npos) stage = Stage::negotiate;
    else if (what.find(" init:") != std::string::npos) stage = Stage::init;
    reject(base, stage, what);
  }
}

std::vector<const PluginRecord*> Loader::loaded(otd_kind_t kind) const {
  std::vector<const PluginRecord*> out;
  for (const auto& r : records_)
    if (r.loaded() && r.kind == kind) out.push_back(&r);
  return out;
}

const PluginRecord* Loader::find(std::string_view id) const {
  for (const auto& r : records_)
    if (r.loaded() && r.id == id) return &r;
  return nullptr;
}

const PluginRecord* Loader::find_algorithm(std::string_view algorithm) const {
  for (const auto& r : records_) {
    if (!r.loaded() || r.kind != OTD_KIND_ALGORITHM) continue;
    const auto* t = static_cast<const otd_algorithm_t*>(r.table);
    if (algorithm == t->name) return &r;
  }
  return nullptr;
}

std::vector<std::filesystem::path> Loader::search_path(const std::vector<std::string>& config_dirs, bool conformance_fixtures) {
  std::vector<std::filesystem::path> dirs;
  for (const auto& d : config_dirs) dirs.emplace_back(d);
  if (const char* env = std::getenv("OTEDAMA_PLUGIN_PATH"); env != nullptr) {
    std::string_view rest(env);
    while (!rest.empty()) {
      const size_t colon = rest.find(':');
      const std::string_view part = rest.substr(0, colon);
      if (!part.empty()) dirs.emplace_back(std::string(part));
      if (colon == std::string_view::npos) break;
      rest.remove_prefix(colon + 1);
    }
  }
  // The install's plugins.d, relative to the executable so that an installed tree can be relocated:
  // <prefix>/bin/otedama-host -> <prefix>/<libdir>/otedama/plugins.d
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::canonical("/proc/self/exe", ec);
  if (!ec) {
    dirs.push_back(exe.parent_path().parent_path() / build_paths::kLibdir / "otedama" / "plugins.d");
    // Run from the build tree: also the build tree's plugin folders (never for an installed binary).
    const std::filesystem::path build_root(build_paths::kBuildRoot);
    const auto rel = exe.lexically_relative(build_root);
    if (!rel.empty() && *rel.begin() != "..") {
      for (const char* d : build_paths::kBuildPluginDirs) dirs.emplace_back(d);
      if (conformance_fixtures && build_paths::kConformanceFixtureDir[0] != '\0') dirs.emplace_back(build_paths::kConformanceFixtureDir);
    }
  }
  return dirs;
}

}  // namespace otedama::loader
