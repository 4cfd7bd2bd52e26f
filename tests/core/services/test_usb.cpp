// Tests of core/services/usb_libusb.cpp through its C table. They need no particular device: enumeration
// must work with whatever is plugged in (including nothing, or no usbfs at all in a container).
#include "services/usb.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "fake_host.hpp"

namespace {

using otedama::services::usb_service;
using otedama::services::test::LoggingHost;

struct Seen {
    uint32_t vendor_id;
    uint32_t product_id;
    uint32_t bus;
    std::string path;
};

void collect(void* user, const otd_usb_device_info_t* info) {
    auto* out = static_cast<std::vector<Seen>*>(user);
    ASSERT_NE(info, nullptr);
    EXPECT_GE(info->struct_size, sizeof(otd_usb_device_info_t));
    EXPECT_LE(info->vendor_id, 0xffffu);
    EXPECT_LE(info->product_id, 0xffffu);
    EXPECT_GE(info->bus, 1u);
    EXPECT_LE(info->address, 127u);
    ASSERT_NE(info->path, nullptr);
    ASSERT_NE(info->serial, nullptr);
    const std::string path = info->path;
    // usb:BUS or usb:BUS-PORT.PORT..., and BUS is the bus number reported alongside.
    const std::string bus_prefix = "usb:" + std::to_string(info->bus);
    EXPECT_TRUE(path == bus_prefix || path.starts_with(bus_prefix + "-")) << path;
    for (const char c : std::string(info->serial)) EXPECT_TRUE(c >= 0x20 && c != 0x7f) << "serial of " << path;
    out->push_back(Seen{info->vendor_id, info->product_id, info->bus, path});
}

#define SKIP_WITHOUT_LIBUSB()                                                                \
    do {                                                                                     \
        if (usb_service() == nullptr) GTEST_SKIP() << "built without libusb (meson -Dusb=disabled or libusb-1.0 missing)"; \
    } while (0)

TEST(UsbService, TableIsComplete) {
    SKIP_WITHOUT_LIBUSB();
    const otd_usb_service_t* table = usb_service();
    EXPECT_EQ(table->struct_size, sizeof(otd_usb_service_t));
    EXPECT_NE(table->enumerate, nullptr);
    EXPECT_NE(table->open, nullptr);
    EXPECT_NE(table->bulk_transfer, nullptr);
    EXPECT_NE(table->control_transfer, nullptr);
    EXPECT_NE(table->close, nullptr);
}

TEST(UsbService, EnumeratesWhateverIsPresent) {
    SKIP_WITHOUT_LIBUSB();
    LoggingHost host;
    std::vector<Seen> seen;
    ASSERT_EQ(usb_service()->enumerate(host.get(), 0, 0, &collect, &seen), OTD_OK);
    std::vector<std::string> paths;
    for (const Seen& s : seen) paths.push_back(s.path);
    std::sort(paths.begin(), paths.end());
    EXPECT_EQ(std::adjacent_find(paths.begin(), paths.end()), paths.end()) << "two devices share a path";
    std::printf("[ info     ] %zu USB device(s) present\n", seen.size());
    for (const auto& [level, message] : host.messages()) std::printf("[ info     ] host log: %s\n", message.c_str());

    // A second enumeration sees the same devices and does not log the same problem again.
    const size_t warnings = host.count(OTD_LOG_WARN);
    std::vector<Seen> again;
    ASSERT_EQ(usb_service()->enumerate(host.get(), 0, 0, &collect, &again), OTD_OK);
    EXPECT_EQ(again.size(), seen.size());
    EXPECT_EQ(host.count(OTD_LOG_WARN), warnings);
}

TEST(UsbService, FiltersByVendorAndProduct) {
    SKIP_WITHOUT_LIBUSB();
    std::vector<Seen> all;
    ASSERT_EQ(usb_service()->enumerate(nullptr, 0, 0, &collect, &all), OTD_OK);
    if (all.empty()) GTEST_SKIP() << "no USB device to filter on";
    const Seen& first = all.front();
    std::vector<Seen> by_vendor;
    ASSERT_EQ(usb_service()->enumerate(nullptr, first.vendor_id, 0, &collect, &by_vendor), OTD_OK);
    ASSERT_FALSE(by_vendor.empty());
    for (const Seen& s : by_vendor) EXPECT_EQ(s.vendor_id, first.vendor_id);
    std::vector<Seen> exact;
    ASSERT_EQ(usb_service()->enumerate(nullptr, first.vendor_id, first.product_id, &collect, &exact), OTD_OK);
    ASSERT_FALSE(exact.empty());
    for (const Seen& s : exact) {
        EXPECT_EQ(s.vendor_id, first.vendor_id);
        EXPECT_EQ(s.product_id, first.product_id);
    }
}

TEST(UsbService, OpeningAMissingDeviceIsNotFoundNamingThePath) {
    SKIP_WITHOUT_LIBUSB();
    const char* path = "usb:250-9.9.9";
    otd_usb_device_t* device = nullptr;
    char err[OTD_ERROR_CAP] = {};
    EXPECT_EQ(usb_service()->open(nullptr, path, 0, &device, err, sizeof err), OTD_ERR_NOT_FOUND);
    EXPECT_EQ(device, nullptr);
    EXPECT_NE(std::strstr(err, path), nullptr) << err;
}

TEST(UsbService, MalformedPathsAreInvalid) {
    SKIP_WITHOUT_LIBUSB();
    for (const char* path : {"/dev/ttyUSB0", "usb:", "usb:1-", "usb:1-2.", "usb:1.2", "usb:x-1", "usb:1-2-3"}) {
        otd_usb_device_t* device = nullptr;
        char err[OTD_ERROR_CAP] = {};
        EXPECT_EQ(usb_service()->open(nullptr, path, 0, &device, err, sizeof err), OTD_ERR_INVALID_ARG) << path;
        EXPECT_EQ(device, nullptr);
        EXPECT_NE(std::strstr(err, path), nullptr) << err;
    }
}

TEST(UsbService, NullArgumentsAreRejected) {
    SKIP_WITHOUT_LIBUSB();
    const otd_usb_service_t& usb = *usb_service();
    otd_usb_device_t* device = nullptr;
    char err[OTD_ERROR_CAP] = {};
    EXPECT_EQ(usb.enumerate(nullptr, 0, 0, nullptr, nullptr), OTD_ERR_INVALID_ARG);
    EXPECT_EQ(usb.enumerate(nullptr, 0x10000, 0, &collect, nullptr), OTD_ERR_INVALID_ARG);
    EXPECT_EQ(usb.open(nullptr, nullptr, 0, &device, err, sizeof err), OTD_ERR_INVALID_ARG);
    EXPECT_EQ(usb.open(nullptr, "usb:1-1", 0, nullptr, err, sizeof err), OTD_ERR_INVALID_ARG);
    EXPECT_EQ(usb.open(nullptr, "usb:1-1", 256, &device, err, sizeof err), OTD_ERR_INVALID_ARG);
    EXPECT_NE(std::strstr(err, "256"), nullptr) << err;
    size_t n = 99;
    uint8_t buf[4];
    EXPECT_EQ(usb.bulk_transfer(nullptr, 0x81, buf, sizeof buf, &n, 10), OTD_ERR_INVALID_ARG);
    EXPECT_EQ(n, 0u);
    EXPECT_EQ(usb.control_transfer(nullptr, 0x80, 6, 0x100, 0, buf, sizeof buf, &n, 10), OTD_ERR_INVALID_ARG);
    usb.close(nullptr);  // a no-op, not a crash
}

}  // namespace
