// The USB service over libusb-1.0 (see usb.hpp for the contract).
#include <libusb.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <climits>
#include <cstdio>
#include <exception>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <string_view>

#include "services/message.hpp"
#include "services/usb.hpp"

namespace otedama::services {
namespace {

using detail::guarded;
using detail::set_error;

// ---------------------------------------------------------------------------------------------------
// The context

struct ContextState {
    std::mutex mutex;
    libusb_context* context = nullptr;
    std::string failure;           // why the last libusb_init failed
    bool failure_logged = false;   // one warning per failure, not one per enumerate
};

ContextState& context_state() {
    // Leaked on purpose: plugin threads may still close devices while static destructors run.
    static ContextState* state = new ContextState;
    return *state;
}

/// The process's libusb context, created on first use and retried while it fails. nullptr with `why` set
/// when USB is unavailable.
libusb_context* usb_context(const otd_host_t* host, std::string* why) {
    ContextState& s = context_state();
    const std::lock_guard lock(s.mutex);
    if (s.context != nullptr) return s.context;
    libusb_context* context = nullptr;
    const int r = libusb_init(&context);
    if (r != LIBUSB_SUCCESS) {
        s.failure = std::string("libusb_init failed: ") + libusb_strerror(r) + " (is usbfs at /dev/bus/usb?)";
        if (!s.failure_logged && host != nullptr) {
            detail::log(host, OTD_LOG_WARN, "usb: no USB access, no device will be found: " + s.failure);
            s.failure_logged = true;
        }
        if (why != nullptr) *why = s.failure;
        return nullptr;
    }
    s.context = context;
    return context;
}

/// Owns a libusb device list.
class DeviceList {
 public:
    explicit DeviceList(libusb_context* context) noexcept { count_ = libusb_get_device_list(context, &list_); }
    DeviceList(const DeviceList&) = delete;
    DeviceList& operator=(const DeviceList&) = delete;
    ~DeviceList() {
        if (list_ != nullptr) libusb_free_device_list(list_, 1);
    }
    [[nodiscard]] ssize_t count() const noexcept { return count_; }
    [[nodiscard]] libusb_device* operator[](ssize_t i) const noexcept { return list_[i]; }

