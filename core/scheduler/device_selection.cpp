#include "scheduler/device_selection.hpp"

#include "scheduler/scheduler.hpp"

#include <algorithm>
#include <cstddef>
#include <cstring>

namespace otedama::scheduler {

DeviceClass device_class(std::string_view backend_name) noexcept {
  if (backend_name == "cpu") return DeviceClass::cpu;
  for (const std::string_view gpu : kGpuBackendNames)
    if (backend_name == gpu) return DeviceClass::gpu;
  return DeviceClass::asic;
}

std::string_view pci_bus_id(const otd_device_info_t& info) noexcept {
  if (info.struct_size < OTD_FIELD_END(otd_device_info_t, pci_bus_id)) return {};
  return {info.pci_bus_id, strnlen(info.pci_bus_id, sizeof info.pci_bus_id)};
}

bool has_uuid(const otd_device_info_t& info) noexcept {
  if (info.struct_size < OTD_FIELD_END(otd_device_info_t, uuid)) return false;
  return std::any_of(std::begin(info.uuid), std::end(info.uuid), [](uint8_t b) { return b != 0; });
}

bool same_physical_device(const otd_device_info_t& a, const otd_device_info_t& b) noexcept {
  const std::string_view pa = pci_bus_id(a), pb = pci_bus_id(b);
  // Two bus ids decide alone: a UUID scheme that differs between two drivers must not merge two cards.
  if (!pa.empty() && !pb.empty()) return pa == pb;
  return has_uuid(a) && has_uuid(b) && std::memcmp(a.uuid, b.uuid, sizeof a.uuid) == 0;
}

void order_devices(std::vector<EnumeratedDevice>& devices, std::span<const std::string> gpu_backends) {
  // Backends the preference does not name rank after it, among themselves in load order (the order of
  // their first device in the input).
  std::vector<std::string> unnamed;
  for (const auto& d : devices) {
    if (device_class(d.backend_name) != DeviceClass::gpu) continue;
    if (std::find(gpu_backends.begin(), gpu_backends.end(), d.backend_name) != gpu_backends.end()) continue;
    if (std::find(unnamed.begin(), unnamed.end(), d.backend_name) == unnamed.end()) unnamed.push_back(d.backend_name);
  }
  const auto rank = [&](const EnumeratedDevice& d) -> size_t {
    if (device_class(d.backend_name) != DeviceClass::gpu) return 0;
    const auto named = std::find(gpu_backends.begin(), gpu_backends.end(), d.backend_name);
    if (named != gpu_backends.end()) return 1 + static_cast<size_t>(named - gpu_backends.begin());
    return 1 + gpu_backends.size() + static_cast<size_t>(std::find(unnamed.begin(), unnamed.end(), d.backend_name) - unnamed.begin());
  };
  std::stable_sort(devices.begin(), devices.end(), [&](const EnumeratedDevice& a, const EnumeratedDevice& b) {
    const size_t ra = rank(a), rb = rank(b);
    if (ra != rb) return ra < rb;
    // Within one backend (or among CPU/ASIC devices) the given order stands.
    return ra != 0 && a.backend_id == b.backend_id ? a.index < b.index : false;
  });
}

std::vector<DeviceChoice> deduplicate(std::span<const EnumeratedDevice> devices, std::string_view algorithm) {
  std::vector<DeviceChoice> choices(devices.size());
  std::vector<std::vector<size_t>> groups;  // entries of one physical GPU, in list order
  for (size_t i = 0; i < devices.size(); ++i) {
    if (device_class(devices[i].backend_name) != DeviceClass::gpu) continue;
    auto group = std::find_if(groups.begin(), groups.end(), [&](const std::vector<size_t>& g) {
      return std::any_of(g.begin(), g.end(), [&](size_t j) { return same_physical_device(devices[i].info, devices[j].info); });
    });
    if (group == groups.end()) groups.push_back({i});
    else group->push_back(i);
  }
  int next_gpu = 0;
  for (const auto& g : groups) {
    size_t miner = g.front();
    if (!algorithm.empty()) {
      for (const size_t j : g) {
        const otd_device_info_t& info = devices[j].info;
        if (runs_algorithm(std::string_view(info.algorithms, strnlen(info.algorithms, sizeof info.algorithms)), algorithm)) {
          miner = j;
          break;
        }
      }
    }
    choices[miner].gpu_index = next_gpu++;
    for (const size_t j : g)
      if (j != miner) choices[j].duplicate_of = static_cast<int>(miner);
  }
  return choices;
}

bool gpu_selected(std::span<const int> selected, int gpu_index) noexcept {
  if (gpu_index < 0) return false;
  return selected.empty() || std::find(selected.begin(), selected.end(), gpu_index) != selected.end();
}

std::string duplicate_words(const EnumeratedDevice& original, const DeviceChoice& original_choice) {
  const otd_device_info_t& info = original.info;
  return "duplicate of " + original.backend_id + " device " + std::string(info.id, strnlen(info.id, sizeof info.id)) +
         (original_choice.gpu_index >= 0 ? " (gpu " + std::to_string(original_choice.gpu_index) + ")" : std::string());
}

}  // namespace otedama::scheduler
