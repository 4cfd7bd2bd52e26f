// Which enumerated device mines: one physical GPU that several backends list (CUDA, OpenCL and Vulkan all
// enumerate an NVIDIA card) is mined by one of them, chosen by mining.gpu.backends; mining.gpu.devices then
// picks from the de-duplicated GPU list. Pure functions of the enumerated lists, shared by the scheduler
// and `otedama-host --list-devices`, so that both number the GPUs the same way (docs/config.md).
#pragma once

#include <otedama/backend.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace otedama::scheduler {

/// Backends are matched to the mining.enable_* switches by their plugin name.
enum class DeviceClass { cpu, gpu, asic };
[[nodiscard]] DeviceClass device_class(std::string_view backend_name) noexcept;

/// The GPU backends mining.gpu.backends may name, in its default order.
inline constexpr std::string_view kGpuBackendNames[] = {"cuda", "opencl", "vulkan"};

/// One device as its backend enumerated it.
struct EnumeratedDevice {
  std::string backend_id;    ///< the backend plugin's id ("org.otedama.backend.cuda")
  std::string backend_name;  ///< its name ("cuda"): the class and the mining.gpu.backends rank
  uint32_t index = 0;        ///< in its backend's enumeration (open_device's index)
  otd_device_info_t info{};  ///< as enumerated; identity fields read only within info.struct_size
};

/// What the selection decided for one device of the ordered list.
struct DeviceChoice {
  /// The device's number in the de-duplicated GPU list (what mining.gpu.devices indexes); -1 for a
  /// duplicate and for CPU and ASIC devices.
  int gpu_index = -1;
  /// Index (in the ordered list) of the entry that mines this physical device instead; -1 when none.
  int duplicate_of = -1;
};

/// The PCI bus id a device reports ("" when none, or when its backend's struct predates the field).
[[nodiscard]] std::string_view pci_bus_id(const otd_device_info_t& info) noexcept;
/// Whether a device reports a UUID (not all zero, and within its struct_size).
[[nodiscard]] bool has_uuid(const otd_device_info_t& info) noexcept;
/// Whether two entries are one physical device: equal PCI bus ids, or, where either lacks one, equal
/// UUIDs. Entries without any identity are never the same as another.
[[nodiscard]] bool same_physical_device(const otd_device_info_t& a, const otd_device_info_t& b) noexcept;

/// Orders `devices` for listing and numbering: CPU and ASIC devices first in their given (load) order,
/// then GPU devices by their backend's rank in `gpu_backends` (backends it does not name after those it
/// names, in load order), each backend's devices in enumeration order. Stable.
void order_devices(std::vector<EnumeratedDevice>& devices, std::span<const std::string> gpu_backends);

/// De-duplicates an ordered list (order_devices). GPU entries that are one physical device form a group
/// numbered by its first entry's position; the group is mined by its first entry whose algorithms include
/// `algorithm` (the first entry when none does, or when `algorithm` is empty), which carries the group's
/// gpu_index; the others are its duplicates. Entries of one backend can be duplicates of each other too
/// (one card under two OpenCL platforms).
[[nodiscard]] std::vector<DeviceChoice> deduplicate(std::span<const EnumeratedDevice> devices, std::string_view algorithm);

/// Whether mining.gpu.devices (`selected`, empty = every GPU) admits a GPU of this gpu_index.
[[nodiscard]] bool gpu_selected(std::span<const int> selected, int gpu_index) noexcept;

/// "duplicate of org.otedama.backend.cuda device cuda0 (gpu 0)": the words --list-devices, the API and the
/// log use for a duplicate entry.
[[nodiscard]] std::string duplicate_words(const EnumeratedDevice& original, const DeviceChoice& original_choice);

}  // namespace otedama::scheduler
