// Test helpers for the monerod tests: a child process killed by its PID, free loopback ports, polling waits.
#pragma once

#include <arpa/inet.h>
#include <csignal>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace monerod_test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr auto kGuard = std::chrono::seconds(600);  // hang guard, not a timing assertion

inline std::string read_file(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

inline uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

/// A child process (stdout+stderr to one file), killed by PID when the guard goes out of scope.
class Child {
 public:
    Child(const std::string& exe, const std::vector<std::string>& args, const fs::path& dir, const std::string& name) : log_(dir / (name + ".log")) {
        pid_ = ::fork();
        if (pid_ == 0) {
            const int o = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
            ::dup2(o, 1);
            ::dup2(o, 2);
            if (::chdir(dir.c_str()) != 0) ::_exit(126);
            ::unsetenv("OTEDAMA_PLUGIN_PATH");
            std::vector<char*> argv;
            argv.push_back(const_cast<char*>(exe.c_str()));
            for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
            argv.push_back(nullptr);
            ::execv(exe.c_str(), argv.data());
            ::_exit(127);
        }
    }
    ~Child() { kill(SIGKILL); }
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;

    [[nodiscard]] pid_t pid() const { return pid_; }
    /// Signal the child by its PID and reap it (bounded); the exit status, or nullopt if it kept running.
    std::optional<int> kill(int sig, std::chrono::seconds guard = 120s) {
        if (pid_ <= 0) return std::nullopt;
        ::kill(pid_, sig);
        const auto until = std::chrono::steady_clock::now() + guard;
        while (std::chrono::steady_clock::now() < until) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            }
            std::this_thread::sleep_for(50ms);
        }
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
        return std::nullopt;
    }
    [[nodiscard]] bool running() {
        if (pid_ <= 0) return false;
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return false;
        }
        return true;
    }
    [[nodiscard]] std::string log() const { return read_file(log_); }

 private:
    pid_t pid_ = -1;
    fs::path log_;
};

template <class Pred>
bool wait_until(Pred pred, std::chrono::seconds guard = kGuard) {
    const auto until = std::chrono::steady_clock::now() + guard;
    while (std::chrono::steady_clock::now() < until) {
        if (pred()) return true;
        std::this_thread::sleep_for(250ms);
    }
    return false;
}

}  // namespace monerod_test
