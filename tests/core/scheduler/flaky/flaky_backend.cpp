// A test-only SCAN backend whose first opened device fails every run (as a GPU does after a kernel fault
// that left its context unusable) and whose devices opened later work: the scheduler's restart path
// (Scheduler::restart_device: close and reopen after failed runs in a row) is what makes it mine again.
// A working device hashes nothing for real: it reports the range as done after a millisecond, which is
// all the scheduler's restart test looks at.
#include <otedama/sdk/backend.hpp>

#include <atomic>
#include <chrono>
#include <thread>

namespace {

namespace sdk = otedama::sdk;

struct Flaky {
  bool broken;
  std::atomic<uint64_t> hashes{0};
  std::atomic<uint64_t> failures{0};
};

class FlakyBackend final : public sdk::Backend<FlakyBackend> {
 public:
  using Backend::Backend;

  std::vector<otd_device_info_t> enumerate() { return {sdk::device_info(OTD_DEVICE_SCAN, "flaky0", "test device that faults once", "*")}; }
  otd_device_t* open_device(uint32_t index, const otd_device_limits_t&) {
    if (index != 0) throw sdk::Error(OTD_ERR_NOT_FOUND, "no such device");
    return reinterpret_cast<otd_device_t*>(new Flaky{opens_++ == 0});
  }
  void close_device(otd_device_t* d) { delete reinterpret_cast<Flaky*>(d); }
  void set_limits(otd_device_t*, const otd_device_limits_t&) {}
  otd_device_telemetry_t telemetry(otd_device_t* d) {
    auto* f = reinterpret_cast<Flaky*>(d);
    otd_device_telemetry_t t = sdk::make_struct<otd_device_telemetry_t>();
    t.temperature_c = t.fan_percent = t.power_w = -1;
    t.hashes_total = f->hashes.load();
    t.hardware_errors = f->failures.load();
    return t;
  }
  otd_status_t run(otd_device_t* d, uint32_t, const otd_work_unit_t& w, uint64_t& hashes_done) {
    auto* f = reinterpret_cast<Flaky*>(d);
    if (f->broken) {
      f->failures.fetch_add(1);
      throw sdk::Error(OTD_ERR_IO, "flaky0: the device faulted (test)");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    hashes_done = w.nonce_count;
    f->hashes.fetch_add(w.nonce_count);
    return OTD_OK;
  }

 private:
  uint32_t opens_ = 0;  // [control]
};

constexpr otd_plugin_descriptor_t kDescriptor = sdk::descriptor(OTD_KIND_BACKEND, "org.test.backend.flaky", "test-flaky", "0.1.0", "Otedama tests",
                                                                "a scan device that fails until it is reopened", "", OTD_BACKEND_INTERFACE_ID);

}  // namespace

OTEDAMA_PLUGIN_ENTRY(otedama::sdk::plugin_class<FlakyBackend>(kDescriptor));
