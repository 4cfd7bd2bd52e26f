// The monerod and ethnode tests' names for the shared child-process helper (tests/common/host_process.hpp):
// a child killed by its PID (monerod), otedama-host on a configuration without default ports, free loopback
// ports, polling waits.
#pragma once

#include "host_process.hpp"

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace monerod_test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr auto kGuard = std::chrono::seconds(600);  // hang guard, not a timing assertion

using otedama::test::free_port;
using otedama::test::free_ports;
using otedama::test::HostConfig;
using otedama::test::HostProcess;
using otedama::test::read_file;

/// A child process (stdout+stderr appended to <dir>/<name>.log: a restarted node keeps its earlier output),
/// stopped and reaped when it goes out of scope; kill(sig, guard) signals it by its PID.
class Child : public otedama::test::Process {
 public:
    Child(const std::string& exe, const std::vector<std::string>& args, const fs::path& dir, const std::string& name)
        : Process(exe, args, {.dir = dir, .name = name, .append = true}) {}
};

template <class Pred>
bool wait_until(Pred pred, std::chrono::seconds guard = kGuard) {
    return otedama::test::eventually(pred, guard, 250ms);
}

}  // namespace monerod_test
