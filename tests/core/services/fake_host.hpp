// A host table for the service tests: it records what the services log and offers nothing else.
#pragma once

#include <otedama/host.h>

#include <cstddef>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace otedama::services::test {

class LoggingHost {
 public:
    LoggingHost() {
        table_.struct_size = sizeof(table_);
        table_.abi_major = OTD_ABI_MAJOR;
        table_.abi_minor = OTD_ABI_MINOR;
        table_.host_data = this;
        table_.host_name = "services-test";
        table_.host_version = "0";
        table_.log = &LoggingHost::log;
    }
    LoggingHost(const LoggingHost&) = delete;
    LoggingHost& operator=(const LoggingHost&) = delete;

    [[nodiscard]] const otd_host_t* get() const noexcept { return &table_; }

    [[nodiscard]] std::vector<std::pair<otd_log_level_t, std::string>> messages() const {
        const std::lock_guard lock(mutex_);
        return messages_;
    }
    [[nodiscard]] std::size_t count(otd_log_level_t level) const {
        const std::lock_guard lock(mutex_);
        std::size_t n = 0;
        for (const auto& m : messages_) n += m.first == level ? 1 : 0;
        return n;
    }

 private:
    static void OTD_CALL log(const otd_host_t* host, otd_log_level_t level, const char* message) {
        auto* self = static_cast<LoggingHost*>(host->host_data);
        const std::lock_guard lock(self->mutex_);
        self->messages_.emplace_back(level, message);
    }

    otd_host_t table_{};
    mutable std::mutex mutex_;
    std::vector<std::pair<otd_log_level_t, std::string>> messages_;
};

}  // namespace otedama::services::test
