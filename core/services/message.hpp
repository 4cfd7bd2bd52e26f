// Helpers shared by the host services in this folder: error messages into caller buffers, errno text,
// logging through the calling plugin's host table.
//
// Thread contract: every function here is [any].
#pragma once

#include <cstddef>
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

}  // namespace otedama::services::detail
