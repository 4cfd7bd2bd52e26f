#include "cl_runtime.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string_view>

namespace otedama::opencl_backend {
namespace {

std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\0' || s.back() == ' ' || s.back() == '\n' || s.back() == '\t')) s.pop_back();
    size_t start = 0;
    while (start < s.size() && s[start] == ' ') ++start;
    return s.substr(start);
}

template <class Getter>
std::string info_string(Getter get) {
    size_t size = 0;
    if (get(0, nullptr, &size) != CL_SUCCESS || size == 0) return {};
    std::string out(size, '\0');
    if (get(size, out.data(), nullptr) != CL_SUCCESS) return {};
    return trim(out);
}

std::string device_string(cl_device_id d, cl_device_info what) {
    return info_string([&](size_t n, void* p, size_t* r) { return clGetDeviceInfo(d, what, n, p, r); });
}
std::string platform_string(cl_platform_id p, cl_platform_info what) {
    return info_string([&](size_t n, void* v, size_t* r) { return clGetPlatformInfo(p, what, n, v, r); });
}
template <class T>
T device_value(cl_device_id d, cl_device_info what) {
    T value{};
    if (clGetDeviceInfo(d, what, sizeof value, &value, nullptr) != CL_SUCCESS) return T{};
    return value;
}

// Extension queries, by their registry values (Khronos OpenCL registry, cl_ext.h; NVIDIA's
// cl_nv_device_attribute_query is not in every cl_ext.h), so the identity does not depend on header age.
constexpr cl_device_info kPciBusInfoKhr = 0x410F;  // cl_khr_pci_bus_info: CL_DEVICE_PCI_BUS_INFO_KHR
constexpr cl_device_info kUuidKhr = 0x106A;        // cl_khr_device_uuid: CL_DEVICE_UUID_KHR (16 bytes)
constexpr cl_device_info kPciBusIdNv = 0x4008;     // cl_nv_device_attribute_query: CL_DEVICE_PCI_BUS_ID_NV
constexpr cl_device_info kPciSlotIdNv = 0x4009;    // CL_DEVICE_PCI_SLOT_ID_NV: device << 3 | function
constexpr cl_device_info kPciDomainIdNv = 0x400A;  // CL_DEVICE_PCI_DOMAIN_ID_NV
constexpr cl_device_info kTopologyAmd = 0x4037;    // cl_amd_device_attribute_query: CL_DEVICE_TOPOLOGY_AMD
constexpr cl_uint kTopologyTypePcieAmd = 1;        // CL_DEVICE_TOPOLOGY_TYPE_PCIE_AMD

bool has_extension(const std::string& extensions, std::string_view name) {
    size_t at = 0;
    while ((at = extensions.find(name, at)) != std::string::npos) {
        const size_t end = at + name.size();
        if ((at == 0 || extensions[at - 1] == ' ') && (end == extensions.size() || extensions[end] == ' ')) return true;
        at = end;
    }
    return false;
}

/// Fills desc's PCI address and UUID from whichever extension the device has (none for CPU devices).
void read_identity(cl_device_id device, DeviceDesc& desc) {
    if ((device_value<cl_device_type>(device, CL_DEVICE_TYPE) & CL_DEVICE_TYPE_CPU) != 0) return;
    const std::string ext = device_string(device, CL_DEVICE_EXTENSIONS);
    if (has_extension(ext, "cl_khr_device_uuid")) {
        uint8_t uuid[OTD_DEVICE_UUID_SIZE] = {};
        if (clGetDeviceInfo(device, kUuidKhr, sizeof uuid, uuid, nullptr) == CL_SUCCESS) std::memcpy(desc.uuid, uuid, sizeof uuid);
    }
    if (has_extension(ext, "cl_khr_pci_bus_info")) {
        cl_uint pci[4] = {};  // cl_device_pci_bus_info_khr: domain, bus, device, function
        if (clGetDeviceInfo(device, kPciBusInfoKhr, sizeof pci, pci, nullptr) == CL_SUCCESS) {
            desc.has_pci = true;
            desc.pci_domain = pci[0];
            desc.pci_bus = pci[1];
            desc.pci_device = pci[2];
            desc.pci_function = pci[3];
            return;
        }
    }
    if (has_extension(ext, "cl_nv_device_attribute_query")) {
        cl_uint bus = 0, slot = 0, domain = 0;
        if (clGetDeviceInfo(device, kPciBusIdNv, sizeof bus, &bus, nullptr) == CL_SUCCESS &&
            clGetDeviceInfo(device, kPciSlotIdNv, sizeof slot, &slot, nullptr) == CL_SUCCESS) {
            // The domain query came with later drivers; without it the device is in domain 0, as on most machines.
            if (clGetDeviceInfo(device, kPciDomainIdNv, sizeof domain, &domain, nullptr) != CL_SUCCESS) domain = 0;
            desc.has_pci = true;
            desc.pci_domain = domain;
            desc.pci_bus = bus;
            desc.pci_device = slot >> 3;
            desc.pci_function = slot & 7u;
            return;
        }
    }
    if (has_extension(ext, "cl_amd_device_attribute_query")) {
        // cl_device_topology_amd: {cl_uint type; cl_char unused[17]; cl_char bus, device, function} (no domain).
        unsigned char topology[24] = {};
        if (clGetDeviceInfo(device, kTopologyAmd, sizeof topology, topology, nullptr) == CL_SUCCESS) {
            cl_uint type = 0;
            std::memcpy(&type, topology, sizeof type);
            if (type == kTopologyTypePcieAmd) {
                desc.has_pci = true;
                desc.pci_domain = 0;
                desc.pci_bus = topology[21];
                desc.pci_device = topology[22];
                desc.pci_function = topology[23];
            }
        }
    }
}

}  // namespace

