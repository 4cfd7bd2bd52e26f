#include "router/event_bus.hpp"

#include <cstddef>
#include <cstring>

namespace otedama::router {

namespace {
// Upper bound on one event: events are small flat structs; a larger size is a bug or hostile.
constexpr size_t kMaxEventSize = 4096;
}  // namespace

size_t min_event_size(otd_event_type_t type) noexcept {
  switch (type) {
    case OTD_EVENT_TELEMETRY: return sizeof(otd_event_telemetry_t);
    case OTD_EVENT_SHARE: return offsetof(otd_event_share_t, reason);  // ABI 1.0's size: `reason` was appended
    case OTD_EVENT_BLOCK: return sizeof(otd_event_block_t);
    case OTD_EVENT_STATUS: return sizeof(otd_event_status_t);
    default: return 0;
  }
}

size_t event_size(otd_event_type_t type) noexcept {
  switch (type) {
    case OTD_EVENT_TELEMETRY: return sizeof(otd_event_telemetry_t);
    case OTD_EVENT_SHARE: return sizeof(otd_event_share_t);
    case OTD_EVENT_BLOCK: return sizeof(otd_event_block_t);
    case OTD_EVENT_STATUS: return sizeof(otd_event_status_t);
    default: return 0;
  }
}

EventBus::EventBus(size_t capacity) : capacity_(capacity) {}

EventBus::~EventBus() { stop(); }

void EventBus::subscribe(Subscriber subscriber) { subscribers_.push_back(std::move(subscriber)); }

void EventBus::start() {
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void EventBus::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  drain();
}

EventBus::PostResult EventBus::post(const otd_event_header_t* event, std::string_view source, uint64_t now_ns,
                                    std::string* why) {
  auto bad = [&](const std::string& reason) {
    invalid_.fetch_add(1);
    if (why != nullptr) *why = reason;
    return PostResult::invalid;
  };
  if (event == nullptr) return bad("NULL event");
  if (event->size < sizeof(otd_event_header_t) || event->size > kMaxEventSize)
    return bad("event size " + std::to_string(event->size) + " outside [" + std::to_string(sizeof(otd_event_header_t)) +
               ", " + std::to_string(kMaxEventSize) + "]");
  const size_t need = min_event_size(event->type);
  if (event->type < OTD_EVENT_USER_BASE && need == 0) return bad("unknown event type " + std::to_string(event->type));
  if (event->size < need)
    return bad("event type " + std::to_string(event->type) + " has size " + std::to_string(event->size) +
               ", needs at least " + std::to_string(need));
  Event copy;
  copy.bytes.assign(reinterpret_cast<const uint8_t*>(event), reinterpret_cast<const uint8_t*>(event) + event->size);
  // An event from an older plugin lacks the fields appended since: they read as zero (subscribers see the
  // current struct).
  if (const size_t full = event_size(event->type); copy.bytes.size() < full) copy.bytes.resize(full, 0);
  auto* h = reinterpret_cast<otd_event_header_t*>(copy.bytes.data());
  h->size = static_cast<uint32_t>(copy.bytes.size());
  std::memset(h->source, 0, sizeof h->source);
  std::memcpy(h->source, source.data(), std::min(source.size(), sizeof h->source - 1));
  if (h->time_ns == 0) h->time_ns = now_ns;
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= capacity_) {
      dropped_.fetch_add(1);
      if (why != nullptr) *why = "event queue full";
      return PostResult::full;
    }
    queue_.push_back(std::move(copy));
  }
  cv_.notify_one();
  return PostResult::ok;
}

void EventBus::drain() {
  std::deque<Event> batch;
  {
    std::lock_guard lock(mutex_);
    batch.swap(queue_);
  }
  for (const Event& e : batch) {
    for (const auto& s : subscribers_) s(e);
    delivered_.fetch_add(1);
  }
}

void EventBus::run() {
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_ && queue_.empty()) return;
    }
    drain();
  }
}

}  // namespace otedama::router
