// Otedama plugin SDK: the payout scheme kind. SPDX-License-Identifier: MIT
//
// Derive `class MyScheme : public otedama::sdk::Payout<MyScheme>` and provide:
//   static constexpr const char* kScheme = "PPLNS";
//   otd_payout_window_t window();
//   std::vector<otd_credit_t> compute(const otd_payout_request_t&);   // pure and deterministic
// Helpers for exact integer money arithmetic are in this header.
#ifndef OTEDAMA_SDK_PAYOUT_HPP
#define OTEDAMA_SDK_PAYOUT_HPP

#include <otedama/sdk/plugin.hpp>

namespace otedama::sdk {

// 128-bit intermediates; __extension__ keeps -Wpedantic quiet about the GNU type.
__extension__ typedef unsigned __int128 uint128_t;

/// floor(a * b / c) without overflow for 64-bit operands (c > 0). Throws when the result exceeds 64 bits.
inline uint64_t mul_div_floor(uint64_t a, uint64_t b, uint64_t c) {
  if (c == 0) throw Error(OTD_ERR_INVALID_ARG, "mul_div_floor: division by zero");
  const uint128_t product = static_cast<uint128_t>(a) * b;
  const uint128_t q = product / c;
  if (q > UINT64_MAX) throw Error(OTD_ERR_INVALID_ARG, "mul_div_floor: result exceeds 64 bits");
  return static_cast<uint64_t>(q);
}

/// The fee part of an amount: floor(amount * fee_ppm / 1e6). fee_ppm above 1e6 is an error.
inline uint64_t fee_of(uint64_t amount, uint32_t fee_ppm) {
  if (fee_ppm > 1000000u) throw Error(OTD_ERR_INVALID_ARG, "fee above 100%");
  return mul_div_floor(amount, fee_ppm, 1000000u);
}

template <class T>
struct PayoutTable {
  static otd_status_t OTD_CALL get_window(const otd_plugin_t* p, otd_payout_window_t* w) noexcept {
    if (w == nullptr || w->struct_size < sizeof(otd_payout_window_t)) return OTD_ERR_INVALID_ARG;
    return guard(nullptr, 0, [&] {
      otd_payout_window_t value = detail::self_as<T>(p).window();
      value.struct_size = sizeof(otd_payout_window_t);
      *w = value;
    });
  }
  static otd_status_t OTD_CALL compute(const otd_plugin_t* p, const otd_payout_request_t* req, otd_credit_t* credits,
                                       uint64_t capacity, uint64_t* count, char* err, size_t cap) noexcept {
    if (req == nullptr || count == nullptr || (credits == nullptr && capacity != 0) ||
        req->struct_size < sizeof(otd_payout_request_t) || (req->shares == nullptr && req->share_count != 0)) {
      copy_message(err, cap, "compute: NULL or short request");
      return OTD_ERR_INVALID_ARG;
    }
    return guard(err, cap, [&]() -> otd_status_t {
      const std::vector<otd_credit_t> out = detail::self_as<T>(p).compute(*req);
      *count = out.size();
      if (capacity < out.size()) {
        copy_message(err, cap, "compute: credit buffer too small");
        return OTD_ERR_BUFFER_TOO_SMALL;
      }
      // The caller's stride (payout.h, "Arrays"): it may know a larger or smaller otd_credit_t than we do.
      const uint32_t stride = capacity > 0 ? credits[0].struct_size : 0;
      if (!out.empty() && stride < offsetof(otd_credit_t, amount) + sizeof(uint64_t)) {
        copy_message(err, cap, "compute: credits[0].struct_size is smaller than ABI 1.0's otd_credit_t");
        return OTD_ERR_INVALID_ARG;
      }
      auto* base = reinterpret_cast<char*>(credits);
      for (size_t i = 0; i < out.size(); ++i) {
        otd_credit_t c = out[i];
        c.struct_size = stride;
        std::memcpy(base + i * stride, &c, std::min<size_t>(stride, sizeof(otd_credit_t)));
      }
      return OTD_OK;
    });
  }
  static otd_payout_t make() noexcept {
    otd_payout_t t = make_struct<otd_payout_t>();
    t.scheme = T::kScheme;
    t.get_window = &get_window;
    t.compute = &compute;
    return t;
  }
  static inline const otd_payout_t table = make();
};

template <class Derived>
class Payout : public Plugin {
 public:
  using Plugin::Plugin;
  [[nodiscard]] const void* get_interface(std::string_view id) const noexcept override {
    return id == OTD_PAYOUT_INTERFACE_ID ? &PayoutTable<Derived>::table : nullptr;
  }
};

}  // namespace otedama::sdk

#endif  // OTEDAMA_SDK_PAYOUT_HPP
