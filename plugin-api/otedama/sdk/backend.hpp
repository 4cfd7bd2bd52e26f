// Otedama plugin SDK: the backend kind. SPDX-License-Identifier: MIT
//
// Derive `class MyBackend : public otedama::sdk::Backend<MyBackend>` and provide:
//   std::vector<otd_device_info_t> enumerate();
//   otd_device_t* open_device(uint32_t index, const otd_device_limits_t&);
//   void close_device(otd_device_t*);                       // join every thread started for it
//   void set_limits(otd_device_t*, const otd_device_limits_t&);
//   otd_device_telemetry_t telemetry(otd_device_t*);
// and for scan devices:
//   otd_status_t run(otd_device_t*, uint32_t lane, const otd_work_unit_t&, uint64_t& hashes_done);
// or for queued devices (all three):
//   otd_status_t push_work(otd_device_t*, const otd_work_unit_t&);
//   otd_status_t poll(otd_device_t*, uint32_t timeout_ms, otd_found_fn, void* user, uint64_t& hashes_done);
//   void flush_work(otd_device_t*);
#ifndef OTEDAMA_SDK_BACKEND_HPP
#define OTEDAMA_SDK_BACKEND_HPP

#include <otedama/sdk/plugin.hpp>

namespace otedama::sdk {

/// A device info with struct_size set and fields zeroed.
inline otd_device_info_t device_info(uint32_t style, std::string_view id, std::string_view name,
                                     std::string_view algorithms) noexcept {
  otd_device_info_t info = make_struct<otd_device_info_t>();
  info.style = style;
  copy_field(info.id, id);
  copy_field(info.name, name);
  copy_field(info.algorithms, algorithms);
  info.max_lanes = 1;
  info.numa_node = -1;
  info.nonce_size_max = 4;
  return info;
}

/// Sets a device info's PCI bus id from its parts, as Linux's sysfs writes it: "0000:01:00.0" (a domain
/// above 0xffff gets 8 digits). Every backend formats it here, so equal devices give equal text.
inline void set_pci_bus_id(otd_device_info_t& info, uint32_t domain, uint32_t bus, uint32_t device, uint32_t function) noexcept {
  static constexpr char kHex[] = "0123456789abcdef";
  char text[OTD_PCI_BUS_ID_CAP] = {};
  size_t n = 0;
  const auto put = [&](uint32_t value, int digits) {
    for (int d = digits - 1; d >= 0; --d) text[n++] = kHex[(value >> (4 * d)) & 0xfu];
  };
  put(domain, domain > 0xffffu ? 8 : 4);
  text[n++] = ':';
  put(bus & 0xffu, 2);
  text[n++] = ':';
  put(device & 0x1fu, 2);
  text[n++] = '.';
  put(function & 0x7u, 1);
  copy_field(info.pci_bus_id, std::string_view(text, n));
}

/// Sets a device info's UUID (16 bytes; all zero stays "unknown").
inline void set_uuid(otd_device_info_t& info, const uint8_t (&uuid)[OTD_DEVICE_UUID_SIZE]) noexcept {
  std::memcpy(info.uuid, uuid, OTD_DEVICE_UUID_SIZE);
}

template <class T>
struct BackendTable {
  static otd_status_t OTD_CALL enumerate(const otd_plugin_t* p, otd_device_info_t* infos, uint32_t capacity,
                                         uint32_t* count) noexcept {
    if (count == nullptr || (infos == nullptr && capacity != 0)) return OTD_ERR_INVALID_ARG;
    return guard(nullptr, 0, [&] {
      const std::vector<otd_device_info_t> devices = detail::self_as<T>(p).enumerate();
      *count = static_cast<uint32_t>(devices.size());
      for (uint32_t i = 0; i < capacity && i < devices.size(); ++i) {
        // Copy no more than the caller's struct holds (it may be an older, smaller version).
        const uint32_t size = std::min<uint32_t>(infos[i].struct_size, sizeof(otd_device_info_t));
        std::memcpy(&infos[i], &devices[i], size);
        infos[i].struct_size = size;
      }
    });
  }
  static otd_status_t OTD_CALL open_device(const otd_plugin_t* p, uint32_t index, const otd_device_limits_t* limits,
                                           otd_device_t** out, char* err, size_t cap) noexcept {
    if (out == nullptr || limits == nullptr) return OTD_ERR_INVALID_ARG;
    return guard(err, cap, [&] { *out = detail::self_as<T>(p).open_device(index, *limits); });
  }
  static void OTD_CALL close_device(const otd_plugin_t* p, otd_device_t* d) noexcept {
    try {
      detail::self_as<T>(p).close_device(d);
    } catch (...) {
    }
  }
  static otd_status_t OTD_CALL set_limits(const otd_plugin_t* p, otd_device_t* d,
                                          const otd_device_limits_t* limits) noexcept {
    if (limits == nullptr) return OTD_ERR_INVALID_ARG;
    return guard(nullptr, 0, [&] { detail::self_as<T>(p).set_limits(d, *limits); });
  }
  static otd_status_t OTD_CALL get_telemetry(const otd_plugin_t* p, otd_device_t* d,
                                             otd_device_telemetry_t* out) noexcept {
    if (out == nullptr || out->struct_size < sizeof(uint32_t)) return OTD_ERR_INVALID_ARG;
    return guard(nullptr, 0, [&] {
      // Copy no more than the caller's struct holds (an older host knows a smaller version).
      otd_device_telemetry_t t = detail::self_as<T>(p).telemetry(d);
      const uint32_t size = std::min<uint32_t>(out->struct_size, sizeof(otd_device_telemetry_t));
      t.struct_size = size;
      std::memcpy(out, &t, size);
    });
  }
  static otd_status_t OTD_CALL run(const otd_plugin_t* p, otd_device_t* d, uint32_t lane, const otd_work_unit_t* w,
                                   uint64_t* hashes, char* err, size_t cap) noexcept {
    if (w == nullptr || hashes == nullptr) return OTD_ERR_INVALID_ARG;
    *hashes = 0;
    return guard(err, cap, [&] { return detail::self_as<T>(p).run(d, lane, *w, *hashes); });
  }
  static otd_status_t OTD_CALL push_work(const otd_plugin_t* p, otd_device_t* d, const otd_work_unit_t* w, char* err,
                                         size_t cap) noexcept {
    if (w == nullptr) return OTD_ERR_INVALID_ARG;
    return guard(err, cap, [&] { return detail::self_as<T>(p).push_work(d, *w); });
  }
  static otd_status_t OTD_CALL poll(const otd_plugin_t* p, otd_device_t* d, uint32_t timeout_ms, otd_found_fn fn,
                                    void* user, uint64_t* hashes, char* err, size_t cap) noexcept {
    if (fn == nullptr || hashes == nullptr) return OTD_ERR_INVALID_ARG;
    *hashes = 0;
    return guard(err, cap, [&] { return detail::self_as<T>(p).poll(d, timeout_ms, fn, user, *hashes); });
  }
  static otd_status_t OTD_CALL flush_work(const otd_plugin_t* p, otd_device_t* d) noexcept {
    return guard(nullptr, 0, [&] { detail::self_as<T>(p).flush_work(d); });
  }

