// Helpers shared by the host services in this folder: error messages into caller buffers, errno text,
// logging through the calling plugin's host table.
//
// Thread contract: every function here is [any].
#pragma once

#include <cstddef>
#include <cstdio>
#include <exception>
#include <new>
#include <string>
#include <string_view>

#include <otedama/host.h>

namespace otedama::services::detail {

/// Copies `message` into err (truncated, always NUL-terminated). Safe with err == nullptr or err_cap == 0.
void set_error(char* err, std::size_t err_cap, std::string_view message) noexcept;

/// The text of an errno value ("No such file or directory"), thread-safe (strerror is not).
[[nodiscard]] std::string errno_text(int errnum);

/// Logs through the host table of the calling plugin when it has a log function; does nothing otherwise
/// (tests call the services with host == nullptr). Never throws.
void log(const otd_host_t* host, otd_log_level_t level, const std::string& message) noexcept;

/// Runs `fn` (returning a status) inside a C entry point of a service, turning an exception (only allocation
/// can throw there) into a status and a message prefixed with the service's name ("serial", "usb").
template <class Fn>
otd_status_t guarded(const char* service, char* err, std::size_t err_cap, Fn&& fn) noexcept {
    try {
        return fn();
    } catch (const std::bad_alloc&) {
        char message[OTD_ERROR_CAP];
        std::snprintf(message, sizeof message, "%s: out of memory", service);
        set_error(err, err_cap, message);
        return OTD_ERR_NO_MEMORY;
    } catch (const std::exception& e) {
        char message[OTD_ERROR_CAP];
        std::snprintf(message, sizeof message, "%s: %s", service, e.what());
        set_error(err, err_cap, message);
        return OTD_ERR_GENERIC;
    } catch (...) {
        char message[OTD_ERROR_CAP];
        std::snprintf(message, sizeof message, "%s: unknown exception", service);
        set_error(err, err_cap, message);
        return OTD_ERR_GENERIC;
    }
}

}  // namespace otedama::services::detail
