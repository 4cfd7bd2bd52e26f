// The event router: plugins and the core post flat, typed events; subscribers (API, WebSocket, metrics,
// logs) receive copies. Posting never blocks: a full queue drops the event and counts it.
#pragma once

#include <otedama/events.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace otedama::router {

/// One event as bytes (header first), owned.
struct Event {
  std::vector<uint8_t> bytes;
  [[nodiscard]] const otd_event_header_t& header() const noexcept {
    return *reinterpret_cast<const otd_event_header_t*>(bytes.data());
  }
  template <class T>
  [[nodiscard]] const T* as(otd_event_type_t type) const noexcept {
    return header().type == type && bytes.size() >= sizeof(T) ? reinterpret_cast<const T*>(bytes.data()) : nullptr;
  }
};

/// The size an event of a known type must have at least (its ABI 1.0 size); 0 for plugin-private types.
[[nodiscard]] size_t min_event_size(otd_event_type_t type) noexcept;
/// The current size of a known type's struct (older, shorter events are widened to it); 0 for private types.
[[nodiscard]] size_t event_size(otd_event_type_t type) noexcept;

class EventBus {
 public:
  using Subscriber = std::function<void(const Event&)>;

  explicit EventBus(size_t capacity = 65536);
  ~EventBus();
  EventBus(const EventBus&) = delete;
  EventBus& operator=(const EventBus&) = delete;

  /// [control] Subscribe before start(); subscribers run on the bus thread, one event at a time.
  void subscribe(Subscriber subscriber);
  void start();
  /// Delivers what is queued, then stops the bus thread.
  void stop();

  enum class PostResult { ok, invalid, full };
  /// [any] Validate and copy an event. `source` (the poster's id) and a time stamp are written into the copy.
  PostResult post(const otd_event_header_t* event, std::string_view source, uint64_t now_ns, std::string* why = nullptr);

  [[nodiscard]] uint64_t delivered() const noexcept { return delivered_.load(); }
  [[nodiscard]] uint64_t dropped() const noexcept { return dropped_.load(); }
  [[nodiscard]] uint64_t invalid() const noexcept { return invalid_.load(); }

  /// Deliver everything queued now on the calling thread (for tests and shutdown without a thread).
  void drain();

 private:
  void run();

  const size_t capacity_;
  std::vector<Subscriber> subscribers_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Event> queue_;
  bool stopping_ = false;
  std::thread thread_;
  std::atomic<uint64_t> delivered_{0}, dropped_{0}, invalid_{0};
};

}  // namespace otedama::router
