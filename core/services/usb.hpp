// Host service "otedama.usb/1" (OTD_SERVICE_USB): raw USB devices for ASICs with a USB protocol, over
// libusb-1.0. Built only with the meson feature `usb` (libusb found); without it usb_service() is nullptr
// and the host offers no such service.
//
// Behaviour beyond host.h:
//  - One libusb context for the process, created on first use and never torn down (the host never unloads
//    plugins). When it cannot be created (no usbfs, e.g. a container without /dev/bus/usb) the host has no
//    reachable USB device: enumerate() reports none and logs why once through the caller's host,
//    open() answers OTD_ERR_NOT_FOUND with the reason.
//  - Paths are "usb:BUS-PORT.PORT..." from the physical port chain (libusb_get_port_numbers), so they stay
//    the same across re-plugging into the same port; a root hub is "usb:BUS".
//  - enumerate() reads the serial number string (opening the device briefly) when the device has one and
//    the host may open it; otherwise serial is "". Non-printable characters become '?'.
//  - open() lets libusb detach a kernel driver bound to the interface (and re-attach it on close); where
//    auto-detach is unsupported it detaches by hand. Malformed path: OTD_ERR_INVALID_ARG; no such device or
//    interface: OTD_ERR_NOT_FOUND; interface claimed elsewhere: OTD_ERR_BUSY; other failures OTD_ERR_IO.
//  - Transfers: libusb timeout -> OTD_ERR_TIMEOUT (with *transferred set), every other libusb error ->
//    OTD_ERR_IO, logged (libusb_strerror) through the opener's host when it differs from the previous
//    outcome, since transfers carry no error buffer. timeout_ms == 0 means 1 ms: libusb reads 0 as
//    "wait forever", which would strand a worker thread past the host's abort.
#pragma once

#include <otedama/host.h>

namespace otedama::services {

/// The USB service table (static, valid for the life of the process), or nullptr when this build has no
/// libusb. [any]
[[nodiscard]] const otd_usb_service_t* usb_service() noexcept;

}  // namespace otedama::services