std::string cl_error_name(cl_int code) {
    const char* name = nullptr;
    switch (code) {
        case CL_SUCCESS: name = "CL_SUCCESS"; break;
        case CL_DEVICE_NOT_FOUND: name = "CL_DEVICE_NOT_FOUND"; break;
        case CL_DEVICE_NOT_AVAILABLE: name = "CL_DEVICE_NOT_AVAILABLE"; break;
        case CL_COMPILER_NOT_AVAILABLE: name = "CL_COMPILER_NOT_AVAILABLE"; break;
        case CL_MEM_OBJECT_ALLOCATION_FAILURE: name = "CL_MEM_OBJECT_ALLOCATION_FAILURE"; break;
        case CL_OUT_OF_RESOURCES: name = "CL_OUT_OF_RESOURCES"; break;
        case CL_OUT_OF_HOST_MEMORY: name = "CL_OUT_OF_HOST_MEMORY"; break;
        case CL_BUILD_PROGRAM_FAILURE: name = "CL_BUILD_PROGRAM_FAILURE"; break;
        case CL_INVALID_VALUE: name = "CL_INVALID_VALUE"; break;
        case CL_INVALID_DEVICE: name = "CL_INVALID_DEVICE"; break;
        case CL_INVALID_CONTEXT: name = "CL_INVALID_CONTEXT"; break;
        case CL_INVALID_COMMAND_QUEUE: name = "CL_INVALID_COMMAND_QUEUE"; break;
        case CL_INVALID_MEM_OBJECT: name = "CL_INVALID_MEM_OBJECT"; break;
        case CL_INVALID_BUFFER_SIZE: name = "CL_INVALID_BUFFER_SIZE"; break;
        case CL_INVALID_PROGRAM: name = "CL_INVALID_PROGRAM"; break;
        case CL_INVALID_PROGRAM_EXECUTABLE: name = "CL_INVALID_PROGRAM_EXECUTABLE"; break;
        case CL_INVALID_KERNEL_NAME: name = "CL_INVALID_KERNEL_NAME"; break;
        case CL_INVALID_KERNEL: name = "CL_INVALID_KERNEL"; break;
        case CL_INVALID_ARG_INDEX: name = "CL_INVALID_ARG_INDEX"; break;
        case CL_INVALID_ARG_VALUE: name = "CL_INVALID_ARG_VALUE"; break;
        case CL_INVALID_ARG_SIZE: name = "CL_INVALID_ARG_SIZE"; break;
        case CL_INVALID_KERNEL_ARGS: name = "CL_INVALID_KERNEL_ARGS"; break;
        case CL_INVALID_WORK_DIMENSION: name = "CL_INVALID_WORK_DIMENSION"; break;
        case CL_INVALID_WORK_GROUP_SIZE: name = "CL_INVALID_WORK_GROUP_SIZE"; break;
        case CL_INVALID_GLOBAL_WORK_SIZE: name = "CL_INVALID_GLOBAL_WORK_SIZE"; break;
        case CL_INVALID_EVENT: name = "CL_INVALID_EVENT"; break;
        case CL_INVALID_OPERATION: name = "CL_INVALID_OPERATION"; break;
        case CL_INVALID_BUILD_OPTIONS: name = "CL_INVALID_BUILD_OPTIONS"; break;
        case CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST: name = "CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST"; break;
        case -1001: name = "CL_PLATFORM_NOT_FOUND_KHR"; break;
        default: break;
    }
    return std::string(name != nullptr ? name : "OpenCL error") + " (" + std::to_string(code) + ")";
}

