// Otedama plugin SDK: the transport kind. SPDX-License-Identifier: MIT
//
// Derive `class MyTransport : public otedama::sdk::Transport<MyTransport>` and provide:
//   static constexpr uint32_t kRoles = OTD_TRANSPORT_JOB_SOURCE;   // OTD_TRANSPORT_*
//   void start();  void stop();  otd_transport_status_t status();
// Optional (detected):
//   void on_job(const otd_job_t&);                       // servers and peers
//   void on_share_result(const otd_share_result_t&);     // servers and peers
//   void submit_block(const otd_block_t&);                // job sources
//   void submit_share(const otd_candidate_t&, const otd_verify_result_t&);  // upstream pools
#ifndef OTEDAMA_SDK_TRANSPORT_HPP
#define OTEDAMA_SDK_TRANSPORT_HPP

#include <otedama/sdk/plugin.hpp>

namespace otedama::sdk {

template <class T>
struct TransportTable {
  static otd_status_t OTD_CALL start(const otd_plugin_t* p, char* err, size_t cap) noexcept {
    return guard(err, cap, [&] { detail::self_as<T>(p).start(); });
  }
  static void OTD_CALL stop(const otd_plugin_t* p) noexcept {
    try {
      detail::self_as<T>(p).stop();
    } catch (...) {
    }
  }
  static otd_status_t OTD_CALL get_status(const otd_plugin_t* p, otd_transport_status_t* s) noexcept {
    if (s == nullptr || s->struct_size < sizeof(otd_transport_status_t)) return OTD_ERR_INVALID_ARG;
    return guard(nullptr, 0, [&] {
      otd_transport_status_t value = detail::self_as<T>(p).status();
      value.struct_size = sizeof(otd_transport_status_t);
      *s = value;
    });
  }
  static otd_status_t OTD_CALL on_job(const otd_plugin_t* p, const otd_job_t* job) noexcept {
    if (job == nullptr) return OTD_ERR_INVALID_ARG;
    return guard(nullptr, 0, [&] { detail::self_as<T>(p).on_job(*job); });
  }
  static otd_status_t OTD_CALL on_share_result(const otd_plugin_t* p, const otd_share_result_t* r) noexcept {
    if (r == nullptr) return OTD_ERR_INVALID_ARG;
    return guard(nullptr, 0, [&] { detail::self_as<T>(p).on_share_result(*r); });
  }
  static otd_status_t OTD_CALL submit_block(const otd_plugin_t* p, const otd_block_t* b, char* err,
                                            size_t cap) noexcept {
    if (b == nullptr) return OTD_ERR_INVALID_ARG;
    return guard(err, cap, [&] { detail::self_as<T>(p).submit_block(*b); });
  }
  static otd_status_t OTD_CALL submit_share(const otd_plugin_t* p, const otd_candidate_t* c,
                                            const otd_verify_result_t* v) noexcept {
    if (c == nullptr || v == nullptr) return OTD_ERR_INVALID_ARG;
    return guard(nullptr, 0, [&] { detail::self_as<T>(p).submit_share(*c, *v); });
  }

  static otd_transport_t make() noexcept {
    otd_transport_t t = make_struct<otd_transport_t>();
    t.roles = T::kRoles;
    t.start = &start;
    t.stop = &stop;
    t.get_status = &get_status;
    if constexpr (requires(T& x, const otd_job_t& j) { x.on_job(j); }) t.on_job = &on_job;
    if constexpr (requires(T& x, const otd_share_result_t& r) { x.on_share_result(r); })
      t.on_share_result = &on_share_result;
    if constexpr (requires(T& x, const otd_block_t& b) { x.submit_block(b); }) t.submit_block = &submit_block;
    if constexpr (requires(T& x, const otd_candidate_t& c, const otd_verify_result_t& v) { x.submit_share(c, v); })
      t.submit_share = &submit_share;
    return t;
  }
  static inline const otd_transport_t table = make();
};

template <class Derived>
class Transport : public Plugin {
 public:
  using Plugin::Plugin;
  [[nodiscard]] const void* get_interface(std::string_view id) const noexcept override {
    return id == OTD_TRANSPORT_INTERFACE_ID ? &TransportTable<Derived>::table : nullptr;
  }
};

}  // namespace otedama::sdk

#endif  // OTEDAMA_SDK_TRANSPORT_HPP
