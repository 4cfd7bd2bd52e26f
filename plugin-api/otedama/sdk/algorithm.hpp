// Otedama plugin SDK: the algorithm kind. SPDX-License-Identifier: MIT
//
// Derive `class MyAlgo : public otedama::sdk::Algorithm<MyAlgo>` and provide:
//   static constexpr const char* kName = "sha256d";  static constexpr const char* kCoinFamily = "bitcoin";
//   static constexpr uint32_t kFlags = 0;            // OTD_ALGO_*
//   void hash(const otd_algo_context_t*, std::span<const uint8_t> input, std::span<uint8_t, 32> out);
//   void verify(const otd_algo_context_t*, const otd_verify_request_t&, otd_verify_result_t&);
//   std::array<uint8_t, 32> target_from_difficulty(double difficulty);
//   double difficulty_from_target(std::span<const uint8_t, 32> target);
//   sdk::Blob build_blob(const otd_template_t&, std::span<const uint8_t> extranonce, uint32_t ntime,
//                        uint32_t version);
//   std::string implementation();                    // which run-time dispatched code path runs
//   void self_test() override;  bool has_self_test() const noexcept override { return true; }
// Optional (detected; NULL in the table when absent):
//   otd_algo_context_t* prepare_context(const otd_context_params_t&);  void release_context(otd_algo_context_t*);
//   otd_scan_state_t* create_scan_state(const otd_algo_context_t*, const otd_scan_params_t&);
//     (or create_scan_state(const otd_algo_context_t*) when the lane does not matter)
//   void destroy_scan_state(otd_scan_state_t*);
//   otd_status_t scan(otd_scan_state_t*, const otd_work_unit_t&, otd_scan_stats_t&);
#ifndef OTEDAMA_SDK_ALGORITHM_HPP
#define OTEDAMA_SDK_ALGORITHM_HPP

#include <otedama/sdk/plugin.hpp>

