// Group commit of accepted shares, with durable acknowledgement.
//
// Shares are queued from any thread; one committer thread writes them to the ledger a batch per
// transaction (one fsync per batch). A batch closes when it holds max_batch shares or max_delay after
// its first share arrived, whichever is first; under load the batch that gathers while the previous one
// is syncing is simply taken whole. Each share's `done(true)` runs only after its batch is durable, so
// the caller acknowledges the share to the miner only then.
//
// When the database cannot take a batch (SQLITE_BUSY/LOCKED past lock_wait, FULL, IOERR, READONLY,
// CANTOPEN, ...), the batch goes to the spill file (spill.hpp), synced before done(true). Later batches
// go straight to the spill file until a replay succeeds: every retry_interval, the committer replays the
// spill file into the database in one transaction and empties it. A share already in the ledger (same
// hash) is not counted twice, so a crash between the replay's commit and the emptying is harmless. The
// spill file is also replayed when the committer starts. A batch that fails for a reason of its own (a
// constraint: a malformed share) is retried share by share; only the bad shares get done(false).
// done(false) also when both the database and the spill file fail, when the queue is full, and after
// stop(): such a share must not be acknowledged.
//
// Thread contract: submit() [any]; stop() from the owner, once the producers have stopped (idempotent;
// the destructor calls it). done callbacks run on the committer thread, or inline in submit() with false.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "storage/spill.hpp"
#include "storage/storage.hpp"

namespace otedama::storage {

struct CommitterOptions {
    std::string spill_path;                            ///< required
    std::size_t max_batch = 2048;                      ///< shares per transaction at most
    std::chrono::microseconds max_delay{2000};         ///< a batch waits at most this long to fill
    std::size_t max_queue = 200'000;                   ///< shares waiting; more get done(false)
    std::chrono::milliseconds lock_wait{1000};         ///< SQLite busy timeout for the committer's writes
    std::chrono::milliseconds retry_interval{1000};    ///< replay attempts while the spill file holds shares
    /// Called on the committer thread after each committed batch: how long its transaction took, and its size
    /// (the host's otedama_storage_commit_duration_seconds). Must be cheap and must not throw.
    std::function<void(std::chrono::nanoseconds took, std::size_t shares)> on_commit{};
};

class ShareCommitter {
public:
    using Done = std::function<void(bool durable)>;

    /// Replays the spill file (if any) into `storage`, then starts the committer thread.
    /// `storage` must outlive the committer. @throws std::invalid_argument without a spill_path.
    ShareCommitter(Storage& storage, CommitterOptions options);
    ~ShareCommitter();
    ShareCommitter(const ShareCommitter&) = delete;
    ShareCommitter& operator=(const ShareCommitter&) = delete;

    /// [any] Queues one share. `done` is called exactly once.
    void submit(ShareRecord share, Done done);
    /// Commits (or spills) everything queued, tries a last replay, and joins the thread.
    void stop();

    struct Stats {
        std::uint64_t batches = 0;          ///< transactions committed
        std::uint64_t committed = 0;        ///< shares committed to the database (new ones)
        std::uint64_t duplicates = 0;       ///< shares already in the ledger (replays), not counted again
        std::uint64_t spilled = 0;          ///< shares written to the spill file
        std::uint64_t replayed = 0;         ///< spilled shares later committed to the database
        std::uint64_t database_errors = 0;  ///< batches the database refused
        std::uint64_t rejected = 0;         ///< shares answered done(false)
        std::size_t largest_batch = 0;
    };
    [[nodiscard]] Stats stats() const;
    /// True while the spill file holds shares not yet in the database.
    [[nodiscard]] bool spilling() const noexcept { return spill_pending_.load(); }

private:
    struct Item {
        ShareRecord share;
        Done done;
    };
    void run();
    void commit(std::vector<Item>& batch);
    /// Replays the spill file; returns true when it is empty afterwards.
    bool replay();
    void finish(std::vector<Item>& batch, bool durable);

    Storage& storage_;
    CommitterOptions options_;
    SpillFile spill_;

    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<Item> queue_;
    bool stopping_ = false;
    bool stopped_ = false;
    std::chrono::steady_clock::time_point first_queued_at_{};
    std::atomic<bool> spill_pending_{false};
    std::chrono::steady_clock::time_point next_replay_{};
    Stats stats_;  // under mutex_
    std::thread thread_;
};

}  // namespace otedama::storage