void check(cl_int code, const std::string& where, const char* what) {
    if (code != CL_SUCCESS) throw sdk::Error(OTD_ERR_IO, where + ": " + what + " failed: " + cl_error_name(code));
}

std::vector<DeviceDesc> enumerate_devices(std::vector<std::string>& notes) {
    std::vector<DeviceDesc> out;
    cl_uint platform_count = 0;
    const cl_int st = clGetPlatformIDs(0, nullptr, &platform_count);
    if (st != CL_SUCCESS || platform_count == 0) {
        // -1001: the ICD loader found no installed platform (no driver): no devices, not an error.
        if (st != CL_SUCCESS && st != -1001) notes.push_back("clGetPlatformIDs failed: " + cl_error_name(st));
        return out;
    }
    std::vector<cl_platform_id> platforms(platform_count);
    if (const cl_int s = clGetPlatformIDs(platform_count, platforms.data(), nullptr); s != CL_SUCCESS) {
        notes.push_back("clGetPlatformIDs failed: " + cl_error_name(s));
        return out;
    }
    for (cl_uint p = 0; p < platform_count; ++p) {
        const std::string platform_name = platform_string(platforms[p], CL_PLATFORM_NAME);
        cl_uint device_count = 0;
        const cl_int ds = clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, 0, nullptr, &device_count);
        if (ds == CL_DEVICE_NOT_FOUND || device_count == 0) continue;
        if (ds != CL_SUCCESS) {
            notes.push_back("platform " + std::to_string(p) + " (" + platform_name + "): clGetDeviceIDs failed: " + cl_error_name(ds));
            continue;
        }
        std::vector<cl_device_id> devices(device_count);
        if (const cl_int s = clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, device_count, devices.data(), nullptr);
            s != CL_SUCCESS) {
            notes.push_back("platform " + std::to_string(p) + " (" + platform_name + "): clGetDeviceIDs failed: " + cl_error_name(s));
            continue;
        }
        for (cl_uint d = 0; d < device_count; ++d) {
            DeviceDesc desc;
            desc.platform = platforms[p];
            desc.device = devices[d];
            desc.id = "opencl" + std::to_string(p) + "." + std::to_string(d);
            desc.name = device_string(devices[d], CL_DEVICE_NAME);
            desc.vendor = device_string(devices[d], CL_DEVICE_VENDOR);
            desc.version = device_string(devices[d], CL_DEVICE_VERSION);
            desc.platform_name = platform_name;
            desc.global_memory = device_value<cl_ulong>(devices[d], CL_DEVICE_GLOBAL_MEM_SIZE);
            desc.max_allocation = device_value<cl_ulong>(devices[d], CL_DEVICE_MAX_MEM_ALLOC_SIZE);
            desc.compute_units = device_value<cl_uint>(devices[d], CL_DEVICE_MAX_COMPUTE_UNITS);
            desc.max_work_group = device_value<size_t>(devices[d], CL_DEVICE_MAX_WORK_GROUP_SIZE);
            desc.available = device_value<cl_bool>(devices[d], CL_DEVICE_AVAILABLE) != CL_FALSE &&
                             device_value<cl_bool>(devices[d], CL_DEVICE_COMPILER_AVAILABLE) != CL_FALSE;
            if (desc.name.empty()) desc.name = "OpenCL device " + std::to_string(d);
            read_identity(devices[d], desc);
            out.push_back(std::move(desc));
        }
    }
    return out;
}

Runtime::Runtime(const sdk::Host& host, const DeviceDesc& desc) : host_(host), desc_(desc) {
    const std::string where = desc_.id + " (" + desc_.name + ")";
    if (!desc_.available) {
        throw sdk::Error(OTD_ERR_STATE, where + ": the device or its OpenCL C compiler is not available");
    }
    const cl_context_properties props[] = {CL_CONTEXT_PLATFORM, reinterpret_cast<cl_context_properties>(desc_.platform), 0};
    cl_int st = CL_SUCCESS;
    context_ = clCreateContext(props, 1, &desc_.device, nullptr, nullptr, &st);
    check(st, where, "clCreateContext");
    queue_ = clCreateCommandQueue(context_, desc_.device, 0, &st);
    if (st != CL_SUCCESS) {
        clReleaseContext(context_);
        check(st, where, "clCreateCommandQueue");
    }
}

