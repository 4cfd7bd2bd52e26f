#include "services/message.hpp"

#include <algorithm>
#include <cstring>
#include <system_error>

namespace otedama::services::detail {

void set_error(char* err, std::size_t err_cap, std::string_view message) noexcept {
    if (err == nullptr || err_cap == 0) return;
    const std::size_t n = std::min(message.size(), err_cap - 1);
    std::memcpy(err, message.data(), n);
    err[n] = '\0';
}

std::string errno_text(int errnum) {
    // std::system_category().message() uses strerror_r: safe from the worker threads that call read/write.
    return std::system_category().message(errnum);
}

void log(const otd_host_t* host, otd_log_level_t level, const std::string& message) noexcept {
    if (host == nullptr || !OTD_HAS_FIELD(host, otd_host_t, log) || host->log == nullptr) return;
    host->log(host, level, message.c_str());
}

}  // namespace otedama::services::detail
