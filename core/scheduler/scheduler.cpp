#include "scheduler/scheduler.hpp"

#include "log/log.hpp"

#include <otedama/common/hex.hpp>
#include <otedama/common/uint256.hpp>

#include <boost/asio/post.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstring>

namespace otedama::scheduler {

namespace {

namespace common = otedama::common;

std::vector<uint8_t> copy_bytes(const uint8_t* p, uint32_t n) { return p != nullptr ? std::vector<uint8_t>(p, p + n) : std::vector<uint8_t>(); }
std::string copy_str(const char* s) { return s != nullptr ? std::string(s) : std::string(); }

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}
uint64_t mono_ns() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
}

/// The ABI's abort flag is a `const volatile uint32_t*` (C99 has no atomics we may require); the host's side
/// is a lock-free std::atomic<uint32_t>, which has the same size and representation on every supported ABI.
static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t) && std::atomic<uint32_t>::is_always_lock_free);
const volatile uint32_t* abort_ptr(std::atomic<uint32_t>& flag) {
  return reinterpret_cast<const volatile uint32_t*>(&flag);
}

void put_nonce(std::vector<uint8_t>& blob, uint32_t offset, uint32_t size, uint64_t nonce) {
  for (uint32_t i = 0; i < size && offset + i < blob.size(); ++i) blob[offset + i] = static_cast<uint8_t>(nonce >> (8 * i));
}

std::string hex(const uint8_t* p, size_t n) { return common::to_hex(std::span<const uint8_t>(p, n)); }

/// Hashes print as block explorers show them: most significant byte first (the reverse of memory order).
std::string display_hex(const uint8_t* p, size_t n) { return common::to_hex(common::reversed(std::span<const uint8_t>(p, n))); }

template <size_t N>
void set_chars(char (&dst)[N], std::string_view v) {
  std::memset(dst, 0, N);
  std::memcpy(dst, v.data(), std::min(v.size(), N - 1));
}

constexpr uint32_t kMaxCoinbase = 1u << 20;     // 1 MiB
constexpr uint32_t kMaxBlob = 1u << 20;
constexpr uint32_t kMaxBlockData = 8u << 20;    // 8 MiB: a full block's transactions
constexpr uint32_t kMaxHashingBlob = 64u << 10; // what build_blob may ask for

}  // namespace

