// core/scheduler/device_selection.cpp: one physical GPU several backends enumerate is mined once, by the
// backend mining.gpu.backends prefers (among those that run the mined algorithm); mining.gpu.devices
// indexes the de-duplicated GPU list. Synthetic device lists: no hardware needed.
#include <gtest/gtest.h>

#include "scheduler/device_selection.hpp"

#include <otedama/sdk/backend.hpp>

#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

namespace {

namespace sch = otedama::scheduler;

const std::vector<std::string> kDefaultOrder{"cuda", "opencl", "vulkan"};

struct Spec {
  std::string backend;  // "cuda", "opencl", "vulkan", "cpu", "demo-asic"
  std::string id;
  std::string pci;      // "" = none
  int uuid = 0;         // 0 = none, else the UUID's first byte (the rest 0x5a)
  std::string algorithms = "sha256d,scrypt,ethash,kawpow";
};

sch::EnumeratedDevice make(const Spec& s, uint32_t index) {
  sch::EnumeratedDevice d;
  d.backend_id = "org.otedama.backend." + s.backend;
  d.backend_name = s.backend;
  d.index = index;
  d.info = otedama::sdk::device_info(OTD_DEVICE_SCAN, s.id, s.id + " model", s.algorithms);
  otedama::sdk::copy_field(d.info.pci_bus_id, s.pci);
  if (s.uuid != 0) {
    std::memset(d.info.uuid, 0x5a, sizeof d.info.uuid);
    d.info.uuid[0] = static_cast<uint8_t>(s.uuid);
  }
  return d;
}

/// Devices in load order (as the loader lists backends: by file name), each backend's in enumeration order.
std::vector<sch::EnumeratedDevice> list(const std::vector<Spec>& specs) {
  std::vector<sch::EnumeratedDevice> out;
  std::string last;
  uint32_t index = 0;
  for (const Spec& s : specs) {
    index = s.backend == last ? index + 1 : 0;
    last = s.backend;
    out.push_back(make(s, index));
  }
  return out;
}

std::string id(const sch::EnumeratedDevice& d) { return d.info.id; }

/// "id:gpuN" for mined GPUs, "id=dupOf" for duplicates, "id" for the rest: the whole decision in one string.
std::string describe(const std::vector<sch::EnumeratedDevice>& devices, const std::vector<sch::DeviceChoice>& choices) {
  std::string out;
  for (size_t i = 0; i < devices.size(); ++i) {
    out += out.empty() ? "" : " ";
    out += id(devices[i]);
    if (choices[i].gpu_index >= 0) out += ":gpu" + std::to_string(choices[i].gpu_index);
    if (choices[i].duplicate_of >= 0) out += "=" + id(devices[static_cast<size_t>(choices[i].duplicate_of)]);
  }
  return out;
}

std::string run(std::vector<sch::EnumeratedDevice> devices, const std::vector<std::string>& order, std::string_view algorithm) {
  sch::order_devices(devices, order);
  return describe(devices, sch::deduplicate(devices, algorithm));
}

// One NVIDIA card (CUDA, OpenCL and Vulkan list it) and one AMD card (OpenCL and Vulkan), and the CPU.
std::vector<sch::EnumeratedDevice> two_cards() {
  return list({
      {"cpu", "cpu0", "", 0, "*"},
      {"cuda", "cuda0", "0000:01:00.0", 1},
      {"opencl", "opencl0.0", "0000:01:00.0", 0},  // cl_nv_device_attribute_query: bus id, no UUID
      {"opencl", "opencl1.0", "0000:03:00.0", 2},  // cl_khr_pci_bus_info + cl_khr_device_uuid
      {"vulkan", "vulkan0", "0000:03:00.0", 2},
      {"vulkan", "vulkan1", "0000:01:00.0", 1},
  });
}

TEST(DeviceSelection, SamePhysicalDevice) {
  const auto a = make({"cuda", "a", "0000:01:00.0", 1}, 0);
  EXPECT_TRUE(sch::same_physical_device(a.info, make({"vulkan", "b", "0000:01:00.0", 0}, 0).info)) << "equal bus ids";
  EXPECT_TRUE(sch::same_physical_device(a.info, make({"vulkan", "b", "", 1}, 0).info)) << "no bus id on one side: the UUID decides";
  EXPECT_FALSE(sch::same_physical_device(a.info, make({"vulkan", "b", "", 2}, 0).info)) << "different UUIDs";
  EXPECT_FALSE(sch::same_physical_device(a.info, make({"vulkan", "b", "0000:02:00.0", 1}, 0).info))
      << "two bus ids decide alone, even with equal UUIDs";
  // No identity at all (PoCL, lavapipe: software on the CPU) is never the same as anything, itself included.
  const auto pocl = make({"opencl", "pocl", "", 0}, 0);
  const auto lavapipe = make({"vulkan", "lavapipe", "", 0}, 0);
  EXPECT_FALSE(sch::same_physical_device(pocl.info, lavapipe.info));
  EXPECT_FALSE(sch::same_physical_device(pocl.info, pocl.info));
  EXPECT_FALSE(sch::has_uuid(pocl.info));
  EXPECT_TRUE(sch::has_uuid(a.info));
  EXPECT_EQ(sch::pci_bus_id(a.info), "0000:01:00.0");
}

TEST(DeviceSelection, IdentityBeyondAnOlderStructIsIgnored) {
  // A backend built against ABI 1.0 fills 360 bytes: whatever lies beyond is not its identity.
  auto a = make({"cuda", "a", "0000:01:00.0", 1}, 0);
  auto b = make({"opencl", "b", "0000:01:00.0", 1}, 0);
  b.info.struct_size = offsetof(otd_device_info_t, pci_bus_id);
  EXPECT_EQ(sch::pci_bus_id(b.info), "");
  EXPECT_FALSE(sch::has_uuid(b.info));
  EXPECT_FALSE(sch::same_physical_device(a.info, b.info));
  b.info.struct_size = offsetof(otd_device_info_t, uuid);  // bus id known, UUID not
  EXPECT_TRUE(sch::same_physical_device(a.info, b.info));
  EXPECT_FALSE(sch::has_uuid(b.info));
}

TEST(DeviceSelection, DefaultOrderPrefersCudaThenOpenclThenVulkan) {
  EXPECT_EQ(run(two_cards(), kDefaultOrder, "ethash"),
            "cpu0 cuda0:gpu0 opencl0.0=cuda0 opencl1.0:gpu1 vulkan0=opencl1.0 vulkan1=cuda0");
}

TEST(DeviceSelection, PreferenceOrderDecides) {
  EXPECT_EQ(run(two_cards(), {"vulkan", "opencl", "cuda"}, "ethash"),
            "cpu0 vulkan0:gpu0 vulkan1:gpu1 opencl0.0=vulkan1 opencl1.0=vulkan0 cuda0=vulkan1");
  // Backends the preference does not name rank after those it names, in load order.
  EXPECT_EQ(run(two_cards(), {"opencl"}, "ethash"), "cpu0 opencl0.0:gpu0 opencl1.0:gpu1 cuda0=opencl0.0 vulkan0=opencl1.0 vulkan1=opencl0.0");
  EXPECT_EQ(run(two_cards(), {}, "ethash"), "cpu0 cuda0:gpu0 opencl0.0=cuda0 opencl1.0:gpu1 vulkan0=opencl1.0 vulkan1=cuda0");
}

TEST(DeviceSelection, TheMinerIsThePreferredBackendThatRunsTheAlgorithm) {
  auto devices = two_cards();
  std::strcpy(devices[1].info.algorithms, "sha256d,scrypt");  // cuda0 without kawpow
  // The card keeps its number (its first entry's position); the OpenCL entry mines it and carries it.
  EXPECT_EQ(run(devices, kDefaultOrder, "kawpow"), "cpu0 cuda0=opencl0.0 opencl0.0:gpu0 opencl1.0:gpu1 vulkan0=opencl1.0 vulkan1=opencl0.0");
  EXPECT_EQ(run(devices, kDefaultOrder, "sha256d"), "cpu0 cuda0:gpu0 opencl0.0=cuda0 opencl1.0:gpu1 vulkan0=opencl1.0 vulkan1=cuda0");
  // No entry runs it: the first one is named (and the scheduler then finds it cannot run it).
  EXPECT_EQ(run(devices, kDefaultOrder, "randomx"), "cpu0 cuda0:gpu0 opencl0.0=cuda0 opencl1.0:gpu1 vulkan0=opencl1.0 vulkan1=cuda0");
  // No algorithm (a listing without mining.algorithm): preference alone.
  EXPECT_EQ(run(devices, kDefaultOrder, ""), "cpu0 cuda0:gpu0 opencl0.0=cuda0 opencl1.0:gpu1 vulkan0=opencl1.0 vulkan1=cuda0");
}

TEST(DeviceSelection, DevicesWithoutIdentityAreKeptAsToday) {
  // CI: PoCL (OpenCL on the CPU) and lavapipe (Vulkan on the CPU) report no identity: both stay, each its
  // own GPU number; the CPU backend's device is no GPU at all.
  const auto devices = list({{"cpu", "cpu0", "", 0, "*"}, {"opencl", "opencl0.0", "", 0}, {"vulkan", "vulkan0", "", 0}});
  EXPECT_EQ(run(devices, kDefaultOrder, "sha256d"), "cpu0 opencl0.0:gpu0 vulkan0:gpu1");
  EXPECT_EQ(run(devices, {"vulkan", "opencl"}, "sha256d"), "cpu0 vulkan0:gpu0 opencl0.0:gpu1");
}

TEST(DeviceSelection, OneBackendListingOneCardTwice) {
  // One AMD card under two OpenCL platforms (ROCm and rusticl): the first platform's entry mines it.
  const auto devices = list({{"opencl", "opencl0.0", "0000:03:00.0", 0}, {"opencl", "opencl1.0", "0000:03:00.0", 0},
                             {"opencl", "opencl1.1", "0000:04:00.0", 0}});
  EXPECT_EQ(run(devices, kDefaultOrder, "ethash"), "opencl0.0:gpu0 opencl1.0=opencl0.0 opencl1.1:gpu1");
}

TEST(DeviceSelection, MatchingByUuidAcrossEntriesWithAndWithoutBusIds) {
  // CUDA knows both, Vulkan only the UUID (no VK_EXT_pci_bus_info), OpenCL only the bus id: one card.
  const auto devices = list({{"cuda", "cuda0", "0000:01:00.0", 7}, {"opencl", "opencl0.0", "0000:01:00.0", 0}, {"vulkan", "vulkan0", "", 7}});
  EXPECT_EQ(run(devices, kDefaultOrder, "ethash"), "cuda0:gpu0 opencl0.0=cuda0 vulkan0=cuda0");
}

TEST(DeviceSelection, AsicAndCpuDevicesAreNeverGpusOrDuplicates) {
  const auto devices = list({{"cpu", "cpu0", "", 0, "*"}, {"demo-asic", "usb:1-2", "0000:01:00.0", 1, "sha256d"},
                             {"cuda", "cuda0", "0000:01:00.0", 1}});
  EXPECT_EQ(run(devices, kDefaultOrder, "sha256d"), "cpu0 usb:1-2 cuda0:gpu0");
}

TEST(DeviceSelection, GpuDevicesIndexesTheDeduplicatedList) {
  auto devices = two_cards();
  sch::order_devices(devices, kDefaultOrder);
  const auto choices = sch::deduplicate(devices, "ethash");
  const auto mined = [&](const std::vector<int>& selected) {
    std::string out;
    for (size_t i = 0; i < devices.size(); ++i)
      if (sch::gpu_selected(selected, choices[i].gpu_index)) out += (out.empty() ? "" : " ") + id(devices[i]);
    return out;
  };
  EXPECT_EQ(mined({}), "cuda0 opencl1.0") << "empty = every GPU, each once";
  EXPECT_EQ(mined({1}), "opencl1.0");
  EXPECT_EQ(mined({0}), "cuda0");
  EXPECT_EQ(mined({0, 1}), "cuda0 opencl1.0");
  EXPECT_EQ(mined({2}), "") << "no third GPU";
  EXPECT_FALSE(sch::gpu_selected({}, -1)) << "a duplicate is never selected";
}

TEST(DeviceSelection, DuplicateWords) {
  auto devices = two_cards();
  sch::order_devices(devices, kDefaultOrder);
  const auto choices = sch::deduplicate(devices, "ethash");
  ASSERT_EQ(id(devices[2]), "opencl0.0");
  ASSERT_EQ(choices[2].duplicate_of, 1);
  EXPECT_EQ(sch::duplicate_words(devices[1], choices[1]), "duplicate of org.otedama.backend.cuda device cuda0 (gpu 0)");
}

TEST(DeviceSelection, DeviceClasses) {
  EXPECT_EQ(sch::device_class("cpu"), sch::DeviceClass::cpu);
  EXPECT_EQ(sch::device_class("cuda"), sch::DeviceClass::gpu);
  EXPECT_EQ(sch::device_class("opencl"), sch::DeviceClass::gpu);
  EXPECT_EQ(sch::device_class("vulkan"), sch::DeviceClass::gpu);
  EXPECT_EQ(sch::device_class("test-asic"), sch::DeviceClass::asic);
}

}  // namespace
