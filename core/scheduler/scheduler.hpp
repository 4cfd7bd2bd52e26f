// The scheduler: templates in, jobs and work units out; candidates in, verified shares and blocks out.
//
// Threads (docs/architecture.md):
//  - plugin lifecycle calls (transport on_job / on_share_result / submit_block, release_context) run on the
//    control strand given to the constructor;
//  - one host-owned thread per device lane calls the backend's run() (scan devices) or push_work()/poll()
//    (queued devices);
//  - a nonce found by a device is re-verified by the algorithm plugin on that lane's thread, before
//    anything else sees it; downstream submissions are verified on a bounded pool and shed when it is full;
//  - per-seed/epoch contexts are prepared on a background thread, off the hot path.
#pragma once

#include "loader/loader.hpp"
#include "scheduler/device_selection.hpp"
#include "router/event_bus.hpp"
#include "router/metrics.hpp"

#include <otedama/otedama.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace otedama::scheduler {

using Hash = std::array<uint8_t, OTD_HASH_SIZE>;

/// A deep copy of a template; `c` points into the owned members.
struct OwnedTemplate {
  /// Copies what the template points to; a template from an older ABI minor (smaller struct_size) is widened.
  explicit OwnedTemplate(const otd_template_t& t);
  OwnedTemplate(const OwnedTemplate&) = delete;
  OwnedTemplate& operator=(const OwnedTemplate&) = delete;

 private:
  OwnedTemplate(const otd_template_t& widened, int);

 public:
  otd_template_t c{};
  std::string coin, algorithm, source_job_id;
  std::vector<uint8_t> coinbase1, coinbase2, merkle_branch, blob, seed, block_data, next_seed;
};

/// A prepared per-seed/epoch algorithm context; released on the control strand when the last job drops it.
struct AlgoContext {
  const loader::PluginRecord* algorithm = nullptr;
  otd_algo_context_t* handle = nullptr;
  std::string key;  ///< algorithm name + seed + epoch
  uint64_t id = 0;  ///< never reused (otd_work_unit_t::algorithm_context_id)
};

struct Job {
  uint64_t id = 0;
  std::string source_id;  ///< the transport plugin that posted the template
  std::shared_ptr<const OwnedTemplate> tmpl;
  const loader::PluginRecord* algorithm = nullptr;
  const otd_algorithm_t* algo = nullptr;
  std::shared_ptr<AlgoContext> context;
  Hash share_target{};  ///< for local devices and the default for downstream
  Hash block_target{};
  double share_difficulty = 0;
  double network_difficulty = 0;
  uint64_t clean_generation = 0;  ///< jobs older than the current generation are stale
  int64_t created_ms = 0;
};

/// What a verified share looks like when it leaves the scheduler (to storage, events, payouts).
struct ShareRecord {
  std::shared_ptr<const Job> job;
  std::string worker;       ///< "local:<device>" for local devices, the miner's worker name otherwise
  std::string account;      ///< payout account ("" for local devices: the pool's own)
  std::vector<uint8_t> header;
  std::vector<uint8_t> extranonce;
  uint64_t nonce = 0;
  Hash hash{};
  Hash mix{};
  double difficulty = 0;        ///< the target's difficulty the share was issued at
  double share_difficulty = 0;  ///< what the hash reached
  bool is_block = false;
  Hash share_target{};          ///< the target it was issued at
  uint32_t ntime = 0;           ///< as a downstream miner rolled it (0 = the template's)
  uint32_t version_bits = 0;    ///< likewise (BIP 310)
};

/// Whether a device's comma-separated algorithm list ("sha256d,scrypt"; "*" = any) includes `algorithm`.
[[nodiscard]] bool runs_algorithm(std::string_view list, std::string_view algorithm) noexcept;

struct Options {
  std::string mining_algorithm;   ///< local devices mine jobs of this algorithm
  std::string mining_source;      ///< and, when set, only those of this job source (pool.coins: the first coin of the algorithm)
  bool enable_cpu = true, enable_gpu = false, enable_asic = false;
  bool light_mining = false;      ///< mine memory-hard algorithms on the light context (mining.dataset: light)
  bool full_verification = false; ///< verify on the full context even without local mining (pool.verify_dataset: full)
  otd_device_limits_t cpu_limits{};
  otd_device_limits_t gpu_limits{};
  otd_device_limits_t asic_limits{};
  std::vector<int> gpu_devices;   ///< indices into the de-duplicated GPU list (device_selection.hpp); empty = all
  /// mining.gpu.backends: which backend mines a GPU several of them list, most preferred first.
  std::vector<std::string> gpu_backends{"cuda", "opencl", "vulkan"};
  double local_share_difficulty = 0;  ///< 0 = the network difficulty (every local share is a block candidate)
  /// > 0 (miner mode, without local_share_difficulty): local devices look for about this many shares per
  /// second. Each new work unit's share target follows the measured hashrate (tick()), but is never harder
  /// than its job's; until a rate is measured, a share is about 2^20 hashes.
  double local_share_rate = 0;
  uint64_t scan_chunk = 1ULL << 24;   ///< nonces per run() call for scan devices
  size_t verify_threads = 2;
  size_t verify_queue = 10000;        ///< downstream submissions waiting; more are shed as overloaded
  size_t jobs_kept = 64;
};

