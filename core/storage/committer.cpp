#include "storage/committer.hpp"

#include <algorithm>
#include <stdexcept>

#include <sqlite3.h>

#include "log/log.hpp"

namespace otedama::storage {
namespace {

/// The database cannot take writes now (another process holds the lock, the disk is full or failing):
/// the shares go to the spill file. Any other error is the batch's own (a constraint).
bool unavailable(const Error& e) {
    switch (e.primary_code()) {
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
        case SQLITE_FULL:
        case SQLITE_IOERR:
        case SQLITE_READONLY:
        case SQLITE_CANTOPEN:
        case SQLITE_NOMEM:
        case SQLITE_PROTOCOL:
        case SQLITE_NOLFS:
        case SQLITE_INTERRUPT:
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
            return true;
        default:
            return false;
    }
}

}  // namespace

ShareCommitter::ShareCommitter(Storage& storage, CommitterOptions options)
    : storage_(storage), options_(std::move(options)), spill_(options_.spill_path) {
    if (options_.spill_path.empty()) throw std::invalid_argument("ShareCommitter: spill_path is required");
    if (options_.max_batch == 0) options_.max_batch = 1;
    storage_.set_busy_timeout(options_.lock_wait);
    spill_pending_ = true;  // until the first replay says the file is empty
    if (!replay()) next_replay_ = std::chrono::steady_clock::now() + options_.retry_interval;
    thread_ = std::thread([this] { run(); });
}

ShareCommitter::~ShareCommitter() { stop(); }

void ShareCommitter::submit(ShareRecord share, Done done) {
    {
        std::unique_lock lock(mutex_);
        if (!stopping_ && queue_.size() < options_.max_queue) {
            if (queue_.empty()) first_queued_at_ = std::chrono::steady_clock::now();
            queue_.push_back(Item{std::move(share), std::move(done)});
            const bool wake = queue_.size() == 1 || queue_.size() == options_.max_batch;
            lock.unlock();
            if (wake) cv_.notify_one();
            return;
        }
        ++stats_.rejected;
    }
    if (done) done(false);
}

void ShareCommitter::stop() {
    {
        std::lock_guard lock(mutex_);
        if (stopped_) return;
        stopped_ = true;
        stopping_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
}

ShareCommitter::Stats ShareCommitter::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

void ShareCommitter::run() {
    std::vector<Item> batch;
    batch.reserve(options_.max_batch);
    for (;;) {
        bool retry_due = false;
        {
            std::unique_lock lock(mutex_);
            for (;;) {
                const auto now = std::chrono::steady_clock::now();
                retry_due = !stopping_ && spill_pending_.load() && now >= next_replay_;
                if (stopping_ || retry_due) break;
                if (!queue_.empty()) {
                    // Fill the batch, but wait no longer than max_delay after its first share.
                    const auto deadline = first_queued_at_ + options_.max_delay;
                    if (queue_.size() >= options_.max_batch || now >= deadline) break;
                    cv_.wait_until(lock, deadline);
                    continue;
                }
                if (spill_pending_.load()) {
                    cv_.wait_until(lock, next_replay_);
                } else {
                    cv_.wait(lock);
                }
            }
            const std::size_t n = std::min(queue_.size(), options_.max_batch);
            for (std::size_t i = 0; i < n; ++i) {
                batch.push_back(std::move(queue_.front()));
                queue_.pop_front();
            }
            if (!queue_.empty()) first_queued_at_ = std::chrono::steady_clock::now();
            if (batch.empty() && stopping_) break;
        }
        if (retry_due && !replay()) next_replay_ = std::chrono::steady_clock::now() + options_.retry_interval;
        if (!batch.empty()) commit(batch);
        batch.clear();
    }
    // Everything queued is committed or spilled; one last chance to empty the spill file.
    if (spill_pending_.load()) (void)replay();
}

void ShareCommitter::finish(std::vector<Item>& batch, bool durable) {
    for (Item& item : batch) {
        if (item.done) item.done(durable);
    }
}

void ShareCommitter::commit(std::vector<Item>& batch) {
    const auto logger = log::get("storage");
    std::vector<ShareRecord> shares;
    shares.reserve(batch.size());
    for (const Item& item : batch) shares.push_back(item.share);

    if (!spill_pending_.load()) {
        try {
            const auto started = std::chrono::steady_clock::now();
            const BatchResult r = storage_.record_shares(shares);
            if (options_.on_commit) options_.on_commit(std::chrono::steady_clock::now() - started, batch.size());
            {
                std::lock_guard lock(mutex_);
                ++stats_.batches;
                stats_.committed += r.inserted;
                stats_.duplicates += r.duplicates;
                stats_.largest_batch = std::max(stats_.largest_batch, batch.size());
            }
            finish(batch, true);
            return;
        } catch (const Error& e) {
            {
                std::lock_guard lock(mutex_);
                ++stats_.database_errors;
            }
            if (!unavailable(e)) {
                // A share of the batch is bad: commit them one by one, refusing only the bad ones.
                logger->error("storage: a batch of {} shares was refused ({}); retrying one by one", batch.size(), e.what());
                for (Item& item : batch) {
                    bool ok = false;
                    try {
                        storage_.record_share(item.share);
                        ok = true;
                    } catch (const Error& one) {
                        logger->error("storage: share of worker '{}' not recorded: {}", item.share.worker, one.what());
                        std::lock_guard lock(mutex_);
                        ++stats_.rejected;
                    }
                    if (item.done) item.done(ok);
                }
                return;
            }
            logger->error("storage: the database cannot take shares ({}); spilling to {} until it can",
                          e.what(), spill_.path());
            spill_pending_ = true;
            next_replay_ = std::chrono::steady_clock::now() + options_.retry_interval;
        } catch (const std::exception& e) {
            logger->error("storage: a batch of {} shares failed: {}; spilling to {}", batch.size(), e.what(), spill_.path());
            spill_pending_ = true;
            next_replay_ = std::chrono::steady_clock::now() + options_.retry_interval;
        }
    }
    try {
        spill_.append(shares);
        {
            std::lock_guard lock(mutex_);
            stats_.spilled += shares.size();
        }
        finish(batch, true);
    } catch (const std::exception& e) {
        logger->error("storage: {} shares could not be stored: the database is unavailable and the spill file failed: {}",
                      batch.size(), e.what());
        {
            std::lock_guard lock(mutex_);
            stats_.rejected += batch.size();
        }
        finish(batch, false);
    }
}

bool ShareCommitter::replay() {
    const auto logger = log::get("storage");
    try {
        const SpillFile::ReadResult file = spill_.read();
        if (file.discarded_bytes != 0) {
            logger->warn("storage: spill file {}: {} bytes after the last intact record ignored (a write cut short by a crash;"
                         " never acknowledged)", spill_.path(), file.discarded_bytes);
        }
        if (!file.shares.empty()) {
            BatchResult r;
            try {
                r = storage_.record_shares(file.shares);
            } catch (const Error& e) {
                if (unavailable(e)) throw;
                // A share the database refuses on its own account (it was spilled only because the database
                // was down): record the others one by one, and say which one is dropped.
                for (const ShareRecord& s : file.shares) {
                    try {
                        if (storage_.record_share(s) != 0) ++r.inserted; else ++r.duplicates;
                    } catch (const Error& one) {
                        if (unavailable(one)) throw;
                        logger->error("storage: spilled share of worker '{}' at {} ms refused by the database and dropped: {}",
                                      s.worker, s.created_at_ms, one.what());
                    }
                }
            }
            {
                std::lock_guard lock(mutex_);
                stats_.replayed += r.inserted;
                stats_.duplicates += r.duplicates;
            }
            logger->info("storage: replayed {} spilled shares into the ledger ({} were already there)", r.inserted, r.duplicates);
        }
        spill_.clear();
        spill_pending_ = false;
        return true;
    } catch (const std::exception& e) {
        logger->warn("storage: spill file {} not replayed yet: {}", spill_.path(), e.what());
        return false;
    }
}

}  // namespace otedama::storage
