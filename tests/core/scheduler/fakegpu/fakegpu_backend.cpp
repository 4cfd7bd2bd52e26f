// Test-only GPU backends for the de-duplication of one physical card listed by several backends
// (core/scheduler/device_selection.hpp): two plugins named like the real GPU backends ("cuda" and "vulkan":
// the scheduler classes backends by name), each listing synthetic cards with PCI bus ids and UUIDs:
//   cuda:   fakecuda0 (0000:01:00.0), fakecuda1 (0000:02:00.0, UUID 02..)
//   vulkan: fakevk0 (no bus id, UUID 02..: fakecuda1's card), fakevk1 (0000:03:00.0), fakevk2 (no identity)
// They open and close; run() hashes nothing and reports the range as done after a millisecond (as the
// flaky fixture does): the tests look at which devices the scheduler opens, not at hashes.
#include <otedama/sdk/backend.hpp>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace sdk = otedama::sdk;

struct Card {
  const char* id;
  bool pci;
  uint32_t bus;
  uint8_t uuid;  // 0 = none
};

template <class Traits>
class FakeGpu final : public sdk::Backend<FakeGpu<Traits>> {
 public:
  using sdk::Backend<FakeGpu<Traits>>::Backend;

  std::vector<otd_device_info_t> enumerate() {
    std::vector<otd_device_info_t> out;
    for (const Card& c : Traits::kCards) {
      otd_device_info_t info = sdk::device_info(OTD_DEVICE_SCAN, c.id, std::string("fake GPU ") + c.id, "sha256d");
      if (c.pci) sdk::set_pci_bus_id(info, 0, c.bus, 0, 0);
      if (c.uuid != 0) {
        uint8_t uuid[OTD_DEVICE_UUID_SIZE] = {};
        for (uint8_t& b : uuid) b = c.uuid;
        sdk::set_uuid(info, uuid);
      }
      out.push_back(info);
    }
    return out;
  }
  otd_device_t* open_device(uint32_t index, const otd_device_limits_t&) {
    if (index >= std::size(Traits::kCards)) throw sdk::Error(OTD_ERR_NOT_FOUND, "no such device");
    return reinterpret_cast<otd_device_t*>(new uint32_t(index));
  }
  void close_device(otd_device_t* d) { delete reinterpret_cast<uint32_t*>(d); }
  void set_limits(otd_device_t*, const otd_device_limits_t&) {}
  otd_device_telemetry_t telemetry(otd_device_t*) {
    otd_device_telemetry_t t = sdk::make_struct<otd_device_telemetry_t>();
    t.temperature_c = t.fan_percent = t.power_w = -1;
    return t;
  }
  otd_status_t run(otd_device_t*, uint32_t, const otd_work_unit_t& w, uint64_t& hashes_done) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    hashes_done = w.nonce_count;
    return OTD_OK;
  }
};

struct CudaCards {
  static constexpr Card kCards[] = {{"fakecuda0", true, 1, 0}, {"fakecuda1", true, 2, 2}};
};
struct VulkanCards {
  static constexpr Card kCards[] = {{"fakevk0", false, 0, 2}, {"fakevk1", true, 3, 0}, {"fakevk2", false, 0, 0}};
};

constexpr otd_plugin_descriptor_t kCudaDescriptor = sdk::descriptor(OTD_KIND_BACKEND, "org.test.backend.fakegpu-cuda", "cuda", "0.1.0", "Otedama tests",
                                                                    "synthetic cards named like the cuda backend", "", OTD_BACKEND_INTERFACE_ID);
constexpr otd_plugin_descriptor_t kVulkanDescriptor = sdk::descriptor(OTD_KIND_BACKEND, "org.test.backend.fakegpu-vulkan", "vulkan", "0.1.0",
                                                                      "Otedama tests", "synthetic cards named like the vulkan backend", "",
                                                                      OTD_BACKEND_INTERFACE_ID);

}  // namespace

OTEDAMA_PLUGIN_ENTRY(otedama::sdk::plugin_class<FakeGpu<CudaCards>>(kCudaDescriptor),
                     otedama::sdk::plugin_class<FakeGpu<VulkanCards>>(kVulkanDescriptor));
