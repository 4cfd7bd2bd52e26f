// CPU temperature and package power from sysfs, for the backend's telemetry.
//
//  - Temperature: hwmon drivers that measure the CPU itself (coretemp: the "Package id N" sensor; k10temp
//    and zenpower: Tdie, else Tctl, else temp1), else thermal zones of a CPU type (x86_pkg_temp,
//    cpu-thermal, ...). With several packages, the hottest. Unknown: -1.
//  - Power: the RAPL package energy counters (powercap intel-rapl:N, also used by AMD), summed over
//    packages, differentiated between two samples and corrected for counter wrap. The counters cover the
//    whole package, not only mining. Since Linux 5.10 only root may read them (CVE-2020-8694): -1 then.
//
// Thread contract: discover() [control]; temperature_c() [any]; sample_power_w() is not thread-safe
// (the caller serialises it).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace otedama::cpu_backend {

class Sensors {
 public:
    /// Finds the sensor files under `sys_root` (a fake tree in tests). Finding none is not an error.
    [[nodiscard]] static Sensors discover(const std::filesystem::path& sys_root = "/sys");

    /// Degrees Celsius, the hottest CPU sensor; -1 when none is readable.
    [[nodiscard]] double temperature_c() const;

    /// Average package power in watts between the previous sample and now (`now_ns` on a monotonic
    /// clock); -1 on the first sample, when a counter is unreadable, or when no time passed.
    [[nodiscard]] double sample_power_w(uint64_t now_ns);

    [[nodiscard]] const std::vector<std::filesystem::path>& temperature_files() const noexcept { return temperature_files_; }
    [[nodiscard]] size_t energy_zone_count() const noexcept { return zones_.size(); }

 private:
    struct EnergyZone {
        std::filesystem::path energy_file;  // energy_uj
        uint64_t max_range_uj = 0;          // the counter wraps to 0 after this; 0 unknown
        uint64_t last_uj = 0;
    };

    std::vector<std::filesystem::path> temperature_files_;
    std::vector<EnergyZone> zones_;
    uint64_t last_sample_ns_ = 0;
    bool has_last_sample_ = false;
};

}  // namespace otedama::cpu_backend
