// OpenCL plumbing of the opencl backend: error names, platform and device enumeration, and the per-device
// runtime (context, in-order queue, programs built once per algorithm and kept for the plugin's life).
#pragma once

#include <CL/cl.h>

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <otedama/sdk/backend.hpp>

namespace otedama::opencl_backend {

/// "CL_OUT_OF_RESOURCES (-5)" for an OpenCL status.
[[nodiscard]] std::string cl_error_name(cl_int code);

/// Throws sdk::Error(OTD_ERR_IO, "<where>: <what> failed: <CL_...>") unless code is CL_SUCCESS.
void check(cl_int code, const std::string& where, const char* what);

/// One OpenCL device as enumerated (platform p, device d of that platform: id "opencl<p>.<d>").
struct DeviceDesc {
    cl_platform_id platform = nullptr;
    cl_device_id device = nullptr;
    std::string id;             // "opencl0.0"
    std::string name;           // CL_DEVICE_NAME, trimmed
    std::string vendor;         // CL_DEVICE_VENDOR
    std::string platform_name;  // CL_PLATFORM_NAME
    std::string version;        // CL_DEVICE_VERSION
    uint64_t global_memory = 0;    // CL_DEVICE_GLOBAL_MEM_SIZE
    uint64_t max_allocation = 0;   // CL_DEVICE_MAX_MEM_ALLOC_SIZE
    uint32_t compute_units = 0;    // CL_DEVICE_MAX_COMPUTE_UNITS
    size_t max_work_group = 0;     // CL_DEVICE_MAX_WORK_GROUP_SIZE
    bool available = false;        // CL_DEVICE_AVAILABLE && CL_DEVICE_COMPILER_AVAILABLE
    // The physical identity (otd_device_info_t), from cl_khr_pci_bus_info, cl_nv_device_attribute_query or
    // cl_amd_device_attribute_query (bus id) and cl_khr_device_uuid. Left unknown for CPU devices (PoCL):
    // software, not a card another backend could list.
    bool has_pci = false;
    uint32_t pci_domain = 0, pci_bus = 0, pci_device = 0, pci_function = 0;
    uint8_t uuid[OTD_DEVICE_UUID_SIZE] = {};
};

/// Every device of every platform, in platform then device order. No platform (no ICD installed) is an
/// empty list, not an error; `notes` gets a line for each platform or device that could not be queried.
[[nodiscard]] std::vector<DeviceDesc> enumerate_devices(std::vector<std::string>& notes);

/// A device's context and queue, and its programs: built on first use per algorithm, cached (a failed build
/// too, so a broken kernel is reported, not rebuilt on every work unit). Lives as long as the plugin
/// instance, so a reopened device (the host's watchdog, a limits change) does not compile again.
class Runtime {
 public:
    Runtime(const sdk::Host& host, const DeviceDesc& desc);
    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;
    ~Runtime();

    [[nodiscard]] const DeviceDesc& desc() const noexcept { return desc_; }
    [[nodiscard]] cl_context context() const noexcept { return context_; }
    [[nodiscard]] cl_command_queue queue() const noexcept { return queue_; }

    /// The kernel `kernel_name` of the program for `algorithm`, built from source() on first use. [worker]
    /// @throws sdk::Error naming the device, the algorithm and the compiler's log when the build fails,
    /// and whatever source() throws.
    cl_kernel kernel(const std::string& algorithm, const std::function<std::string()>& source, const char* kernel_name);

    /// Forgets failed builds, so that reopening the device (after fixing `kernel_dir`) builds again. [control]
    void forget_failures();

    /// Builds `source` with `options` for this device, uncached (the caller owns the program). With a
    /// non-empty `binary` the program is created from it instead (clCreateProgramWithBinary); a binary that
    /// the driver refuses is reported as such (the caller then builds from source). [worker]
    /// @throws sdk::Error(OTD_ERR_STATE) naming the device, `what` and the compiler's log when the build fails.
    cl_program build(const std::string& what, const std::string& source, const std::string& options,
                     const std::vector<unsigned char>* binary = nullptr);

    /// The device's binary of a built program (CL_PROGRAM_BINARIES). Empty when the driver gives none.
    [[nodiscard]] std::vector<unsigned char> binary_of(cl_program program) const;

 private:
    struct Program {
        cl_program program = nullptr;
        std::map<std::string, cl_kernel> kernels;  // by entry point
        std::string error;  // the build failure, reported again on every later request
    };

    sdk::Host host_;
    DeviceDesc desc_;
    cl_context context_ = nullptr;
    cl_command_queue queue_ = nullptr;
    std::mutex mutex_;  // guards programs_
    std::map<std::string, Program> programs_;
};

}  // namespace otedama::opencl_backend
