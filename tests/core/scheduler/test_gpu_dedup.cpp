// The scheduler opens one physical GPU once when several backends list it (device_selection.hpp), with
// test-only backends named like the real ones (fakegpu/fakegpu_backend.cpp) listing synthetic cards:
//   cuda:   fakecuda0 (bus 01), fakecuda1 (bus 02, UUID 02..)
//   vulkan: fakevk0 (UUID 02..: fakecuda1's card), fakevk1 (bus 03), fakevk2 (no identity)
// The real GPU backends are disabled here (PoCL and lavapipe would add CPU devices of their own).
#include "host/host.hpp"
#include "scheduler/scheduler.hpp"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace sched = otedama::scheduler;

namespace {

class GpuDedup : public ::testing::Test {
 protected:
  void SetUp() override {
    otedama::config::Config cfg = otedama::config::defaults();
    cfg.plugins.dirs = {FAKEGPU_BACKEND_DIR};
    cfg.plugins.disable = {"org.otedama.backend.cuda", "org.otedama.backend.opencl", "org.otedama.backend.vulkan"};
    host_ = std::make_unique<otedama::host::Host>(cfg);
    host_->load_plugins();
    io_thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    if (scheduler_) scheduler_->stop();
    scheduler_.reset();
    guard_.reset();
    io_.stop();
    io_thread_.join();
  }
  /// Starts the devices with these settings; returns "mined: id@gpuN ... | duplicates: id=words ...".
  std::string start(std::vector<std::string> backends, std::vector<int> devices) {
    sched::Options o;
    o.mining_algorithm = "sha256d";
    o.enable_cpu = false;
    o.enable_gpu = true;
    o.gpu_limits.struct_size = sizeof(otd_device_limits_t);
    o.gpu_backends = std::move(backends);
    o.gpu_devices = std::move(devices);
    scheduler_ = std::make_unique<sched::Scheduler>(host_->plugins(), events_, metrics_, strand_, o, sched::Sinks{});
    scheduler_->start_devices();
    std::string out = "mined:";
    for (const auto& d : scheduler_->devices()) out += " " + d.id + "@gpu" + std::to_string(d.gpu_index);
    out += " | duplicates:";
    for (const auto& d : scheduler_->duplicate_devices()) out += " " + d.id + "=" + d.duplicate_of;
    return out;
  }

  std::unique_ptr<otedama::host::Host> host_;
  otedama::router::EventBus events_;
  otedama::router::Metrics metrics_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_ = boost::asio::make_work_guard(io_);
  boost::asio::strand<boost::asio::io_context::executor_type> strand_ = boost::asio::make_strand(io_);
  std::thread io_thread_;
  std::unique_ptr<sched::Scheduler> scheduler_;
};

}  // namespace

TEST_F(GpuDedup, FixtureLoaded) {
  const auto backends = host_->plugins().loaded(OTD_KIND_BACKEND);
  const auto has = [&](const char* id) {
    return std::any_of(backends.begin(), backends.end(), [&](const auto* r) { return r->id == id; });
  };
  ASSERT_TRUE(has("org.test.backend.fakegpu-cuda"));
  ASSERT_TRUE(has("org.test.backend.fakegpu-vulkan"));
  EXPECT_FALSE(has("org.otedama.backend.opencl"));
}

TEST_F(GpuDedup, EachCardOnceByTheDefaultPreference) {
  EXPECT_EQ(start({"cuda", "opencl", "vulkan"}, {}),
            "mined: fakecuda0@gpu0 fakecuda1@gpu1 fakevk1@gpu2 fakevk2@gpu3 | duplicates: fakevk0=duplicate of "
            "org.test.backend.fakegpu-cuda device fakecuda1 (gpu 1)");
}

TEST_F(GpuDedup, PreferenceOrderPicksTheBackend) {
  EXPECT_EQ(start({"vulkan", "cuda"}, {}),
            "mined: fakevk0@gpu0 fakevk1@gpu1 fakevk2@gpu2 fakecuda0@gpu3 | duplicates: fakecuda1=duplicate of "
            "org.test.backend.fakegpu-vulkan device fakevk0 (gpu 0)");
}

TEST_F(GpuDedup, GpuDevicesIndexesTheDeduplicatedList) {
  EXPECT_EQ(start({"cuda", "opencl", "vulkan"}, {1, 3}),
            "mined: fakecuda1@gpu1 fakevk2@gpu3 | duplicates: fakevk0=duplicate of org.test.backend.fakegpu-cuda device fakecuda1 (gpu 1)");
}

// --list-devices numbers and labels the GPUs as the scheduler does, under the configured preference.
TEST(GpuDedupCli, ListDevicesShowsGpuNumbersAndDuplicates) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("otedama-gpu-dedup-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "otedama.yaml") << "mining:\n  algorithm: sha256d\n  gpu:\n    backends: [vulkan, cuda]\n    devices: [0, 2]\n"
                                      << "plugins:\n  dirs: [" << FAKEGPU_BACKEND_DIR << "]\n"
                                      << "  disable: [org.otedama.backend.cuda, org.otedama.backend.opencl, org.otedama.backend.vulkan]\n";
  const auto run = [&](const std::string& args) {
    const std::string cmd = "env -u OTEDAMA_PLUGIN_PATH '" OTEDAMA_HOST "' " + args + " --config '" + (dir / "otedama.yaml").string() + "' 2>/dev/null";
    std::string out;
    FILE* p = popen(cmd.c_str(), "r");
    if (p == nullptr) return out;
    char buf[4096];
    size_t n = 0;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    EXPECT_EQ(pclose(p), 0) << out;
    return out;
  };
  const std::string text = run("--list-devices");
  // Vulkan first (the preference), then CUDA; fakecuda1 is fakevk0's card (equal UUIDs).
  EXPECT_NE(text.find("fakevk0  fake GPU fakevk0\n  backend org.test.backend.fakegpu-vulkan"), std::string::npos) << text;
  EXPECT_NE(text.find("  gpu 0, pci unknown, uuid 02020202-0202-0202-0202-020202020202\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  gpu 1 (not in mining.gpu.devices: not mined), pci 0000:03:00.0, uuid unknown\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  gpu 2, pci unknown, uuid unknown\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  gpu 3 (not in mining.gpu.devices: not mined), pci 0000:01:00.0, uuid unknown\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  duplicate of org.test.backend.fakegpu-vulkan device fakevk0 (gpu 0): not mined, pci 0000:02:00.0, uuid "
                      "02020202-0202-0202-0202-020202020202\n"),
            std::string::npos)
      << text;
  EXPECT_LT(text.find("fakevk2"), text.find("fakecuda0")) << "vulkan's devices come first\n" << text;
  const std::string json = run("--list-devices --json");
  EXPECT_NE(json.find("\"id\":\"fakecuda1\",\"name\":\"fake GPU fakecuda1\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"pci_bus_id\":\"0000:02:00.0\",\"uuid\":\"02020202-0202-0202-0202-020202020202\",\"gpu_index\":null,"
                      "\"duplicate_of\":{\"backend\":\"org.test.backend.fakegpu-vulkan\",\"id\":\"fakevk0\",\"gpu_index\":0,"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("\"id\":\"fakevk1\""), std::string::npos) << json;
  fs::remove_all(dir);
}