  static otd_backend_t make() noexcept {
    otd_backend_t t = make_struct<otd_backend_t>();
    t.enumerate = &enumerate;
    t.open_device = &open_device;
    t.close_device = &close_device;
    t.set_limits = &set_limits;
    t.get_telemetry = &get_telemetry;
    if constexpr (requires(T& x, otd_device_t* d, const otd_work_unit_t& w, uint64_t& h) {
                    { x.run(d, 0u, w, h) } -> std::same_as<otd_status_t>;
                  }) {
      t.run = &run;
    }
    if constexpr (requires(T& x, otd_device_t* d, const otd_work_unit_t& w, uint64_t& h) {
                    { x.push_work(d, w) } -> std::same_as<otd_status_t>;
                    { x.poll(d, 0u, otd_found_fn{}, nullptr, h) } -> std::same_as<otd_status_t>;
                    x.flush_work(d);
                  }) {
      t.push_work = &push_work;
      t.poll = &poll;
      t.flush_work = &flush_work;
    }
    return t;
  }
  static inline const otd_backend_t table = make();
};

template <class Derived>
class Backend : public Plugin {
 public:
  using Plugin::Plugin;
  [[nodiscard]] const void* get_interface(std::string_view id) const noexcept override {
    return id == OTD_BACKEND_INTERFACE_ID ? &BackendTable<Derived>::table : nullptr;
  }
};

}  // namespace otedama::sdk

#endif  // OTEDAMA_SDK_BACKEND_HPP
