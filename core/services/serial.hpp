// Host service "otedama.serial/1" (OTD_SERVICE_SERIAL): serial ports for ASIC sticks and FPGA boards,
// over POSIX termios. The loader hands this table to plugins through otd_host_t.get_service.
//
// Behaviour beyond host.h:
//  - enumerate() lists /dev/ttyUSB*, /dev/ttyACM* and /dev/ttyS* that are character devices backed by a
//    device in sysfs; a ttyS* is listed only when its driver is bound and its UART type is known (the
//    8250 driver registers placeholder ports that have no hardware). USB vendor/product ids and the USB
//    product string come from sysfs. Ports are reported sorted by name, then number.
//  - open() validates the whole configuration before touching the device, opens with
//    O_NOCTTY|O_NONBLOCK|O_CLOEXEC, takes the port exclusively (TIOCEXCL for other openers, flock for
//    cooperating processes, root included), switches to raw mode, applies speed and framing, and discards
//    stale input. Standard termios speeds only (50 .. 4000000): anything else is OTD_ERR_INVALID_ARG.
//    data_bits/stop_bits 0 mean 8/1; fields beyond an older config's struct_size keep those defaults
//    (8N1, no flow control). A missing path is OTD_ERR_NOT_FOUND, a port in use OTD_ERR_BUSY, a file
//    that is no terminal OTD_ERR_INVALID_ARG, anything else OTD_ERR_IO; err always names the path.
//    When the driver keeps its own speed or framing (a pty is always 8N; some USB bridges lack 5/6 data
//    bits), open succeeds and logs a warning through the host saying so.
//  - read()/write() wait with poll(); timeout_ms == 0 means "what is possible right now". A hang-up
//    (device unplugged, pty master closed) is OTD_ERR_IO; the first I/O error of a port is logged
//    through the host that opened it, since these calls carry no error buffer.
//  - close() gives unsent output half a second to leave, then discards it: a device holding CTS low
//    cannot stall the control strand for the tty's 30 s closing_wait.
#pragma once

#include <otedama/host.h>

namespace otedama::services {

/// The serial service table: static, valid for the life of the process. [any]
[[nodiscard]] const otd_serial_service_t* serial_service() noexcept;

}  // namespace otedama::services
