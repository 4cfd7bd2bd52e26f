#include "router/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <charconv>
#include <cstdio>
#include <set>

namespace otedama::router {

bool valid_metric_name(std::string_view name) noexcept {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

namespace {
// The text exposition format, version 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/):
// label values escape backslash, double quote and line feed; HELP text escapes backslash and line feed.
std::string escape_help(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}
std::string escape_label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}
std::string fmt_double(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  // The shortest text that reads back as the same double (0.1, not 0.10000000000000001).
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}
bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}
std::string label_set(const std::vector<std::string>& names, const std::vector<std::string>& values,
                      const std::string& extra = {}) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
    if (!out.empty()) out += ',';
    out += names[i] + "=\"" + escape_label(values[i]) + "\"";
  }
  if (!extra.empty()) {
    if (!out.empty()) out += ',';
    out += extra;
  }
  return out.empty() ? std::string() : "{" + out + "}";
}
}  // namespace

std::optional<uint32_t> Metrics::add(const Desc& desc, std::string* error) {
  auto fail = [&](const std::string& e) -> std::optional<uint32_t> {
    if (error != nullptr) *error = e;
    return std::nullopt;
  };
  if (!valid_metric_name(desc.name)) return fail("invalid metric name '" + desc.name + "'");
  if (desc.type != OTD_METRIC_COUNTER && desc.type != OTD_METRIC_GAUGE && desc.type != OTD_METRIC_HISTOGRAM)
    return fail("unknown metric type " + std::to_string(desc.type));
  // Prometheus naming: a counter's name ends in _total; label names are [a-zA-Z_][a-zA-Z0-9_]*, unique,
  // never the reserved __* and never le (histograms add it) or quantile.
  if (desc.type == OTD_METRIC_COUNTER && !ends_with(desc.name, "_total"))
    return fail("counter '" + desc.name + "' must end in _total (Prometheus naming)");
  std::set<std::string> seen;
  for (const auto& l : desc.labels) {
    if (!valid_metric_name(l) || l.find(':') != std::string::npos) return fail("invalid label name '" + l + "'");
    if (l.starts_with("__") || l == "le" || l == "quantile") return fail("label name '" + l + "' of '" + desc.name + "' is reserved");
    if (!seen.insert(l).second) return fail("label name '" + l + "' appears twice in '" + desc.name + "'");
  }
  if (desc.type == OTD_METRIC_HISTOGRAM) {
    for (const double b : desc.buckets)
      if (!std::isfinite(b)) return fail("histogram buckets of '" + desc.name + "' must be finite (+Inf is implicit)");
    if (std::adjacent_find(desc.buckets.begin(), desc.buckets.end()) != desc.buckets.end())
      return fail("histogram buckets of '" + desc.name + "' repeat a bound");
  }
  if (desc.type == OTD_METRIC_HISTOGRAM && !std::is_sorted(desc.buckets.begin(), desc.buckets.end()))
    return fail("histogram buckets of '" + desc.name + "' are not ascending");
  std::lock_guard lock(mutex_);
  for (uint32_t i = 0; i < metrics_.size(); ++i) {
    const Desc& d = metrics_[i].desc;
    if (d.name != desc.name) continue;
    if (d.type == desc.type && d.labels == desc.labels && d.buckets == desc.buckets) return i;
    return fail("metric '" + desc.name + "' already registered with a different description");
  }
  metrics_.push_back(Metric{desc, false, {}});
  return static_cast<uint32_t>(metrics_.size() - 1);
}

std::optional<uint32_t> Metrics::add_plugin(std::string_view plugin_id, const otd_metric_desc_t* desc, std::string* error) {
  if (desc == nullptr || desc->struct_size < sizeof(otd_metric_desc_t) || desc->name == nullptr) {
    if (error != nullptr) *error = "malformed metric descriptor";
    return std::nullopt;
  }
  if (desc->label_count > OTD_METRIC_MAX_LABELS || (desc->label_count > 0 && desc->label_names == nullptr) ||
      (desc->bucket_count > 0 && desc->buckets == nullptr)) {
    if (error != nullptr) *error = "metric descriptor label/bucket arrays are inconsistent";
    return std::nullopt;
  }
  Desc d;
  d.type = desc->type;
  d.name = std::string("otedama_") + desc->name;
  d.help = desc->help != nullptr ? desc->help : "";
  d.labels.emplace_back("plugin");
  for (uint32_t i = 0; i < desc->label_count; ++i) {
    if (desc->label_names[i] == nullptr) {
      if (error != nullptr) *error = "NULL label name";
      return std::nullopt;
    }
    d.labels.emplace_back(desc->label_names[i]);
  }
  d.buckets.assign(desc->buckets, desc->buckets + desc->bucket_count);
  (void)plugin_id;
  auto id = add(d, error);
  if (id) {
    std::lock_guard lock(mutex_);
    metrics_[*id].plugin = true;
  }
  return id;
}

