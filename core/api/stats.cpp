#include "api/stats.hpp"

#include <algorithm>

namespace otedama::api {

void DifficultyWindow::add(int64_t now_ms, double difficulty) {
  const int64_t b = now_ms / kBucketMs;
  const size_t slot = static_cast<size_t>(b % static_cast<int64_t>(kBuckets));
  if (index_[slot] != b) {
    index_[slot] = b;
    sums_[slot] = 0;
  }
  sums_[slot] += difficulty;
}

double DifficultyWindow::sum(int64_t now_ms) const {
  const int64_t b = now_ms / kBucketMs;
  double s = 0;
  for (size_t i = 0; i < kBuckets; ++i)
    if (index_[i] > b - static_cast<int64_t>(kBuckets) && index_[i] <= b) s += sums_[i];
  return s;
}

std::string LiveStats::account_of(const std::string& worker) {
  if (worker.rfind("local:", 0) == 0) return "";
  return worker.substr(0, worker.find('.'));
}

double LiveStats::window_seconds(int64_t now_ms) const {
  const int64_t full = DifficultyWindow::kBucketMs * static_cast<int64_t>(DifficultyWindow::kBuckets);
  // The window's oldest bucket starts (kBuckets - 1) buckets before the current one; right after start-up
  // only the time since then counts.
  const int64_t span = std::min<int64_t>(full - DifficultyWindow::kBucketMs + now_ms % DifficultyWindow::kBucketMs, now_ms - started_ms_);
  return static_cast<double>(std::max<int64_t>(span, 1000)) / 1000.0;
}

void LiveStats::share(int64_t now_ms, const std::string& worker, const std::string& coin, bool accepted, bool block, double difficulty,
                      const std::string& reason) {
  std::lock_guard lock(mutex_);
  if (workers_.size() >= kMaxWorkers && workers_.find(worker) == workers_.end()) {
    // Worker names come from miners: bounded, the longest silent one goes.
    auto oldest = workers_.begin();
    for (auto i = workers_.begin(); i != workers_.end(); ++i)
      if (i->second.last_share_ms < oldest->second.last_share_ms) oldest = i;
    workers_.erase(oldest);
  }
  auto [it, fresh] = workers_.try_emplace(worker);
  WorkerStats& w = it->second;
  if (fresh) {
    w.name = worker;
    w.account = account_of(worker);
  }
  if (!coin.empty()) w.coin = coin;
  w.last_share_ms = now_ms;
  if (difficulty > 0) w.difficulty = difficulty;
  ShareTotals& c = by_coin_[coin];
  if (accepted) {
    w.last_accepted_ms = now_ms;
    ++w.accepted;
    ++totals_.accepted;
    ++c.accepted;
    if (block) {
      ++totals_.blocks;
      ++c.blocks;
    }
    if (difficulty > 0) {
      w.window.add(now_ms, difficulty);
      pool_.add(now_ms, difficulty);
    }
  } else {
    ++w.rejected;
    ++totals_.rejected;
    ++c.rejected;
    ++rejected_by_reason_[reason.empty() ? "unknown" : reason];
    // Reasons are free text from transports: keep the map bounded.
    if (rejected_by_reason_.size() > 256) rejected_by_reason_.erase(rejected_by_reason_.begin());
  }
}

LiveStats::Snapshot LiveStats::snapshot(int64_t now_ms) const {
  Snapshot s;
  std::lock_guard lock(mutex_);
  s.totals = totals_;
  s.rejected_by_reason = rejected_by_reason_;
  s.by_coin = by_coin_;
  const double secs = window_seconds(now_ms);
  s.pool_difficulty_per_s = pool_.sum(now_ms) / secs;
  const int64_t horizon = now_ms - DifficultyWindow::kBucketMs * static_cast<int64_t>(DifficultyWindow::kBuckets);
  for (const auto& [name, w] : workers_) {
    // Active: an accepted share within the hashrate window (a worker only rejected is not mining for us).
    if (w.last_accepted_ms < 0 || w.last_accepted_ms < horizon) continue;
    ++s.workers_active;
    if (std::find(s.accounts_active.begin(), s.accounts_active.end(), w.account) == s.accounts_active.end())
      s.accounts_active.push_back(w.account);
  }
  return s;
}

std::vector<LiveStats::Worker> LiveStats::workers(int64_t now_ms, const std::string* account) const {
  std::vector<Worker> out;
  std::lock_guard lock(mutex_);
  const double secs = window_seconds(now_ms);
  for (const auto& [name, w] : workers_) {
    if (account != nullptr && w.account != *account) continue;
    Worker o;
    o.name = w.name;
    o.account = w.account;
    o.coin = w.coin;
    o.accepted = w.accepted;
    o.rejected = w.rejected;
    o.difficulty = w.difficulty;
    o.difficulty_per_s = w.window.sum(now_ms) / secs;
    o.last_share_ms = w.last_share_ms;
    out.push_back(std::move(o));
  }
  std::sort(out.begin(), out.end(), [](const Worker& a, const Worker& b) { return a.last_share_ms > b.last_share_ms; });
  return out;
}

}  // namespace otedama::api
