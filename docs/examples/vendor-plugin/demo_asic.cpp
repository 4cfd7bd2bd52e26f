// Example vendor plugin: a backend for a (simulated) queued ASIC, built against the installed Otedama SDK
// alone. See README.md next to this file for the build and install workflow. SPDX-License-Identifier: MIT
//
// What a closed-source driver looks like from the host's side: one shared object, one exported symbol
// (`otedama_plugin_entry`, defined by OTEDAMA_PLUGIN_ENTRY at the bottom), a descriptor, and a C++ class
// the SDK maps onto the C table "otedama.backend/1". Every C entry point the SDK generates is noexcept and
// turns exceptions into status codes, so nothing here may let an exception reach the host by other paths
// (no threads of our own that throw, no callbacks into the host from destructors).
//
// HONESTY NOTE: this device finds nothing. A real driver sends each work unit to its chips (through the
// host's serial or USB service) and reads nonce reports back; the host then re-verifies every reported nonce
// on the CPU with the algorithm plugin. The SDK gives a vendor no hash function and this example has no
// chip, so poll() reports no nonces and hashes_done stays 0 rather than pretending. The point of this
// example is the build, packaging and load path, and the shape of a queued device.
#include <otedama/sdk/backend.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace {

namespace sdk = otedama::sdk;

constexpr uint32_t kQueueDepth = 4;  // work units the device holds (a real chip's job FIFO)
constexpr const char* kDeviceId = "demo-asic0";

/// What the device keeps of a work unit. The host's work unit is only guaranteed while the work is in the
/// queue; a driver copies what it will send to the chip, which also keeps it independent of host memory.
struct QueuedWork {
  uint64_t work_id = 0;
  uint64_t job_id = 0;
  std::vector<uint8_t> blob;
  uint32_t nonce_offset = 0;
  uint32_t nonce_size = 0;
  uint64_t nonce_start = 0;
  uint64_t nonce_count = 0;
  uint8_t share_target[OTD_HASH_SIZE] = {};
};

/// One open device. Handed to the host as an opaque otd_device_t*.
class DemoDevice {
 public:
  explicit DemoDevice(const otd_device_limits_t& limits) : limits_(limits) {}

  // [worker] The chip keeps a FIFO of kQueueDepth jobs: a new one pushes the oldest out, which is what the
  // host assumes when it retires its oldest work unit on the (queue_depth + 1)-th push.
  void push(const otd_work_unit_t& work) {
    if (work.blob == nullptr && work.blob_size != 0) throw sdk::Error(OTD_ERR_INVALID_ARG, "work unit without blob");
    if (work.nonce_size != 4) throw sdk::Error(OTD_ERR_UNSUPPORTED, "demo-asic iterates 4-byte nonces only");
    QueuedWork q;
    q.work_id = work.work_id;
    q.job_id = work.job_id;
    q.blob.assign(work.blob, work.blob + work.blob_size);
    q.nonce_offset = work.nonce_offset;
    q.nonce_size = work.nonce_size;
    q.nonce_start = work.nonce_start;
    q.nonce_count = work.nonce_count;
    std::memcpy(q.share_target, work.share_target, sizeof q.share_target);
    std::lock_guard lock(mutex_);
    if (queue_.size() >= kQueueDepth) queue_.pop_front();
    queue_.push_back(std::move(q));
  }

  // [worker] Wait for nonce reports from the chip. The simulated chip never reports one (see the note at
  // the top); the wait still honours timeout_ms so the host's lane paces itself as it would with hardware.
  void poll(uint32_t timeout_ms) {
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return flushed_; });
    flushed_ = false;
  }

  // [worker] A new clean job: the chip drops its whole FIFO.
  void flush() {
    {
      std::lock_guard lock(mutex_);
      queue_.clear();
      flushed_ = true;
    }
    wake_.notify_all();
  }

  void set_limits(const otd_device_limits_t& limits) {
    std::lock_guard lock(mutex_);
    limits_ = limits;
  }

 private:
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<QueuedWork> queue_;
  bool flushed_ = false;
  otd_device_limits_t limits_;
};

DemoDevice& device_of(otd_device_t* handle) {
  if (handle == nullptr) throw sdk::Error(OTD_ERR_INVALID_ARG, "NULL device");
  return *reinterpret_cast<DemoDevice*>(handle);
}

class DemoAsic : public sdk::Backend<DemoAsic> {
 public:
  using Backend::Backend;

  void init() override {
    // Host services are looked up by id and may be absent; a real driver would open its port here or in
    // open_device through the serial or USB service, never with its own open() on /dev.
    const bool serial = host().service<otd_serial_service_t>(OTD_SERVICE_SERIAL) != nullptr;
    host().info(std::string("demo-asic: simulated device, serial service ") + (serial ? "available" : "absent"));
  }

  std::vector<otd_device_info_t> enumerate() {
    otd_device_info_t info = sdk::device_info(OTD_DEVICE_QUEUED, kDeviceId, "Demo ASIC (simulated, finds nothing)",
                                              "sha256d");
    info.queue_depth = kQueueDepth;
    info.compute_units = 1;
    info.max_lanes = 1;
    info.nonce_size_max = 4;
    return {info};
  }

  otd_device_t* open_device(uint32_t index, const otd_device_limits_t& limits) {
    if (index != 0) throw sdk::Error(OTD_ERR_NOT_FOUND, "demo-asic has one device (index 0)");
    return reinterpret_cast<otd_device_t*>(new DemoDevice(limits));
  }

  void close_device(otd_device_t* handle) { delete reinterpret_cast<DemoDevice*>(handle); }

  void set_limits(otd_device_t* handle, const otd_device_limits_t& limits) { device_of(handle).set_limits(limits); }

  otd_device_telemetry_t telemetry(otd_device_t* handle) {
    (void)device_of(handle);
    otd_device_telemetry_t t = sdk::make_struct<otd_device_telemetry_t>();
    t.hashrate = 0.0;         // it hashes nothing (see the note at the top)
    t.temperature_c = -1.0;   // unknown
    t.fan_percent = -1.0;
    t.power_w = -1.0;
    return t;
  }

  // The queued-device members: their presence makes the SDK fill push_work/poll/flush_work (and leave run
  // NULL), which is how the host tells a queued device from a scan device.
  otd_status_t push_work(otd_device_t* handle, const otd_work_unit_t& work) {
    device_of(handle).push(work);
    return OTD_OK;
  }

  otd_status_t poll(otd_device_t* handle, uint32_t timeout_ms, otd_found_fn on_found, void* user,
                    uint64_t& hashes_done) {
    (void)on_found;  // a real driver calls on_found(user, &found) with found.work_id for each chip report
    (void)user;
    device_of(handle).poll(timeout_ms);
    hashes_done = 0;  // honest: no hashing happened
    return OTD_OK;
  }

  void flush_work(otd_device_t* handle) { device_of(handle).flush(); }
};

constexpr otd_plugin_descriptor_t kDescriptor =
    sdk::descriptor(OTD_KIND_BACKEND, "com.example.backend.demo-asic", "demo-asic", "1.0.0", "Example Corp",
                    "Example vendor plugin: a simulated queued ASIC (finds nothing)",
                    "https://example.com/otedama/demo-asic", OTD_BACKEND_INTERFACE_ID);

}  // namespace

OTEDAMA_PLUGIN_ENTRY(otedama::sdk::plugin_class<DemoAsic>(kDescriptor));
