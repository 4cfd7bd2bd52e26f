// Otedama plugin SDK: a header-only C++20 layer that maps a C++ class onto the C ABI tables.
// SPDX-License-Identifier: MIT
//
// A plugin author writes a class deriving from one of sdk::Algorithm<T>, sdk::Backend<T>, sdk::Payout<T>,
// sdk::Transport<T>, implements the member functions of its kind (optional ones are detected at compile
// time; absent ones leave NULL in the C table), reports failures by throwing sdk::Error, and registers:
//
//     OTEDAMA_PLUGIN_ENTRY(otedama::sdk::plugin_class<MyAlgo>(kMyDescriptor))
//
// Every C entry point generated here is noexcept and catches everything: sdk::Error becomes its status
// code and message, any other exception becomes OTD_ERR_EXCEPTION with what(). Nothing crosses the ABI.
#ifndef OTEDAMA_SDK_PLUGIN_HPP
#define OTEDAMA_SDK_PLUGIN_HPP

#include <otedama/otedama.h>

#include <algorithm>
#include <array>
#include <concepts>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace otedama::sdk {

// ---------------------------------------------------------------------------------------------------
// Errors

/// Thrown by plugin code to return a specific status with a message.
class Error : public std::runtime_error {
 public:
  Error(otd_status_t status, const std::string& message) : std::runtime_error(message), status_(status) {}
  [[nodiscard]] otd_status_t status() const noexcept { return status_; }

 private:
  otd_status_t status_;
};

/// Copy `message` into a caller buffer, truncating, always NUL-terminated. Safe with buf == nullptr.
inline void copy_message(char* buf, size_t cap, std::string_view message) noexcept {
  if (buf == nullptr || cap == 0) return;
  const size_t n = std::min(message.size(), cap - 1);
  std::memcpy(buf, message.data(), n);
  buf[n] = '\0';
}

/// Run `fn` and turn every exception into a status code and a message. Used by every trampoline.
template <class Fn>
otd_status_t guard(char* err, size_t err_cap, Fn&& fn) noexcept {
  try {
    if constexpr (std::is_void_v<decltype(fn())>) {
      fn();
      return OTD_OK;
    } else {
      return fn();
    }
  } catch (const Error& e) {
    copy_message(err, err_cap, e.what());
    return e.status() == OTD_OK ? OTD_ERR_GENERIC : e.status();
  } catch (const std::bad_alloc&) {
    copy_message(err, err_cap, "out of memory");
    return OTD_ERR_NO_MEMORY;
  } catch (const std::exception& e) {
    copy_message(err, err_cap, std::string("exception: ") + e.what());
    return OTD_ERR_EXCEPTION;
  } catch (...) {
    copy_message(err, err_cap, "unknown exception");
    return OTD_ERR_EXCEPTION;
  }
}

/// Copy a std::string_view into a fixed char array field of an ABI struct.
template <size_t N>
void copy_field(char (&field)[N], std::string_view value) noexcept {
  copy_message(field, N, value);
}

/// Whether an ABI struct received by reference holds the bytes up to `end` (OTD_FIELD_END(type, field)).
/// OTD_HAS_FIELD does the same through a pointer, but its NULL check trips -Wnonnull-compare on `&reference`.
template <class Struct>
bool struct_covers(const Struct& s, size_t end) noexcept {
  return s.struct_size >= end;
}

/// Zero-initialise an ABI struct and set its struct_size.
template <class T>
T make_struct() noexcept {
  T value{};
  value.struct_size = static_cast<uint32_t>(sizeof(T));
  return value;
}

// ---------------------------------------------------------------------------------------------------
// The host, seen from a plugin

class Host {
 public:
  explicit Host(const otd_host_t* host) noexcept : host_(host) {}

  [[nodiscard]] const otd_host_t* raw() const noexcept { return host_; }

  void log(otd_log_level_t level, std::string_view message) const noexcept {
    if (host_ == nullptr || host_->log == nullptr) return;
    try {
      const std::string copy(message);
      host_->log(host_, level, copy.c_str());
    } catch (...) {
    }
  }
#if defined(__GNUC__)
  __attribute__((format(printf, 3, 4)))
#endif
  void logf(otd_log_level_t level, const char* format, ...) const noexcept {
    char buf[1024];
    va_list args;
    va_start(args, format);
    std::vsnprintf(buf, sizeof buf, format, args);
    va_end(args);
    if (host_ != nullptr && host_->log != nullptr) host_->log(host_, level, buf);
  }
  void info(std::string_view m) const noexcept { log(OTD_LOG_INFO, m); }
  void warn(std::string_view m) const noexcept { log(OTD_LOG_WARN, m); }
  void error(std::string_view m) const noexcept { log(OTD_LOG_ERROR, m); }
  void debug(std::string_view m) const noexcept { log(OTD_LOG_DEBUG, m); }