/// Whether a device's comma-separated `algorithms` ("sha256d,scrypt", "*" = any) includes `algorithm`.
bool runs_algorithm(std::string_view list, std::string_view algorithm) noexcept {
  while (!list.empty()) {
    const size_t comma = list.find(',');
    std::string_view name = list.substr(0, comma);
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    if (name == "*" || name == algorithm) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

namespace {

/// A hashing blob as build_blob described it is usable: the nonce lies inside it (no 32-bit wrap-around).
bool blob_layout_ok(uint32_t size, uint32_t capacity, uint32_t nonce_offset, uint32_t nonce_size) {
  return size <= capacity && nonce_size >= 1 && nonce_size <= 8 &&
         static_cast<uint64_t>(nonce_offset) + nonce_size <= size;
}

}  // namespace

namespace {
/// Templates from plugins built against ABI 1.0, before next_seed was appended, are this long.
constexpr size_t kTemplateSize10 = offsetof(otd_template_t, next_seed);

/// The caller's template widened to this host's layout: fields it did not have read as zero.
otd_template_t widened(const otd_template_t& t) {
  otd_template_t w{};
  std::memcpy(&w, &t, std::min<size_t>(t.struct_size, sizeof w));
  return w;
}

std::string context_key(const char* algorithm, const uint8_t* seed, size_t seed_size, uint64_t epoch) {
  return std::string(algorithm) + ":" + hex(seed, seed_size) + ":" + std::to_string(epoch);
}
}  // namespace

OwnedTemplate::OwnedTemplate(const otd_template_t& caller) : OwnedTemplate(widened(caller), 0) {}

OwnedTemplate::OwnedTemplate(const otd_template_t& t, int)
    : coin(copy_str(t.coin)),
      algorithm(copy_str(t.algorithm)),
      source_job_id(copy_str(t.source_job_id)),
      coinbase1(copy_bytes(t.coinbase1, t.coinbase1_size)),
      coinbase2(copy_bytes(t.coinbase2, t.coinbase2_size)),
      merkle_branch(copy_bytes(t.merkle_branch, t.merkle_branch_count * OTD_HASH_SIZE)),
      blob(copy_bytes(t.blob, t.blob_size)),
      seed(copy_bytes(t.seed, t.seed_size)),
      block_data(copy_bytes(t.block_data, t.block_data_size)),
      next_seed(copy_bytes(t.next_seed, t.next_seed_size)) {
  c = t;
  c.struct_size = sizeof(otd_template_t);
  c.coin = coin.c_str();
  c.algorithm = algorithm.c_str();
  c.source_job_id = source_job_id.c_str();
  c.coinbase1 = coinbase1.data();
  c.coinbase2 = coinbase2.data();
  c.merkle_branch = merkle_branch.data();
  c.blob = blob.data();
  c.seed = seed.data();
  c.block_data = block_data.data();
  c.next_seed = next_seed.empty() ? nullptr : next_seed.data();
  c.next_seed_size = static_cast<uint32_t>(next_seed.size());
}

/// A device opened from a backend plugin, with its lanes.
struct Scheduler::Device {
  const loader::PluginRecord* backend = nullptr;
  const otd_backend_t* table = nullptr;
  otd_device_info_t info{};
  otd_device_t* handle = nullptr;
  otd_device_limits_t limits{};  ///< what it was opened with (a restart opens it again with the same)
  uint32_t index = 0;            ///< its index in the backend's enumeration
  int gpu_index = -1;            ///< its number in the de-duplicated GPU list (-1: not a GPU)
  uint64_t restarts = 0;         ///< restart_device() calls that reopened it
  uint32_t lanes = 1;
  std::vector<std::thread> threads;
  std::atomic<uint64_t> hashes{0}, shares{0}, errors{0}, mismatches{0};
  uint64_t last_hashes = 0;
  uint64_t last_tick_ns = 0;
  /// tick(): (time, hashes) samples spanning the hashrate window (kHashrateWindowNs), oldest first
  std::deque<std::pair<uint64_t, uint64_t>> rate_history;
  uint64_t errors_reported = 0;  ///< tick(): what otedama_device_errors_total already counts
  uint64_t started_ns = 0;       ///< when its lanes started (the summary stop() logs)
  double hashrate = 0;
  // The work each lane runs, so a new job can raise its abort flag.
  std::mutex work_mutex;
  std::vector<std::shared_ptr<LaneWork>> current;
  // Queued devices: work in the device queue, oldest first.
  std::deque<std::shared_ptr<LaneWork>> queue;
};

/// One work unit with the memory it points into.
struct Scheduler::LaneWork {
  otd_work_unit_t c{};
  std::shared_ptr<const Job> job;
  std::vector<uint8_t> blob;
  std::vector<uint8_t> extranonce;
  std::atomic<uint32_t> abort{0};
  Scheduler* scheduler = nullptr;
  Device* device = nullptr;
  uint64_t next_nonce = 0;  ///< where the next chunk of this blob starts
  uint64_t nonce_limit = 0; ///< end of this blob's nonce space
  double share_difficulty = 0;  ///< of c.share_target (set_share_target)
};

Scheduler::Scheduler(loader::Loader& loader, router::EventBus& events, router::Metrics& metrics,
                     boost::asio::strand<boost::asio::io_context::executor_type> control, Options options, Sinks sinks)
    : loader_(loader),
      events_(events),
      metrics_(metrics),
      control_(std::move(control)),
      options_(std::move(options)),
      sinks_(std::move(sinks)),
      verify_pool_(std::max<size_t>(1, options_.verify_threads)),
      context_pool_(1) {
  using D = router::Metrics::Desc;
  m_shares_ = *metrics_.add(D{OTD_METRIC_COUNTER, "otedama_shares_total", "Shares by result", {"result"}, {}});
  m_restarts_ = *metrics_.add(D{OTD_METRIC_COUNTER, "otedama_device_restarts_total", "Local devices closed and reopened after failing runs", {"device"}, {}});
  m_hashes_ = *metrics_.add(D{OTD_METRIC_COUNTER, "otedama_device_hashes_total", "Hashes computed by local devices", {"device"}, {}});
  m_hashrate_ = *metrics_.add(D{OTD_METRIC_GAUGE, "otedama_device_hashrate_hashes_per_second", "Local device hashrate: its hashes over the last 10 s", {"device"}, {}});
  m_mismatch_ = *metrics_.add(D{OTD_METRIC_COUNTER, "otedama_device_verify_mismatches_total",
                               "Device results that failed CPU re-verification", {"device"}, {}});
  m_blocks_ = *metrics_.add(D{OTD_METRIC_COUNTER, "otedama_blocks_found_total", "Blocks found", {"coin"}, {}});
  m_local_hashrate_ = *metrics_.add(D{OTD_METRIC_GAUGE, "otedama_local_hashrate_hashes_per_second", "Hashrate of all local devices: their hashes over the last 10 s", {}, {}});
  m_pool_hashrate_ = *metrics_.add(D{OTD_METRIC_GAUGE, "otedama_pool_hashrate_hashes_per_second",
                                     "Hashrate the accepted shares (local and downstream) represent, over the last minute", {}, {}});
  m_work_ = *metrics_.add(D{OTD_METRIC_COUNTER, "otedama_accepted_work_hashes_total",
                            "Expected hashes behind the accepted shares (share difficulty times the hashes of difficulty 1)", {"coin"}, {}});
  m_temperature_ = *metrics_.add(D{OTD_METRIC_GAUGE, "otedama_device_temperature_celsius", "Device temperature (devices that report one)", {"device"}, {}});
  m_fan_ = *metrics_.add(D{OTD_METRIC_GAUGE, "otedama_device_fan_speed_ratio", "Device fan speed, 0 to 1 (devices that report one)", {"device"}, {}});
  m_power_ = *metrics_.add(D{OTD_METRIC_GAUGE, "otedama_device_power_watts", "Device power draw (devices that report one)", {"device"}, {}});
  m_errors_ = *metrics_.add(D{OTD_METRIC_COUNTER, "otedama_device_errors_total",
                              "Device errors: hardware errors, failed runs and CPU re-verification mismatches", {"device"}, {}});
  m_throttled_ = *metrics_.add(D{OTD_METRIC_GAUGE, "otedama_device_throttled", "1 while a temperature or power limit throttles the device", {"device"}, {}});
  m_call_seconds_ = *metrics_.add(D{OTD_METRIC_HISTOGRAM, "otedama_plugin_call_duration_seconds",
                                    "Time the host spends in calls into plugins (verify, on_job, on_share_result, submit_block, submit_share)",
                                    {"plugin", "call"}, {0.00001, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5}});
}

void Scheduler::observe_call(const std::string& plugin, const char* call, uint64_t started_ns) {
  metrics_.update(m_call_seconds_, {plugin, call}, static_cast<double>(mono_ns() - started_ns) / 1e9);
}

Scheduler::~Scheduler() { stop(); }

void Scheduler::count_share(const char* result) { metrics_.update(m_shares_, {result}, 1); }

// ---------------------------------------------------------------------------------------------------------
// Templates and jobs

otd_status_t Scheduler::submit_template(std::string_view source_id, const otd_template_t* t, uint64_t* job_id, std::string* err) {
  auto fail = [&](otd_status_t st, const std::string& why) {
    if (err != nullptr) *err = why;
    return st;
  };
  if (t == nullptr || t->struct_size < kTemplateSize10)
    return fail(OTD_ERR_INVALID_ARG, "template is NULL or its struct_size is smaller than ABI 1.0's");
  const otd_template_t wide = widened(*t);  // fields appended after the caller's ABI read as zero
  t = &wide;
  if ((t->flags & OTD_TEMPLATE_WITHDRAW) != 0U) {
    withdraw(source_id);
    if (job_id != nullptr) *job_id = 0;
    return OTD_OK;
  }
  if (t->algorithm == nullptr || t->coin == nullptr) return fail(OTD_ERR_INVALID_ARG, "template field 'algorithm' or 'coin' is NULL");
  const loader::PluginRecord* algo = loader_.find_algorithm(t->algorithm);
  if (algo == nullptr) return fail(OTD_ERR_NOT_FOUND, std::string("no algorithm plugin for '") + t->algorithm + "'");
  if ((t->coinbase1 == nullptr && t->coinbase1_size != 0) || (t->coinbase2 == nullptr && t->coinbase2_size != 0) ||
      (t->merkle_branch == nullptr && t->merkle_branch_count != 0) || (t->blob == nullptr && t->blob_size != 0) ||
      (t->seed == nullptr && t->seed_size != 0) || (t->block_data == nullptr && t->block_data_size != 0) ||
      (t->next_seed == nullptr && t->next_seed_size != 0))
    return fail(OTD_ERR_INVALID_ARG, "template has a NULL pointer with a non-zero size");
  if (t->merkle_branch_count > 64) return fail(OTD_ERR_INVALID_ARG, "template merkle_branch_count above 64");
  if (t->extranonce_size > 32) return fail(OTD_ERR_INVALID_ARG, "template extranonce_size above 32 bytes");
  // Bounds on what a source may make the host copy: real templates are far below them.
  if (t->coinbase1_size > kMaxCoinbase || t->coinbase2_size > kMaxCoinbase || t->blob_size > kMaxBlob)
    return fail(OTD_ERR_INVALID_ARG, "template coinbase or blob larger than the host accepts (" + std::to_string(kMaxCoinbase) + " bytes)");
  if (t->seed_size > 64 || t->next_seed_size > 64) return fail(OTD_ERR_INVALID_ARG, "template seed_size or next_seed_size above 64 bytes");
  if (t->block_data_size > kMaxBlockData)
    return fail(OTD_ERR_INVALID_ARG, "template block_data_size above " + std::to_string(kMaxBlockData) + " bytes");

  auto job = std::make_shared<Job>();
  job->source_id = std::string(source_id);
  job->tmpl = std::make_shared<const OwnedTemplate>(*t);
  job->algorithm = algo;
  job->algo = static_cast<const otd_algorithm_t*>(algo->table);
  job->created_ms = now_ms();
  std::memcpy(job->block_target.data(), t->block_target, OTD_HASH_SIZE);
  double netdiff = 0;
  if (job->algo->difficulty_from_target(algo->instance, t->block_target, &netdiff) != OTD_OK || !(netdiff > 0))
    return fail(OTD_ERR_INVALID_ARG, "template block_target is not a valid target for " + std::string(t->algorithm));
  job->network_difficulty = netdiff;
  job->share_target = job->block_target;
  job->share_difficulty = netdiff;
  if (options_.local_share_difficulty > 0 && options_.local_share_difficulty < netdiff) {
    Hash target{};
    if (job->algo->target_from_difficulty(algo->instance, options_.local_share_difficulty, target.data()) == OTD_OK) {
      job->share_target = target;
      job->share_difficulty = options_.local_share_difficulty;
    }
  }
  {
    std::lock_guard lock(mutex_);
    job->id = next_job_id_++;
  }
  if (job_id != nullptr) *job_id = job->id;

  // A context (RandomX dataset, DAG) is prepared off the hot path; the job goes live when it is ready.
  if ((job->algo->flags & OTD_ALGO_NEEDS_CONTEXT) != 0U) {
    const auto& tmpl = job->tmpl;
    // A test-geometry epoch (devnet test_epochs) is another context than the real epoch of the same seed.
    const uint32_t context_flags = (t->flags & OTD_TEMPLATE_TEST_EPOCH) != 0U ? OTD_CONTEXT_FLAG_TEST_EPOCH : 0U;
    const std::string key = context_key(t->algorithm, t->seed, t->seed_size, t->epoch) + (context_flags != 0U ? ":test-epoch" : "");
    std::shared_ptr<AlgoContext> ctx;
    {
      std::lock_guard lock(mutex_);
      if (auto it = contexts_.find(key); it != contexts_.end()) ctx = it->second.lock();
    }
    if (ctx) job->context = ctx;
    else
      boost::asio::post(context_pool_, [this, job, key, context_flags] {
        // Templates with the same seed may have queued several preparations: the first one wins.
        auto ready = make_context(job->algorithm, job->algo, key, job->tmpl->seed, job->tmpl->c.epoch, job->tmpl->c.height, 0, context_flags);
        if (!ready) return;
        job->context = std::move(ready);
        boost::asio::post(control_, [this, job] {
          std::string why;
          if (activate(job, &why) != OTD_OK) log::get("scheduler")->warn("job {} dropped: {}", job->id, why);
        });
      });
    // The seed the chain switches to next (Monero's next_seed_hash): prepare it now, in the background,
    // so that the switch finds it ready and mining does not stall for a dataset build.
    if (!tmpl->next_seed.empty()) {
      const std::string next_key =
          context_key(t->algorithm, tmpl->next_seed.data(), tmpl->next_seed.size(), t->epoch) + (context_flags != 0U ? ":test-epoch" : "");
      bool start = false;
      {
        std::lock_guard lock(mutex_);
        auto it = contexts_.find(next_key);
        const bool live = it != contexts_.end() && !it->second.expired();
        if (!live && ahead_key_ != next_key) {
          ahead_key_ = next_key;
          start = true;
        }
      }
      if (start) {
        log::get("scheduler")->info("{}: preparing the next seed's context ahead of the switch", t->algorithm);
        boost::asio::post(context_pool_, [this, job, next_key, context_flags] {
          // One thread: Monero announces the next seed 64 blocks (~2 h) ahead, so the build has time and the
          // miners keep the other cores.
          auto ready = make_context(job->algorithm, job->algo, next_key, job->tmpl->next_seed, job->tmpl->c.epoch, job->tmpl->c.height, 1, context_flags);
          std::lock_guard lock(mutex_);
          if (ahead_key_ == next_key) ahead_ = std::move(ready);
        });
      }
    }
    if (!ctx) return OTD_OK;
  }
  return activate(std::move(job), err);
}

std::shared_ptr<AlgoContext> Scheduler::make_context(const loader::PluginRecord* algorithm, const otd_algorithm_t* algo,
                                                    const std::string& key, const std::vector<uint8_t>& seed, uint64_t epoch,
                                                    uint64_t height, uint32_t threads, uint32_t flags) {
  {
    std::lock_guard lock(mutex_);
    if (auto it = contexts_.find(key); it != contexts_.end())
      if (auto live = it->second.lock()) return live;
    if (stopping_.load()) return nullptr;
  }
  // Local mining of this algorithm needs the full dataset/DAG; verifying alone needs the light context.
  const bool mines = ((options_.enable_cpu || options_.enable_gpu) && options_.mining_algorithm == algorithm->name && !options_.light_mining) ||
                     options_.full_verification;
  otd_context_params_t params{};
  params.struct_size = sizeof params;
  params.mode = mines ? OTD_CONTEXT_FULL : OTD_CONTEXT_LIGHT;
  params.seed = seed.empty() ? nullptr : seed.data();
  params.seed_size = static_cast<uint32_t>(seed.size());
  params.epoch = epoch;
  params.height = height;
  params.threads = threads;  // 0 = every core: a dataset the miners wait for is built as fast as possible
  params.flags = ((options_.cpu_limits.flags & OTD_LIMIT_HUGE_PAGES) != 0U ? OTD_CONTEXT_FLAG_HUGE_PAGES : 0U) | flags;
  params.numa_node = -1;
  otd_algo_context_t* handle = nullptr;
  char e[OTD_ERROR_CAP] = {};
  const auto t0 = std::chrono::steady_clock::now();
  const otd_status_t st = algo->prepare_context(algorithm->instance, &params, &handle, e, sizeof e);
  if (st != OTD_OK || handle == nullptr) {
    log::get("scheduler")->error("{}: preparing the context for {} failed (status {}): {}", algorithm->id, key, st, e);
    return nullptr;
  }
  log::get("scheduler")->info("{}: {} context for {} ready in {:.2f} s", algorithm->id, mines ? "full" : "light", key,
                              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  auto strand = control_;
  auto ctx = std::shared_ptr<AlgoContext>(new AlgoContext{algorithm, handle, key, next_context_id_.fetch_add(1)}, [algo, algorithm, strand](AlgoContext* c) {
    // release_context is [control]: hand it to the strand whoever drops the last reference.
    boost::asio::post(strand, [algo, algorithm, c] {
      algo->release_context(algorithm->instance, c->handle);
      delete c;
    });
  });
  std::lock_guard lock(mutex_);
  contexts_[key] = ctx;
  return ctx;
}

otd_status_t Scheduler::activate(std::shared_ptr<Job> job, std::string* err) {
  (void)err;
  bool is_current = false;
  {
    std::lock_guard lock(mutex_);
    // A job whose context took longer than a newer job of the same source must not overtake it.
    // So must a job the source withdrew (OTD_TEMPLATE_WITHDRAW) while its context was being prepared.
    const auto withdrawn = withdrawn_below_.find(job->source_id);
    const bool superseded = (current_ != nullptr && current_->source_id == job->source_id && current_->id > job->id) ||
                            (withdrawn != withdrawn_below_.end() && job->id < withdrawn->second);
    uint64_t& generation = clean_generation_[job->source_id];
    if (superseded) {
      job->clean_generation = generation > 0 ? generation - 1 : 0;  // already stale
    } else {
      if ((job->tmpl->c.flags & OTD_TEMPLATE_CLEAN) != 0U) ++generation;
      job->clean_generation = generation;
    }
    jobs_[job->id] = job;
    while (jobs_.size() > options_.jobs_kept) {
      seen_.erase(jobs_.begin()->first);
      jobs_.erase(jobs_.begin());
    }
    if (!superseded && job->tmpl->algorithm == options_.mining_algorithm &&
        (options_.mining_source.empty() || job->source_id == options_.mining_source)) {
      current_ = job;
      is_current = true;
    }
    if (superseded) {
      log::get("scheduler")->info("job {} of {} arrived after a newer job or a withdrawal: kept for late submissions only", job->id,
                                  job->source_id);
      return OTD_OK;
    }
  }
  log::get("scheduler")->info("job {} from {}: {} height {} network difficulty {:.6g}{}", job->id, job->source_id,
                              job->tmpl->coin, job->tmpl->c.height, job->network_difficulty,
                              (job->tmpl->c.flags & OTD_TEMPLATE_CLEAN) != 0U ? " (clean)" : "");
  // Local devices switch at once: raise the abort flag of every running work unit.
  if (is_current) {
    std::lock_guard devices_lock(devices_mutex_);  // start_devices may be appending (order: devices, then work)
    for (auto& dev : devices_) {
      std::lock_guard lock(dev->work_mutex);
      for (auto& w : dev->current)
        if (w) w->abort.store(1);
    }
    job_cv_.notify_all();
  }
  publish(job);
  return OTD_OK;
}

void Scheduler::withdraw(std::string_view source_id) {
  bool was_current = false;
  {
    std::lock_guard lock(mutex_);
    withdrawn_below_[std::string(source_id)] = next_job_id_;  // jobs still preparing their context stay dormant
    bool has_jobs = false;
    for (const auto& [id, job] : jobs_) has_jobs = has_jobs || job->source_id == source_id;
    if (!has_jobs && (current_ == nullptr || current_->source_id != source_id)) return;
    ++clean_generation_[std::string(source_id)];  // every job of the source made so far is stale: shares of them are refused as such
    if (current_ != nullptr && current_->source_id == source_id) {
      current_ = nullptr;  // lanes wait in next_work until the source posts a template again
      was_current = true;
    }
  }
  log::get("scheduler")->warn("{} withdrew its work (no valid template): its jobs are stale{}", source_id,
                              was_current ? ", local mining waits for its next template" : "");
  std::lock_guard devices_lock(devices_mutex_);
  for (auto& dev : devices_) {
    std::lock_guard lock(dev->work_mutex);
    for (auto& w : dev->current)
      if (w) w->abort.store(1);
  }
}

void Scheduler::publish(const std::shared_ptr<const Job>& job) {
  boost::asio::post(control_, [this, job] {
    otd_job_t j{};
    j.struct_size = sizeof j;
    j.flags = job->tmpl->c.flags;
    j.job_id = job->id;
    j.tmpl = &job->tmpl->c;
    std::memcpy(j.share_target, job->share_target.data(), OTD_HASH_SIZE);
    j.share_difficulty = job->share_difficulty;
    j.network_difficulty = job->network_difficulty;
    for (const auto* rec : loader_.loaded(OTD_KIND_TRANSPORT)) {
      const auto* t = static_cast<const otd_transport_t*>(rec->table);
      if (t->on_job == nullptr || (t->roles & (OTD_TRANSPORT_SERVER | OTD_TRANSPORT_PEER)) == 0U) continue;
      const uint64_t started = mono_ns();
      const otd_status_t st = t->on_job(rec->instance, &j);
      observe_call(rec->id, "on_job", started);
      if (st != OTD_OK) log::get("scheduler")->warn("{} refused job {} (status {})", rec->id, job->id, st);
    }
  });
}

bool Scheduler::has_live_job() const {
  std::lock_guard lock(mutex_);
  for (auto it = jobs_.rbegin(); it != jobs_.rend(); ++it) {
    const auto w = withdrawn_below_.find(it->second->source_id);
    if (w == withdrawn_below_.end() || it->first >= w->second) return true;
  }
  return false;
}

std::shared_ptr<const Job> Scheduler::find_job(uint64_t id) const {
  std::lock_guard lock(mutex_);
  auto it = jobs_.find(id);
  return it == jobs_.end() ? nullptr : it->second;
}

std::shared_ptr<const Job> Scheduler::current_job() const {
  std::lock_guard lock(mutex_);
  return current_;
}

// ---------------------------------------------------------------------------------------------------------
// Devices

void Scheduler::start_devices() {
  auto logger = log::get("scheduler");
  // Enumerate every enabled backend first: one physical GPU several backends list is mined once
  // (device_selection.hpp), and mining.gpu.devices indexes the de-duplicated GPU list.
  std::vector<EnumeratedDevice> found;
  std::map<std::string, const loader::PluginRecord*, std::less<>> backends;
  for (const auto* rec : loader_.loaded(OTD_KIND_BACKEND)) {
    const auto* table = static_cast<const otd_backend_t*>(rec->table);
    const DeviceClass cls = device_class(rec->name);
    if ((cls == DeviceClass::cpu && !options_.enable_cpu) || (cls == DeviceClass::gpu && !options_.enable_gpu) ||
        (cls == DeviceClass::asic && !options_.enable_asic)) {
      logger->info("backend {} not enabled (mining.enable_{})", rec->id, cls == DeviceClass::cpu ? "cpu" : cls == DeviceClass::gpu ? "gpu" : "asic");
      continue;
    }
    uint32_t count = 0;
    if (table->enumerate(rec->instance, nullptr, 0, &count) != OTD_OK) {
      logger->error("backend {}: device enumeration failed", rec->id);
      continue;
    }
    std::vector<otd_device_info_t> infos(count);
    for (auto& i : infos) i.struct_size = sizeof(otd_device_info_t);
    if (count > 0 && table->enumerate(rec->instance, infos.data(), count, &count) != OTD_OK) continue;
    backends[rec->id] = rec;
    for (uint32_t i = 0; i < infos.size() && i < count; ++i) found.push_back(EnumeratedDevice{rec->id, rec->name, i, infos[i]});
  }
  order_devices(found, options_.gpu_backends);
  const std::vector<DeviceChoice> choices = deduplicate(found, options_.mining_algorithm);
  for (size_t n = 0; n < found.size(); ++n) {
    const EnumeratedDevice& e = found[n];
    const auto* rec = backends.at(e.backend_id);
    const auto* table = static_cast<const otd_backend_t*>(rec->table);
    const DeviceClass cls = device_class(rec->name);
    const uint32_t i = e.index;
    const std::string_view dev_id(e.info.id, strnlen(e.info.id, sizeof e.info.id));
    if (choices[n].duplicate_of >= 0) {
      const auto& original = found[static_cast<size_t>(choices[n].duplicate_of)];
      const std::string words = duplicate_words(original, choices[static_cast<size_t>(choices[n].duplicate_of)]);
      logger->info("device {} on {}: {}: not mined", dev_id, rec->id, words);
      DeviceStatus s;
      s.id = dev_id;
      s.name = std::string(e.info.name, strnlen(e.info.name, sizeof e.info.name));
      s.backend = rec->id;
      s.duplicate_of = words;
      std::lock_guard lock(devices_mutex_);
      duplicates_.push_back(std::move(s));
      continue;
    }
    if (cls == DeviceClass::gpu && !gpu_selected(options_.gpu_devices, choices[n].gpu_index)) {
      logger->info("device {} on {} is gpu {}, not in mining.gpu.devices: not used", dev_id, rec->id, choices[n].gpu_index);
      continue;
    }
    const otd_device_info_t& info = e.info;
    {
      // A device that cannot run the mined algorithm gets no lanes (it would refuse every unit).
      const std::string_view can(info.algorithms, strnlen(info.algorithms, sizeof info.algorithms));
      if (!runs_algorithm(can, options_.mining_algorithm)) {
        logger->info("device {} on {} does not run {} (it runs: {}): not used", dev_id,
                     rec->id, options_.mining_algorithm, can.empty() ? std::string_view("nothing listed") : can);
        continue;
      }
      const otd_device_limits_t& limits = cls == DeviceClass::cpu ? options_.cpu_limits : cls == DeviceClass::gpu ? options_.gpu_limits : options_.asic_limits;
      auto dev = std::make_unique<Device>();
      dev->backend = rec;
      dev->table = table;
      dev->info = info;
      dev->limits = limits;
      dev->index = i;
      dev->gpu_index = choices[n].gpu_index;
      char err[OTD_ERROR_CAP] = {};
      if (table->open_device(rec->instance, i, &limits, &dev->handle, err, sizeof err) != OTD_OK || dev->handle == nullptr) {
        logger->error("backend {}: cannot open device {} ({}): {}", rec->id, i, dev->info.id, err);
        continue;
      }
      const bool queued = dev->info.style == OTD_DEVICE_QUEUED;
      if (queued && table->push_work == nullptr) {
        logger->error("backend {}: device {} is queued but the backend has no push_work", rec->id, dev->info.id);
        table->close_device(rec->instance, dev->handle);
        continue;
      }
      if (!queued && table->run == nullptr) {
        logger->error("backend {}: device {} is a scan device but the backend has no run", rec->id, dev->info.id);
        table->close_device(rec->instance, dev->handle);
        continue;
      }
      dev->lanes = queued ? 1 : std::max<uint32_t>(1, limits.lanes != 0 ? std::min(limits.lanes, std::max<uint32_t>(1, dev->info.max_lanes)) : dev->info.max_lanes);
      dev->current.resize(dev->lanes);
      dev->last_tick_ns = dev->started_ns = mono_ns();
      logger->info("device {} ({}) on {}{}: {} lane(s), {}", dev->info.id, dev->info.name, rec->id,
                   dev->gpu_index >= 0 ? " as gpu " + std::to_string(dev->gpu_index) : std::string(), dev->lanes,
                   queued ? "queued" : "scan");
      Device& d = *dev;
      {
        std::lock_guard lock(devices_mutex_);
        devices_.push_back(std::move(dev));
      }
      if (queued) {
        d.threads.emplace_back([this, &d] { queued_loop(d); });
      } else {
        for (uint32_t lane = 0; lane < d.lanes; ++lane) d.threads.emplace_back([this, &d, lane] { lane_loop(d, lane); });
      }
    }
  }
}

void Scheduler::stop() {
  {
    // Set under the mutex the lanes wait on, so no lane can check the predicate and then miss the notify.
    std::lock_guard lock(mutex_);
    if (stopping_.exchange(true)) return;
  }
  for (auto& dev : devices_) {
    std::lock_guard lock(dev->work_mutex);
    for (auto& w : dev->current)
      if (w) w->abort.store(1);
    for (auto& w : dev->queue) w->abort.store(1);
  }
  job_cv_.notify_all();
  for (auto& dev : devices_) {
    for (auto& t : dev->threads)
      if (t.joinable()) t.join();
    // Every lane has returned its last chunk: the count is complete (benchmarks/monitoring reads this line).
    const double secs = static_cast<double>(mono_ns() - dev->started_ns) / 1e9;
    const uint64_t hashes = dev->hashes.load();
    log::get("scheduler")->info("device {}: {} hashes in {:.3f} s ({:.0f} H/s)", dev->info.id, hashes, secs, secs > 0 ? static_cast<double>(hashes) / secs : 0.0);
  }
  {
    std::lock_guard lock(devices_mutex_);
    for (auto& dev : devices_)
      if (dev->handle != nullptr) dev->table->close_device(dev->backend->instance, dev->handle);
    devices_closed_ = true;
  }
  verify_pool_.join();
  context_pool_.join();
}

void Scheduler::drop_jobs() {
  for (auto& dev : devices_) {
    std::lock_guard lock(dev->work_mutex);
    dev->current.assign(dev->current.size(), nullptr);
    dev->queue.clear();
  }
  std::lock_guard lock(mutex_);
  current_ = nullptr;
  jobs_.clear();
  seen_.clear();
  contexts_.clear();
  ahead_ = nullptr;
  ahead_key_.clear();
}

std::shared_ptr<Scheduler::LaneWork> Scheduler::next_work(Device& dev, uint32_t lane, std::shared_ptr<LaneWork> previous) {
  std::shared_ptr<const Job> job;
  {
    std::unique_lock lock(mutex_);
    job_cv_.wait(lock, [&] { return stopping_.load() || (current_ != nullptr && !paused_.load()); });
    if (stopping_) return nullptr;
    job = current_;
  }
  // Continue the previous blob while its job is current and nonces remain; otherwise a fresh extranonce.
  if (previous && previous->job == job && previous->next_nonce < previous->nonce_limit && previous->abort.load() == 0) {
    auto w = std::make_shared<LaneWork>();
    w->job = job;
    w->blob = previous->blob;
    w->extranonce = previous->extranonce;
    w->next_nonce = previous->next_nonce;
    w->nonce_limit = previous->nonce_limit;
    w->c = previous->c;
    previous = nullptr;
    w->c.blob = w->blob.data();
    w->c.work_id = next_work_id_.fetch_add(1);
    w->c.nonce_start = w->next_nonce;
    w->c.nonce_count = std::min(options_.scan_chunk, w->nonce_limit - w->next_nonce);
    w->next_nonce += w->c.nonce_count;
    w->c.abort_flag = abort_ptr(w->abort);
    w->c.on_found_user = w.get();
    w->scheduler = this;
    w->device = &dev;
    set_share_target(*w);
    return w;
  }
  auto w = std::make_shared<LaneWork>();
  w->job = job;
  w->scheduler = this;
  w->device = &dev;
  const otd_template_t& t = job->tmpl->c;
  w->extranonce.resize(t.extranonce_size);
  const uint64_t en = next_extranonce_.fetch_add(1);
  for (size_t i = 0; i < w->extranonce.size() && i < 8; ++i) w->extranonce[i] = static_cast<uint8_t>(en >> (8 * i));
  w->blob.resize(256);
  uint32_t size = 0, nonce_offset = 0, nonce_size = 0;
  char err[OTD_ERROR_CAP] = {};
  otd_status_t st = job->algo->build_blob(job->algorithm->instance, &t, w->extranonce.data(), static_cast<uint32_t>(w->extranonce.size()),
                                          0, 0, w->blob.data(), static_cast<uint32_t>(w->blob.size()), &size, &nonce_offset, &nonce_size, err, sizeof err);
  if (st == OTD_ERR_BUFFER_TOO_SMALL && size <= kMaxHashingBlob) {
    w->blob.resize(size);
    st = job->algo->build_blob(job->algorithm->instance, &t, w->extranonce.data(), static_cast<uint32_t>(w->extranonce.size()), 0, 0,
                               w->blob.data(), static_cast<uint32_t>(w->blob.size()), &size, &nonce_offset, &nonce_size, err, sizeof err);
  }
  if (st != OTD_OK || !blob_layout_ok(size, static_cast<uint32_t>(w->blob.size()), nonce_offset, nonce_size)) {
    log::get("scheduler")->error("{}: build_blob failed for job {} (status {}, size {}, nonce at {}+{}): {}", job->algorithm->id, job->id, st,
                                 size, nonce_offset, nonce_size, err);
    return nullptr;
  }
  w->blob.resize(size);
  w->nonce_limit = nonce_size >= 8 ? UINT64_MAX : (1ULL << (8 * nonce_size));
  if (nonce_size > dev.info.nonce_size_max && dev.info.nonce_size_max > 0) w->nonce_limit = 1ULL << (8 * dev.info.nonce_size_max);
  // The extranonce gives every fresh unit its own blob. When it has fewer than 8 bytes, the counter's bits
  // that do not fit select a stripe of the nonce space instead, so no two units ever scan the same hashes.
  uint64_t stripe = 0;
  if (t.extranonce_size < 8) stripe = en >> (8 * t.extranonce_size);
  w->c.struct_size = sizeof(otd_work_unit_t);
  w->c.work_id = next_work_id_.fetch_add(1);
  w->c.job_id = job->id;
  w->c.algorithm = job->tmpl->algorithm.c_str();
  w->c.blob = w->blob.data();
  w->c.blob_size = size;
  w->c.nonce_offset = nonce_offset;
  w->c.nonce_size = nonce_size;
  // The source may reserve part of the nonce field for itself (an upstream pool's nonce prefix): lanes scan
  // only [nonce_base, nonce_base + nonce_space), clipped to the field.
  uint64_t base = 0;
  if (t.nonce_base != 0 || t.nonce_space != 0) {
    base = t.nonce_base;
    if (base >= w->nonce_limit) {
      log::get("scheduler")->error("{}: job {}: template nonce_base {:#x} lies outside its {}-byte nonce field", job->algorithm->id, job->id,
                                   base, nonce_size);
      return nullptr;
    }
    if (t.nonce_space != 0 && t.nonce_space < w->nonce_limit - base) w->nonce_limit = base + t.nonce_space;
  }
  const uint64_t stripes = std::max<uint64_t>(1, (w->nonce_limit - base) / options_.scan_chunk);
  w->c.nonce_start = base + (stripe % stripes) * options_.scan_chunk;
  w->c.nonce_count = std::min(options_.scan_chunk, w->nonce_limit - w->c.nonce_start);
  // A striped unit owns exactly its stripe; a unit with a full extranonce owns the whole nonce space.
  if (stripe != 0 || t.extranonce_size < 8) w->nonce_limit = w->c.nonce_start + w->c.nonce_count;
  w->next_nonce = w->c.nonce_start + w->c.nonce_count;
  set_share_target(*w);
  std::memcpy(w->c.block_target, job->block_target.data(), OTD_HASH_SIZE);
  w->c.height = t.height;
  w->c.epoch = t.epoch;
  w->c.flags = (t.flags & OTD_TEMPLATE_TEST_EPOCH) != 0U ? OTD_WORK_TEST_EPOCH : 0U;
  w->c.seed = job->tmpl->seed.data();
  w->c.seed_size = static_cast<uint32_t>(job->tmpl->seed.size());
  w->c.algorithm_plugin = job->algorithm->instance;
  w->c.algorithm_table = job->algo;
  w->c.algorithm_context = job->context ? job->context->handle : nullptr;
  w->c.algorithm_context_id = job->context ? job->context->id : 0;
  w->c.abort_flag = abort_ptr(w->abort);
  w->c.on_found = &Scheduler::on_found;
  w->c.on_found_user = w.get();
  (void)lane;
  return w;
}

void Scheduler::lane_loop(Device& dev, uint32_t lane) {
  // Nothing may escape a host thread: an exception here (a plugin-reported size the host cannot allocate,
  // a C++ plugin that throws) stops this lane with a log line, not the process.
  try {
    lane_loop_body(dev, lane);
  } catch (const std::exception& e) {
    dev.errors.fetch_add(1);
    log::get("scheduler")->error("device {} lane {} stopped: {}", dev.info.id, lane, e.what());
  } catch (...) {
    dev.errors.fetch_add(1);
    log::get("scheduler")->error("device {} lane {} stopped: a non-standard exception crossed the ABI", dev.info.id, lane);
  }
}

void Scheduler::queued_loop(Device& dev) {
  try {
    queued_loop_body(dev);
  } catch (const std::exception& e) {
    dev.errors.fetch_add(1);
    log::get("scheduler")->error("device {} stopped: {}", dev.info.id, e.what());
  } catch (...) {
    dev.errors.fetch_add(1);
    log::get("scheduler")->error("device {} stopped: a non-standard exception crossed the ABI", dev.info.id);
  }
}

void Scheduler::lane_loop_body(Device& dev, uint32_t lane) {
  auto logger = log::get("scheduler");
  std::shared_ptr<LaneWork> work;
  uint32_t consecutive_errors = 0;
  while (!stopping_) {
    work = next_work(dev, lane, work);
    if (!work) {
      if (stopping_) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      continue;
    }
    {
      std::lock_guard lock(dev.work_mutex);
      dev.current[lane] = work;
    }
    // A job may have switched between next_work and registering: do not mine it blindly.
    if (current_job() != work->job || paused_.load()) work->abort.store(1);
    if (dev.handle == nullptr) {
      // A restart closed the device and could not reopen it: try again after a pause, never run on NULL.
      std::this_thread::sleep_for(std::chrono::seconds(5));
      if (!stopping_) restart_device(dev);
      continue;
    }
    uint64_t hashes = 0;
    char err[OTD_ERROR_CAP] = {};
    const otd_status_t st = dev.table->run(dev.backend->instance, dev.handle, lane, &work->c, &hashes, err, sizeof err);
    dev.hashes.fetch_add(hashes);
    metrics_.update(m_hashes_, {dev.info.id}, static_cast<double>(hashes));
    if (st == OTD_OK || st == OTD_ERR_ABORTED) {
      consecutive_errors = 0;
      continue;
    }
    dev.errors.fetch_add(1);
    ++consecutive_errors;
    logger->error("device {} lane {}: run failed (status {}): {}", dev.info.id, lane, st, err);
    // Back off so a failing device cannot spin; the next work unit starts fresh.
    work = nullptr;
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min<uint32_t>(5000, 100U << std::min<uint32_t>(consecutive_errors, 6))));
    // The watchdog's restart: a device whose runs keep failing (a hung launch the backend timed out, a
    // kernel fault, a lost device) is closed and opened again, as at start, so the backend rebuilds
    // whatever state the fault left behind. Only for single-lane devices (the GPU backends): with one lane
    // no other thread can be inside run() while this one closes it.
    if (consecutive_errors % kRestartAfterFailures == 0 && dev.lanes == 1 && !stopping_) restart_device(dev);
  }
  std::lock_guard lock(dev.work_mutex);
  dev.current[lane] = nullptr;
}

bool Scheduler::restart_device(Device& dev) {
  auto logger = log::get("scheduler");
  std::lock_guard lock(devices_mutex_);  // tick() and devices() reach the handle only under this lock
  if (devices_closed_) return false;
  dev.table->close_device(dev.backend->instance, dev.handle);
  dev.handle = nullptr;
  char err[OTD_ERROR_CAP] = {};
  otd_device_t* handle = nullptr;
  if (dev.table->open_device(dev.backend->instance, dev.index, &dev.limits, &handle, err, sizeof err) != OTD_OK || handle == nullptr) {
    // Closed and not reopened: keep a handle the other paths can use by trying again at the next restart;
    // until then the lane's runs fail fast on the NULL device (the backend refuses it by name).
    logger->error("device {}: restart failed, cannot reopen it: {}", dev.info.id, err);
    return false;
  }
  dev.handle = handle;
  ++dev.restarts;
  metrics_.update(m_restarts_, {dev.info.id}, 1.0);
  logger->warn("device {}: restarted (closed and reopened) after {} failed runs in a row; restart {}", dev.info.id, kRestartAfterFailures,
               dev.restarts);
  return true;
}

void Scheduler::queued_loop_body(Device& dev) {
  auto logger = log::get("scheduler");
  const size_t depth = std::max<uint32_t>(1, dev.info.queue_depth);
  std::shared_ptr<const Job> last_job;
  while (!stopping_) {
    const auto job = current_job();
    if (job != last_job && job != nullptr) {
      // A new block: everything queued is stale.
      if (last_job == nullptr || (job->tmpl->c.flags & OTD_TEMPLATE_CLEAN) != 0U) {
        dev.table->flush_work(dev.backend->instance, dev.handle);
        std::lock_guard lock(dev.work_mutex);
        dev.queue.clear();
      }
      last_job = job;
    }
    // A queued device never says a unit is done, so the host keeps feeding it: one fresh unit per pass
    // (the device answers OTD_ERR_BUSY when it cannot take more), retiring the oldest past queue_depth.
    if (job != nullptr) {
      auto w = next_work(dev, 0, nullptr);
      char err[OTD_ERROR_CAP] = {};
      const otd_status_t st = w ? dev.table->push_work(dev.backend->instance, dev.handle, &w->c, err, sizeof err) : OTD_ERR_GENERIC;
      if (st == OTD_OK) {
        std::lock_guard lock(dev.work_mutex);
        dev.queue.push_back(std::move(w));
        while (dev.queue.size() > depth) dev.queue.pop_front();
      } else if (w && st != OTD_ERR_BUSY) {
        dev.errors.fetch_add(1);
        logger->error("device {}: push_work failed (status {}): {}", dev.info.id, st, err);
      }
    }
    uint64_t hashes = 0;
    char err[OTD_ERROR_CAP] = {};
    // Results name a work_id; the device pointer resolves it against the queue.
    const otd_status_t st = dev.table->poll(dev.backend->instance, dev.handle, job == nullptr ? 100 : 50,
                                            [](void* user, const otd_found_t* found) -> otd_status_t {
                                              auto* d = static_cast<Device*>(user);
                                              std::shared_ptr<LaneWork> w;
                                              {
                                                std::lock_guard lock(d->work_mutex);
                                                for (auto& q : d->queue)
                                                  if (found != nullptr && q->c.work_id == found->work_id) w = q;
                                              }
                                              if (!w) return OTD_ERR_ABORTED;  // retired work: stale
                                              return Scheduler::on_found(w.get(), found);
                                            },
                                            &dev, &hashes, err, sizeof err);
    dev.hashes.fetch_add(hashes);
    if (st != OTD_OK && st != OTD_ERR_TIMEOUT) {
      dev.errors.fetch_add(1);
      logger->error("device {}: poll failed (status {}): {}", dev.info.id, st, err);
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    if (job == nullptr) {
      std::unique_lock lock(mutex_);
      job_cv_.wait_for(lock, std::chrono::milliseconds(200), [&] { return stopping_.load() || current_ != nullptr; });
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Found nonces: re-verified on the CPU before anything else sees them

otd_status_t OTD_CALL Scheduler::on_found(void* user, const otd_found_t* found) {
  auto* work = static_cast<LaneWork*>(user);
  if (work == nullptr || found == nullptr || found->struct_size < offsetof(otd_found_t, hash) + OTD_HASH_SIZE) return OTD_ERR_INVALID_ARG;
  if ((found->flags & OTD_FOUND_HAS_MIX) != 0U && found->struct_size < offsetof(otd_found_t, mix) + OTD_HASH_SIZE) return OTD_ERR_INVALID_ARG;
  try {
    return work->scheduler->handle_found(*work, *found);
  } catch (...) {
    return OTD_ERR_GENERIC;
  }
}

otd_status_t Scheduler::handle_found(LaneWork& work, const otd_found_t& found) {
  Device& dev = *work.device;
  const Job& job = *work.job;
  // A nonce of a job a new block made stale is not worth verifying (nor submitting): on an easy chain (a
  // regtest node, where nearly every hash is a block) a device finds them far faster than they verify.
  bool stale = false;
  {
    std::lock_guard lock(mutex_);
    const auto g = clean_generation_.find(job.source_id);
    stale = job.clean_generation != (g == clean_generation_.end() ? 0 : g->second);
  }
  if (stale) {
    count_share("stale");
    return OTD_ERR_ABORTED;
  }
  std::vector<uint8_t> header = work.blob;
  put_nonce(header, work.c.nonce_offset, work.c.nonce_size, found.nonce);
  otd_verify_request_t req{};
  req.struct_size = sizeof req;
  req.flags = found.flags & OTD_FOUND_HAS_MIX;
  req.blob = header.data();
  req.blob_size = static_cast<uint32_t>(header.size());
  req.nonce = found.nonce;
  req.height = job.tmpl->c.height;
  if ((found.flags & OTD_FOUND_HAS_MIX) != 0U) std::memcpy(req.mix, found.mix, OTD_HASH_SIZE);
  std::memcpy(req.share_target, work.c.share_target, OTD_HASH_SIZE);  // the unit's (set_share_target)
  std::memcpy(req.block_target, job.block_target.data(), OTD_HASH_SIZE);
  otd_verify_result_t res{};
  res.struct_size = sizeof res;
  char err[OTD_ERROR_CAP] = {};
  const uint64_t started = mono_ns();
  const otd_status_t st = job.algo->verify(job.algorithm->instance, job.context ? job.context->handle : nullptr, &req, &res, err, sizeof err);
  observe_call(job.algorithm->id, "verify", started);
  if (st != OTD_OK || res.meets_share == 0 || res.mix_ok == 0) {
    dev.mismatches.fetch_add(1);
    metrics_.update(m_mismatch_, {dev.info.id}, 1);
    count_share("device_mismatch");
    log::get("scheduler")->warn("device {}: nonce {:#x} for job {} failed CPU re-verification ({}; device hash {}, CPU hash {})",
                                dev.info.id, found.nonce, job.id, st != OTD_OK ? std::string(err) : "above the share target",
                                display_hex(found.hash, OTD_HASH_SIZE), display_hex(res.hash, OTD_HASH_SIZE));
    return OTD_OK;
  }
  dev.shares.fetch_add(1);
  ShareRecord share;
  share.job = work.job;
  share.worker = std::string("local:") + dev.info.id;
  share.header = std::move(header);
  share.extranonce = work.extranonce;
  share.nonce = found.nonce;
  std::memcpy(share.hash.data(), res.hash, OTD_HASH_SIZE);
  std::memcpy(share.mix.data(), res.mix, OTD_HASH_SIZE);
  share.difficulty = work.share_difficulty;
  share.share_difficulty = res.share_difficulty;
  share.is_block = res.meets_block != 0;
  std::memcpy(share.share_target.data(), work.c.share_target, OTD_HASH_SIZE);
  {
    std::lock_guard lock(mutex_);
    if (!seen_[job.id].insert(share.hash).second) {
      count_share("duplicate");
      return OTD_OK;
    }
  }
  boost::asio::post(control_, [this, share = std::move(share), res]() mutable { accept_share(std::move(share), res); });
  return work.abort.load() != 0 ? OTD_ERR_ABORTED : OTD_OK;
}

void Scheduler::accept_share(ShareRecord share, const otd_verify_result_t& verified, std::function<void(bool stored)> then) {
  if (!sinks_.store_share) {
    accepted_durably(share, verified);
    if (then) then(true);
    return;
  }
  // Durable before acknowledged: the store calls back once the share's batch is on disk (or it failed);
  // only then is it counted, announced and answered, back on the control strand.
  auto held = std::make_shared<ShareRecord>(std::move(share));
  sinks_.store_share(*held, [this, held, verified, then = std::move(then)](bool durable) mutable {
    boost::asio::post(control_, [this, held = std::move(held), verified, durable, then = std::move(then)] {
      if (durable) {
        accepted_durably(*held, verified);
      } else {
        count_share("store_failed");
      }
      if (then) then(durable);
    });
  });
}

namespace {
double hashes_per_difficulty_one(const Job& job);
}  // namespace

void Scheduler::accepted_durably(const ShareRecord& share, const otd_verify_result_t& verified) {
  accepted_.fetch_add(1);
  count_share(share.is_block ? "block" : "accepted");
  if (const double work = share.difficulty * hashes_per_difficulty_one(*share.job); work > 0) {
    accepted_work_.fetch_add(work);
    metrics_.update(m_work_, {share.job->tmpl->coin}, work);
  }
  otd_event_share_t ev{};
  ev.header.size = sizeof ev;
  ev.header.type = OTD_EVENT_SHARE;
  ev.verdict = share.is_block ? OTD_SHARE_BLOCK : OTD_SHARE_ACCEPTED;
  ev.job_id = share.job->id;
  set_chars(ev.worker, share.worker);
  set_chars(ev.coin, share.job->tmpl->coin);
  ev.difficulty = share.difficulty;
  ev.share_difficulty = share.share_difficulty;
  events_.post(&ev.header, "core", mono_ns());
  forward_upstream(share, verified);
  if (!share.is_block) return;

  // A block: hand it to the transport that owns the job.
  blocks_.fetch_add(1);
  metrics_.update(m_blocks_, {share.job->tmpl->coin}, 1);
  const auto& t = share.job->tmpl;
  std::vector<uint8_t> coinbase;
  if (!t->coinbase1.empty() || !t->coinbase2.empty()) {
    coinbase = t->coinbase1;
    coinbase.insert(coinbase.end(), share.extranonce.begin(), share.extranonce.end());
    coinbase.insert(coinbase.end(), t->coinbase2.begin(), t->coinbase2.end());
  }
  otd_block_t block{};
  block.struct_size = sizeof block;
  block.job_id = share.job->id;
  block.tmpl = &t->c;
  block.header = share.header.data();
  block.header_size = static_cast<uint32_t>(share.header.size());
  block.coinbase = coinbase.data();
  block.coinbase_size = static_cast<uint32_t>(coinbase.size());
  block.extranonce = share.extranonce.empty() ? nullptr : share.extranonce.data();
  block.extranonce_size = static_cast<uint32_t>(share.extranonce.size());
  block.nonce = share.nonce;
  std::memcpy(block.mix, share.mix.data(), OTD_HASH_SIZE);
  std::memcpy(block.hash, share.hash.data(), OTD_HASH_SIZE);
  log::get("scheduler")->info("block found at height {} by {}: {}", t->c.height, share.worker, display_hex(share.hash.data(), OTD_HASH_SIZE));
  const auto* owner = loader_.find(share.job->source_id);
  if (owner != nullptr && (owner->kind != OTD_KIND_TRANSPORT ||
                           (static_cast<const otd_transport_t*>(owner->table)->roles & OTD_TRANSPORT_JOB_SOURCE) == 0U))
    owner = nullptr;  // only a job source's table has submit_block
  if (owner != nullptr) {
    const auto* tt = static_cast<const otd_transport_t*>(owner->table);
    char err[OTD_ERROR_CAP] = {};
    if (tt->submit_block != nullptr) {
      const uint64_t started = mono_ns();
      const otd_status_t st = tt->submit_block(owner->instance, &block, err, sizeof err);
      observe_call(owner->id, "submit_block", started);
      if (st != OTD_OK) log::get("scheduler")->error("{} refused the block (status {}): {}", owner->id, st, err);
    }
  } else {
    log::get("scheduler")->error("block for job {} but its source {} is not a loaded job source", share.job->id, share.job->source_id);
  }
  if (sinks_.block_found) sinks_.block_found(share, block);
}

void Scheduler::forward_upstream(const ShareRecord& share, const otd_verify_result_t& verified) {
  const auto* owner = loader_.find(share.job->source_id);
  if (owner == nullptr || owner->kind != OTD_KIND_TRANSPORT) return;
  const auto* tt = static_cast<const otd_transport_t*>(owner->table);
  if ((tt->roles & OTD_TRANSPORT_JOB_SOURCE) == 0U || tt->submit_share == nullptr) return;  // a node, the devnet
  otd_candidate_t c{};
  c.struct_size = sizeof c;
  c.flags = (share.job->algo->flags & OTD_ALGO_HAS_MIX) != 0U ? OTD_FOUND_HAS_MIX : 0U;
  c.job_id = share.job->id;
  c.worker = share.worker.c_str();
  c.extranonce = share.extranonce.empty() ? nullptr : share.extranonce.data();
  c.extranonce_size = static_cast<uint32_t>(share.extranonce.size());
  c.nonce = share.nonce;
  c.ntime = share.ntime;
  c.version_bits = share.version_bits;
  std::memcpy(c.mix, share.mix.data(), OTD_HASH_SIZE);
  std::memcpy(c.share_target, share.share_target.data(), OTD_HASH_SIZE);
  const uint64_t started = mono_ns();
  const otd_status_t st = tt->submit_share(owner->instance, &c, &verified);
  observe_call(owner->id, "submit_share", started);
  if (st != OTD_OK) log::get("scheduler")->warn("{} refused a share of job {} (status {})", owner->id, share.job->id, st);
}

namespace {
/// Hashes a share of difficulty 1 takes on average (2^256 / (target + 1)): 2^32 for sha256d, 2^16 for
/// scrypt's pool unit. 0 when the algorithm gives no target.
double hashes_per_difficulty_one(const Job& job) {
  Hash target{};
  if (job.algo->target_from_difficulty(job.algorithm->instance, 1.0, target.data()) != OTD_OK) return 0;
  const double t = common::to_double(target);
  return t > 0 ? std::ldexp(1.0, 256) / (t + 1.0) : 0;
}
}  // namespace

double Scheduler::difficulty_one_hashes() const {
  const auto job = current_job();
  return job ? otedama::scheduler::hashes_per_difficulty_one(*job) : 0;
}

bool Scheduler::set_mining(bool on) {
  {
    // Under the mutex the lanes wait on, so no lane can check the predicate and then miss the notify.
    std::lock_guard lock(mutex_);
    paused_.store(!on);
  }
  if (!on) {
    std::lock_guard devices_lock(devices_mutex_);
    for (auto& dev : devices_) {
      std::lock_guard lock(dev->work_mutex);
      for (auto& w : dev->current)
        if (w) w->abort.store(1);
    }
  }
  job_cv_.notify_all();
  log::get("scheduler")->info("local mining {}", on ? "resumed" : "paused");
  return on;
}

void Scheduler::set_share_target(LaneWork& w) const {
  const Job& job = *w.job;
  std::memcpy(w.c.share_target, job.share_target.data(), OTD_HASH_SIZE);
  w.share_difficulty = job.share_difficulty;
  if (!(options_.local_share_rate > 0) || options_.local_share_difficulty > 0) return;
  double d = auto_share_difficulty_.load();
  if (!(d > 0)) {
    const double h1 = hashes_per_difficulty_one(job);
    if (!(h1 > 0)) return;
    d = std::ldexp(1.0, 20) / h1;  // no rate measured yet: about 2^20 hashes a share
  }
  Hash target{};
  if (!(d < job.share_difficulty) || job.algo->target_from_difficulty(job.algorithm->instance, d, target.data()) != OTD_OK) return;
  std::memcpy(w.c.share_target, target.data(), OTD_HASH_SIZE);
  w.share_difficulty = d;
}

// ---------------------------------------------------------------------------------------------------------
// Downstream submissions

otd_status_t Scheduler::submit_candidate(std::string_view source_id, const otd_candidate_t* candidate) {
  if (candidate == nullptr || candidate->struct_size < sizeof(otd_candidate_t)) {
    count_share("malformed");
    return OTD_ERR_INVALID_ARG;
  }
  if ((candidate->extranonce == nullptr && candidate->extranonce_size != 0) || candidate->extranonce_size > 64) {
    count_share("malformed");
    return OTD_ERR_INVALID_ARG;
  }
  if (verify_pending_.fetch_add(1) >= options_.verify_queue) {
    verify_pending_.fetch_sub(1);
    count_share("overloaded");
    return OTD_ERR_BUSY;
  }
  std::vector<uint8_t> en(candidate->extranonce, candidate->extranonce + candidate->extranonce_size);
  std::string worker = candidate->worker != nullptr ? std::string(candidate->worker).substr(0, OTD_NAME_CAP - 1) : std::string();
  otd_candidate_t copy = *candidate;
  copy.extranonce = nullptr;
  copy.worker = nullptr;
  boost::asio::post(verify_pool_, [this, src = std::string(source_id), copy, en = std::move(en), worker = std::move(worker)]() mutable {
    try {
      verify_submission(std::move(src), copy, std::move(en), std::move(worker));
    } catch (const std::exception& e) {
      count_share("internal_error");
      log::get("scheduler")->error("verification of a submission failed: {}", e.what());
    } catch (...) {
      count_share("internal_error");
      log::get("scheduler")->error("verification of a submission failed: a non-standard exception crossed the ABI");
    }
    verify_pending_.fetch_sub(1);
  });
  return OTD_OK;
}

void Scheduler::verify_submission(std::string source_id, otd_candidate_t c, std::vector<uint8_t> extranonce, std::string worker) {
  otd_share_result_t result{};
  result.struct_size = sizeof result;
  result.job_id = c.job_id;
  result.connection_id = c.connection_id;
  result.submission_id = c.submission_id;
  std::shared_ptr<const Job> job;
  auto finish = [&](otd_share_verdict_t verdict, const std::string& reason, const char* metric) {
    result.verdict = verdict;
    set_chars(result.reason, reason);
    count_share(metric);
    // A rejected share is an event too (the API's per-worker counts, the WebSocket's share topic).
    otd_event_share_t ev{};
    ev.header.size = sizeof ev;
    ev.header.type = OTD_EVENT_SHARE;
    ev.verdict = verdict;
    ev.job_id = c.job_id;
    set_chars(ev.worker, worker);
    if (job) set_chars(ev.coin, job->tmpl->coin);
    ev.difficulty = 0;
    if (job) job->algo->difficulty_from_target(job->algorithm->instance, c.share_target, &ev.difficulty);
    ev.share_difficulty = result.share_difficulty;
    set_chars(ev.reason, reason);
    events_.post(&ev.header, "core", mono_ns());
    answer(source_id, result);
  };
  job = find_job(c.job_id);
  if (!job) return finish(OTD_SHARE_STALE, "job " + std::to_string(c.job_id) + " not found", "stale");
  {
    std::lock_guard lock(mutex_);
    const auto g = clean_generation_.find(job->source_id);
    if (job->clean_generation != (g == clean_generation_.end() ? 0 : g->second)) return finish(OTD_SHARE_STALE, "job superseded by a new block", "stale");
  }
  if (extranonce.size() != job->tmpl->c.extranonce_size)
    return finish(OTD_SHARE_MALFORMED, "extranonce is " + std::to_string(extranonce.size()) + " bytes, job needs " +
                                           std::to_string(job->tmpl->c.extranonce_size), "malformed");
  std::vector<uint8_t> blob(256);
  uint32_t size = 0, nonce_offset = 0, nonce_size = 0;
  char err[OTD_ERROR_CAP] = {};
  otd_status_t st = job->algo->build_blob(job->algorithm->instance, &job->tmpl->c, extranonce.data(), static_cast<uint32_t>(extranonce.size()),
                                          c.ntime, c.version_bits, blob.data(), static_cast<uint32_t>(blob.size()), &size, &nonce_offset,
                                          &nonce_size, err, sizeof err);
  if (st == OTD_ERR_BUFFER_TOO_SMALL && size <= kMaxHashingBlob) {
    blob.resize(size);
    st = job->algo->build_blob(job->algorithm->instance, &job->tmpl->c, extranonce.data(), static_cast<uint32_t>(extranonce.size()), c.ntime,
                               c.version_bits, blob.data(), static_cast<uint32_t>(blob.size()), &size, &nonce_offset, &nonce_size, err, sizeof err);
  }
  if (st != OTD_OK || !blob_layout_ok(size, static_cast<uint32_t>(blob.size()), nonce_offset, nonce_size))
    return finish(OTD_SHARE_MALFORMED, std::string("cannot build the header: ") + err, "malformed");
  blob.resize(size);
  put_nonce(blob, nonce_offset, nonce_size, c.nonce);
  otd_verify_request_t req{};
  req.struct_size = sizeof req;
  req.flags = c.flags & OTD_FOUND_HAS_MIX;
  req.blob = blob.data();
  req.blob_size = size;
  req.nonce = c.nonce;
  req.height = job->tmpl->c.height;
  std::memcpy(req.mix, c.mix, OTD_HASH_SIZE);
  // The submitter's target, but never easier than... the host trusts the transport's per-connection target.
  std::memcpy(req.share_target, c.share_target, OTD_HASH_SIZE);
  std::memcpy(req.block_target, job->block_target.data(), OTD_HASH_SIZE);
  otd_verify_result_t res{};
  res.struct_size = sizeof res;
  const uint64_t started = mono_ns();
  st = job->algo->verify(job->algorithm->instance, job->context ? job->context->handle : nullptr, &req, &res, err, sizeof err);
  observe_call(job->algorithm->id, "verify", started);
  if (st != OTD_OK) return finish(OTD_SHARE_MALFORMED, std::string("verification failed: ") + err, "malformed");
  std::memcpy(result.hash, res.hash, OTD_HASH_SIZE);
  result.share_difficulty = res.share_difficulty;
  if (res.mix_ok == 0) return finish(OTD_SHARE_MALFORMED, "mix hash does not match", "malformed");
  if (res.meets_share == 0) return finish(OTD_SHARE_LOW_DIFFICULTY, "low difficulty share", "low_difficulty");
  Hash h{};
  std::memcpy(h.data(), res.hash, OTD_HASH_SIZE);
  {
    std::lock_guard lock(mutex_);
    if (!seen_[job->id].insert(h).second) return finish(OTD_SHARE_DUPLICATE, "duplicate share", "duplicate");
  }
  double target_diff = 0;
  job->algo->difficulty_from_target(job->algorithm->instance, c.share_target, &target_diff);
  ShareRecord share;
  share.job = job;
  share.worker = worker;
  share.account = worker.substr(0, worker.find('.'));
  share.header = blob;
  share.extranonce = std::move(extranonce);
  share.nonce = c.nonce;
  share.hash = h;
  std::memcpy(share.mix.data(), res.mix, OTD_HASH_SIZE);
  share.difficulty = target_diff;
  share.share_difficulty = res.share_difficulty;
  share.is_block = res.meets_block != 0;
  std::memcpy(share.share_target.data(), c.share_target, OTD_HASH_SIZE);
  share.ntime = c.ntime;
  share.version_bits = c.version_bits;
  result.verdict = share.is_block ? OTD_SHARE_BLOCK : OTD_SHARE_ACCEPTED;
  // Store first (on the control strand), then answer: a share is acknowledged only once durable.
  boost::asio::post(control_, [this, share = std::move(share), res, result, source_id]() mutable {
    accept_share(std::move(share), res, [this, result, source_id](bool stored) mutable {
      if (!stored) {
        result.verdict = OTD_SHARE_INTERNAL_ERROR;
        set_chars(result.reason, "share could not be stored");
      }
      answer_now(source_id, result);  // on the strand: no second hop past a transport's stop()
    });
  });
}

void Scheduler::answer(const std::string& source_id, const otd_share_result_t& result) {
  boost::asio::post(control_, [this, source_id, result] { answer_now(source_id, result); });
}

void Scheduler::answer_now(const std::string& source_id, const otd_share_result_t& result) {
  if (stopping_.load()) return;  // transports are stopping or stopped: nothing may reach them now
  const auto* rec = loader_.find(source_id);
  if (rec == nullptr || rec->kind != OTD_KIND_TRANSPORT) return;
  const auto* t = static_cast<const otd_transport_t*>(rec->table);
  if (t->on_share_result == nullptr) return;
  const uint64_t started = mono_ns();
  t->on_share_result(rec->instance, &result);
  observe_call(rec->id, "on_share_result", started);
}

// ---------------------------------------------------------------------------------------------------------
// Telemetry

void Scheduler::tick() {
  const auto job = options_.local_share_rate > 0 ? current_job() : nullptr;  // before devices_mutex_: no lock nesting
  std::lock_guard lock(devices_mutex_);
  if (devices_closed_) return;
  const uint64_t now = mono_ns();
  double total_hashrate = 0;
  for (auto& dev : devices_) {
    const uint64_t total = dev->hashes.load();
    // A mean over the hashrate window, not the last second: a backend counts its hashes when a run()
    // returns, so one second may see none and the next two batches. The oldest sample kept is the newest one
    // at least the window old (since the device opened, while it is younger).
    if (dev->rate_history.empty()) dev->rate_history.emplace_back(dev->last_tick_ns, dev->last_hashes);
    dev->rate_history.emplace_back(now, total);
    while (dev->rate_history.size() > 2 && now - dev->rate_history[1].first >= kHashrateWindowNs) dev->rate_history.pop_front();
    const auto [since_ns, since_hashes] = dev->rate_history.front();
    const double secs = static_cast<double>(now - since_ns) / 1e9;
    if (secs > 0) dev->hashrate = static_cast<double>(total >= since_hashes ? total - since_hashes : 0) / secs;
    dev->last_hashes = total;
    dev->last_tick_ns = now;
    metrics_.update(m_hashrate_, {dev->info.id}, dev->hashrate);
    otd_device_telemetry_t t{};
    t.struct_size = sizeof t;
    t.temperature_c = t.fan_percent = t.power_w = -1;
    if (dev->handle != nullptr) dev->table->get_telemetry(dev->backend->instance, dev->handle, &t);
    otd_event_telemetry_t ev{};
    ev.header.size = sizeof ev;
    ev.header.type = OTD_EVENT_TELEMETRY;
    set_chars(ev.device, dev->info.id);
    ev.hashrate = dev->hashrate;
    ev.temperature_c = t.temperature_c;
    ev.fan_percent = t.fan_percent;
    ev.power_w = t.power_w;
    ev.hashes_total = total;
    ev.errors_total = dev->errors.load() + dev->mismatches.load() + t.hardware_errors;
    ev.lanes = dev->lanes;
    ev.throttled = t.throttled;
    events_.post(&ev.header, dev->backend->id, now);
    total_hashrate += dev->hashrate;
    // Sensors a device does not have (negative) get no series; the error count is cumulative, the counter
    // takes what it grew by.
    if (t.temperature_c >= 0) metrics_.update(m_temperature_, {dev->info.id}, t.temperature_c);
    if (t.fan_percent >= 0) metrics_.update(m_fan_, {dev->info.id}, std::min(t.fan_percent, 100.0) / 100.0);
    if (t.power_w >= 0) metrics_.update(m_power_, {dev->info.id}, t.power_w);
    metrics_.update(m_throttled_, {dev->info.id}, t.throttled != 0 ? 1 : 0);
    metrics_.update(m_errors_, {dev->info.id}, static_cast<double>(ev.errors_total > dev->errors_reported ? ev.errors_total - dev->errors_reported : 0));
    dev->errors_reported = std::max(dev->errors_reported, ev.errors_total);
  }
  metrics_.update(m_local_hashrate_, {}, total_hashrate);
  // The pool's hashrate: the accepted work of the last minute (or since start) over its time.
  const double work = accepted_work_.load();
  work_history_.emplace_back(now, work);
  while (work_history_.size() > 2 && now - work_history_[1].first >= 60'000'000'000ULL) work_history_.pop_front();
  if (work_history_.size() >= 2 && now > work_history_.front().first)
    metrics_.update(m_pool_hashrate_, {}, (work - work_history_.front().second) / (static_cast<double>(now - work_history_.front().first) / 1e9));
  // Miner mode: the local share difficulty that gives about local_share_rate shares a second. Hashes are
  // counted when a run() returns, so one second may see none and the next two chunks: the rate (already a
  // mean over the hashrate window) is averaged further, and a change under 25 % is ignored so that the
  // target does not move with the noise.
  smoothed_hashrate_ = smoothed_hashrate_ > 0 ? 0.8 * smoothed_hashrate_ + 0.2 * total_hashrate : total_hashrate;
  if (options_.local_share_rate > 0 && !(options_.local_share_difficulty > 0) && smoothed_hashrate_ > 0 && job) {
    const double h1 = hashes_per_difficulty_one(*job);
    const double want = h1 > 0 ? smoothed_hashrate_ / (options_.local_share_rate * h1) : 0;
    const double have = auto_share_difficulty_.load();
    if (want > 0 && (!(have > 0) || want > have * 1.25 || want < have / 1.25)) {
      auto_share_difficulty_.store(want);
      log::get("scheduler")->debug("local share difficulty {:.6g} (about {} a second at {:.0f} H/s)", want, options_.local_share_rate, smoothed_hashrate_);
    }
  }
}

std::vector<Scheduler::DeviceStatus> Scheduler::devices() const {
  std::vector<DeviceStatus> out;
  std::lock_guard lock(devices_mutex_);
  if (devices_closed_) return out;
  for (const auto& dev : devices_) {
    DeviceStatus s;
    s.id = dev->info.id;
    s.name = dev->info.name;
    s.backend = dev->backend->id;
    s.lanes = dev->lanes;
    s.hashrate = dev->hashrate;
    s.hashes = dev->hashes.load();
    s.shares = dev->shares.load();
    s.errors = dev->errors.load();
    s.mismatches = dev->mismatches.load();
    s.telemetry.struct_size = sizeof s.telemetry;
    s.telemetry.temperature_c = s.telemetry.fan_percent = s.telemetry.power_w = -1;
    if (dev->handle != nullptr) dev->table->get_telemetry(dev->backend->instance, dev->handle, &s.telemetry);
    s.restarts = dev->restarts;
    s.gpu_index = dev->gpu_index;
    out.push_back(s);
  }
  return out;
}

std::vector<Scheduler::DeviceStatus> Scheduler::duplicate_devices() const {
  std::lock_guard lock(devices_mutex_);
  return duplicates_;
}

}  // namespace otedama::scheduler
