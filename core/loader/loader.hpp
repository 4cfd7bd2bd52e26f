// The plugin loader: finds shared objects, walks the fixed rejection order of the ABI conventions, and
// keeps every accepted plugin instance (and every library) alive for the life of the process.
#pragma once

#include <otedama/otedama.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace otedama::loader {

/// The steps of loading, in the order they run. A rejected plugin records the step that failed.
enum class Stage : uint8_t {
  open,          ///< dlopen
  entry_symbol,  ///< the otedama_plugin_entry symbol
  abi_major,     ///< entry struct size and ABI major
  negotiate,     ///< minor version negotiation
  init,          ///< entry init()
  factory,       ///< get_factory("otedama.plugin-factory/1") and its table
  descriptor,    ///< descriptor fields
  duplicate_id,  ///< an id already loaded
  create,        ///< factory create_plugin() and the instance's init()
  kind_table,    ///< the kind table: size and mandatory functions
  self_test,     ///< known-answer self-test
  loaded,        ///< accepted
  disabled,      ///< listed in plugins.disable: not created (not a rejection)
};

[[nodiscard]] std::string_view stage_name(Stage stage) noexcept;
[[nodiscard]] std::string_view kind_name(otd_kind_t kind) noexcept;

/// What --list-plugins shows for one plugin (or for one library that failed before its descriptors).
struct PluginRecord {
  std::filesystem::path path;
  std::string id;            ///< empty when the library failed before its descriptors were read
  otd_kind_t kind = 0;
  std::string name;
  std::string version;
  std::string vendor;
  std::string description;
  std::string interface_id;
  uint32_t abi_major = 0;    ///< as the entry declared
  uint32_t abi_minor = 0;    ///< negotiated (or declared, when negotiation failed)
  Stage stage = Stage::open; ///< Stage::loaded when accepted
  std::string reason;        ///< why it was rejected (empty when loaded)

  // Set only for loaded plugins.
  const otd_plugin_t* instance = nullptr;
  const void* table = nullptr; ///< otd_algorithm_t / otd_backend_t / otd_payout_t / otd_transport_t

  [[nodiscard]] bool loaded() const noexcept { return stage == Stage::loaded; }
  /// "loaded", "disabled" or "rejected at <stage>: <reason>"
  [[nodiscard]] std::string status() const;
};

/// Makes the host table a plugin receives (the host's services live behind it). Called with the plugin id
/// for each instance, and with the library's file name for the library-wide entry init().
/// The returned pointer must stay valid for the life of the process.
using HostTableFactory = std::function<const otd_host_t*(std::string_view plugin_id, uint32_t abi_minor)>;

struct Options {
  std::vector<std::string> disabled_ids;  ///< plugins.disable
  bool run_self_tests = true;
  /// Further instances of a plugin: the suffixes of the instances to create beside its own, each with the id
  /// "<id>@<suffix>" and its own host table (pool.coins: one job source per coin). Called with the plugin's
  /// loaded record, or with its descriptor only (`table` null) when its own instance was refused. Unset = none.
  std::function<std::vector<std::string>(const PluginRecord&)> extra_instances;
};

class Loader {
 public:
  Loader(HostTableFactory host_tables, Options options);
  ~Loader();  // destroys instances (destroy(), entry deinit()) but never unloads a library
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  /// Load every plugin file (*.so) of `dir`, in file-name order. A missing directory is logged, not fatal.
  void load_directory(const std::filesystem::path& dir);
  /// Load one file. Every outcome is recorded; nothing throws.
  void load_file(const std::filesystem::path& file);

  [[nodiscard]] const std::vector<PluginRecord>& records() const noexcept { return records_; }
  /// Loaded plugins of one kind, in load order.
  [[nodiscard]] std::vector<const PluginRecord*> loaded(otd_kind_t kind) const;
  [[nodiscard]] const PluginRecord* find(std::string_view id) const;
  /// The loaded algorithm plugin whose table name is `algorithm` (e.g. "sha256d"), or nullptr.
  [[nodiscard]] const PluginRecord* find_algorithm(std::string_view algorithm) const;

  /// The default search path: config dirs, then $OTEDAMA_PLUGIN_PATH (colon-separated), then the
  /// install's plugins.d, then (when running from the build tree) the build tree's plugin folders and,
  /// with `conformance_fixtures`, the ABI conformance fixtures (listings show them; a running host skips them).
  [[nodiscard]] static std::vector<std::filesystem::path> search_path(const std::vector<std::string>& config_dirs,
                                                                      bool conformance_fixtures = true);

 private:
  struct Library;
  void reject(PluginRecord record, Stage stage, std::string reason);

  HostTableFactory host_tables_;
  Options options_;
  std::vector<std::unique_ptr<Library>> libraries_;
  std::vector<PluginRecord> records_;
};

}  // namespace otedama::loader