namespace otedama::sdk {

/// A hashing blob with the place of its nonce.
struct Blob {
  std::vector<uint8_t> bytes;
  uint32_t nonce_offset = 0;
  uint32_t nonce_size = 4;
};

template <class T>
struct AlgorithmTable {
  static otd_status_t OTD_CALL hash(const otd_plugin_t* p, const otd_algo_context_t* ctx, const uint8_t* in,
                                    size_t n, uint8_t* out, size_t out_cap, char* err, size_t cap) noexcept {
    if ((in == nullptr && n != 0) || out == nullptr || out_cap < OTD_HASH_SIZE) {
      copy_message(err, cap, "hash: NULL buffer or output smaller than 32 bytes");
      return OTD_ERR_INVALID_ARG;
    }
    return guard(err, cap, [&] {
      detail::self_as<T>(p).hash(ctx, std::span<const uint8_t>(in, n), std::span<uint8_t, OTD_HASH_SIZE>(out, OTD_HASH_SIZE));
    });
  }
  static otd_status_t OTD_CALL verify(const otd_plugin_t* p, const otd_algo_context_t* ctx,
                                      const otd_verify_request_t* req, otd_verify_result_t* res, char* err,
                                      size_t cap) noexcept {
    if (req == nullptr || res == nullptr || req->struct_size < sizeof(otd_verify_request_t) ||
        res->struct_size < sizeof(otd_verify_result_t)) {
      copy_message(err, cap, "verify: NULL or short request/result struct");
      return OTD_ERR_INVALID_ARG;
    }
    return guard(err, cap, [&] { detail::self_as<T>(p).verify(ctx, *req, *res); });
  }
  static otd_status_t OTD_CALL target_from_difficulty(const otd_plugin_t* p, double difficulty,
                                                      uint8_t target[OTD_HASH_SIZE]) noexcept {
    if (target == nullptr) return OTD_ERR_INVALID_ARG;
    return guard(nullptr, 0, [&] {
      const std::array<uint8_t, OTD_HASH_SIZE> t = detail::self_as<T>(p).target_from_difficulty(difficulty);
      std::memcpy(target, t.data(), t.size());
    });
  }
  static otd_status_t OTD_CALL difficulty_from_target(const otd_plugin_t* p, const uint8_t target[OTD_HASH_SIZE],
                                                      double* difficulty) noexcept {
    if (target == nullptr || difficulty == nullptr) return OTD_ERR_INVALID_ARG;
    return guard(nullptr, 0, [&] {
      *difficulty = detail::self_as<T>(p).difficulty_from_target(std::span<const uint8_t, OTD_HASH_SIZE>(target, OTD_HASH_SIZE));
    });
  }
  static otd_status_t OTD_CALL build_blob(const otd_plugin_t* p, const otd_template_t* tmpl, const uint8_t* en,
                                          uint32_t en_size, uint32_t ntime, uint32_t version, uint8_t* blob,
                                          uint32_t blob_cap, uint32_t* blob_size, uint32_t* nonce_offset,
                                          uint32_t* nonce_size, char* err, size_t cap) noexcept {
    if (tmpl == nullptr || blob_size == nullptr || nonce_offset == nullptr || nonce_size == nullptr ||
        (en == nullptr && en_size != 0)) {
      copy_message(err, cap, "build_blob: NULL argument");
      return OTD_ERR_INVALID_ARG;
    }
    return guard(err, cap, [&]() -> otd_status_t {
      Blob b = detail::self_as<T>(p).build_blob(*tmpl, std::span<const uint8_t>(en, en_size), ntime, version);
      *blob_size = static_cast<uint32_t>(b.bytes.size());
      *nonce_offset = b.nonce_offset;
      *nonce_size = b.nonce_size;
      if (blob == nullptr || blob_cap < b.bytes.size()) {
        copy_message(err, cap, "build_blob: buffer too small");
        return OTD_ERR_BUFFER_TOO_SMALL;
      }
      std::memcpy(blob, b.bytes.data(), b.bytes.size());
      return OTD_OK;
    });
  }
  static otd_status_t OTD_CALL get_info(const otd_plugin_t* p, otd_algorithm_info_t* info) noexcept {
    if (info == nullptr || info->struct_size < sizeof(otd_algorithm_info_t)) return OTD_ERR_INVALID_ARG;
    return guard(nullptr, 0, [&] {
      info->hash_size = OTD_HASH_SIZE;
      copy_field(info->implementation, detail::self_as<T>(p).implementation());
    });
  }
  static otd_status_t OTD_CALL prepare_context(const otd_plugin_t* p, const otd_context_params_t* params,
                                               otd_algo_context_t** out, char* err, size_t cap) noexcept {
    if (params == nullptr || out == nullptr) return OTD_ERR_INVALID_ARG;
    return guard(err, cap, [&] { *out = detail::self_as<T>(p).prepare_context(*params); });
  }
  static void OTD_CALL release_context(const otd_plugin_t* p, otd_algo_context_t* ctx) noexcept {
    try {
      detail::self_as<T>(p).release_context(ctx);
    } catch (...) {
    }
  }
  static otd_status_t OTD_CALL create_scan_state(const otd_plugin_t* p, const otd_algo_context_t* ctx,
                                                 const otd_scan_params_t* params, otd_scan_state_t** out, char* err,
                                                 size_t cap) noexcept {
    if (out == nullptr) return OTD_ERR_INVALID_ARG;
    // A caller without lane knowledge may pass NULL: the defaults (no huge pages, unknown node) apply.
    otd_scan_params_t defaults = make_struct<otd_scan_params_t>();
    defaults.numa_node = -1;
    const otd_scan_params_t& prm = params != nullptr && params->struct_size >= sizeof(otd_scan_params_t) ? *params : defaults;
    return guard(err, cap, [&] {
      if constexpr (requires(T& x) { x.create_scan_state(ctx, prm); }) {
        *out = detail::self_as<T>(p).create_scan_state(ctx, prm);
      } else {
        *out = detail::self_as<T>(p).create_scan_state(ctx);
      }
    });
  }
  static void OTD_CALL destroy_scan_state(const otd_plugin_t* p, otd_scan_state_t* state) noexcept {
    try {
      detail::self_as<T>(p).destroy_scan_state(state);
    } catch (...) {
    }
  }
  static otd_status_t OTD_CALL scan(const otd_plugin_t* p, otd_scan_state_t* state, const otd_work_unit_t* work,
                                    otd_scan_stats_t* stats) noexcept {
    if (work == nullptr || stats == nullptr) return OTD_ERR_INVALID_ARG;
    return guard(nullptr, 0, [&] { return detail::self_as<T>(p).scan(state, *work, *stats); });
  }

  static otd_algorithm_t make() noexcept {
    otd_algorithm_t t = make_struct<otd_algorithm_t>();
    t.flags = T::kFlags;
    t.name = T::kName;
    t.coin_family = T::kCoinFamily;
    t.hash = &hash;
    t.verify = &verify;
    t.target_from_difficulty = &target_from_difficulty;
    t.difficulty_from_target = &difficulty_from_target;
    t.build_blob = &build_blob;
    t.get_info = &get_info;
    if constexpr (requires(T& x, const otd_context_params_t& prm, otd_algo_context_t* c) {
                    x.prepare_context(prm);
                    x.release_context(c);
                  }) {
      t.prepare_context = &prepare_context;
      t.release_context = &release_context;
    }
    if constexpr (requires(T& x, const otd_algo_context_t* c, otd_scan_state_t* s, const otd_work_unit_t& w,
                           otd_scan_stats_t& st, const otd_scan_params_t& prm) {
                    requires requires { x.create_scan_state(c, prm); } || requires { x.create_scan_state(c); };
                    x.destroy_scan_state(s);
                    { x.scan(s, w, st) } -> std::same_as<otd_status_t>;
                  }) {
      t.create_scan_state = &create_scan_state;
      t.destroy_scan_state = &destroy_scan_state;
      t.scan = &scan;
    }
    return t;
  }
  static inline const otd_algorithm_t table = make();
};

template <class Derived>
class Algorithm : public Plugin {
 public:
  using Plugin::Plugin;
  [[nodiscard]] const void* get_interface(std::string_view id) const noexcept override {
    return id == OTD_ALGORITHM_INTERFACE_ID ? &AlgorithmTable<Derived>::table : nullptr;
  }
};

}  // namespace otedama::sdk

#endif  // OTEDAMA_SDK_ALGORITHM_HPP
