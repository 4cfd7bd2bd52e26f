#include "services/serial.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <climits>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "services/message.hpp"

namespace otedama::services {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using detail::errno_text;
using detail::guarded;
using detail::set_error;

// ---------------------------------------------------------------------------------------------------
// Ports

/// The state behind an otd_serial_port_t handle.
struct Port {
    int fd = -1;
    std::string path;
    const otd_host_t* host = nullptr;           // the opener's host table (valid while the port is open)
    std::atomic<bool> io_error_logged{false};   // log the first I/O error only: a dead port fails every call
};

Port& port_of(otd_serial_port_t* handle) noexcept { return *reinterpret_cast<Port*>(handle); }

/// Logs the first I/O error of a port (read/write/flush carry no error buffer) and returns OTD_ERR_IO.
otd_status_t io_failure(Port& port, std::string_view operation, std::string_view what) noexcept {
    if (!port.io_error_logged.exchange(true)) {
        try {
            detail::log(port.host, OTD_LOG_WARN,
                        "serial " + port.path + ": " + std::string(operation) + " failed: " + std::string(what));
        } catch (...) {
            // Out of memory while reporting an error: the status still says what happened.
        }
    }
    return OTD_ERR_IO;
}

otd_status_t io_errno(Port& port, std::string_view operation, int errnum) noexcept {
    try {
        return io_failure(port, operation, errno_text(errnum));
    } catch (...) {
        return OTD_ERR_IO;
    }
}

/// Milliseconds left until `deadline`, rounded up, clamped to what poll() takes.
int remaining_ms(Clock::time_point deadline) noexcept {
    const auto left = deadline - Clock::now();
    if (left <= Clock::duration::zero()) return 0;
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
    return static_cast<int>(std::min<long long>(ms, INT_MAX));
}

/// Waits until the port is ready for `events` or the deadline passes.
otd_status_t wait_ready(Port& port, short events, Clock::time_point deadline, std::string_view operation) noexcept {
    for (;;) {
        pollfd pfd{port.fd, events, 0};
        const int ready = ::poll(&pfd, 1, remaining_ms(deadline));
        if (ready < 0) {
            if (errno == EINTR) continue;
            return io_errno(port, operation, errno);
        }
        if (ready == 0) return OTD_ERR_TIMEOUT;
        // POLLHUP together with POLLIN: the caller's read() reports the hang-up once the data is drained.
        if ((pfd.revents & events) != 0) return OTD_OK;
        if ((pfd.revents & POLLNVAL) != 0) return io_failure(port, operation, "descriptor is not open");
        if ((pfd.revents & (POLLERR | POLLHUP)) != 0) return io_failure(port, operation, "device hung up");
    }
}

// ---------------------------------------------------------------------------------------------------
// Configuration

struct Speed {
    uint32_t baud;
    speed_t code;
};

// The standard termios speeds. Other rates would need termios2/BOTHER, which not every USB serial
// driver honours; refusing them clearly beats running at a silently different rate.
constexpr Speed kSpeeds[] = {
    {50, B50},           {75, B75},           {110, B110},         {134, B134},         {150, B150},
    {200, B200},         {300, B300},         {600, B600},         {1200, B1200},       {1800, B1800},
    {2400, B2400},       {4800, B4800},       {9600, B9600},       {19200, B19200},     {38400, B38400},
    {57600, B57600},     {115200, B115200},   {230400, B230400},   {460800, B460800},   {500000, B500000},
    {576000, B576000},   {921600, B921600},   {1000000, B1000000}, {1152000, B1152000}, {1500000, B1500000},
    {2000000, B2000000}, {2500000, B2500000}, {3000000, B3000000}, {3500000, B3500000}, {4000000, B4000000},
};

std::optional<speed_t> speed_code(uint32_t baud) noexcept {
    for (const Speed& s : kSpeeds) {
        if (s.baud == baud) return s.code;
    }
    return std::nullopt;
}

/// A configuration that passed validation.
struct Settings {
    uint32_t baud = 0;
    speed_t speed = B0;
    uint32_t data_bits = 8;
    uint32_t stop_bits = 1;
    uint32_t parity = OTD_SERIAL_PARITY_NONE;
    uint32_t flow_control = 0;

