// A test-only QUEUED backend, as an ASIC stick behaves: work is pushed into a queue, results come back
// through poll() naming their work_id, and the device never says a unit is finished. It hashes for real
// through the work unit's algorithm table, but only kNoncesPerUnit nonces of each unit, so it keeps
// finding shares only if the host keeps feeding it fresh units.
#include <otedama/sdk/backend.hpp>

#include <chrono>
#include <deque>
#include <mutex>
#include <thread>

namespace {

namespace sdk = otedama::sdk;

constexpr uint64_t kNoncesPerUnit = 4096;
constexpr uint32_t kQueueDepth = 4;

struct Unit {
  const otd_work_unit_t* work;  // the host keeps it alive until it retires the unit
  uint64_t done = 0;
};

struct Stick {
  std::mutex mutex;
  std::deque<Unit> queue;
};

class QueuedBackend final : public sdk::Backend<QueuedBackend> {
 public:
  using Backend::Backend;

  std::vector<otd_device_info_t> enumerate() {
    otd_device_info_t d = sdk::device_info(OTD_DEVICE_QUEUED, "test-asic0", "test queued stick", "*");
    d.queue_depth = kQueueDepth;
    return {d};
  }
  otd_device_t* open_device(uint32_t index, const otd_device_limits_t&) {
    if (index != 0) throw sdk::Error(OTD_ERR_NOT_FOUND, "no such device");
    return reinterpret_cast<otd_device_t*>(new Stick());
  }
  void close_device(otd_device_t* d) { delete reinterpret_cast<Stick*>(d); }
  void set_limits(otd_device_t*, const otd_device_limits_t&) {}
  otd_device_telemetry_t telemetry(otd_device_t*) {
    otd_device_telemetry_t t = sdk::make_struct<otd_device_telemetry_t>();
    t.temperature_c = t.fan_percent = t.power_w = -1;
    return t;
  }
  otd_status_t push_work(otd_device_t* d, const otd_work_unit_t& w) {
    auto* s = reinterpret_cast<Stick*>(d);
    std::lock_guard lock(s->mutex);
    if (s->queue.size() >= kQueueDepth) s->queue.pop_front();  // the chip overwrites its oldest slot
    s->queue.push_back(Unit{&w});
    return OTD_OK;
  }
  void flush_work(otd_device_t* d) {
    auto* s = reinterpret_cast<Stick*>(d);
    std::lock_guard lock(s->mutex);
    s->queue.clear();
  }
  otd_status_t poll(otd_device_t* d, uint32_t timeout_ms, otd_found_fn fn, void* user, uint64_t& hashes) {
    auto* s = reinterpret_cast<Stick*>(d);
    std::unique_lock lock(s->mutex);
    Unit* unit = nullptr;
    for (auto& u : s->queue)
      if (u.done < kNoncesPerUnit) {
        unit = &u;
        break;
      }
    if (unit == nullptr) {
      lock.unlock();
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min<uint32_t>(timeout_ms, 20)));
      return OTD_ERR_TIMEOUT;
    }
    const otd_work_unit_t& w = *unit->work;
    std::vector<uint8_t> blob(w.blob, w.blob + w.blob_size);
    for (; unit->done < kNoncesPerUnit && unit->done < w.nonce_count; ++unit->done, ++hashes) {
      const uint64_t nonce = w.nonce_start + unit->done;
      for (uint32_t i = 0; i < w.nonce_size; ++i) blob[w.nonce_offset + i] = static_cast<uint8_t>(nonce >> (8 * i));
      uint8_t hash[32];
      char err[OTD_ERROR_CAP];
      if (w.algorithm_table->hash(w.algorithm_plugin, w.algorithm_context, blob.data(), blob.size(), hash, sizeof hash, err, sizeof err) != OTD_OK)
        throw sdk::Error(OTD_ERR_IO, std::string("hash failed: ") + err);
      bool meets = true;
      for (int i = 31; i >= 0; --i)
        if (hash[i] != w.share_target[i]) {
          meets = hash[i] < w.share_target[i];
          break;
        }
      if (!meets) continue;
      otd_found_t f = sdk::make_struct<otd_found_t>();
      f.work_id = w.work_id;
      f.nonce = nonce;
      std::copy(hash, hash + 32, f.hash);
      fn(user, &f);
    }
    return OTD_OK;
  }
};

constexpr otd_plugin_descriptor_t kDescriptor = sdk::descriptor(OTD_KIND_BACKEND, "org.test.backend.queued", "test-asic", "0.1.0",
                                                                "Otedama tests", "queued device fixture", "", OTD_BACKEND_INTERFACE_ID);

}  // namespace

OTEDAMA_PLUGIN_ENTRY(sdk::plugin_class<QueuedBackend>(kDescriptor));
