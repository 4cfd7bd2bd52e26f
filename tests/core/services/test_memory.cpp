// Tests of the host's memory service (otedama.memory/1): huge pages with fallback, NUMA binding, errors.
#include "services/memory.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace {

std::vector<std::string> g_logs;
void OTD_CALL capture(const otd_host_t*, otd_log_level_t, const char* msg) { g_logs.emplace_back(msg); }

otd_host_t fake_host() {
  otd_host_t h{};
  h.struct_size = sizeof h;
  h.log = &capture;
  return h;
}

}  // namespace

TEST(MemoryService, TableIsComplete) {
  const otd_memory_service_t* m = otedama::services::memory_service();
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->struct_size, sizeof(otd_memory_service_t));
  EXPECT_GE(m->numa_nodes, 1u);
  EXPECT_NE(m->allocate, nullptr);
  EXPECT_NE(m->release, nullptr);
}

TEST(MemoryService, HugePageRequestAlwaysGetsUsableZeroedMemoryAndWarnsAtMostOnce) {
  const otd_memory_service_t* m = otedama::services::memory_service();
  otd_host_t h = fake_host();
  g_logs.clear();
  for (int round = 0; round < 3; ++round) {
    const size_t size = (3u << 20) + 123;  // not a multiple of any page size
    void* p = nullptr;
    uint32_t got = 0;
    char err[256] = {};
    ASSERT_EQ(m->allocate(&h, size, OTD_MEMORY_HUGE_PAGES, -1, &p, &got, err, sizeof err), OTD_OK) << err;
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 4096, 0u);
    const auto* bytes = static_cast<const unsigned char*>(p);
    EXPECT_EQ(bytes[0], 0);
    EXPECT_EQ(bytes[size - 1], 0);
    std::memset(p, 0xab, size);  // every byte writable
    // Either explicit huge pages, or a fallback that said so once.
    if ((got & OTD_MEMORY_HUGE_PAGES) == 0U) {
      EXPECT_EQ(g_logs.size(), 1u) << "the fallback is reported exactly once";
    }
    m->release(&h, p, size);
  }
  EXPECT_LE(g_logs.size(), 1u);
}

TEST(MemoryService, BindsToAnExistingNodeAndRefusesOthers) {
  const otd_memory_service_t* m = otedama::services::memory_service();
  otd_host_t h = fake_host();
  void* p = nullptr;
  uint32_t got = 0;
  char err[256] = {};
  ASSERT_EQ(m->allocate(&h, 1u << 20, 0, 0, &p, &got, err, sizeof err), OTD_OK) << err;
  std::memset(p, 1, 1u << 20);
  m->release(&h, p, 1u << 20);
  EXPECT_EQ(m->allocate(&h, 1u << 20, 0, static_cast<int32_t>(m->numa_nodes), &p, &got, err, sizeof err), OTD_ERR_INVALID_ARG);
  EXPECT_NE(std::string(err).find("NUMA node " + std::to_string(m->numa_nodes) + " does not exist"), std::string::npos) << err;
  EXPECT_EQ(m->allocate(&h, 0, 0, -1, &p, &got, err, sizeof err), OTD_ERR_INVALID_ARG);
  EXPECT_EQ(m->allocate(&h, 16, 0, -1, nullptr, &got, err, sizeof err), OTD_ERR_INVALID_ARG);
}