    [[nodiscard]] std::string describe() const {
        static constexpr char kParity[] = {'N', 'O', 'E'};
        std::string text = std::to_string(baud) + " " + std::to_string(data_bits) + kParity[parity] +
                           std::to_string(stop_bits);
        if (flow_control != 0) text += " RTS/CTS";
        return text;
    }
};

/// Reads a configuration that may come from an older, shorter struct (absent fields keep their default)
/// and checks every field before the device is touched. 0 in data_bits/stop_bits means the default (8, 1).
otd_status_t validate(std::string_view path, const otd_serial_config_t* config, Settings& out, char* err,
                      size_t err_cap) {
    const std::string where = "serial " + std::string(path) + ": ";
    if (config == nullptr) {
        set_error(err, err_cap, where + "configuration is NULL");
        return OTD_ERR_INVALID_ARG;
    }
    if (!OTD_HAS_FIELD(config, otd_serial_config_t, baud)) {
        set_error(err, err_cap, where + "configuration struct_size " + std::to_string(config->struct_size) +
                                    " is too small to hold the baud rate");
        return OTD_ERR_INVALID_ARG;
    }
    Settings s;
    s.baud = config->baud;
    if (OTD_HAS_FIELD(config, otd_serial_config_t, data_bits) && config->data_bits != 0) s.data_bits = config->data_bits;
    if (OTD_HAS_FIELD(config, otd_serial_config_t, stop_bits) && config->stop_bits != 0) s.stop_bits = config->stop_bits;
    if (OTD_HAS_FIELD(config, otd_serial_config_t, parity)) s.parity = config->parity;
    if (OTD_HAS_FIELD(config, otd_serial_config_t, flow_control)) s.flow_control = config->flow_control;

    const std::optional<speed_t> code = speed_code(s.baud);
    if (!code) {
        set_error(err, err_cap,
                  where + "unsupported baud rate " + std::to_string(s.baud) +
                      " (standard rates only: 50, 75, 110, ... 9600, 19200, 38400, 57600, 115200, 230400, "
                      "460800, 500000, 576000, 921600, 1000000, 1152000, 1500000, 2000000 ... 4000000)");
        return OTD_ERR_INVALID_ARG;
    }
    s.speed = *code;
    if (s.data_bits < 5 || s.data_bits > 8) {
        set_error(err, err_cap, where + "unsupported data_bits " + std::to_string(s.data_bits) + " (5..8)");
        return OTD_ERR_INVALID_ARG;
    }
    if (s.stop_bits != 1 && s.stop_bits != 2) {
        set_error(err, err_cap, where + "unsupported stop_bits " + std::to_string(s.stop_bits) + " (1 or 2)");
        return OTD_ERR_INVALID_ARG;
    }
    if (s.parity > OTD_SERIAL_PARITY_EVEN) {
        set_error(err, err_cap,
                  where + "unknown parity " + std::to_string(s.parity) + " (0 none, 1 odd, 2 even)");
        return OTD_ERR_INVALID_ARG;
    }
    if (s.flow_control > 1) {
        set_error(err, err_cap,
                  where + "unknown flow_control " + std::to_string(s.flow_control) + " (0 none, 1 RTS/CTS)");
        return OTD_ERR_INVALID_ARG;
    }
    out = s;
    return OTD_OK;
}

tcflag_t character_size(uint32_t data_bits) noexcept {
    switch (data_bits) {
        case 5: return CS5;
        case 6: return CS6;
        case 7: return CS7;
        default: return CS8;
    }
}

/// Closes a descriptor unless released: every failure path of open() leaves nothing behind.
class FdGuard {
 public:
    explicit FdGuard(int fd) noexcept : fd_(fd) {}
    FdGuard(const FdGuard&) = delete;
    FdGuard& operator=(const FdGuard&) = delete;
    ~FdGuard() {
        if (fd_ >= 0) ::close(fd_);
    }
    [[nodiscard]] int get() const noexcept { return fd_; }
    int release() noexcept { return std::exchange(fd_, -1); }

