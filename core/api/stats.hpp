// What the API knows without asking storage: share counts per worker and in total, rejections by reason,
// and hashrates estimated from accepted share difficulty over a sliding window. Fed by the event bus.
// Thread contract: [any]; every member locks one mutex for a short, bounded time.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace otedama::api {

/// Sum of accepted difficulty over the last `kBuckets` x `kBucketMs`, in buckets.
class DifficultyWindow {
 public:
  static constexpr int64_t kBucketMs = 10'000;
  static constexpr size_t kBuckets = 30;  // five minutes
  void add(int64_t now_ms, double difficulty);
  /// Sum of difficulty within the window ending at now_ms.
  [[nodiscard]] double sum(int64_t now_ms) const;

 private:
  std::array<double, kBuckets> sums_{};
  std::array<int64_t, kBuckets> index_{};  // which bucket number (now_ms / kBucketMs) each slot holds
};

struct WorkerStats {
  std::string name, account, coin;
  uint64_t accepted = 0, rejected = 0;
  double difficulty = 0;  ///< of the last share
  int64_t last_share_ms = 0;
  int64_t last_accepted_ms = -1;  ///< of the last accepted share (-1: none yet)
  DifficultyWindow window;
};

struct ShareTotals {
  uint64_t accepted = 0, rejected = 0, blocks = 0;
};

class LiveStats {
 public:
  static constexpr size_t kMaxWorkers = 65536;
  explicit LiveStats(int64_t started_ms) : started_ms_(started_ms) {}
  /// One share event: verdict accepted/block or a rejection with its reason.
  void share(int64_t now_ms, const std::string& worker, const std::string& coin, bool accepted, bool block, double difficulty,
             const std::string& reason);

  struct Snapshot {
    ShareTotals totals;
    std::map<std::string, uint64_t> rejected_by_reason;
    std::map<std::string, ShareTotals> by_coin;
    double pool_difficulty_per_s = 0;  ///< accepted difficulty a second over the window
    size_t workers_active = 0;         ///< worker names with an accepted share in the window
    /// The distinct accounts of those workers (the miners); local devices, whose account is "", count as
    /// one: the host's own. Empty exactly when workers_active is 0.
    std::vector<std::string> accounts_active;
  };
  [[nodiscard]] Snapshot snapshot(int64_t now_ms) const;

  struct Worker {
    std::string name, account, coin;
    uint64_t accepted = 0, rejected = 0;
    double difficulty = 0, difficulty_per_s = 0;
    int64_t last_share_ms = 0;
  };
  /// Every worker seen (most recent share first), or only those of `account`.
  [[nodiscard]] std::vector<Worker> workers(int64_t now_ms, const std::string* account = nullptr) const;

  /// The account of a worker name: what comes before its first '.' (the stratum "ADDRESS.rig" convention,
  /// as the scheduler credits it); "" for local devices ("local:cpu0").
  [[nodiscard]] static std::string account_of(const std::string& worker);

 private:
  /// Seconds the window covers at now_ms (shorter just after start-up), at least one bucket.
  [[nodiscard]] double window_seconds(int64_t now_ms) const;
  const int64_t started_ms_;
  mutable std::mutex mutex_;
  std::map<std::string, WorkerStats> workers_;
  ShareTotals totals_;
  std::map<std::string, uint64_t> rejected_by_reason_;
  std::map<std::string, ShareTotals> by_coin_;
  DifficultyWindow pool_;
};

}  // namespace otedama::api