void Metrics::update(uint32_t id, const std::vector<std::string>& label_values, double value) {
  std::lock_guard lock(mutex_);
  if (id >= metrics_.size() || label_values.size() != metrics_[id].desc.labels.size() || std::isnan(value)) {
    ++rejected_;
    return;
  }
  Metric& m = metrics_[id];
  Series& s = m.series[label_values];
  switch (m.desc.type) {
    case OTD_METRIC_COUNTER:
      if (value < 0) {
        ++rejected_;
        return;
      }
      s.value += value;
      break;
    case OTD_METRIC_GAUGE: s.value = value; break;
    case OTD_METRIC_HISTOGRAM:
      if (s.bucket_counts.empty()) s.bucket_counts.assign(m.desc.buckets.size(), 0);
      for (size_t i = 0; i < m.desc.buckets.size(); ++i)
        if (value <= m.desc.buckets[i]) ++s.bucket_counts[i];
      s.value += value;
      ++s.count;
      break;
    default: break;
  }
}

void Metrics::update_plugin(uint32_t id, std::string_view plugin_id, const char* const* label_values, double value) {
  std::vector<std::string> labels{std::string(plugin_id)};
  size_t n = 0;
  {
    std::lock_guard lock(mutex_);
    if (id >= metrics_.size() || !metrics_[id].plugin) {
      ++rejected_;
      return;
    }
    n = metrics_[id].desc.labels.size() - 1;
  }
  for (size_t i = 0; i < n; ++i) {
    if (label_values == nullptr || label_values[i] == nullptr) {
      std::lock_guard lock(mutex_);
      ++rejected_;
      return;
    }
    labels.emplace_back(label_values[i]);
  }
  update(id, labels, value);
}

std::string Metrics::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const Metric& m : metrics_) {
    const char* type = m.desc.type == OTD_METRIC_COUNTER ? "counter" : m.desc.type == OTD_METRIC_GAUGE ? "gauge" : "histogram";
    out += "# HELP " + m.desc.name + " " + escape_help(m.desc.help.empty() ? m.desc.name : m.desc.help) + "\n# TYPE " + m.desc.name + " " + type + "\n";
    for (const auto& [labels, s] : m.series) {
      if (m.desc.type != OTD_METRIC_HISTOGRAM) {
        out += m.desc.name + label_set(m.desc.labels, labels) + " " + fmt_double(s.value) + "\n";
        continue;
      }
      for (size_t i = 0; i < m.desc.buckets.size(); ++i)
        out += m.desc.name + "_bucket" + label_set(m.desc.labels, labels, "le=\"" + fmt_double(m.desc.buckets[i]) + "\"") + " " +
               std::to_string(s.bucket_counts.empty() ? 0 : s.bucket_counts[i]) + "\n";
      out += m.desc.name + "_bucket" + label_set(m.desc.labels, labels, "le=\"+Inf\"") + " " + std::to_string(s.count) + "\n";
      out += m.desc.name + "_sum" + label_set(m.desc.labels, labels) + " " + fmt_double(s.value) + "\n";
      out += m.desc.name + "_count" + label_set(m.desc.labels, labels) + " " + std::to_string(s.count) + "\n";
    }
  }
  return out;
}

std::optional<double> Metrics::value(std::string_view name, const std::vector<std::string>& labels) const {
  std::lock_guard lock(mutex_);
  for (const Metric& m : metrics_) {
    if (m.desc.name != name) continue;
    auto it = m.series.find(labels);
    if (it == m.series.end()) return std::nullopt;
    return it->second.value;
  }
  return std::nullopt;
}

uint64_t Metrics::rejected_updates() const {
  std::lock_guard lock(mutex_);
  return rejected_;
}

}  // namespace otedama::router