/// Callbacks into the host (storage and the like), all invoked on the control strand.
struct Sinks {
  /// Called once a share is durable (true) or could not be stored (false: it is not acknowledged). May be
  /// called from any thread, exactly once.
  using Stored = std::function<void(bool durable)>;
  /// Make the share durable, then call `stored`. It may return before the share is durable (a group
  /// commit): the scheduler counts the share and answers the miner only from `stored(true)`.
  std::function<void(const ShareRecord&, Stored stored)> store_share;
  std::function<void(const ShareRecord&, const otd_block_t&)> block_found;
};

class Scheduler {
 public:
  Scheduler(loader::Loader& loader, router::EventBus& events, router::Metrics& metrics,
            boost::asio::strand<boost::asio::io_context::executor_type> control, Options options, Sinks sinks);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  /// [control] Open the enabled devices and start their lanes.
  void start_devices();
  /// Stop every lane, close devices, wait for verification and context work to finish. Called once, from
  /// the thread that owns the scheduler (not the control strand: it waits for work posted there).
  void stop();

  /// After stop(): forget every job, so the last references to algorithm contexts go and their releases are
  /// posted to the control strand (the host drains it before stopping its I/O threads).
  void drop_jobs();

  /// [any] A job source's template. Returns OTD_OK and the job id, or an error naming the bad field.
  otd_status_t submit_template(std::string_view source_id, const otd_template_t* tmpl, uint64_t* job_id, std::string* err);
  /// [any] A downstream submission; the verdict goes to the submitting transport's on_share_result.
  otd_status_t submit_candidate(std::string_view source_id, const otd_candidate_t* candidate);

  struct DeviceStatus {
    std::string id, name, backend;
    uint32_t lanes = 0;
    double hashrate = 0;
    uint64_t hashes = 0, shares = 0, errors = 0, mismatches = 0;
    uint64_t restarts = 0;  ///< watchdog restarts (restart_device)
    int gpu_index = -1;     ///< the number mining.gpu.devices gives this GPU (-1: not a GPU)
    std::string duplicate_of;  ///< duplicate_devices(): "duplicate of <backend> device <id> (gpu N)"
    otd_device_telemetry_t telemetry{};
  };
  [[nodiscard]] std::vector<DeviceStatus> devices() const;
  /// GPU entries start_devices() did not mine because another backend's entry is the same physical device
  /// (duplicate_of says which); only id, name, backend and duplicate_of are set.
  [[nodiscard]] std::vector<DeviceStatus> duplicate_devices() const;
  /// Failed runs in a row after which a single-lane device is restarted (closed and opened again).
  static constexpr uint32_t kRestartAfterFailures = 3;
  /// DeviceStatus::hashrate, the telemetry events and otedama_device_hashrate are each device's hashes over
  /// the last 10 s (10 to 11 s: tick() samples every second; since the device opened while it is younger).
  static constexpr uint64_t kHashrateWindowNs = 10'000'000'000ULL;
  [[nodiscard]] std::shared_ptr<const Job> current_job() const;
  /// [any] Whether a job source has delivered a template whose job is still live (not withdrawn): /readyz.
  [[nodiscard]] bool has_live_job() const;
  [[nodiscard]] uint64_t accepted_shares() const noexcept { return accepted_.load(); }
  [[nodiscard]] uint64_t blocks_found() const noexcept { return blocks_.load(); }
  /// [control] Refresh hashrates and post telemetry events; the host calls it every second.
  void tick();
  /// [any] Pause (false) or resume (true) local mining: paused lanes abort their work unit and wait for a
  /// resume; downstream shares and jobs go on. Returns whether local mining is now on.
  bool set_mining(bool on);
  [[nodiscard]] bool mining() const noexcept { return !paused_.load(); }
  /// Hashes a share of difficulty 1 takes on average for the current job's algorithm (0 = no job).
  [[nodiscard]] double difficulty_one_hashes() const;