  /// This plugin's configuration subtree as JSON ("{}" when none).
  [[nodiscard]] std::string config_json() const {
    if (host_ == nullptr || host_->get_config == nullptr) return "{}";
    size_t needed = 0;
    std::string buf(256, '\0');
    otd_status_t st = host_->get_config(host_, buf.data(), buf.size(), &needed);
    if (st == OTD_ERR_BUFFER_TOO_SMALL) {
      buf.assign(needed, '\0');
      st = host_->get_config(host_, buf.data(), buf.size(), &needed);
    }
    if (st != OTD_OK) throw Error(st, "host refused the configuration");
    buf.resize(std::strlen(buf.c_str()));
    return buf;
  }

  /// 0 when the host table is missing (never in a real host).
  [[nodiscard]] uint64_t monotonic_ns() const noexcept {
    return host_ != nullptr && host_->monotonic_ns != nullptr ? host_->monotonic_ns(host_) : 0;
  }
  [[nodiscard]] int64_t wall_time_ms() const noexcept {
    return host_ != nullptr && host_->wall_time_ms != nullptr ? host_->wall_time_ms(host_) : 0;
  }

  otd_status_t post_event(const otd_event_header_t& event) const noexcept {
    if (host_ == nullptr || host_->post_event == nullptr) return OTD_ERR_UNSUPPORTED;
    return host_->post_event(host_, &event);
  }

  /// A service table by id, or nullptr. Rejects tables smaller than the version this plugin was built
  /// against (sizeof(Service)): a plugin never reads past what the host filled in.
  template <class Service>
  [[nodiscard]] const Service* service(const char* id) const noexcept {
    if (host_ == nullptr || host_->get_service == nullptr) return nullptr;
    const auto* table = static_cast<const Service*>(host_->get_service(host_, id));
    if (table == nullptr || table->struct_size < sizeof(Service)) return nullptr;
    return table;
  }

 private:
  const otd_host_t* host_;
};

// ---------------------------------------------------------------------------------------------------
// Plugin base

/// Base of every SDK plugin. One object per instance the host creates.
class Plugin {
 public:
  explicit Plugin(const otd_host_t* host) : host_(host) {}
  Plugin(const Plugin&) = delete;
  Plugin& operator=(const Plugin&) = delete;
  virtual ~Plugin() = default;

  /// Called once after construction; throw sdk::Error to refuse to start.
  virtual void init() {}
  /// Known-answer self-test; throw sdk::Error(OTD_ERR_SELF_TEST, "...") on a mismatch.
  virtual void self_test() {}
  /// Whether this plugin has a self-test (the SDK sets the table pointer only then).
  [[nodiscard]] virtual bool has_self_test() const noexcept { return false; }
  /// The kind table for an interface id, or nullptr.
  [[nodiscard]] virtual const void* get_interface(std::string_view interface_id) const noexcept = 0;

  [[nodiscard]] const Host& host() const noexcept { return host_; }

 private:
  Host host_;
};

namespace detail {

/// The C instance the host sees, owning the C++ object.
struct Instance {
  otd_plugin_t c{};
  std::unique_ptr<Plugin> impl;
};

// plugin_data points at the Instance (not at the C++ object) so that destroy() needs no offsetof on a
// non-standard-layout type.
inline Plugin& self(const otd_plugin_t* p) noexcept { return *static_cast<Instance*>(p->plugin_data)->impl; }
template <class T>
T& self_as(const otd_plugin_t* p) noexcept {
  return static_cast<T&>(self(p));
}

inline otd_status_t OTD_CALL instance_init(const otd_plugin_t* p, char* err, size_t cap) noexcept {
  return guard(err, cap, [&] { self(p).init(); });
}
inline void OTD_CALL instance_destroy(const otd_plugin_t* p) noexcept {
  // The Instance owns the C struct; deleting it frees both. Destructors must not throw.
  delete static_cast<Instance*>(p->plugin_data);
}
inline const void* OTD_CALL instance_get_interface(const otd_plugin_t* p, const char* id) noexcept {
  if (id == nullptr) return nullptr;
  return self(p).get_interface(id);
}
inline otd_status_t OTD_CALL instance_self_test(const otd_plugin_t* p, char* err, size_t cap) noexcept {
  return guard(err, cap, [&] { self(p).self_test(); });
}

}  // namespace detail

/// How the SDK creates one plugin class: its descriptor and a constructor.
struct PluginClass {
  const otd_plugin_descriptor_t* descriptor;
  Plugin* (*construct)(const otd_host_t* host);
};

template <class T>
constexpr PluginClass plugin_class(const otd_plugin_descriptor_t& descriptor) {
  return PluginClass{&descriptor, [](const otd_host_t* host) -> Plugin* { return new T(host); }};
}