 private:
    int fd_;
};

otd_status_t open_port(const otd_host_t* host, const char* path_c, const otd_serial_config_t* config,
                       otd_serial_port_t** out, char* err, size_t err_cap) {
    if (out == nullptr) {
        set_error(err, err_cap, "serial open: out is NULL");
        return OTD_ERR_INVALID_ARG;
    }
    *out = nullptr;
    if (path_c == nullptr || *path_c == '\0') {
        set_error(err, err_cap, "serial open: the path is empty");
        return OTD_ERR_INVALID_ARG;
    }
    const std::string path(path_c);
    Settings settings;
    if (const otd_status_t st = validate(path, config, settings, err, err_cap); st != OTD_OK) return st;

    auto fail = [&](otd_status_t status, const std::string& what) {
        set_error(err, err_cap, "serial " + path + ": " + what);
        return status;
    };
    auto fail_errno = [&](const char* operation, int errnum) {
        return fail(OTD_ERR_IO, std::string(operation) + ": " + errno_text(errnum));
    };

    // O_NONBLOCK: open must not wait for carrier (CLOCAL is not set yet), and read/write wait in poll().
    int raw_fd = -1;
    do {
        raw_fd = ::open(path.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    } while (raw_fd < 0 && errno == EINTR);
    if (raw_fd < 0) {
        const int e = errno;
        switch (e) {
            case ENOENT:
            case ENODEV:
            case ENXIO: return fail(OTD_ERR_NOT_FOUND, "open: " + errno_text(e));
            case EBUSY: return fail(OTD_ERR_BUSY, "open: " + errno_text(e) + " (in use by another program)");
            case EACCES:
            case EPERM:
                return fail(OTD_ERR_IO, "open: " + errno_text(e) +
                                            " (the host's user needs access to it, e.g. the dialout group)");
            default: return fail_errno("open", e);
        }
    }
    FdGuard fd(raw_fd);

    if (::isatty(fd.get()) == 0) return fail(OTD_ERR_INVALID_ARG, "not a terminal device");
    // TIOCEXCL turns away every later open() but root's; flock turns away every cooperating opener,
    // root included (two host instances, or two plugins in one host).
    if (::ioctl(fd.get(), TIOCEXCL) != 0) return fail_errno("TIOCEXCL", errno);
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
        const int e = errno;
        if (e == EWOULDBLOCK) return fail(OTD_ERR_BUSY, "already open (locked by another program or plugin)");
        return fail_errno("flock", e);
    }

    termios tio{};
    if (::tcgetattr(fd.get(), &tio) != 0) return fail_errno("tcgetattr", errno);
    ::cfmakeraw(&tio);
    tio.c_cflag |= CLOCAL | CREAD;
    tio.c_cflag &= ~static_cast<tcflag_t>(CSIZE | CSTOPB | PARENB | PARODD | CMSPAR | CRTSCTS);
    tio.c_cflag |= character_size(settings.data_bits);
    if (settings.stop_bits == 2) tio.c_cflag |= CSTOPB;
    if (settings.parity == OTD_SERIAL_PARITY_ODD) tio.c_cflag |= PARENB | PARODD;
    if (settings.parity == OTD_SERIAL_PARITY_EVEN) tio.c_cflag |= PARENB;
    if (settings.flow_control == 1) tio.c_cflag |= CRTSCTS;
    // VMIN=1, VTIME=0 with O_NONBLOCK: read() returns EAGAIN when no byte is waiting and 0 only on a
    // hang-up. (VMIN=0 would make "no data" and "hung up" both read as 0.)
    tio.c_cc[VMIN] = 1;
    tio.c_cc[VTIME] = 0;
    if (::cfsetispeed(&tio, settings.speed) != 0 || ::cfsetospeed(&tio, settings.speed) != 0) {
        return fail_errno("cfsetspeed", errno);
    }
    if (::tcsetattr(fd.get(), TCSANOW, &tio) != 0) return fail_errno("tcsetattr", errno);
    // tcsetattr succeeds when any part of the request took effect; drivers quietly keep what they cannot
    // do (a pty always runs 8N; some USB bridges lack 5/6 data bits or 2 stop bits). Say so, since a
    // device spoken to with the wrong framing only answers garbage.
    termios applied{};
    if (::tcgetattr(fd.get(), &applied) == 0) {
        std::string changed;
        const tcflag_t framing = CSIZE | CSTOPB | PARENB | PARODD | CRTSCTS;
        if ((applied.c_cflag & framing) != (tio.c_cflag & framing)) changed += " framing";
        if (::cfgetospeed(&applied) != settings.speed || ::cfgetispeed(&applied) != settings.speed) changed += " speed";
        if (!changed.empty()) {
            detail::log(host, OTD_LOG_WARN,
                        "serial " + path + ": the driver did not apply all of " + settings.describe() + " (kept its own" +
                            changed + ")");
        }
    }
    // Whatever arrived before we owned the port belongs to nobody.
    if (::tcflush(fd.get(), TCIOFLUSH) != 0) return fail_errno("tcflush", errno);

    auto port = std::make_unique<Port>();
    port->path = path;
    port->host = host;
    port->fd = fd.release();
    detail::log(host, OTD_LOG_DEBUG, "serial " + path + ": opened at " + settings.describe());
    *out = reinterpret_cast<otd_serial_port_t*>(port.release());
    return OTD_OK;
}

// ---------------------------------------------------------------------------------------------------
// Enumeration

/// A device node name we list: prefix + decimal number.
struct Candidate {
    std::string name;
    std::string_view prefix;
    unsigned long number = 0;
};

std::optional<Candidate> parse_port_name(std::string_view name) {
    for (const std::string_view prefix : {std::string_view("ttyUSB"), std::string_view("ttyACM"), std::string_view("ttyS")}) {
        if (!name.starts_with(prefix)) continue;
        const std::string_view digits = name.substr(prefix.size());
        unsigned long number = 0;
        const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
        if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
        return Candidate{std::string(name), prefix, number};
    }
    return std::nullopt;
}

/// First line of a sysfs attribute without trailing whitespace, or nullopt when unreadable.
std::optional<std::string> read_attribute(const fs::path& file) {
    std::ifstream in(file);
    std::string line;
    if (!in || !std::getline(in, line)) return std::nullopt;
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
        line.pop_back();
    }
    return line;
}