 private:
    libusb_device** list_ = nullptr;
    ssize_t count_ = 0;
};

/// "usb:BUS-PORT.PORT...", or "usb:BUS" for a root hub.
std::string device_path(libusb_device* device) {
    uint8_t ports[8];  // USB allows 7 tiers below the root
    const int depth = libusb_get_port_numbers(device, ports, sizeof ports);
    std::string path = "usb:" + std::to_string(libusb_get_bus_number(device));
    for (int i = 0; i < depth; ++i) {
        path += i == 0 ? '-' : '.';
        path += std::to_string(ports[i]);
    }
    return path;
}

/// Whether `path` has the shape device_path() produces: usb:N or usb:N-N(.N)*.
bool well_formed_path(std::string_view path) noexcept {
    if (!path.starts_with("usb:")) return false;
    path.remove_prefix(4);
    bool expect_digit = true;
    bool seen_dash = false;
    for (const char c : path) {
        if (c >= '0' && c <= '9') {
            expect_digit = false;
        } else if (expect_digit) {
            return false;
        } else if (c == '-' && !seen_dash) {
            seen_dash = true;
            expect_digit = true;
        } else if (c == '.' && seen_dash) {
            expect_digit = true;
        } else {
            return false;
        }
    }
    return !expect_digit;
}

/// The serial number string, "" when the device has none or cannot be opened by this host.
std::string serial_number(libusb_device* device, const libusb_device_descriptor& desc) {
    if (desc.iSerialNumber == 0) return {};
    libusb_device_handle* handle = nullptr;
    if (libusb_open(device, &handle) != LIBUSB_SUCCESS) return {};
    unsigned char buf[256];
    const int n = libusb_get_string_descriptor_ascii(handle, desc.iSerialNumber, buf, sizeof buf);
    libusb_close(handle);
    if (n <= 0) return {};
    std::string serial(reinterpret_cast<const char*>(buf), static_cast<size_t>(n));
    std::replace_if(serial.begin(), serial.end(), [](char c) { return c < 0x20 || c == 0x7f; }, '?');
    return serial;
}

// ---------------------------------------------------------------------------------------------------
// Devices

/// The state behind an otd_usb_device_t handle.
struct Device {
    libusb_device_handle* handle = nullptr;
    int interface_number = 0;
    bool reattach_driver = false;        // we detached the kernel driver by hand
    std::string path;
    const otd_host_t* host = nullptr;    // the opener's host table (valid while the device is open)
    std::atomic<int> last_outcome{0};    // libusb code of the previous transfer, to log changes only
};

Device& device_of(otd_usb_device_t* handle) noexcept { return *reinterpret_cast<Device*>(handle); }

unsigned int effective_timeout(uint32_t timeout_ms) noexcept { return timeout_ms == 0 ? 1u : timeout_ms; }

/// Maps a libusb transfer result onto a status, logging an error when it differs from the previous one.
otd_status_t transfer_status(Device& device, const char* what, int result) noexcept {
    const int previous = device.last_outcome.exchange(result);
    if (result >= 0) return OTD_OK;
    if (result == LIBUSB_ERROR_TIMEOUT) return OTD_ERR_TIMEOUT;
    if (result != previous) {
        try {
            detail::log(device.host, OTD_LOG_WARN,
                        "usb " + device.path + ": " + what + " failed: " + libusb_strerror(result));
        } catch (...) {
        }
    }
    return OTD_ERR_IO;
}

otd_status_t open_device(const otd_host_t* host, const char* path_c, uint32_t interface_number,
                         otd_usb_device_t** out, char* err, size_t err_cap) {
    if (out == nullptr) {
        set_error(err, err_cap, "usb open: out is NULL");
        return OTD_ERR_INVALID_ARG;
    }
    *out = nullptr;
    if (path_c == nullptr || *path_c == '\0') {
        set_error(err, err_cap, "usb open: the path is empty");
        return OTD_ERR_INVALID_ARG;
    }
    const std::string path(path_c);
    auto fail = [&](otd_status_t status, const std::string& what) {
        set_error(err, err_cap, "usb " + path + ": " + what);
        return status;
    };
    if (!well_formed_path(path)) return fail(OTD_ERR_INVALID_ARG, "malformed path (expected usb:BUS-PORT.PORT...)");
    if (interface_number > 255) {
        return fail(OTD_ERR_INVALID_ARG, "interface " + std::to_string(interface_number) + " out of range (0..255)");
    }

    std::string why;
    libusb_context* context = usb_context(host, &why);
    if (context == nullptr) return fail(OTD_ERR_NOT_FOUND, "no such USB device (USB unavailable: " + why + ")");

    const DeviceList list(context);
    if (list.count() < 0) {
        return fail(OTD_ERR_IO, std::string("cannot list USB devices: ") + libusb_strerror(static_cast<int>(list.count())));
    }
    libusb_device* found = nullptr;
    for (ssize_t i = 0; i < list.count() && found == nullptr; ++i) {
        if (device_path(list[i]) == path) found = list[i];
    }
    if (found == nullptr) return fail(OTD_ERR_NOT_FOUND, "no such USB device");

    libusb_device_handle* raw_handle = nullptr;
    if (const int r = libusb_open(found, &raw_handle); r != LIBUSB_SUCCESS) {
        if (r == LIBUSB_ERROR_NO_DEVICE) return fail(OTD_ERR_NOT_FOUND, std::string("open: ") + libusb_strerror(r));
        if (r == LIBUSB_ERROR_ACCESS) {
            return fail(OTD_ERR_IO, std::string("open: ") + libusb_strerror(r) +
                                        " (the host's user needs access: a udev rule for the device)");
        }
        return fail(OTD_ERR_IO, std::string("open: ") + libusb_strerror(r));
    }
    auto device = std::make_unique<Device>();
    device->handle = raw_handle;
    device->interface_number = static_cast<int>(interface_number);
    device->path = path;
    device->host = host;
    // Closes the handle (re-attaching a driver we detached) on every failure path below.
    struct HandleGuard {
        Device* device;
        ~HandleGuard() {
            if (device == nullptr) return;
            if (device->reattach_driver) libusb_attach_kernel_driver(device->handle, device->interface_number);
            libusb_close(device->handle);
        }
    } guard{device.get()};

    if (libusb_set_auto_detach_kernel_driver(device->handle, 1) != LIBUSB_SUCCESS) {
        // No auto-detach on this platform: do by hand what it would have done.
        if (libusb_kernel_driver_active(device->handle, device->interface_number) == 1) {
            if (const int r = libusb_detach_kernel_driver(device->handle, device->interface_number); r != LIBUSB_SUCCESS) {
                return fail(OTD_ERR_IO, "cannot detach the kernel driver of interface " +
                                            std::to_string(interface_number) + ": " + libusb_strerror(r));
            }
            device->reattach_driver = true;
        }
    }
    if (const int r = libusb_claim_interface(device->handle, device->interface_number); r != LIBUSB_SUCCESS) {
        const std::string what =
            "cannot claim interface " + std::to_string(interface_number) + ": " + libusb_strerror(r);
        if (r == LIBUSB_ERROR_BUSY) return fail(OTD_ERR_BUSY, what + " (claimed by another program or plugin)");
        if (r == LIBUSB_ERROR_NOT_FOUND || r == LIBUSB_ERROR_NO_DEVICE) return fail(OTD_ERR_NOT_FOUND, what);
        return fail(OTD_ERR_IO, what);
    }
    guard.device = nullptr;

    detail::log(host, OTD_LOG_DEBUG, "usb " + path + ": opened, interface " + std::to_string(interface_number) + " claimed");
    *out = reinterpret_cast<otd_usb_device_t*>(device.release());
    return OTD_OK;
}

otd_status_t enumerate_devices(const otd_host_t* host, uint32_t vendor_id, uint32_t product_id, otd_usb_device_fn fn,
                               void* user) {
    libusb_context* context = usb_context(host, nullptr);
    if (context == nullptr) return OTD_OK;  // no USB reachable: no devices (logged once in usb_context)
    const DeviceList list(context);
    if (list.count() < 0) {
        detail::log(host, OTD_LOG_WARN,
                    std::string("usb: cannot list devices: ") + libusb_strerror(static_cast<int>(list.count())));
        return OTD_ERR_IO;
    }
    for (ssize_t i = 0; i < list.count(); ++i) {
        libusb_device* device = list[i];
        libusb_device_descriptor desc{};
        if (libusb_get_device_descriptor(device, &desc) != LIBUSB_SUCCESS) continue;
        if (vendor_id != 0 && desc.idVendor != vendor_id) continue;
        if (product_id != 0 && desc.idProduct != product_id) continue;
        const std::string path = device_path(device);
        const std::string serial = serial_number(device, desc);
        otd_usb_device_info_t info{};
        info.struct_size = sizeof(info);
        info.vendor_id = desc.idVendor;
        info.product_id = desc.idProduct;
        info.bus = libusb_get_bus_number(device);
        info.address = libusb_get_device_address(device);
        info.path = path.c_str();
        info.serial = serial.c_str();
        fn(user, &info);
    }
    return OTD_OK;
}

// ---------------------------------------------------------------------------------------------------
// The C table

otd_status_t OTD_CALL usb_enumerate(const otd_host_t* host, uint32_t vendor_id, uint32_t product_id,
                                    otd_usb_device_fn fn, void* user) noexcept {
    if (fn == nullptr || vendor_id > 0xffff || product_id > 0xffff) return OTD_ERR_INVALID_ARG;
    return guarded("usb", nullptr, 0, [&] { return enumerate_devices(host, vendor_id, product_id, fn, user); });
}

otd_status_t OTD_CALL usb_open(const otd_host_t* host, const char* path, uint32_t interface_number,
                               otd_usb_device_t** out, char* err, size_t err_cap) noexcept {
    return guarded("usb", err, err_cap, [&] { return open_device(host, path, interface_number, out, err, err_cap); });
}

otd_status_t OTD_CALL usb_bulk_transfer(otd_usb_device_t* handle, uint8_t endpoint, uint8_t* data, size_t size,
                                        size_t* transferred, uint32_t timeout_ms) noexcept {
    size_t ignored = 0;
    size_t& done = transferred != nullptr ? *transferred : ignored;
    done = 0;
    if (handle == nullptr || (data == nullptr && size != 0) || size > static_cast<size_t>(INT_MAX)) {
        return OTD_ERR_INVALID_ARG;
    }
    Device& device = device_of(handle);
    int actual = 0;
    const int r = libusb_bulk_transfer(device.handle, endpoint, data, static_cast<int>(size), &actual,
                                       effective_timeout(timeout_ms));
    done = actual > 0 ? static_cast<size_t>(actual) : 0;
    return transfer_status(device, "bulk transfer", r);
}

otd_status_t OTD_CALL usb_control_transfer(otd_usb_device_t* handle, uint8_t request_type, uint8_t request,
                                           uint16_t value, uint16_t index, uint8_t* data, uint16_t size,
                                           size_t* transferred, uint32_t timeout_ms) noexcept {
    size_t ignored = 0;
    size_t& done = transferred != nullptr ? *transferred : ignored;
    done = 0;
    if (handle == nullptr || (data == nullptr && size != 0)) return OTD_ERR_INVALID_ARG;
    Device& device = device_of(handle);
    const int r = libusb_control_transfer(device.handle, request_type, request, value, index, data, size,
                                          effective_timeout(timeout_ms));
    if (r > 0) done = static_cast<size_t>(r);
    return transfer_status(device, "control transfer", r);
}

void OTD_CALL usb_close(otd_usb_device_t* handle) noexcept {
    if (handle == nullptr) return;
    Device* device = &device_of(handle);
    // With auto-detach, releasing the interface re-attaches the kernel driver.
    libusb_release_interface(device->handle, device->interface_number);
    if (device->reattach_driver) libusb_attach_kernel_driver(device->handle, device->interface_number);
    libusb_close(device->handle);
    delete device;
}

constexpr otd_usb_service_t kUsbService{
    static_cast<uint32_t>(sizeof(otd_usb_service_t)),
    &usb_enumerate,
    &usb_open,
    &usb_bulk_transfer,
    &usb_control_transfer,
    &usb_close,
};

}  // namespace

const otd_usb_service_t* usb_service() noexcept { return &kUsbService; }

}  // namespace otedama::services
