// Built when the meson feature `usb` is disabled or libusb-1.0 is missing: the host has no USB service.
#include "services/usb.hpp"

namespace otedama::services {

const otd_usb_service_t* usb_service() noexcept { return nullptr; }

}  // namespace otedama::services