uint32_t parse_hex_id(const std::optional<std::string>& text) noexcept {
    if (!text) return 0;
    uint32_t value = 0;
    const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value, 16);
    return ec == std::errc{} && end == text->data() + text->size() ? value : 0;
}

/// Whether the port has hardware behind it.
bool is_present(const Candidate& c, const fs::path& sys) {
    std::error_code ec;
    if (!fs::exists(sys / "device", ec)) return false;
    if (c.prefix != "ttyS") return true;
    // The 8250 driver registers ttyS0..N whether or not a UART answers; those have type 0 (PORT_UNKNOWN).
    if (!fs::exists(sys / "device" / "driver", ec)) return false;
    const std::optional<std::string> type = read_attribute(sys / "type");
    return !type || *type != "0";
}

struct UsbIds {
    uint32_t vendor = 0;
    uint32_t product = 0;
    std::string product_name;
};

/// Walks up from the tty's device to the USB device that carries idVendor/idProduct.
UsbIds usb_ids(const fs::path& sys) {
    std::error_code ec;
    fs::path dir = fs::canonical(sys / "device", ec);
    if (ec) return {};
    for (int depth = 0; depth < 8 && dir.has_relative_path() && dir != "/sys/devices"; ++depth, dir = dir.parent_path()) {
        if (fs::exists(dir / "idVendor", ec) && fs::exists(dir / "idProduct", ec)) {
            return UsbIds{parse_hex_id(read_attribute(dir / "idVendor")), parse_hex_id(read_attribute(dir / "idProduct")),
                          read_attribute(dir / "product").value_or("")};
        }
    }
    return {};
}

/// The driver behind the port ("cp210x", "cdc_acm", "serial"); "" when unknown. Since Linux 6.5 a UART's
/// tty device hangs off serial-base "port"/"ctrl" devices: the hardware's driver is above them.
std::string driver_name(const fs::path& sys) {
    std::error_code ec;
    fs::path device = fs::canonical(sys / "device", ec);
    for (int depth = 0; !ec && depth < 4 && device.has_relative_path(); ++depth, device = device.parent_path()) {
        if (fs::canonical(device / "subsystem", ec).filename() == "serial-base") continue;
        const fs::path driver = fs::canonical(device / "driver", ec);
        return ec ? std::string() : driver.filename().string();
    }
    return {};
}

otd_status_t enumerate_ports(const otd_host_t* host, otd_serial_port_fn fn, void* user) {
    std::vector<Candidate> candidates;
    std::error_code ec;
    for (fs::directory_iterator it("/dev", ec), end; !ec && it != end; it.increment(ec)) {
        std::optional<Candidate> c = parse_port_name(it->path().filename().string());
        if (c) candidates.push_back(std::move(*c));
    }
    if (ec) {
        detail::log(host, OTD_LOG_WARN, "serial: cannot list /dev: " + ec.message());
        return OTD_ERR_IO;
    }
    std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
        return a.prefix != b.prefix ? a.prefix < b.prefix : a.number < b.number;
    });

    for (const Candidate& c : candidates) {
        const std::string path = "/dev/" + c.name;
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0 || !S_ISCHR(st.st_mode)) continue;
        const fs::path sys = fs::path("/sys/class/tty") / c.name;
        if (!is_present(c, sys)) continue;

        const UsbIds usb = usb_ids(sys);
        const std::string description = !usb.product_name.empty() ? usb.product_name : driver_name(sys);
        otd_serial_port_info_t info{};
        info.struct_size = sizeof(info);
        info.path = path.c_str();
        info.description = description.c_str();
        info.usb_vendor_id = usb.vendor;
        info.usb_product_id = usb.product;
        fn(user, &info);
    }
    return OTD_OK;
}