/// Build a descriptor; strings must be static.
constexpr otd_plugin_descriptor_t descriptor(otd_kind_t kind, const char* id, const char* name, const char* version,
                                             const char* vendor, const char* description, const char* url,
                                             const char* interface_id) {
  return otd_plugin_descriptor_t{static_cast<uint32_t>(sizeof(otd_plugin_descriptor_t)),
                                 kind,
                                 id,
                                 name,
                                 version,
                                 vendor,
                                 url,
                                 description,
                                 interface_id};
}

/// The module (shared object) level: entry, negotiation and factory for a fixed list of classes.
/// MinHostMinor: the lowest host ABI minor this plugin can work with.
template <const PluginClass* Classes, size_t Count, uint32_t MinHostMinor = 0>
struct Module {
  static_assert(MinHostMinor <= OTD_ABI_MINOR, "a plugin cannot require a newer ABI minor than its headers define");
  static inline const otd_host_t* library_host = nullptr;

  static otd_status_t OTD_CALL negotiate(uint32_t host_minor, uint32_t* chosen, char* err, size_t cap) noexcept {
    if (chosen == nullptr) return OTD_ERR_INVALID_ARG;
    if (host_minor < MinHostMinor) {
      char msg[128];
      std::snprintf(msg, sizeof msg, "plugin needs host ABI %u.%u or newer, host speaks %u.%u", OTD_ABI_MAJOR,
                    MinHostMinor, OTD_ABI_MAJOR, host_minor);
      copy_message(err, cap, msg);
      return OTD_ERR_VERSION;
    }
    *chosen = std::min<uint32_t>(host_minor, OTD_ABI_MINOR);
    return OTD_OK;
  }
  static otd_status_t OTD_CALL init(const otd_host_t* host, char*, size_t) noexcept {
    library_host = host;
    return OTD_OK;
  }
  static void OTD_CALL deinit() noexcept { library_host = nullptr; }

  static uint32_t OTD_CALL count(const otd_plugin_factory_t*) noexcept { return static_cast<uint32_t>(Count); }
  static const otd_plugin_descriptor_t* OTD_CALL describe(const otd_plugin_factory_t*, uint32_t index) noexcept {
    return index < Count ? Classes[index].descriptor : nullptr;
  }
  static otd_status_t OTD_CALL create(const otd_plugin_factory_t*, const otd_host_t* host, const char* plugin_id,
                                      const otd_plugin_t** out, char* err, size_t cap) noexcept {
    if (plugin_id == nullptr || out == nullptr) return OTD_ERR_INVALID_ARG;
    return guard(err, cap, [&]() -> otd_status_t {
      for (size_t i = 0; i < Count; ++i) {
        const PluginClass& cls = Classes[i];
        if (std::strcmp(cls.descriptor->id, plugin_id) != 0) continue;
        auto instance = std::make_unique<detail::Instance>();
        instance->impl.reset(cls.construct(host));
        instance->c.struct_size = static_cast<uint32_t>(sizeof(otd_plugin_t));
        instance->c.desc = cls.descriptor;
        instance->c.plugin_data = instance.get();
        instance->c.init = &detail::instance_init;
        instance->c.destroy = &detail::instance_destroy;
        instance->c.get_interface = &detail::instance_get_interface;
        instance->c.self_test = instance->impl->has_self_test() ? &detail::instance_self_test : nullptr;
        *out = &instance.release()->c;
        return OTD_OK;
      }
      throw Error(OTD_ERR_NOT_FOUND, std::string("no plugin with id ") + plugin_id);
    });
  }

  static constexpr otd_plugin_factory_t factory{static_cast<uint32_t>(sizeof(otd_plugin_factory_t)), &count, &describe,
                                                &create};

  static const void* OTD_CALL get_factory(const char* id) noexcept {
    if (id != nullptr && std::strcmp(id, OTD_PLUGIN_FACTORY_ID) == 0) return &factory;
    return nullptr;
  }

  static constexpr otd_plugin_entry_t entry{static_cast<uint32_t>(sizeof(otd_plugin_entry_t)),
                                            OTD_ABI_MAJOR,
                                            OTD_ABI_MINOR,
                                            0,
                                            &negotiate,
                                            &init,
                                            &deinit,
                                            &get_factory};
};

}  // namespace otedama::sdk

/// Define the plugin's single exported entry symbol for the listed plugin classes.
#define OTEDAMA_PLUGIN_ENTRY(...)                                                                         \
  namespace {                                                                                             \
  constexpr ::otedama::sdk::PluginClass otedama_sdk_classes[] = {__VA_ARGS__};                            \
  using otedama_sdk_module =                                                                              \
      ::otedama::sdk::Module<otedama_sdk_classes, sizeof(otedama_sdk_classes) / sizeof(otedama_sdk_classes[0])>; \
  }                                                                                                       \
  extern "C" OTD_EXPORT const otd_plugin_entry_t otedama_plugin_entry;                                    \
  extern "C" OTD_EXPORT const otd_plugin_entry_t otedama_plugin_entry = otedama_sdk_module::entry

#endif  // OTEDAMA_SDK_PLUGIN_HPP
