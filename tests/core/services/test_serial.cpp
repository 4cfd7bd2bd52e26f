// Tests of core/services/serial.cpp through its C table, on real pseudo-terminal pairs (openpty): the
// service opens the slave side exactly as it would open /dev/ttyUSB0, and the test plays the device on
// the master side.
#include "services/serial.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstddef>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "fake_host.hpp"

namespace {

using otedama::services::serial_service;
using otedama::services::test::LoggingHost;

const otd_serial_service_t& svc() { return *serial_service(); }

/// A pseudo-terminal pair. The test keeps its own slave descriptor open so that the pty survives and
/// so that it can inspect the termios the service applied.
struct Pty {
    int master = -1;
    int slave = -1;
    std::string path;

    Pty() {
        char name[256] = {};
        if (::openpty(&master, &slave, name, nullptr, nullptr) != 0) {
            ADD_FAILURE() << "openpty: " << std::strerror(errno);
            return;
        }
        path = name;
    }
    Pty(const Pty&) = delete;
    Pty& operator=(const Pty&) = delete;
    ~Pty() {
        close_master();
        if (slave >= 0) ::close(slave);
    }
    void close_master() {
        if (master >= 0) ::close(master);
        master = -1;
    }
};

otd_serial_config_t config(uint32_t baud = 115200) {
    otd_serial_config_t c{};
    c.struct_size = sizeof(c);
    c.baud = baud;
    c.data_bits = 8;
    c.stop_bits = 1;
    c.parity = OTD_SERIAL_PARITY_NONE;
    c.flow_control = 0;
    return c;
}

struct PortCloser {
    void operator()(otd_serial_port_t* port) const noexcept { svc().close(port); }
};
using PortPtr = std::unique_ptr<otd_serial_port_t, PortCloser>;

/// Opens `path` through the service, failing the test with the service's message on error.
PortPtr open_ok(const std::string& path, const otd_serial_config_t& cfg = config(), const otd_host_t* host = nullptr) {
    otd_serial_port_t* port = nullptr;
    char err[OTD_ERROR_CAP] = {};
    const otd_status_t st = svc().open(host, path.c_str(), &cfg, &port, err, sizeof err);
    EXPECT_EQ(st, OTD_OK) << err;
    return PortPtr(port);
}

/// Reads exactly n bytes from a raw descriptor, waiting up to 2 s in total.
std::vector<uint8_t> read_fd(int fd, size_t n) {
    std::vector<uint8_t> out;
    for (int rounds = 0; out.size() < n && rounds < 200; ++rounds) {
        pollfd pfd{fd, POLLIN, 0};
        if (::poll(&pfd, 1, 10) <= 0) continue;
        uint8_t buf[4096];
        const ssize_t got = ::read(fd, buf, std::min(sizeof buf, n - out.size()));
        if (got <= 0) break;
        out.insert(out.end(), buf, buf + got);
    }
    return out;
}

// Bytes a cooked terminal would eat or rewrite: NUL, CR, LF, ^C (would raise SIGINT), ^S/^Q (XOFF/XON),
// ^D (EOF), DEL, 0xFF (PARMRK escape).
const std::vector<uint8_t> kBinary = {0x00, 0x0d, 0x0a, 0x03, 0x13, 0x11, 0x04, 0x7f, 0xff, 'o', 't', 'e', 0x80};

TEST(SerialService, TableIsComplete) {
    const otd_serial_service_t* table = serial_service();
    ASSERT_NE(table, nullptr);
    EXPECT_EQ(table->struct_size, sizeof(otd_serial_service_t));
    EXPECT_NE(table->enumerate, nullptr);
    EXPECT_NE(table->open, nullptr);
    EXPECT_NE(table->write, nullptr);
    EXPECT_NE(table->read, nullptr);
    EXPECT_NE(table->flush, nullptr);
    EXPECT_NE(table->close, nullptr);
}

TEST(SerialService, ReadsWhatTheDeviceSendsUnaltered) {
    Pty pty;
    PortPtr port = open_ok(pty.path);
    ASSERT_TRUE(port);
    ASSERT_EQ(::write(pty.master, kBinary.data(), kBinary.size()), static_cast<ssize_t>(kBinary.size()));

    std::vector<uint8_t> received;
    while (received.size() < kBinary.size()) {
        uint8_t buf[64];
        size_t got = 0;
        const otd_status_t st = svc().read(port.get(), buf, sizeof buf, &got, 2000);
        ASSERT_EQ(st, OTD_OK) << "after " << received.size() << " bytes";
        ASSERT_GT(got, 0u);
        received.insert(received.end(), buf, buf + got);
    }
    EXPECT_EQ(received, kBinary);
}

TEST(SerialService, WritesWhatTheDeviceReceivesUnaltered) {
    Pty pty;
    PortPtr port = open_ok(pty.path);
    ASSERT_TRUE(port);
    size_t written = 0;
    ASSERT_EQ(svc().write(port.get(), kBinary.data(), kBinary.size(), &written, 1000), OTD_OK);
    EXPECT_EQ(written, kBinary.size());
    EXPECT_EQ(read_fd(pty.master, kBinary.size()), kBinary);
}

TEST(SerialService, ReadTimesOutWithNothingReceived) {
    Pty pty;
    PortPtr port = open_ok(pty.path);
    ASSERT_TRUE(port);
    uint8_t buf[16];
    size_t got = 123;
    EXPECT_EQ(svc().read(port.get(), buf, sizeof buf, &got, 50), OTD_ERR_TIMEOUT);
    EXPECT_EQ(got, 0u);
    got = 123;
    EXPECT_EQ(svc().read(port.get(), buf, sizeof buf, &got, 0), OTD_ERR_TIMEOUT);
    EXPECT_EQ(got, 0u);
}

TEST(SerialService, WriteTimesOutWhenTheDeviceStopsReading) {
    Pty pty;
    PortPtr port = open_ok(pty.path);
    ASSERT_TRUE(port);
    // Nobody reads the master: the pty's buffers (some tens of KiB) fill and the write must give up.
    const std::vector<uint8_t> big(4u << 20, 0x55);
    size_t written = 0;
    EXPECT_EQ(svc().write(port.get(), big.data(), big.size(), &written, 100), OTD_ERR_TIMEOUT);
    EXPECT_GT(written, 0u);
    EXPECT_LT(written, big.size());
}

TEST(SerialService, AppliesSpeedFramingAndRawMode) {
    LoggingHost host;
    Pty pty;
    otd_serial_config_t cfg = config(9600);
    cfg.stop_bits = 2;
    cfg.flow_control = 1;
    PortPtr port = open_ok(pty.path, cfg, host.get());
    ASSERT_TRUE(port);
    EXPECT_EQ(host.count(OTD_LOG_WARN), 0u);

    termios tio{};
    ASSERT_EQ(::tcgetattr(pty.slave, &tio), 0);
    EXPECT_EQ(::cfgetospeed(&tio), static_cast<speed_t>(B9600));
    EXPECT_EQ(::cfgetispeed(&tio), static_cast<speed_t>(B9600));
    EXPECT_EQ(tio.c_cflag & CSIZE, static_cast<tcflag_t>(CS8));
    EXPECT_NE(tio.c_cflag & CSTOPB, 0u);
    EXPECT_EQ(tio.c_cflag & PARENB, 0u);
    EXPECT_NE(tio.c_cflag & CRTSCTS, 0u);
    EXPECT_NE(tio.c_cflag & CLOCAL, 0u);
    EXPECT_EQ(tio.c_lflag & (ICANON | ECHO | ISIG | IEXTEN), 0u);
    EXPECT_EQ(tio.c_iflag & (IXON | IXOFF | ICRNL | INLCR | ISTRIP), 0u);
    EXPECT_EQ(tio.c_oflag & OPOST, 0u);
}

TEST(SerialService, WarnsWhenTheDriverKeepsItsOwnFraming) {
    // The pty driver always runs 8 data bits without parity (drivers/tty/pty.c): a 7E1 request opens,
    // and the service says what the driver did not apply.
    LoggingHost host;
    Pty pty;
    otd_serial_config_t cfg = config(9600);
    cfg.data_bits = 7;
    cfg.parity = OTD_SERIAL_PARITY_EVEN;
    PortPtr port = open_ok(pty.path, cfg, host.get());
    ASSERT_TRUE(port);
    ASSERT_EQ(host.count(OTD_LOG_WARN), 1u);
    std::string warning;
    for (const auto& [level, message] : host.messages()) {
        if (level == OTD_LOG_WARN) warning = message;
    }
    EXPECT_NE(warning.find(pty.path), std::string::npos) << warning;
    EXPECT_NE(warning.find("9600 7E1"), std::string::npos) << warning;
    EXPECT_NE(warning.find("framing"), std::string::npos) << warning;
}

TEST(SerialService, AcceptsAnOlderConfigWithOnlyTheBaud) {
    Pty pty;
    otd_serial_config_t cfg = config(57600);
    cfg.data_bits = 5;  // beyond struct_size: must not be read
    cfg.struct_size = offsetof(otd_serial_config_t, data_bits);
    PortPtr port = open_ok(pty.path, cfg);
    ASSERT_TRUE(port);
    termios tio{};
    ASSERT_EQ(::tcgetattr(pty.slave, &tio), 0);
    EXPECT_EQ(::cfgetospeed(&tio), static_cast<speed_t>(B57600));
    EXPECT_EQ(tio.c_cflag & CSIZE, static_cast<tcflag_t>(CS8));
    EXPECT_EQ(tio.c_cflag & (PARENB | CSTOPB | CRTSCTS), 0u);
}

TEST(SerialService, RejectsAnUnsupportedBaudRateNamingIt) {
    Pty pty;
    const otd_serial_config_t cfg = config(12345);
    otd_serial_port_t* port = nullptr;
    char err[OTD_ERROR_CAP] = {};
    EXPECT_EQ(svc().open(nullptr, pty.path.c_str(), &cfg, &port, err, sizeof err), OTD_ERR_INVALID_ARG);
    EXPECT_EQ(port, nullptr);
    EXPECT_NE(std::strstr(err, "12345"), nullptr) << err;
    EXPECT_NE(std::strstr(err, pty.path.c_str()), nullptr) << err;
    // Nothing was left open or locked.
    EXPECT_TRUE(open_ok(pty.path));
}

TEST(SerialService, RejectsInvalidFramingNamingTheField) {
    Pty pty;
    struct Case {
        const char* field;
        void (*mutate)(otd_serial_config_t&);
    };
    const Case cases[] = {
        {"data_bits", [](otd_serial_config_t& c) { c.data_bits = 9; }},
        {"data_bits", [](otd_serial_config_t& c) { c.data_bits = 4; }},
        {"stop_bits", [](otd_serial_config_t& c) { c.stop_bits = 3; }},
        {"parity", [](otd_serial_config_t& c) { c.parity = 7; }},
        {"flow_control", [](otd_serial_config_t& c) { c.flow_control = 2; }},
        {"baud", [](otd_serial_config_t& c) { c.baud = 0; }},
    };
    for (const Case& c : cases) {
        otd_serial_config_t cfg = config();
        c.mutate(cfg);
        otd_serial_port_t* port = nullptr;
        char err[OTD_ERROR_CAP] = {};
        EXPECT_EQ(svc().open(nullptr, pty.path.c_str(), &cfg, &port, err, sizeof err), OTD_ERR_INVALID_ARG) << c.field;
        EXPECT_NE(std::strstr(err, c.field), nullptr) << err;
    }
}

TEST(SerialService, MissingPathIsNotFoundNamingIt) {
    const char* path = "/dev/ttyUSB-otedama-test-missing";
    const otd_serial_config_t cfg = config();
    otd_serial_port_t* port = nullptr;
    char err[OTD_ERROR_CAP] = {};
    EXPECT_EQ(svc().open(nullptr, path, &cfg, &port, err, sizeof err), OTD_ERR_NOT_FOUND);
    EXPECT_EQ(port, nullptr);
    EXPECT_NE(std::strstr(err, path), nullptr) << err;
    EXPECT_NE(std::strstr(err, "No such file"), nullptr) << err;
}

TEST(SerialService, NonTerminalIsRejected) {
    const otd_serial_config_t cfg = config();
    otd_serial_port_t* port = nullptr;
    char err[OTD_ERROR_CAP] = {};
    EXPECT_EQ(svc().open(nullptr, "/dev/null", &cfg, &port, err, sizeof err), OTD_ERR_INVALID_ARG);
    EXPECT_NE(std::strstr(err, "/dev/null"), nullptr) << err;
    EXPECT_NE(std::strstr(err, "not a terminal"), nullptr) << err;
}

TEST(SerialService, SecondOpenIsBusyUntilTheFirstCloses) {
    Pty pty;
    PortPtr first = open_ok(pty.path);
    ASSERT_TRUE(first);
    const otd_serial_config_t cfg = config();
    otd_serial_port_t* second = nullptr;
    char err[OTD_ERROR_CAP] = {};
    EXPECT_EQ(svc().open(nullptr, pty.path.c_str(), &cfg, &second, err, sizeof err), OTD_ERR_BUSY);
    EXPECT_EQ(second, nullptr);
    EXPECT_NE(std::strstr(err, pty.path.c_str()), nullptr) << err;
    first.reset();
    EXPECT_TRUE(open_ok(pty.path));
}

TEST(SerialService, FlushDiscardsUnreadInput) {
    Pty pty;
    PortPtr port = open_ok(pty.path);
    ASSERT_TRUE(port);
    ASSERT_EQ(::write(pty.master, "stale", 5), 5);
    // Let the bytes reach the slave's input queue before discarding it.
    pollfd pfd{pty.slave, POLLIN, 0};
    ASSERT_EQ(::poll(&pfd, 1, 1000), 1);
    ASSERT_EQ(svc().flush(port.get()), OTD_OK);
    uint8_t buf[16];
    size_t got = 0;
    EXPECT_EQ(svc().read(port.get(), buf, sizeof buf, &got, 50), OTD_ERR_TIMEOUT);
    EXPECT_EQ(got, 0u);
}

TEST(SerialService, HangUpIsAnIoErrorLoggedOnce) {
    LoggingHost host;
    Pty pty;
    PortPtr port = open_ok(pty.path, config(), host.get());
    ASSERT_TRUE(port);
    pty.close_master();  // the device goes away
    uint8_t buf[16];
    size_t got = 0;
    EXPECT_EQ(svc().read(port.get(), buf, sizeof buf, &got, 1000), OTD_ERR_IO);
    EXPECT_EQ(got, 0u);
    EXPECT_EQ(svc().read(port.get(), buf, sizeof buf, &got, 1000), OTD_ERR_IO);
    size_t written = 0;
    EXPECT_EQ(svc().write(port.get(), buf, sizeof buf, &written, 1000), OTD_ERR_IO);
    ASSERT_EQ(host.count(OTD_LOG_WARN), 1u);
    for (const auto& [level, message] : host.messages()) {
        if (level == OTD_LOG_WARN) {
            EXPECT_NE(message.find(pty.path), std::string::npos) << message;
        }
    }
}

TEST(SerialService, NullArgumentsAreRejected) {
    Pty pty;
    const otd_serial_config_t cfg = config();
    otd_serial_port_t* port = nullptr;
    char err[OTD_ERROR_CAP] = {};
    EXPECT_EQ(svc().open(nullptr, pty.path.c_str(), &cfg, nullptr, err, sizeof err), OTD_ERR_INVALID_ARG);
    EXPECT_EQ(svc().open(nullptr, nullptr, &cfg, &port, err, sizeof err), OTD_ERR_INVALID_ARG);
    EXPECT_EQ(svc().open(nullptr, "", &cfg, &port, err, sizeof err), OTD_ERR_INVALID_ARG);
    EXPECT_EQ(svc().open(nullptr, pty.path.c_str(), nullptr, &port, err, sizeof err), OTD_ERR_INVALID_ARG);
    EXPECT_NE(std::strstr(err, "NULL"), nullptr) << err;
    EXPECT_EQ(svc().enumerate(nullptr, nullptr, nullptr), OTD_ERR_INVALID_ARG);

    PortPtr open = open_ok(pty.path);
    ASSERT_TRUE(open);
    uint8_t buf[4];
    size_t n = 0;
    EXPECT_EQ(svc().read(open.get(), nullptr, 4, &n, 0), OTD_ERR_INVALID_ARG);
    EXPECT_EQ(svc().read(open.get(), buf, 0, &n, 0), OTD_ERR_INVALID_ARG);
    EXPECT_EQ(svc().write(open.get(), nullptr, 4, &n, 0), OTD_ERR_INVALID_ARG);
    EXPECT_EQ(svc().write(open.get(), buf, 0, &n, 0), OTD_OK);
    EXPECT_EQ(n, 0u);
    EXPECT_EQ(svc().flush(nullptr), OTD_ERR_INVALID_ARG);
    svc().close(nullptr);  // a no-op, not a crash
}

TEST(SerialService, EnumerateReportsOnlyExistingPorts) {
    std::vector<std::string> paths;
    auto collect = [](void* user, const otd_serial_port_info_t* info) {
        auto* out = static_cast<std::vector<std::string>*>(user);
        ASSERT_NE(info, nullptr);
        EXPECT_GE(info->struct_size, sizeof(otd_serial_port_info_t));
        ASSERT_NE(info->path, nullptr);
        ASSERT_NE(info->description, nullptr);
        EXPECT_LE(info->usb_vendor_id, 0xffffu);
        EXPECT_LE(info->usb_product_id, 0xffffu);
        const std::string path = info->path;
        const bool usb_name = path.starts_with("/dev/ttyUSB") || path.starts_with("/dev/ttyACM");
        EXPECT_TRUE(usb_name || path.starts_with("/dev/ttyS")) << path;
        if (path.starts_with("/dev/ttyS")) {
            EXPECT_EQ(info->usb_vendor_id, 0u) << path;
        }
        std::printf("[ info     ] %s \"%s\" %04x:%04x\n", info->path, info->description, info->usb_vendor_id,
                    info->usb_product_id);
        out->push_back(path);
    };
    ASSERT_EQ(svc().enumerate(nullptr, collect, &paths), OTD_OK);
    for (const std::string& path : paths) {
        struct stat st {};
        EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
        EXPECT_TRUE(S_ISCHR(st.st_mode)) << path;
    }
    // No duplicates, and a pty (not a serial port) is never listed.
    std::vector<std::string> sorted = paths;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(std::adjacent_find(sorted.begin(), sorted.end()), sorted.end());
    Pty pty;
    EXPECT_EQ(std::find(paths.begin(), paths.end(), pty.path), paths.end());
    std::printf("[ info     ] %zu serial port(s) present\n", paths.size());
}

}  // namespace
