// Metrics registry shared by the core and plugins; rendered in the Prometheus text exposition format.
#pragma once

#include <otedama/host.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace otedama::router {

class Metrics {
 public:
  struct Desc {
    otd_metric_type_t type = OTD_METRIC_COUNTER;
    std::string name;  ///< full name, with the otedama_ prefix
    std::string help;
    std::vector<std::string> labels;
    std::vector<double> buckets;
  };

  /// Register (idempotent when the description is the same). Returns the id or an error text.
  std::optional<uint32_t> add(const Desc& desc, std::string* error = nullptr);
  /// Register from a plugin's C descriptor: prefixes otedama_ and prepends a `plugin` label.
  std::optional<uint32_t> add_plugin(std::string_view plugin_id, const otd_metric_desc_t* desc, std::string* error);
  /// Counter: add; gauge: set; histogram: observe. Unknown ids or label counts are ignored (and counted).
  void update(uint32_t id, const std::vector<std::string>& label_values, double value);
  /// For plugin metrics: the plugin label value is filled in by the host.
  void update_plugin(uint32_t id, std::string_view plugin_id, const char* const* label_values, double value);

  [[nodiscard]] std::string render() const;
  [[nodiscard]] std::optional<double> value(std::string_view name, const std::vector<std::string>& labels = {}) const;
  [[nodiscard]] uint64_t rejected_updates() const;

 private:
  struct Series {
    double value = 0;
    std::vector<uint64_t> bucket_counts;
    uint64_t count = 0;
  };
  struct Metric {
    Desc desc;
    bool plugin = false;
    std::map<std::vector<std::string>, Series> series;
  };
  mutable std::mutex mutex_;
  std::vector<Metric> metrics_;
  uint64_t rejected_ = 0;
};

/// A metric name is [a-zA-Z_:][a-zA-Z0-9_:]* (Prometheus data model).
[[nodiscard]] bool valid_metric_name(std::string_view name) noexcept;

}  // namespace otedama::router
