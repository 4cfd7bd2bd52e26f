// Tests of plugins/backend/cpu: its parts (system probe, sensors on a fake sysfs) directly, the plugin
// through its C ABI with a fake algorithm table, and, when the sha256d plugin is built, both modules
// together mining the Bitcoin genesis block.
#include <linux/capability.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "plugin_harness.hpp"
#include "sensors.hpp"
#include "system_info.hpp"

namespace {

namespace th = otedama::testing;
namespace fs = std::filesystem;
using otedama::cpu_backend::Sensors;

constexpr const char* kCpuPlugin = OTEDAMA_CPU_PLUGIN;
constexpr const char* kCpuId = "org.otedama.backend.cpu";

std::vector<int> process_cpus() { return otedama::cpu_backend::affinity_cpus(); }

std::vector<int> thread_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    EXPECT_EQ(::sched_getaffinity(0, sizeof set, &set), 0);
    std::vector<int> cpus;
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
        if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
    }
    return cpus;
}

int thread_nice() { return ::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid())); }

// ---------------------------------------------------------------------------------------------------
// The system probe

TEST(CpuSystemInfo, ParsesTheModelOfEachArchitecture) {
    using otedama::cpu_backend::parse_cpu_model;
    EXPECT_EQ(parse_cpu_model("processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\n"
                              "model name\t: AMD EPYC 7B13 64-Core Processor\ncpu MHz\t\t: 2450.000\n"),
              "AMD EPYC 7B13 64-Core Processor");
    EXPECT_EQ(parse_cpu_model("Processor\t: ARMv7 Processor rev 4 (v7l)\nprocessor\t: 0\n"),
              "ARMv7 Processor rev 4 (v7l)");
    EXPECT_EQ(parse_cpu_model("processor\t: 0\ncpu\t\t: POWER9, altivec supported\nclock\t\t: 2300MHz\n"),
              "POWER9, altivec supported");
    // aarch64 names no model in /proc/cpuinfo: the probe falls back to hwloc.
    EXPECT_EQ(parse_cpu_model("processor\t: 0\nBogoMIPS\t: 50.00\nCPU part\t: 0xd0c\n"), "");
    EXPECT_EQ(parse_cpu_model(""), "");
}

TEST(CpuSystemInfo, ParsesMemTotal) {
    using otedama::cpu_backend::parse_mem_total;
    EXPECT_EQ(parse_mem_total("MemTotal:       16318532 kB\nMemFree:         1002104 kB\n"), 16318532ull * 1024);
    EXPECT_EQ(parse_mem_total("MemFree:  1 kB\n"), 0u);
    EXPECT_EQ(parse_mem_total("MemTotal: lots\n"), 0u);
    EXPECT_EQ(parse_mem_total("MemTotal: 12 MB\n"), 0u);
}

TEST(CpuSystemInfo, ProbesThisMachine) {
    const otedama::cpu_backend::SystemInfo info = otedama::cpu_backend::probe_system();
    EXPECT_FALSE(info.model.empty());
    EXPECT_GE(info.cores, 1u);
    ASSERT_FALSE(info.usable_cpus.empty());
    EXPECT_TRUE(std::is_sorted(info.usable_cpus.begin(), info.usable_cpus.end()));
    EXPECT_EQ(static_cast<long>(info.usable_cpus.size()), [] {
        cpu_set_t set;
        CPU_ZERO(&set);
        return ::sched_getaffinity(::getpid(), sizeof set, &set) == 0 ? static_cast<long>(CPU_COUNT(&set)) : -1L;
    }());
    EXPECT_GT(info.memory_bytes, 0u);
    std::printf("[ info     ] %s: %u cores, %zu usable CPUs, %llu MiB\n", info.model.c_str(), info.cores,
                info.usable_cpus.size(), static_cast<unsigned long long>(info.memory_bytes >> 20));
}

// ---------------------------------------------------------------------------------------------------
// Sensors on a fake sysfs tree