 private:
  struct Device;
  struct LaneWork;
  otd_status_t activate(std::shared_ptr<Job> job, std::string* err);
  /// A template with OTD_TEMPLATE_WITHDRAW: the source has no valid work (its node is down or behind).
  void withdraw(std::string_view source_id);
  void publish(const std::shared_ptr<const Job>& job);
  std::shared_ptr<LaneWork> next_work(Device& dev, uint32_t lane, std::shared_ptr<LaneWork> previous);
  void lane_loop(Device& dev, uint32_t lane);
  void lane_loop_body(Device& dev, uint32_t lane);
  /// [worker, the device's only lane] Closes the device and opens it again with the limits it was opened
  /// with (the device-restart path of the watchdog: after kRestartAfterFailures failed runs in a row).
  /// Counted in otedama_device_restarts_total and DeviceStatus::restarts. false when it could not reopen.
  bool restart_device(Device& dev);
  void queued_loop(Device& dev);
  void queued_loop_body(Device& dev);
  static otd_status_t OTD_CALL on_found(void* user, const otd_found_t* found);
  otd_status_t handle_found(LaneWork& work, const otd_found_t& found);
  /// [control] Stores the share, then (once durable, on the control strand) counts it, posts its event,
  /// forwards it upstream, submits it when it is a block, and calls `then(stored)`.
  void accept_share(ShareRecord share, const otd_verify_result_t& verified, std::function<void(bool stored)> then = {});
  void accepted_durably(const ShareRecord& share, const otd_verify_result_t& verified);  ///< [control]
  void verify_submission(std::string source_id, otd_candidate_t candidate, std::vector<uint8_t> extranonce,
                         std::string worker);
  void answer(const std::string& source_id, const otd_share_result_t& result);
  void answer_now(const std::string& source_id, const otd_share_result_t& result);  ///< [control]
  std::shared_ptr<const Job> find_job(uint64_t id) const;
  /// [context pool] The live context for `key` (`flags`: OTD_CONTEXT_FLAG_* beyond huge pages), or a newly prepared one (nullptr when preparing failed:
  /// logged). Never called on the control strand: preparing a RandomX dataset takes seconds.
  std::shared_ptr<AlgoContext> make_context(const loader::PluginRecord* algorithm, const otd_algorithm_t* algo,
                                            const std::string& key, const std::vector<uint8_t>& seed, uint64_t epoch,
                                            uint64_t height, uint32_t threads = 0, uint32_t flags = 0);
  void count_share(const char* result);
  /// [any] otedama_plugin_call_duration_seconds{plugin,call}: the time since `started_ns` (mono_ns()).
  void observe_call(const std::string& plugin, const char* call, uint64_t started_ns);
  /// [worker] The share target of a new work unit (the job's, or the automatic local one: local_share_rate).
  void set_share_target(LaneWork& work) const;
  /// [control] A share of a job whose source is an upstream pool (transport submit_share): forward it.
  void forward_upstream(const ShareRecord& share, const otd_verify_result_t& verified);

  loader::Loader& loader_;
  router::EventBus& events_;
  router::Metrics& metrics_;
  boost::asio::strand<boost::asio::io_context::executor_type> control_;
  Options options_;
  Sinks sinks_;

  mutable std::mutex mutex_;
  std::condition_variable job_cv_;
  std::map<uint64_t, std::shared_ptr<const Job>> jobs_;
  std::shared_ptr<const Job> current_;       ///< the newest job of options_.mining_algorithm
  std::map<std::string, std::weak_ptr<AlgoContext>> contexts_;
  /// The context prepared ahead for a template's next_seed, held until a newer one replaces it (a job that
  /// switches to it holds its own reference).
  std::shared_ptr<AlgoContext> ahead_;
  std::string ahead_key_;  ///< the key being or having been prepared ahead
  std::map<uint64_t, std::set<Hash>> seen_;  ///< duplicate detection per job
  uint64_t next_job_id_ = 1;
  /// Per source: a clean template (a new block) of one source makes only that source's jobs stale (several
  /// coins: a block on one chain must not reject the shares of another).
  std::map<std::string, uint64_t, std::less<>> clean_generation_;
  /// Per source: jobs below this id were withdrawn (OTD_TEMPLATE_WITHDRAW) and never become current.
  std::map<std::string, uint64_t, std::less<>> withdrawn_below_;
  std::atomic<uint64_t> next_work_id_{1};
  std::atomic<uint64_t> next_extranonce_{1};
  std::atomic<uint64_t> next_context_id_{1};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> paused_{false};  ///< set_mining(false): lanes wait in next_work

  std::vector<std::unique_ptr<Device>> devices_;
  std::vector<DeviceStatus> duplicates_;  ///< start_devices(): entries not mined as duplicates (devices_mutex_)
  /// tick() and devices() run on other threads than stop(): they may touch an open device only under this
  /// lock, and not at all once stop() has closed them.
  mutable std::mutex devices_mutex_;
  bool devices_closed_ = false;
  boost::asio::thread_pool verify_pool_;
  boost::asio::thread_pool context_pool_;
  std::atomic<size_t> verify_pending_{0};
  std::atomic<uint64_t> accepted_{0}, blocks_{0};
  std::atomic<double> auto_share_difficulty_{0};  ///< local_share_rate: the difficulty tick() measured (0 = none yet)
  double smoothed_hashrate_ = 0;  ///< tick(): local devices' hashrate, averaged over ~5 ticks (devices_mutex_)
  uint32_t m_restarts_ = 0, m_shares_ = 0, m_hashes_ = 0, m_hashrate_ = 0, m_mismatch_ = 0, m_blocks_ = 0;
  uint32_t m_local_hashrate_ = 0, m_pool_hashrate_ = 0, m_work_ = 0, m_temperature_ = 0, m_fan_ = 0, m_power_ = 0,
           m_errors_ = 0, m_throttled_ = 0, m_call_seconds_ = 0;
  std::atomic<double> accepted_work_{0};  ///< expected hashes of the accepted shares so far
  std::deque<std::pair<uint64_t, double>> work_history_;  ///< tick(): (time, accepted_work_) over the last minute (devices_mutex_)
};

}  // namespace otedama::scheduler
