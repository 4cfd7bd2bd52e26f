#include "sensors.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <optional>
#include <string_view>
#include <utility>

namespace otedama::cpu_backend {
namespace {

namespace fs = std::filesystem;

std::optional<std::string> read_line(const fs::path& file) {
    std::ifstream in(file);
    std::string line;
    if (!in || !std::getline(in, line)) return std::nullopt;
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back())) != 0) line.pop_back();
    return line;
}

std::optional<int64_t> read_integer(const fs::path& file) {
    const std::optional<std::string> line = read_line(file);
    if (!line) return std::nullopt;
    int64_t value = 0;
    const auto [end, ec] = std::from_chars(line->data(), line->data() + line->size(), value);
    if (ec != std::errc{} || end != line->data() + line->size()) return std::nullopt;
    return value;
}

/// Sorted entries of a directory whose names start with `prefix`; empty when it cannot be listed.
std::vector<fs::path> entries(const fs::path& dir, std::string_view prefix) {
    std::vector<fs::path> out;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        if (it->path().filename().string().starts_with(prefix)) out.push_back(it->path());
    }
    std::sort(out.begin(), out.end());
    return out;
}

/// "temp3_input" -> 3; nullopt for any other name.
std::optional<int> temp_input_index(const std::string& name) {
    constexpr std::string_view prefix = "temp";
    constexpr std::string_view suffix = "_input";
    if (!name.starts_with(prefix) || !name.ends_with(suffix) || name.size() <= prefix.size() + suffix.size()) return std::nullopt;
    const char* first = name.data() + prefix.size();
    const char* last = name.data() + name.size() - suffix.size();
    int index = 0;
    const auto [end, ec] = std::from_chars(first, last, index);
    if (ec != std::errc{} || end != last) return std::nullopt;
    return index;
}

/// The sensor of an hwmon device that measures the CPU package (see sensors.hpp); empty when none.
fs::path pick_hwmon_input(const fs::path& dir, const std::string& driver) {
    std::vector<std::pair<int, std::string>> sensors;  // index, label ("" when unlabelled)
    for (const fs::path& input : entries(dir, "temp")) {
        const std::optional<int> index = temp_input_index(input.filename().string());
        if (!index) continue;
        sensors.emplace_back(*index, read_line(dir / ("temp" + std::to_string(*index) + "_label")).value_or(""));
    }
    if (sensors.empty()) return {};
    std::sort(sensors.begin(), sensors.end());
    auto input_of = [&](int index) { return dir / ("temp" + std::to_string(index) + "_input"); };
    auto labelled = [&](auto&& matches) -> std::optional<int> {
        for (const auto& [index, label] : sensors) {
            if (matches(label)) return index;
        }
        return std::nullopt;
    };
    if (driver == "coretemp") {
        if (auto i = labelled([](const std::string& l) { return l.starts_with("Package id"); })) return input_of(*i);
    } else {
        if (auto i = labelled([](const std::string& l) { return l == "Tdie"; })) return input_of(*i);
        if (auto i = labelled([](const std::string& l) { return l == "Tctl"; })) return input_of(*i);
    }
    return input_of(sensors.front().first);  // the lowest-numbered: temp1 on every driver we accept
}

bool is_cpu_thermal_zone(std::string type) {
    std::transform(type.begin(), type.end(), type.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return type == "x86_pkg_temp" || type.find("cpu") != std::string::npos;
}

/// "intel-rapl:0" (a package), not "intel-rapl:0:1" (a subzone of it: core, uncore, dram).
bool is_package_zone(const std::string& name) {
    constexpr std::string_view prefix = "intel-rapl:";
    if (!name.starts_with(prefix) || name.size() == prefix.size()) return false;
    return std::all_of(name.begin() + static_cast<std::ptrdiff_t>(prefix.size()), name.end(),
                       [](unsigned char c) { return std::isdigit(c) != 0; });
}

}  // namespace

Sensors Sensors::discover(const fs::path& sys_root) {
    Sensors s;
    std::error_code ec;
    for (fs::path dir : entries(sys_root / "class" / "hwmon", "hwmon")) {
        // Older kernels keep the attributes in the hwmon device's parent.
        if (!fs::exists(dir / "name", ec) && fs::exists(dir / "device" / "name", ec)) dir /= "device";
        const std::optional<std::string> driver = read_line(dir / "name");
        if (!driver || (*driver != "coretemp" && *driver != "k10temp" && *driver != "zenpower")) continue;
        if (fs::path input = pick_hwmon_input(dir, *driver); !input.empty()) s.temperature_files_.push_back(std::move(input));
    }
    if (s.temperature_files_.empty()) {
        for (const fs::path& zone : entries(sys_root / "class" / "thermal", "thermal_zone")) {
            const std::optional<std::string> type = read_line(zone / "type");
            if (type && is_cpu_thermal_zone(*type) && fs::exists(zone / "temp", ec)) s.temperature_files_.push_back(zone / "temp");
        }
    }
    for (const fs::path& zone : entries(sys_root / "class" / "powercap", "intel-rapl:")) {
        if (!is_package_zone(zone.filename().string())) continue;
        const std::optional<int64_t> energy = read_integer(zone / "energy_uj");
        if (!energy || *energy < 0) continue;  // absent, or root-only (Linux >= 5.10)
        const std::optional<int64_t> range = read_integer(zone / "max_energy_range_uj");
        s.zones_.push_back(EnergyZone{zone / "energy_uj", range && *range > 0 ? static_cast<uint64_t>(*range) : 0, 0});
    }
    return s;
}

double Sensors::temperature_c() const {
    double hottest = -1;
    for (const fs::path& file : temperature_files_) {
        const std::optional<int64_t> millidegrees = read_integer(file);
        if (!millidegrees) continue;
        const double celsius = static_cast<double>(*millidegrees) / 1000.0;
        if (celsius < -50 || celsius > 200) continue;  // a sensor reporting nonsense (-128 is common)
        hottest = std::max(hottest, celsius);
    }
    return hottest;
}

double Sensors::sample_power_w(uint64_t now_ns) {
    if (zones_.empty()) return -1;
    std::vector<uint64_t> readings;
    readings.reserve(zones_.size());
    for (const EnergyZone& zone : zones_) {
        const std::optional<int64_t> energy = read_integer(zone.energy_file);
        if (!energy || *energy < 0) {
            has_last_sample_ = false;
            return -1;
        }
        readings.push_back(static_cast<uint64_t>(*energy));
    }
    const bool have_interval = has_last_sample_ && now_ns > last_sample_ns_;
    uint64_t delta_uj = 0;
    for (size_t i = 0; i < zones_.size(); ++i) {
        EnergyZone& zone = zones_[i];
        const uint64_t now = readings[i];
        if (now >= zone.last_uj) {
            delta_uj += now - zone.last_uj;
        } else if (zone.max_range_uj > zone.last_uj) {
            delta_uj += zone.max_range_uj - zone.last_uj + now;  // wrapped once
        } else {
            delta_uj += now;  // wrapped with an unknown range: the best lower bound
        }
        zone.last_uj = now;
    }
    const uint64_t previous_ns = last_sample_ns_;
    last_sample_ns_ = now_ns;
    has_last_sample_ = true;
    if (!have_interval) return -1;
    // microjoules per nanosecond = 1e3 watts
    return static_cast<double>(delta_uj) * 1e3 / static_cast<double>(now_ns - previous_ns);
}

}  // namespace otedama::cpu_backend