class FakeSysfs : public ::testing::Test {
 protected:
    void SetUp() override {
        std::string pattern = (fs::temp_directory_path() / "otedama-sysfs-XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        root_ = pattern;
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(root_, ec);
    }
    void write(const fs::path& relative, const std::string& text) {
        fs::create_directories((root_ / relative).parent_path());
        std::ofstream(root_ / relative) << text << "\n";
    }
    fs::path root_;
};

TEST_F(FakeSysfs, CoretempUsesThePackageSensorOfTheHottestPackage) {
    write("class/hwmon/hwmon0/name", "acpitz");  // not a CPU sensor
    write("class/hwmon/hwmon0/temp1_input", "99000");
    write("class/hwmon/hwmon1/name", "coretemp");
    write("class/hwmon/hwmon1/temp1_label", "Package id 0");
    write("class/hwmon/hwmon1/temp1_input", "45000");
    write("class/hwmon/hwmon1/temp2_label", "Core 0");
    write("class/hwmon/hwmon1/temp2_input", "80000");
    write("class/hwmon/hwmon2/name", "coretemp");
    write("class/hwmon/hwmon2/temp2_label", "Core 0");
    write("class/hwmon/hwmon2/temp2_input", "70000");
    write("class/hwmon/hwmon2/temp3_label", "Package id 1");
    write("class/hwmon/hwmon2/temp3_input", "52500");
    const Sensors sensors = Sensors::discover(root_);
    EXPECT_EQ(sensors.temperature_files().size(), 2u);
    EXPECT_DOUBLE_EQ(sensors.temperature_c(), 52.5);
}

TEST_F(FakeSysfs, K10tempPrefersTdieOverTctl) {
    write("class/hwmon/hwmon3/name", "k10temp");
    write("class/hwmon/hwmon3/temp1_label", "Tctl");
    write("class/hwmon/hwmon3/temp1_input", "70000");
    write("class/hwmon/hwmon3/temp2_label", "Tdie");
    write("class/hwmon/hwmon3/temp2_input", "60000");
    EXPECT_DOUBLE_EQ(Sensors::discover(root_).temperature_c(), 60.0);
}

TEST_F(FakeSysfs, FallsBackToCpuThermalZones) {
    write("class/thermal/thermal_zone0/type", "acpitz");
    write("class/thermal/thermal_zone0/temp", "90000");
    write("class/thermal/thermal_zone1/type", "x86_pkg_temp");
    write("class/thermal/thermal_zone1/temp", "41000");
    EXPECT_DOUBLE_EQ(Sensors::discover(root_).temperature_c(), 41.0);
}

TEST_F(FakeSysfs, UnknownOrNonsenseTemperatureIsMinusOne) {
    EXPECT_EQ(Sensors::discover(root_).temperature_c(), -1.0);
    write("class/thermal/thermal_zone0/type", "cpu-thermal");
    write("class/thermal/thermal_zone0/temp", "-128000");
    EXPECT_EQ(Sensors::discover(root_).temperature_c(), -1.0);
}

TEST_F(FakeSysfs, PowerFromRaplCountersAcrossPackagesAndWraps) {
    write("class/powercap/intel-rapl:0/energy_uj", "1000000");
    write("class/powercap/intel-rapl:0/max_energy_range_uj", "2000000");
    write("class/powercap/intel-rapl:0:0/energy_uj", "5");  // a subzone (core): part of package 0
    write("class/powercap/intel-rapl:1/energy_uj", "0");
    write("class/powercap/intel-rapl:1/max_energy_range_uj", "2000000");
    Sensors sensors = Sensors::discover(root_);
    EXPECT_EQ(sensors.energy_zone_count(), 2u);
    EXPECT_EQ(sensors.sample_power_w(1'000'000'000), -1.0);  // the baseline
    write("class/powercap/intel-rapl:0/energy_uj", "1500000");
    write("class/powercap/intel-rapl:1/energy_uj", "250000");
    EXPECT_DOUBLE_EQ(sensors.sample_power_w(2'000'000'000), 0.75);  // 0.75 J in 1 s
    write("class/powercap/intel-rapl:0/energy_uj", "500000");         // wrapped: 0.5 + 0.5 J
    write("class/powercap/intel-rapl:1/energy_uj", "250000");
    EXPECT_DOUBLE_EQ(sensors.sample_power_w(4'000'000'000), 0.5);   // 1 J in 2 s
    fs::remove(root_ / "class/powercap/intel-rapl:1/energy_uj");
    EXPECT_EQ(sensors.sample_power_w(5'000'000'000), -1.0);
}

// ---------------------------------------------------------------------------------------------------
// A fake algorithm: "hashes" by finding every nonce that is a multiple of 1000, honours the abort flag,
// and checks that each scan state is used on the thread that created it.

namespace fake {

struct State {
    pid_t creator;
};

std::atomic<int> created{0};
std::atomic<int> destroyed{0};
std::atomic<int> wrong_thread{0};
std::atomic<uint32_t> last_params_flags{0xffffffffu};
std::atomic<pid_t> last_destroyer{0};

void reset() {
    created = 0;
    destroyed = 0;
    wrong_thread = 0;
    last_destroyer = 0;
}

otd_status_t OTD_CALL create_scan_state(const otd_plugin_t*, const otd_algo_context_t*, const otd_scan_params_t* params,
                                        otd_scan_state_t** out, char*, size_t) {
    // The backend tells the algorithm which lane the state is for and whether huge pages are allowed.
    if (params == nullptr || params->struct_size < sizeof(otd_scan_params_t)) return OTD_ERR_INVALID_ARG;
    last_params_flags = params->flags;
    *out = reinterpret_cast<otd_scan_state_t*>(new State{::gettid()});
    ++created;
    return OTD_OK;
}

void OTD_CALL destroy_scan_state(const otd_plugin_t*, otd_scan_state_t* state) {
    delete reinterpret_cast<State*>(state);
    last_destroyer = ::gettid();
    ++destroyed;
}

otd_status_t OTD_CALL scan(const otd_plugin_t*, otd_scan_state_t* state, const otd_work_unit_t* work,
                           otd_scan_stats_t* stats) {
    if (reinterpret_cast<State*>(state)->creator != ::gettid()) ++wrong_thread;
    uint64_t hashed = 0;
    uint32_t found = 0;
    otd_status_t status = OTD_OK;
    for (uint64_t i = 0; i < work->nonce_count; ++i) {
        if ((i & 1023) == 0 && work->abort_flag != nullptr && *work->abort_flag != 0) {
            status = OTD_ERR_ABORTED;
            break;
        }
        const uint64_t nonce = work->nonce_start + i;
        ++hashed;
        if (nonce % 1000 != 0) continue;
        otd_found_t f{};
        f.struct_size = sizeof f;
        f.work_id = work->work_id;
        f.nonce = nonce;
        ++found;
        if (work->on_found(work->on_found_user, &f) == OTD_ERR_ABORTED) {
            status = OTD_ERR_ABORTED;
            break;
        }
    }
    stats->hashes = hashed;
    stats->found = found;
    return status;
}

otd_status_t OTD_CALL failing_scan(const otd_plugin_t*, otd_scan_state_t*, const otd_work_unit_t*, otd_scan_stats_t* stats) {
    stats->hashes = 0;
    return OTD_ERR_IO;
}

otd_algorithm_t table(const char* name, bool with_scan, decltype(otd_algorithm_t::scan) scan_fn = &scan) {
    otd_algorithm_t t{};
    t.struct_size = sizeof t;
    t.name = name;
    t.coin_family = "test";
    if (with_scan) {
        t.create_scan_state = &create_scan_state;
        t.destroy_scan_state = &destroy_scan_state;
        t.scan = scan_fn;
    }
    return t;
}

const otd_algorithm_t kMod1000 = table("fake-mod1000", true);
const otd_algorithm_t kOtherMod1000 = table("fake-mod1000-other", true);
const otd_algorithm_t kNoScan = table("fake-noscan", false);
const otd_algorithm_t kFailing = table("fake-failing", true, &failing_scan);

}  // namespace fake

/// Collects what on_found reports, from any number of lanes.
struct Found {
    std::mutex mutex;
    std::vector<uint64_t> nonces;
    std::atomic<bool> any{false};
    std::atomic<int> wrong_work_id{0};
    uint64_t work_id = 77;

    static otd_status_t OTD_CALL on_found(void* user, const otd_found_t* found) {
        auto* self = static_cast<Found*>(user);
        if (found->work_id != self->work_id) ++self->wrong_work_id;
        {
            const std::lock_guard lock(self->mutex);
            self->nonces.push_back(found->nonce);
        }
        self->any = true;
        return OTD_OK;
    }
    std::set<uint64_t> sorted() {
        const std::lock_guard lock(mutex);
        return {nonces.begin(), nonces.end()};
    }
};

const uint8_t kBlob[16] = {};

otd_work_unit_t work_unit(const otd_algorithm_t* algorithm, uint64_t start, uint64_t count, Found& found,
                          const volatile uint32_t* abort_flag = nullptr, const otd_algo_context_t* context = nullptr) {
    otd_work_unit_t w{};
    w.struct_size = sizeof w;
    w.work_id = found.work_id;
    w.job_id = 1;
    w.algorithm = algorithm != nullptr ? algorithm->name : "none";
    w.blob = kBlob;
    w.blob_size = sizeof kBlob;
    w.nonce_offset = 8;
    w.nonce_size = 8;
    w.nonce_start = start;
    w.nonce_count = count;
    std::memset(w.share_target, 0xff, sizeof w.share_target);
    std::memset(w.block_target, 0xff, sizeof w.block_target);
    w.algorithm_table = algorithm;
    w.algorithm_context = context;
    w.abort_flag = abort_flag;
    w.on_found = &Found::on_found;
    w.on_found_user = &found;
    return w;
}

std::set<uint64_t> multiples_of_1000(uint64_t start, uint64_t count) {
    std::set<uint64_t> out;
    for (uint64_t n = (start + 999) / 1000 * 1000; n < start + count; n += 1000) out.insert(n);
    return out;
}

otd_device_limits_t limits(uint32_t lanes, int32_t priority = 0, uint32_t flags = 0) {
    otd_device_limits_t l{};
    l.struct_size = sizeof l;
    l.lanes = lanes;
    l.priority = priority;
    l.flags = flags;
    return l;
}

/// Drops CAP_SYS_NICE from the calling thread's effective capabilities (capabilities are per thread).
bool drop_cap_sys_nice() {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
    if (::syscall(SYS_capget, &header, data) != 0) return false;
    data[CAP_TO_INDEX(CAP_SYS_NICE)].effective &= ~CAP_TO_MASK(CAP_SYS_NICE);
    return ::syscall(SYS_capset, &header, data) == 0;
}

class CpuBackend : public ::testing::Test {
 protected:
    void SetUp() override {
        fake::reset();
        result_ = th::create_instance(kCpuPlugin, kCpuId, OTD_BACKEND_INTERFACE_ID, host_);
        ASSERT_TRUE(result_.ok()) << result_.describe();
    }
    void TearDown() override {
        if (device_ != nullptr) close();
    }

    const otd_backend_t& backend() const { return result_.instance.table<otd_backend_t>(); }
    const otd_plugin_t* plugin() const { return result_.instance.plugin(); }

    /// Opens cpu0 into device_; the test fails with the plugin's message otherwise.
    void open(const otd_device_limits_t& l) {
        th::ErrorBuffer err;
        ASSERT_EQ(backend().open_device(plugin(), 0, &l, &device_, err.text, sizeof err.text), OTD_OK) << err.str();
        ASSERT_NE(device_, nullptr);
    }
    void close() {
        backend().close_device(plugin(), device_);
        device_ = nullptr;
    }
    otd_status_t run(uint32_t lane, const otd_work_unit_t& w, uint64_t* hashes, std::string* message = nullptr) {
        th::ErrorBuffer err;
        uint64_t ignored = 0;
        const otd_status_t st = backend().run(plugin(), device_, lane, &w, hashes != nullptr ? hashes : &ignored, err.text,
                                              sizeof err.text);
        if (message != nullptr) *message = err.str();
        return st;
    }
    otd_device_telemetry_t telemetry() {
        otd_device_telemetry_t t{};
        t.struct_size = sizeof t;
        EXPECT_EQ(backend().get_telemetry(plugin(), device_, &t), OTD_OK);
        return t;
    }

    th::FakeHost host_;  // outlives the instance (declared first, destroyed last)
    th::CreateResult result_;
    otd_device_t* device_ = nullptr;
};

TEST_F(CpuBackend, DescribesItself) {
    const th::PluginLibrary& library = th::open_library(kCpuPlugin);
    const std::vector<const otd_plugin_descriptor_t*> descriptors = library.descriptors();
    ASSERT_EQ(descriptors.size(), 1u);
    const otd_plugin_descriptor_t& d = *descriptors[0];
    EXPECT_EQ(d.kind, OTD_KIND_BACKEND);
    EXPECT_STREQ(d.id, kCpuId);
    EXPECT_STREQ(d.name, "cpu");
    EXPECT_STREQ(d.version, "0.1.0");
    EXPECT_STREQ(d.vendor, "Otedama");
    EXPECT_STREQ(d.interface_id, OTD_BACKEND_INTERFACE_ID);

    EXPECT_EQ(backend().struct_size, sizeof(otd_backend_t));
    EXPECT_NE(backend().run, nullptr);
    EXPECT_EQ(backend().push_work, nullptr);  // a scan device
    EXPECT_EQ(backend().poll, nullptr);
    EXPECT_EQ(backend().flush_work, nullptr);
}

TEST_F(CpuBackend, EnumeratesOneScanDevice) {
    uint32_t count = 0;
    ASSERT_EQ(backend().enumerate(plugin(), nullptr, 0, &count), OTD_OK);
    ASSERT_EQ(count, 1u);

    otd_device_info_t info{};
    info.struct_size = sizeof info;
    ASSERT_EQ(backend().enumerate(plugin(), &info, 1, &count), OTD_OK);
    EXPECT_EQ(count, 1u);
    EXPECT_EQ(info.struct_size, sizeof info);
    EXPECT_EQ(info.style, OTD_DEVICE_SCAN);
    EXPECT_STREQ(info.id, "cpu0");
    EXPECT_GT(std::strlen(info.name), 0u);
    EXPECT_STREQ(info.algorithms, "*");
    EXPECT_EQ(info.max_lanes, process_cpus().size());
    EXPECT_GE(info.compute_units, 1u);
    EXPECT_GT(info.memory_bytes, 0u);
    EXPECT_EQ(info.queue_depth, 0u);
    EXPECT_EQ(info.numa_node, -1);
    EXPECT_EQ(info.nonce_size_max, 8u);
    std::printf("[ info     ] %s \"%s\": %u lanes, %u cores\n", info.id, info.name, info.max_lanes, info.compute_units);
}

TEST_F(CpuBackend, EnumerateFillsNoMoreThanAnOlderHostsStruct) {
    struct {
        otd_device_info_t info;
        uint8_t guard[8];
    } buffer;
    std::memset(&buffer, 0xAB, sizeof buffer);
    buffer.info.struct_size = offsetof(otd_device_info_t, memory_bytes);  // a host that knows id/name/algorithms only
    uint32_t count = 0;
    ASSERT_EQ(backend().enumerate(plugin(), &buffer.info, 1, &count), OTD_OK);
    EXPECT_STREQ(buffer.info.id, "cpu0");
    const auto* bytes = reinterpret_cast<const uint8_t*>(&buffer.info);
    for (size_t i = offsetof(otd_device_info_t, memory_bytes); i < sizeof buffer; ++i) {
        ASSERT_EQ(bytes[i], 0xAB) << "byte " << i << " beyond the host's struct_size was written";
    }
}

TEST_F(CpuBackend, OpenRejectsAnUnknownIndexASecondOpenAndABadPriority) {
    otd_device_t* device = nullptr;
    th::ErrorBuffer err;
    const otd_device_limits_t l = limits(1);
    EXPECT_EQ(backend().open_device(plugin(), 2, &l, &device, err.text, sizeof err.text), OTD_ERR_NOT_FOUND);
    EXPECT_NE(err.str().find("2"), std::string::npos) << err.str();

    const otd_device_limits_t bad = limits(1, 40);
    EXPECT_EQ(backend().open_device(plugin(), 0, &bad, &device, err.text, sizeof err.text), OTD_ERR_INVALID_ARG);
    EXPECT_NE(err.str().find("priority 40"), std::string::npos) << err.str();

    open(l);
    EXPECT_EQ(backend().open_device(plugin(), 0, &l, &device, err.text, sizeof err.text), OTD_ERR_BUSY);
    EXPECT_NE(err.str().find("cpu0"), std::string::npos) << err.str();
    close();
    open(l);  // closed devices can be opened again
}

TEST_F(CpuBackend, LanesOnSeveralThreadsFindExactlyTheExpectedNonces) {
    constexpr uint32_t kLanes = 4;
    constexpr uint64_t kStart = 5'000'123;
    constexpr uint64_t kPerLane = 250'000;
    open(limits(kLanes));
    Found found;
    std::vector<otd_status_t> status(kLanes, OTD_ERR_GENERIC);
    std::vector<uint64_t> hashes(kLanes, 0);
    std::vector<std::thread> workers;
    for (uint32_t lane = 0; lane < kLanes; ++lane) {
        workers.emplace_back([&, lane] {
            const otd_work_unit_t w = work_unit(&fake::kMod1000, kStart + lane * kPerLane, kPerLane, found);
            status[lane] = run(lane, w, &hashes[lane]);
        });
    }
    for (std::thread& t : workers) t.join();
    for (uint32_t lane = 0; lane < kLanes; ++lane) {
        EXPECT_EQ(status[lane], OTD_OK) << "lane " << lane;
        EXPECT_EQ(hashes[lane], kPerLane) << "lane " << lane;
    }
    EXPECT_EQ(found.nonces.size(), found.sorted().size()) << "a nonce was reported twice";
    EXPECT_EQ(found.sorted(), multiples_of_1000(kStart, kLanes * kPerLane));
    EXPECT_EQ(found.wrong_work_id, 0);
    EXPECT_EQ(fake::created, static_cast<int>(kLanes));  // one state per lane, made on its worker
    EXPECT_EQ(fake::wrong_thread, 0);
    EXPECT_EQ(telemetry().hashes_total, kLanes * kPerLane);
    close();
    EXPECT_EQ(fake::destroyed, fake::created);
}

TEST_F(CpuBackend, ScanStateIsCachedAndRemadeWhenTheAlgorithmOrContextChanges) {
    open(limits(1));
    Found found;
    std::thread([&] {
        for (int i = 0; i < 3; ++i) EXPECT_EQ(run(0, work_unit(&fake::kMod1000, 0, 5000, found), nullptr), OTD_OK);
        EXPECT_EQ(fake::created, 1);
        EXPECT_EQ(fake::destroyed, 0);

        const auto* context = reinterpret_cast<const otd_algo_context_t*>(&found);  // any distinct address
        EXPECT_EQ(run(0, work_unit(&fake::kMod1000, 0, 5000, found, nullptr, context), nullptr), OTD_OK);
        EXPECT_EQ(fake::created, 2);
        EXPECT_EQ(fake::destroyed, 1);
        EXPECT_EQ(fake::last_destroyer, ::gettid());  // on the lane's own worker

        otd_work_unit_t new_seed = work_unit(&fake::kMod1000, 0, 5000, found, nullptr, context);
        const uint8_t seed[4] = {1, 2, 3, 4};
        new_seed.seed = seed;
        new_seed.seed_size = sizeof seed;
        EXPECT_EQ(run(0, new_seed, nullptr), OTD_OK);
        EXPECT_EQ(fake::created, 3);

        EXPECT_EQ(run(0, work_unit(&fake::kOtherMod1000, 0, 5000, found), nullptr), OTD_OK);
        EXPECT_EQ(fake::created, 4);
        EXPECT_EQ(fake::destroyed, 3);
    }).join();
    EXPECT_EQ(fake::wrong_thread, 0);
    close();
    EXPECT_EQ(fake::destroyed, 4);
}

TEST_F(CpuBackend, TheHugePagesLimitReachesTheAlgorithmsScanState) {
    for (const uint32_t flags : {0u, static_cast<uint32_t>(OTD_LIMIT_HUGE_PAGES)}) {
        open(limits(1, 0, flags));
        Found found;
        uint64_t hashes = 0;
        const otd_work_unit_t w = work_unit(&fake::kMod1000, 0, 100, found);
        ASSERT_EQ(run(0, w, &hashes), OTD_OK);
        EXPECT_EQ(fake::last_params_flags.load(), flags != 0 ? OTD_SCAN_HUGE_PAGES : 0u);
        close();
    }
}

TEST_F(CpuBackend, ALaneTakenOverByAnotherThreadStartsAfresh) {
    open(limits(1));
    Found found;
    std::thread([&] { EXPECT_EQ(run(0, work_unit(&fake::kMod1000, 0, 2000, found), nullptr), OTD_OK); }).join();
    pid_t second = 0;
    std::thread([&] {
        second = ::gettid();
        EXPECT_EQ(run(0, work_unit(&fake::kMod1000, 0, 2000, found), nullptr), OTD_OK);
    }).join();
    EXPECT_EQ(fake::created, 2);
    EXPECT_EQ(fake::destroyed, 1);
    EXPECT_EQ(fake::last_destroyer, second);
    EXPECT_EQ(fake::wrong_thread, 0);
}

TEST_F(CpuBackend, AbortFlagStopsARun) {
    open(limits(1));
    Found found;
    volatile uint32_t abort_flag = 0;
    constexpr uint64_t kRange = uint64_t{1} << 40;  // far more than the test would ever hash
    otd_status_t status = OTD_OK;
    uint64_t hashes = 0;
    std::atomic<bool> returned{false};
    std::thread worker([&] {
        status = run(0, work_unit(&fake::kMod1000, 0, kRange, found, &abort_flag), &hashes);
        returned = true;
    });
    while (!found.any && !returned) std::this_thread::yield();  // the scan is under way
    abort_flag = 1;
    worker.join();
    EXPECT_EQ(status, OTD_ERR_ABORTED);
    EXPECT_GT(hashes, 0u);
    EXPECT_LT(hashes, kRange);
    EXPECT_EQ(telemetry().hashes_total, hashes);

    // Already set before the run: nothing is hashed, no state is made.
    fake::reset();
    hashes = 99;
    std::thread([&] { status = run(0, work_unit(&fake::kMod1000, 0, 1000, found, &abort_flag), &hashes); }).join();
    EXPECT_EQ(status, OTD_ERR_ABORTED);
    EXPECT_EQ(hashes, 0u);
}

TEST_F(CpuBackend, AlgorithmWithoutScanIsUnsupportedNamingIt) {
    open(limits(1));
    Found found;
    std::string message;
    uint64_t hashes = 99;
    EXPECT_EQ(run(0, work_unit(&fake::kNoScan, 0, 1000, found), &hashes, &message), OTD_ERR_UNSUPPORTED);
    EXPECT_NE(message.find("fake-noscan"), std::string::npos) << message;
    EXPECT_EQ(hashes, 0u);

    EXPECT_EQ(run(0, work_unit(nullptr, 0, 1000, found), &hashes, &message), OTD_ERR_INVALID_ARG);
    EXPECT_NE(message.find("no algorithm table"), std::string::npos) << message;

    otd_work_unit_t no_callback = work_unit(&fake::kMod1000, 0, 1000, found);
    no_callback.on_found = nullptr;
    EXPECT_EQ(run(0, no_callback, &hashes, &message), OTD_ERR_INVALID_ARG);
    EXPECT_NE(message.find("on_found"), std::string::npos) << message;
}

TEST_F(CpuBackend, AFailingScanIsReportedAndItsStateDropped) {
    open(limits(1));
    Found found;
    std::string message;
    std::thread([&] { EXPECT_EQ(run(0, work_unit(&fake::kFailing, 0, 1000, found), nullptr, &message), OTD_ERR_IO); }).join();
    EXPECT_NE(message.find("fake-failing"), std::string::npos) << message;
    EXPECT_NE(message.find("OTD_ERR_IO"), std::string::npos) << message;
    EXPECT_EQ(fake::created, 1);
    EXPECT_EQ(fake::destroyed, 1);
}

TEST_F(CpuBackend, BadLanesAndEmptyRanges) {
    open(limits(2));
    Found found;
    std::string message;
    EXPECT_EQ(run(2, work_unit(&fake::kMod1000, 0, 1000, found), nullptr, &message), OTD_ERR_INVALID_ARG);
    EXPECT_NE(message.find("lane 2"), std::string::npos) << message;

    uint64_t hashes = 99;
    EXPECT_EQ(run(0, work_unit(&fake::kMod1000, 0, 0, found), &hashes), OTD_OK);
    EXPECT_EQ(hashes, 0u);
    EXPECT_EQ(fake::created, 0);

    otd_work_unit_t old = work_unit(&fake::kMod1000, 0, 1000, found);
    old.struct_size = offsetof(otd_work_unit_t, algorithm_plugin);  // a host from before the algorithm fields
    EXPECT_EQ(run(0, old, &hashes, &message), OTD_ERR_INVALID_ARG);
    EXPECT_NE(message.find("struct_size"), std::string::npos) << message;
}

TEST_F(CpuBackend, TelemetryReportsTheRateOverTheLastInterval) {
    constexpr uint64_t kT0 = 1'000'000'000'000;
    host_.set_monotonic_ns(kT0);
    open(limits(2));
    Found found;
    std::thread([&] { EXPECT_EQ(run(0, work_unit(&fake::kMod1000, 0, 600'000, found), nullptr), OTD_OK); }).join();
    std::thread([&] { EXPECT_EQ(run(1, work_unit(&fake::kMod1000, 0, 400'000, found), nullptr), OTD_OK); }).join();

    host_.set_monotonic_ns(kT0 + 2'000'000'000);  // 1e6 hashes in 2 s
    otd_device_telemetry_t t = telemetry();
    EXPECT_EQ(t.struct_size, sizeof t);
    EXPECT_EQ(t.hashes_total, 1'000'000u);
    EXPECT_DOUBLE_EQ(t.hashrate, 500'000.0);
    EXPECT_TRUE(t.temperature_c == -1.0 || (t.temperature_c > -50 && t.temperature_c < 200)) << t.temperature_c;
    EXPECT_EQ(t.fan_percent, -1.0);
    EXPECT_TRUE(t.power_w == -1.0 || t.power_w >= 0) << t.power_w;
    EXPECT_EQ(t.hardware_errors, 0u);
    EXPECT_EQ(t.throttled, 0u);

    host_.set_monotonic_ns(kT0 + 3'000'000'000);  // nothing hashed in the next second
    t = telemetry();
    EXPECT_EQ(t.hashes_total, 1'000'000u);
    EXPECT_DOUBLE_EQ(t.hashrate, 0.0);
    std::printf("[ info     ] temperature %.1f C, power %.1f W\n", t.temperature_c, t.power_w);
}

TEST_F(CpuBackend, PriorityIsANiceLevelPerWorkerThread) {
    const int main_nice = thread_nice();
    open(limits(1, 7));
    Found found;
    std::thread([&] {
        const int original = thread_nice();
        EXPECT_EQ(run(0, work_unit(&fake::kMod1000, 0, 1000, found), nullptr), OTD_OK);
        EXPECT_EQ(thread_nice(), 7);

        const otd_device_limits_t back = limits(0, 0);
        ASSERT_EQ(backend().set_limits(plugin(), device_, &back), OTD_OK);
        EXPECT_EQ(run(0, work_unit(&fake::kMod1000, 0, 1000, found), nullptr), OTD_OK);
        // Lowering nice again needs CAP_SYS_NICE; without it the backend warns and carries on.
        if (thread_nice() != original) {
            EXPECT_TRUE(host_.logged("nice", OTD_LOG_WARN));
        }
    }).join();
    EXPECT_EQ(thread_nice(), main_nice);  // only the worker changed
}

TEST_F(CpuBackend, AnUnprivilegedNegativePriorityWarnsOnceAndMiningGoesOn) {
    open(limits(2, -5));
    Found found;
    bool dropped = true;
    bool got_priority = false;
    for (uint32_t lane = 0; lane < 2; ++lane) {
        std::thread([&, lane] {
            if (!drop_cap_sys_nice()) {
                dropped = false;
                return;
            }
            for (int i = 0; i < 2; ++i) EXPECT_EQ(run(lane, work_unit(&fake::kMod1000, 0, 1000, found), nullptr), OTD_OK);
            got_priority = got_priority || thread_nice() == -5;
        }).join();
    }
    if (!dropped) GTEST_SKIP() << "cannot drop CAP_SYS_NICE on a thread here";
    if (got_priority) GTEST_SKIP() << "RLIMIT_NICE lets this user raise priority: nothing to warn about";
    size_t warnings = 0;
    for (const th::LogRecord& r : host_.logs()) {
        if (r.level == OTD_LOG_WARN && r.message.find("nice") != std::string::npos) ++warnings;
    }
    EXPECT_EQ(warnings, 1u);
    EXPECT_TRUE(host_.logged("-5", OTD_LOG_WARN));
}

TEST_F(CpuBackend, PinningPutsEachLaneOnItsOwnCpuAndUnpinningUndoesIt) {
    const std::vector<int> cpus = process_cpus();
    ASSERT_FALSE(cpus.empty());
    open(limits(2, 0, OTD_LIMIT_PIN_THREADS));
    Found found;
    std::thread([&] {
        EXPECT_EQ(run(1, work_unit(&fake::kMod1000, 0, 1000, found), nullptr), OTD_OK);
        EXPECT_EQ(thread_cpus(), std::vector<int>{cpus[1 % cpus.size()]});

        const otd_device_limits_t unpinned = limits(2, 0, 0);
        ASSERT_EQ(backend().set_limits(plugin(), device_, &unpinned), OTD_OK);
        EXPECT_EQ(run(1, work_unit(&fake::kMod1000, 0, 1000, found), nullptr), OTD_OK);
        EXPECT_EQ(thread_cpus(), cpus);
    }).join();
    EXPECT_FALSE(host_.logged("pin", OTD_LOG_WARN));
}

TEST_F(CpuBackend, TheLaneCountIsFixedWhileOpen) {
    open(limits(2));
    const otd_device_limits_t more = limits(3);
    EXPECT_EQ(backend().set_limits(plugin(), device_, &more), OTD_ERR_UNSUPPORTED);
    const otd_device_limits_t same = limits(2, 3);
    EXPECT_EQ(backend().set_limits(plugin(), device_, &same), OTD_OK);
}

// ---------------------------------------------------------------------------------------------------
// With the real sha256d plugin: the CPU backend mines the Bitcoin genesis block through its scan.

#ifdef OTEDAMA_SHA256D_PLUGIN

std::vector<uint8_t> from_hex(std::string_view hex) {
    std::vector<uint8_t> out;
    for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<uint8_t>(std::stoul(std::string(hex.substr(i, 2)), nullptr, 16)));
    return out;
}

void put_le32(uint8_t* p, uint32_t v) {
    for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

TEST(CpuBackendWithSha256d, MinesTheGenesisBlock) {
    th::FakeHost host;
    th::CreateResult cpu = th::create_instance(kCpuPlugin, kCpuId, OTD_BACKEND_INTERFACE_ID, host);
    ASSERT_TRUE(cpu.ok()) << cpu.describe();
    th::CreateResult sha = th::create_instance(OTEDAMA_SHA256D_PLUGIN, "org.otedama.algorithm.sha256d",
                                               OTD_ALGORITHM_INTERFACE_ID, host);
    ASSERT_TRUE(sha.ok()) << sha.describe();
    const otd_backend_t& backend = cpu.instance.table<otd_backend_t>();
    const otd_algorithm_t& algorithm = sha.instance.table<otd_algorithm_t>();
    ASSERT_NE(algorithm.scan, nullptr) << "the sha256d plugin has no CPU scan";

    // Block 0 (https://en.bitcoin.it/wiki/Genesis_block): version 1, previous hash 0, merkle root
    // 4a5e1e4b...ededa33b as explorers print it (reversed here to the header's internal order),
    // time 1231006505, bits 0x1d00ffff, nonce 2083236893.
    constexpr uint32_t kGenesisNonce = 2083236893;
    uint8_t header[80] = {};
    put_le32(header, 1);
    std::vector<uint8_t> merkle = from_hex("4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b");
    std::reverse(merkle.begin(), merkle.end());
    std::memcpy(header + 36, merkle.data(), 32);
    put_le32(header + 68, 1231006505);
    put_le32(header + 72, 0x1d00ffff);
    // Target of bits 0x1d00ffff: 0xffff * 256^(0x1d - 3), 256-bit little-endian: bytes 26 and 27.
    uint8_t target[32] = {};
    target[26] = 0xff;
    target[27] = 0xff;

    otd_device_t* device = nullptr;
    th::ErrorBuffer err;
    const otd_device_limits_t l = limits(2);
    ASSERT_EQ(backend.open_device(cpu.instance.plugin(), 0, &l, &device, err.text, sizeof err.text), OTD_OK) << err.str();

    Found found;
    struct Range {
        uint64_t start, count;
    };
    const Range ranges[2] = {{kGenesisNonce - 60'000, 50'000}, {kGenesisNonce - 10'000, 50'000}};
    otd_status_t status[2] = {OTD_ERR_GENERIC, OTD_ERR_GENERIC};
    uint64_t hashes[2] = {};
    std::string messages[2];
    std::vector<std::thread> workers;
    for (uint32_t lane = 0; lane < 2; ++lane) {
        workers.emplace_back([&, lane] {
            otd_work_unit_t w{};
            w.struct_size = sizeof w;
            w.work_id = found.work_id;
            w.algorithm = "sha256d";
            w.blob = header;
            w.blob_size = sizeof header;
            w.nonce_offset = 76;
            w.nonce_size = 4;
            w.nonce_start = ranges[lane].start;
            w.nonce_count = ranges[lane].count;
            std::memcpy(w.share_target, target, 32);
            std::memcpy(w.block_target, target, 32);
            w.algorithm_plugin = sha.instance.plugin();
            w.algorithm_table = &algorithm;
            w.algorithm_context = nullptr;
            w.on_found = &Found::on_found;
            w.on_found_user = &found;
            th::ErrorBuffer e;
            status[lane] = backend.run(cpu.instance.plugin(), device, lane, &w, &hashes[lane], e.text, sizeof e.text);
            messages[lane] = e.str();
        });
    }
    for (std::thread& t : workers) t.join();
    backend.close_device(cpu.instance.plugin(), device);

    for (int lane = 0; lane < 2; ++lane) {
        EXPECT_EQ(status[lane], OTD_OK) << messages[lane];
        EXPECT_EQ(hashes[lane], ranges[lane].count);
    }
    EXPECT_EQ(found.sorted(), std::set<uint64_t>{kGenesisNonce});
    EXPECT_EQ(found.wrong_work_id, 0);
}

#else

TEST(CpuBackendWithSha256d, MinesTheGenesisBlock) { GTEST_SKIP() << "the sha256d plugin is not part of this build"; }

#endif

// The memory-hard algorithms mined through the generic backend: the backend knows nothing of them; the
// algorithm's own scan runs on a light context (RandomX cache, Ethash light cache: what tests can afford;
// mining proper uses the full dataset/DAG through the same calls). Every nonce the backend reports is then
// verified by the plugin, hash and mix included.
struct ContextAlgo {
    const char* name;
    const char* path;  // nullptr when the plugin is not part of this build
    const char* id;
    std::vector<uint8_t> key;  // RandomX key; empty for the Ethash family (the height picks the epoch)
};

std::vector<ContextAlgo> context_algorithms() {
    std::vector<ContextAlgo> v;
#ifdef OTEDAMA_RANDOMX_PLUGIN
    v.push_back({"randomx", OTEDAMA_RANDOMX_PLUGIN, "org.otedama.algorithm.randomx", {'t', 'e', 's', 't', ' ', 'k', 'e', 'y', ' ', '0', '0', '0'}});
#endif
#ifdef OTEDAMA_ETHASH_PLUGIN
    v.push_back({"ethash", OTEDAMA_ETHASH_PLUGIN, "org.otedama.algorithm.ethash", {}});
#endif
#ifdef OTEDAMA_KAWPOW_PLUGIN
    v.push_back({"kawpow", OTEDAMA_KAWPOW_PLUGIN, "org.otedama.algorithm.kawpow", {}});
#endif
    return v;
}

TEST(CpuBackendWithContextAlgorithms, MinesAnEasyTargetAndThePluginVerifiesEveryNonce) {
    const auto algos = context_algorithms();
    if (algos.empty()) GTEST_SKIP() << "no randomx, ethash or kawpow plugin in this build";
    for (const ContextAlgo& a : algos) {
        SCOPED_TRACE(a.name);
        th::FakeHost host;
        th::CreateResult cpu = th::create_instance(kCpuPlugin, kCpuId, OTD_BACKEND_INTERFACE_ID, host);
        ASSERT_TRUE(cpu.ok()) << cpu.describe();
        th::CreateResult alg = th::create_instance(a.path, a.id, OTD_ALGORITHM_INTERFACE_ID, host);
        ASSERT_TRUE(alg.ok()) << alg.describe();
        const otd_backend_t& backend = cpu.instance.table<otd_backend_t>();
        const otd_algorithm_t& algorithm = alg.instance.table<otd_algorithm_t>();
        ASSERT_NE(algorithm.scan, nullptr);
        ASSERT_NE(algorithm.flags & OTD_ALGO_NEEDS_CONTEXT, 0u);

        otd_context_params_t params{};
        params.struct_size = sizeof params;
        params.mode = OTD_CONTEXT_LIGHT;
        params.seed = a.key.empty() ? nullptr : a.key.data();
        params.seed_size = static_cast<uint32_t>(a.key.size());
        params.height = 1;
        params.numa_node = -1;
        otd_algo_context_t* ctx = nullptr;
        th::ErrorBuffer err;
        ASSERT_EQ(algorithm.prepare_context(alg.instance.plugin(), &params, &ctx, err.text, sizeof err.text), OTD_OK) << err.str();

        // The family's blob shape: header hash || 8-byte nonce (Ethash family), or a 76-byte Monero hashing
        // blob with the 4-byte nonce at 39. Content is arbitrary.
        const bool has_mix = (algorithm.flags & OTD_ALGO_HAS_MIX) != 0U;
        std::vector<uint8_t> blob(has_mix ? 40 : 76);
        for (size_t i = 0; i < blob.size(); ++i) blob[i] = static_cast<uint8_t>(i * 7 + 3);
        if (!has_mix) {
            // A well-formed Monero hashing blob (the verifier parses it): major 16, minor 16, timestamp
            // 1700000000 (a 5-byte varint), previous id, nonce, tree root, transaction count 1.
            const uint8_t head[7] = {0x10, 0x10, 0x80, 0xe2, 0xcf, 0xaa, 0x06};
            std::copy(std::begin(head), std::end(head), blob.begin());
            blob[75] = 0x01;
        }
        const uint32_t nonce_offset = has_mix ? 32 : 39, nonce_size = has_mix ? 8 : 4;
        std::fill(blob.begin() + nonce_offset, blob.begin() + nonce_offset + nonce_size, 0);
        // About one hash in four meets this target (256-bit little-endian: byte 31 is the most significant).
        uint8_t target[32];
        std::memset(target, 0xff, sizeof target);
        target[31] = 0x3f;

        otd_device_t* device = nullptr;
        const otd_device_limits_t l = limits(1);
        ASSERT_EQ(backend.open_device(cpu.instance.plugin(), 0, &l, &device, err.text, sizeof err.text), OTD_OK) << err.str();
        struct Hits {
            std::vector<otd_found_t> found;
            static otd_status_t OTD_CALL on_found(void* user, const otd_found_t* f) {
                static_cast<Hits*>(user)->found.push_back(*f);
                return OTD_OK;
            }
        } hits;
        otd_work_unit_t w{};
        w.struct_size = sizeof w;
        w.work_id = 5;
        w.algorithm = a.name;
        w.blob = blob.data();
        w.blob_size = static_cast<uint32_t>(blob.size());
        w.nonce_offset = nonce_offset;
        w.nonce_size = nonce_size;
        w.nonce_start = 1000;
        w.nonce_count = 24;
        w.height = 1;
        std::memcpy(w.share_target, target, 32);
        std::memset(w.block_target, 0, 32);
        w.algorithm_plugin = alg.instance.plugin();
        w.algorithm_table = &algorithm;
        w.algorithm_context = ctx;
        w.algorithm_context_id = 1;
        w.on_found = &Hits::on_found;
        w.on_found_user = &hits;
        uint64_t hashes = 0;
        EXPECT_EQ(backend.run(cpu.instance.plugin(), device, 0, &w, &hashes, err.text, sizeof err.text), OTD_OK) << err.str();
        backend.close_device(cpu.instance.plugin(), device);
        EXPECT_EQ(hashes, 24u);
        // 24 tries at 1/4: none found happens with probability (3/4)^24 = 0.1%; the blob is fixed, so the
        // outcome is deterministic for each algorithm.
        ASSERT_FALSE(hits.found.empty());
        for (const otd_found_t& f : hits.found) {
            EXPECT_GE(f.nonce, 1000u);
            EXPECT_LT(f.nonce, 1024u);
            std::vector<uint8_t> solved = blob;
            for (uint32_t i = 0; i < nonce_size; ++i) solved[nonce_offset + i] = static_cast<uint8_t>(f.nonce >> (8 * i));
            otd_verify_request_t req{};
            req.struct_size = sizeof req;
            req.blob = solved.data();
            req.blob_size = static_cast<uint32_t>(solved.size());
            req.nonce = f.nonce;
            req.height = 1;
            if (has_mix) {
                req.flags = OTD_FOUND_HAS_MIX;
                std::memcpy(req.mix, f.mix, 32);
            }
            std::memcpy(req.share_target, target, 32);
            otd_verify_result_t res{};
            res.struct_size = sizeof res;
            ASSERT_EQ(algorithm.verify(alg.instance.plugin(), ctx, &req, &res, err.text, sizeof err.text), OTD_OK) << err.str();
            EXPECT_EQ(res.meets_share, 1u) << "nonce " << f.nonce;
            EXPECT_EQ(res.mix_ok, 1u) << "nonce " << f.nonce;
            EXPECT_EQ(std::memcmp(res.hash, f.hash, 32), 0) << "the scan's hash differs from verify's for nonce " << f.nonce;
        }
        algorithm.release_context(alg.instance.plugin(), ctx);
    }
}

}  // namespace