// ---------------------------------------------------------------------------------------------------
// The C table

otd_status_t OTD_CALL serial_enumerate(const otd_host_t* host, otd_serial_port_fn fn, void* user) noexcept {
    if (fn == nullptr) return OTD_ERR_INVALID_ARG;
    return guarded("serial", nullptr, 0, [&] { return enumerate_ports(host, fn, user); });
}

otd_status_t OTD_CALL serial_open(const otd_host_t* host, const char* path, const otd_serial_config_t* config,
                                  otd_serial_port_t** out, char* err, size_t err_cap) noexcept {
    return guarded("serial", err, err_cap, [&] { return open_port(host, path, config, out, err, err_cap); });
}

otd_status_t OTD_CALL serial_write(otd_serial_port_t* handle, const uint8_t* data, size_t size, size_t* written,
                                   uint32_t timeout_ms) noexcept {
    size_t ignored = 0;
    size_t& done = written != nullptr ? *written : ignored;
    done = 0;
    if (handle == nullptr || (data == nullptr && size != 0)) return OTD_ERR_INVALID_ARG;
    Port& port = port_of(handle);
    const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (done < size) {
        const ssize_t n = ::write(port.fd, data + done, size - done);
        if (n > 0) {
            done += static_cast<size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return io_errno(port, "write", errno);
        if (const otd_status_t st = wait_ready(port, POLLOUT, deadline, "write"); st != OTD_OK) return st;
    }
    return OTD_OK;
}

otd_status_t OTD_CALL serial_read(otd_serial_port_t* handle, uint8_t* buf, size_t cap, size_t* got,
                                  uint32_t timeout_ms) noexcept {
    if (got != nullptr) *got = 0;
    if (handle == nullptr || buf == nullptr || cap == 0 || got == nullptr) return OTD_ERR_INVALID_ARG;
    Port& port = port_of(handle);
    const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
        const ssize_t n = ::read(port.fd, buf, cap);
        if (n > 0) {
            *got = static_cast<size_t>(n);
            return OTD_OK;
        }
        if (n == 0) return io_failure(port, "read", "device hung up");  // VMIN=1: 0 only on a hang-up
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) return io_errno(port, "read", errno);
        if (const otd_status_t st = wait_ready(port, POLLIN, deadline, "read"); st != OTD_OK) return st;
    }
}

otd_status_t OTD_CALL serial_flush(otd_serial_port_t* handle) noexcept {
    if (handle == nullptr) return OTD_ERR_INVALID_ARG;
    Port& port = port_of(handle);
    if (::tcflush(port.fd, TCIOFLUSH) != 0) return io_errno(port, "flush", errno);
    return OTD_OK;
}

void OTD_CALL serial_close(otd_serial_port_t* handle) noexcept {
    if (handle == nullptr) return;
    Port* port = &port_of(handle);
    // close() of a tty waits (up to closing_wait, 30 s by default) for unsent output, forever if a device
    // holds CTS low. Give the output half a second to leave, then discard the rest.
    for (int i = 0; i < 50; ++i) {
        int pending = 0;
        if (::ioctl(port->fd, TIOCOUTQ, &pending) != 0 || pending <= 0) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::tcflush(port->fd, TCOFLUSH);
    ::ioctl(port->fd, TIOCNXCL);  // the flock goes with the descriptor
    ::close(port->fd);
    delete port;
}

constexpr otd_serial_service_t kSerialService{
    static_cast<uint32_t>(sizeof(otd_serial_service_t)),
    &serial_enumerate,
    &serial_open,
    &serial_write,
    &serial_read,
    &serial_flush,
    &serial_close,
};

}  // namespace

const otd_serial_service_t* serial_service() noexcept { return &kSerialService; }

}  // namespace otedama::services