Runtime::~Runtime() {
    if (queue_ != nullptr) clFinish(queue_);
    for (auto& [name, program] : programs_) {
        for (auto& [entry, k] : program.kernels) clReleaseKernel(k);
        if (program.program != nullptr) clReleaseProgram(program.program);
    }
    if (queue_ != nullptr) clReleaseCommandQueue(queue_);
    if (context_ != nullptr) clReleaseContext(context_);
}

void Runtime::forget_failures() {
    const std::lock_guard lock(mutex_);
    std::erase_if(programs_, [](const auto& entry) { return !entry.second.error.empty(); });
}

cl_program Runtime::build(const std::string& what, const std::string& source, const std::string& options,
                          const std::vector<unsigned char>* binary) {
    const std::string where = desc_.id + " (" + desc_.name + ")";
    cl_int st = CL_SUCCESS;
    cl_program program = nullptr;
    if (binary != nullptr && !binary->empty()) {
        const unsigned char* bytes = binary->data();
        const size_t size = binary->size();
        cl_int binary_status = CL_SUCCESS;
        program = clCreateProgramWithBinary(context_, 1, &desc_.device, &size, &bytes, &binary_status, &st);
        if (st != CL_SUCCESS || binary_status != CL_SUCCESS) {
            if (program != nullptr) clReleaseProgram(program);
            throw sdk::Error(OTD_ERR_STATE, where + ": the cached binary of the " + what + " program was refused (" +
                                                cl_error_name(st != CL_SUCCESS ? st : binary_status) + ")");
        }
    } else {
        const char* text = source.c_str();
        const size_t length = source.size();
        program = clCreateProgramWithSource(context_, 1, &text, &length, &st);
        check(st, where, "clCreateProgramWithSource");
    }
    const auto started = std::chrono::steady_clock::now();
    st = clBuildProgram(program, 1, &desc_.device, options.c_str(), nullptr, nullptr);
    const std::string log = info_string([&](size_t n, void* p, size_t* r) {
        return clGetProgramBuildInfo(program, desc_.device, CL_PROGRAM_BUILD_LOG, n, p, r);
    });
    if (st != CL_SUCCESS) {
        clReleaseProgram(program);
        host_.error(where + ": building the " + what + " kernel failed (" + cl_error_name(st) + "); build log:\n" +
                    (log.empty() ? std::string("(empty)") : log));
        // The error buffer is short: the start of the log names the first problem; the whole log is logged.
        throw sdk::Error(OTD_ERR_STATE, where + ": building the " + what + " kernel failed (" + cl_error_name(st) +
                                            "): " + (log.empty() ? std::string("(empty build log)") : log));
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    host_.info(where + ": built the " + what + " kernel" + (binary != nullptr && !binary->empty() ? " from its cached binary" : "") +
               " in " + std::to_string(seconds).substr(0, 5) + " s");
    return program;
}

std::vector<unsigned char> Runtime::binary_of(cl_program program) const {
    size_t size = 0;
    if (clGetProgramInfo(program, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, nullptr) != CL_SUCCESS || size == 0) return {};
    std::vector<unsigned char> out(size);
    unsigned char* ptr = out.data();
    if (clGetProgramInfo(program, CL_PROGRAM_BINARIES, sizeof ptr, &ptr, nullptr) != CL_SUCCESS) return {};
    return out;
}

cl_kernel Runtime::kernel(const std::string& algorithm, const std::function<std::string()>& source_of, const char* kernel_name) {
    const std::lock_guard lock(mutex_);
    auto it = programs_.find(algorithm);
    const std::string where = desc_.id + " (" + desc_.name + ")";
    if (it == programs_.end()) {
        std::string source = source_of();  // a missing kernel file throws here, before anything is cached
        Program& program = programs_[algorithm];
        try {
            program.program = build(algorithm, source, "");
        } catch (const sdk::Error& e) {
            program.error = e.what();
            throw;
        }
        it = programs_.find(algorithm);
    }
    Program& program = it->second;
    if (!program.error.empty()) throw sdk::Error(OTD_ERR_STATE, program.error);
    if (auto k = program.kernels.find(kernel_name); k != program.kernels.end()) return k->second;
    cl_int st = CL_SUCCESS;
    cl_kernel k = clCreateKernel(program.program, kernel_name, &st);
    check(st, where, (std::string("clCreateKernel(") + kernel_name + ")").c_str());
    program.kernels.emplace(kernel_name, k);
    return k;
}

}  // namespace otedama::opencl_backend
