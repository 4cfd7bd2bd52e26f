// Tests of core/scheduler with the real in-tree plugins: downstream submissions get the right verdicts,
// accepted shares reach the store before anything else, blocks are assembled for their job source.
#include "host/host.hpp"
#include "scheduler/scheduler.hpp"

#include <otedama/common/sha256.hpp>
#include <otedama/common/uint256.hpp>

#include <future>

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include <chrono>
#include <cstring>
#include <future>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

namespace sched = otedama::scheduler;

namespace {

class SchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    otedama::config::Config cfg = otedama::config::defaults();
    // The test-only context algorithm, and a backend that fails until reopened (started only with ASIC
    // mining on: enable_asic_).
    cfg.plugins.dirs = {CONTEXT_ALGO_DIR, FLAKY_BACKEND_DIR};
    host_ = std::make_unique<otedama::host::Host>(cfg);
    host_->load_plugins();
    algo_ = host_->plugins().find_algorithm("sha256d");
    ASSERT_NE(algo_, nullptr) << "the in-tree sha256d plugin must load from the build tree";
    table_ = static_cast<const otd_algorithm_t*>(algo_->table);
    io_thread_ = std::thread([this] { io_.run(); });
    make_scheduler("sha256d");
  }
  void make_scheduler(const std::string& mining_algorithm, bool cpu = false, double local_share_difficulty = 0, bool full_verification = false) {
    if (scheduler_) scheduler_->stop();
    sched::Options o;
    o.mining_algorithm = mining_algorithm;
    o.enable_cpu = cpu;  // mostly no local devices: only submissions are tested here
    o.enable_asic = enable_asic_;
    o.cpu_limits.struct_size = sizeof(otd_device_limits_t);
    o.cpu_limits.lanes = 1;
    o.local_share_difficulty = local_share_difficulty;
    o.full_verification = full_verification;
    sched::Sinks sinks;
    sinks.store_share = [this](const sched::ShareRecord& s, sched::Sinks::Stored stored) {
      std::unique_lock lock(mutex_);
      stored_.push_back(s);
      if (defer_store_) {
        held_.push_back(std::move(stored));  // "durable" only when the test releases it
        return;
      }
      const bool ok = store_ok_;
      lock.unlock();
      stored(ok);
    };
    sinks.block_found = [this](const sched::ShareRecord&, const otd_block_t& b) {
      std::lock_guard lock(mutex_);
      block_headers_.emplace_back(b.header, b.header + b.header_size);
      block_coinbases_.emplace_back(b.coinbase, b.coinbase + b.coinbase_size);
    };
    scheduler_ = std::make_unique<sched::Scheduler>(host_->plugins(), events_, metrics_, strand_, o, std::move(sinks));
  }
  void TearDown() override {
    scheduler_->stop();
    scheduler_.reset();
    guard_.reset();
    io_.stop();
    io_thread_.join();
  }

  /// A coinbase-only sha256d template with the given block difficulty (and nonce range, 0/0 = all).
  uint64_t post_template(double block_difficulty, bool clean, uint64_t nonce_base = 0, uint64_t nonce_space = 0) {
    auto target = otedama::common::bitcoin_target_from_difficulty(block_difficulty);
    otd_template_t t{};
    t.struct_size = sizeof t;
    t.flags = clean ? OTD_TEMPLATE_CLEAN : 0;
    t.coin = "TEST";
    t.algorithm = "sha256d";
    t.height = 10;
    std::memcpy(t.block_target, target->data(), 32);
    t.version = 0x20000000;
    t.ntime = 1700000000;
    t.nbits = otedama::common::encode_compact(*target);
    t.extranonce_size = 8;
    t.coinbase1 = cb1_.data();
    t.coinbase1_size = static_cast<uint32_t>(cb1_.size());
    t.coinbase2 = cb2_.data();
    t.coinbase2_size = static_cast<uint32_t>(cb2_.size());
    t.nonce_size = 4;
    t.nonce_base = nonce_base;
    t.nonce_space = nonce_space;
    uint64_t id = 0;
    std::string err;
    EXPECT_EQ(scheduler_->submit_template("test.source", &t, &id, &err), OTD_OK) << err;
    return id;
  }

  /// A candidate for `job` whose hash meets `difficulty` (found here by brute force through the plugin).
  otd_candidate_t candidate(uint64_t job, const std::vector<uint8_t>& en, double difficulty, bool meets = true) {
    otd_candidate_t c{};
    c.struct_size = sizeof c;
    c.job_id = job;
    c.worker = "alice.rig1";
    c.extranonce = en.data();
    c.extranonce_size = static_cast<uint32_t>(en.size());
    const auto target = *otedama::common::bitcoin_target_from_difficulty(difficulty);
    std::memcpy(c.share_target, target.data(), 32);
    auto tmpl = scheduler_->current_job()->tmpl;
    uint8_t blob[80];
    uint32_t size = 0, off = 0, nsize = 0;
    char err[256];
    EXPECT_EQ(table_->build_blob(algo_->instance, &tmpl->c, en.data(), 8, 0, 0, blob, 80, &size, &off, &nsize, err, sizeof err), OTD_OK);
    for (uint32_t nonce = 0;; ++nonce) {
      std::memcpy(blob + off, &nonce, 4);
      otedama::common::Uint256 h{};
      table_->hash(algo_->instance, nullptr, blob, 80, h.data(), 32, err, sizeof err);
      if (otedama::common::meets_target(h, target) == meets) {
        c.nonce = nonce;
        return c;
      }
    }
  }

  double host_metric(const char* name) {
    return host_->metrics().value(name, {"org.test.algorithm.ctxalgo"}).value_or(0);
  }
  template <class Pred>
  bool wait_until(Pred pred) {
    for (int i = 0; i < 1000; ++i) {
      if (pred()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  double count(const char* result) { return metrics_.value("otedama_shares_total", {result}).value_or(0); }
  /// Wait (bounded) until the verdict counter for `result` reaches n; verification is asynchronous.
  bool wait_for(const char* result, double n) {
    for (int i = 0; i < 1000; ++i) {
      if (count(result) >= n) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  std::vector<uint8_t> cb1_ = std::vector<uint8_t>(42, 0x01), cb2_ = std::vector<uint8_t>(20, 0x02);
  std::unique_ptr<otedama::host::Host> host_;
  const otedama::loader::PluginRecord* algo_ = nullptr;
  const otd_algorithm_t* table_ = nullptr;
  otedama::router::EventBus events_;
  otedama::router::Metrics metrics_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_ = boost::asio::make_work_guard(io_);
  boost::asio::strand<boost::asio::io_context::executor_type> strand_ = boost::asio::make_strand(io_);
  std::thread io_thread_;
  std::unique_ptr<sched::Scheduler> scheduler_;
  std::mutex mutex_;
  std::vector<sched::ShareRecord> stored_;
  std::vector<std::vector<uint8_t>> block_headers_, block_coinbases_;
  bool store_ok_ = true;
  bool defer_store_ = false;
  bool enable_asic_ = false;
  std::vector<sched::Sinks::Stored> held_;
};

}  // namespace

TEST_F(SchedulerTest, TemplateValidationNamesTheProblem) {
  otd_template_t t{};
  t.struct_size = sizeof t;
  t.coin = "X";
  t.algorithm = "nosuchalgo";
  std::string err;
  EXPECT_EQ(scheduler_->submit_template("s", &t, nullptr, &err), OTD_ERR_NOT_FOUND);
  EXPECT_NE(err.find("no algorithm plugin for 'nosuchalgo'"), std::string::npos) << err;
  t.algorithm = "sha256d";
  t.coinbase1_size = 10;  // NULL pointer with a size
  EXPECT_EQ(scheduler_->submit_template("s", &t, nullptr, &err), OTD_ERR_INVALID_ARG);
  t.coinbase1_size = 0;
  EXPECT_EQ(scheduler_->submit_template("s", &t, nullptr, &err), OTD_ERR_INVALID_ARG);  // zero target
  EXPECT_NE(err.find("block_target"), std::string::npos) << err;
  t.struct_size = 8;
  EXPECT_EQ(scheduler_->submit_template("s", &t, nullptr, &err), OTD_ERR_INVALID_ARG);
  EXPECT_EQ(scheduler_->submit_template("s", nullptr, nullptr, &err), OTD_ERR_INVALID_ARG);
}

TEST_F(SchedulerTest, VerdictsForDownstreamSubmissions) {
  const uint64_t job = post_template(1e9, true);  // a block is out of reach
  const std::vector<uint8_t> en{1, 2, 3, 4, 5, 6, 7, 8};
  otd_candidate_t good = candidate(job, en, 1e-6);
  ASSERT_EQ(scheduler_->submit_candidate("test.downstream", &good), OTD_OK);
  ASSERT_TRUE(wait_for("accepted", 1));
  {
    std::lock_guard lock(mutex_);
    ASSERT_EQ(stored_.size(), 1u);
    EXPECT_EQ(stored_[0].worker, "alice.rig1");
    EXPECT_EQ(stored_[0].account, "alice");
    EXPECT_FALSE(stored_[0].is_block);
    EXPECT_NEAR(stored_[0].difficulty, 1e-6, 1e-12);
    EXPECT_GE(stored_[0].share_difficulty, 1e-6);
  }
  // The same share again: duplicate.
  ASSERT_EQ(scheduler_->submit_candidate("test.downstream", &good), OTD_OK);
  ASSERT_TRUE(wait_for("duplicate", 1));
  // A hash above the submitter's target: low difficulty.
  otd_candidate_t low = candidate(job, en, 1e-6, /*meets=*/false);
  ASSERT_EQ(scheduler_->submit_candidate("test.downstream", &low), OTD_OK);
  ASSERT_TRUE(wait_for("low_difficulty", 1));
  // An unknown job: stale.
  otd_candidate_t unknown = good;
  unknown.job_id = 424242;
  ASSERT_EQ(scheduler_->submit_candidate("test.downstream", &unknown), OTD_OK);
  ASSERT_TRUE(wait_for("stale", 1));
  // The wrong extranonce size: malformed.
  const std::vector<uint8_t> short_en{1, 2, 3};
  otd_candidate_t bad = good;
  bad.extranonce = short_en.data();
  bad.extranonce_size = 3;
  ASSERT_EQ(scheduler_->submit_candidate("test.downstream", &bad), OTD_OK);
  ASSERT_TRUE(wait_for("malformed", 1));
  // A struct from nowhere: refused at once.
  otd_candidate_t tiny = good;
  tiny.struct_size = 4;
  EXPECT_EQ(scheduler_->submit_candidate("test.downstream", &tiny), OTD_ERR_INVALID_ARG);
  // A new block makes the old job stale.
  post_template(1e9, true);
  const std::vector<uint8_t> en9(8, 9);
  otd_candidate_t old = candidate(job, en9, 1e-6);
  old.job_id = job;
  ASSERT_EQ(scheduler_->submit_candidate("test.downstream", &old), OTD_OK);
  ASSERT_TRUE(wait_for("stale", 2));
  std::lock_guard lock(mutex_);
  EXPECT_EQ(stored_.size(), 1u) << "only the one good share may reach the store";
}

// A source that reserves part of the nonce field (an upstream pool's nonce prefix, otd_template_t.nonce_base
// and nonce_space): local devices scan only inside it, every unit and every extranonce.
TEST_F(SchedulerTest, LocalDevicesScanOnlyTheTemplatesNonceRange) {
  make_scheduler("sha256d", /*cpu=*/true, /*local_share_difficulty=*/1.0 / (1 << 22));  // a share per ~1k hashes
  std::promise<void> started;
  boost::asio::post(strand_, [&] {
    scheduler_->start_devices();
    started.set_value();
  });
  started.get_future().wait();
  constexpr uint64_t kBase = 0xabcd0000, kSpace = 0x4000;  // 16k nonces per extranonce
  post_template(1e9, true, kBase, kSpace);
  ASSERT_TRUE(wait_until([&] {
    std::lock_guard lock(mutex_);
    return stored_.size() >= 40;  // more shares than one extranonce's range holds at this rate
  })) << "the CPU backend found no shares";
  scheduler_->stop();
  std::lock_guard lock(mutex_);
  std::set<std::vector<uint8_t>> extranonces;
  for (const auto& share : stored_) {
    EXPECT_GE(share.nonce, kBase);
    EXPECT_LT(share.nonce, kBase + kSpace);
    extranonces.insert(share.extranonce);
  }
  EXPECT_GE(extranonces.size(), 2u) << "a used-up range moves on to a fresh extranonce";
}

// The watchdog's device restart: a device whose runs keep failing is closed and opened again (after
// kRestartAfterFailures failures in a row), counted, and mines once the reopened device works.
TEST_F(SchedulerTest, ADeviceWhoseRunsKeepFailingIsRestartedAndMinesAgain) {
  enable_asic_ = true;  // the flaky test backend is not a CPU or GPU backend
  make_scheduler("sha256d");
  std::promise<void> started;
  boost::asio::post(strand_, [&] {
    scheduler_->start_devices();
    started.set_value();
  });
  started.get_future().wait();
  post_template(1e9, true);
  const auto flaky = [&]() -> std::optional<sched::Scheduler::DeviceStatus> {
    for (const auto& d : scheduler_->devices())
      if (d.id == "flaky0") return d;
    return std::nullopt;
  };
  ASSERT_TRUE(flaky().has_value()) << "the flaky backend's device was not started";
  // Failures back off 200 + 400 + 800 ms before the restart: generous guard.
  bool mined = false;
  for (int i = 0; i < 300 && !mined; ++i) {
    const auto d = flaky();
    mined = d && d->restarts >= 1 && d->hashes > 0;
    if (!mined) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(mined) << "the device was not restarted, or did not mine after it";
  const auto d = *flaky();
  EXPECT_EQ(d.restarts, 1u) << "the reopened device works: no second restart";
  EXPECT_EQ(d.errors, sched::Scheduler::kRestartAfterFailures);
  EXPECT_EQ(d.telemetry.hardware_errors, 0u) << "telemetry comes from the reopened device";
  EXPECT_EQ(metrics_.value("otedama_device_restarts_total", {"flaky0"}).value_or(0), 1.0);
}

TEST_F(SchedulerTest, ABlockIsAssembledForItsSource) {
  const uint64_t job = post_template(1e-6, true);  // every share at 1e-6 is a block
  const std::vector<uint8_t> en{8, 7, 6, 5, 4, 3, 2, 1};
  otd_candidate_t c = candidate(job, en, 1e-6);
  ASSERT_EQ(scheduler_->submit_candidate("test.downstream", &c), OTD_OK);
  ASSERT_TRUE(wait_for("block", 1));
  // The block reaches the sink after the verdict and the counter: wait for the sink itself.
  ASSERT_TRUE(wait_until([&] {
    std::lock_guard lock(mutex_);
    return !block_headers_.empty();
  }));
  std::lock_guard lock(mutex_);
  ASSERT_EQ(block_headers_.size(), 1u);
  ASSERT_EQ(block_headers_[0].size(), 80u);
  // The coinbase is coinbase1 || extranonce || coinbase2, and the header commits to it.
  std::vector<uint8_t> expect = cb1_;
  expect.insert(expect.end(), en.begin(), en.end());
  expect.insert(expect.end(), cb2_.begin(), cb2_.end());
  EXPECT_EQ(block_coinbases_[0], expect);
  uint32_t nonce = 0;
  std::memcpy(&nonce, block_headers_[0].data() + 76, 4);
  EXPECT_EQ(nonce, static_cast<uint32_t>(c.nonce));
  ASSERT_EQ(stored_.size(), 1u);
  EXPECT_TRUE(stored_[0].is_block);
}

TEST_F(SchedulerTest, ASharesTheStoreRefusesIsNotAccepted) {
  store_ok_ = false;
  const uint64_t job = post_template(1e9, true);
  const std::vector<uint8_t> en(8, 0x42);  // the candidate points into it: keep it alive
  otd_candidate_t c = candidate(job, en, 1e-6);
  ASSERT_EQ(scheduler_->submit_candidate("test.downstream", &c), OTD_OK);
  ASSERT_TRUE(wait_for("store_failed", 1));
  EXPECT_EQ(scheduler_->accepted_shares(), 0u);
}

// Group commit: the store may call back later (from its own thread). Until it says the share is durable,
// the share is neither counted nor answered; afterwards it is, exactly once.
TEST_F(SchedulerTest, AShareIsAcceptedOnlyOnceTheStoreSaysItIsDurable) {
  defer_store_ = true;
  const uint64_t job = post_template(1e9, true);
  const std::vector<uint8_t> en(8, 0x24);
  otd_candidate_t c = candidate(job, en, 1e-6);
  ASSERT_EQ(scheduler_->submit_candidate("test.downstream", &c), OTD_OK);
  ASSERT_TRUE(wait_until([&] {
    std::lock_guard lock(mutex_);
    return held_.size() == 1;
  }));
  // Give the strand every chance to (wrongly) count it: a round trip through it.
  std::promise<void> drained;
  boost::asio::post(strand_, [&] { drained.set_value(); });
  drained.get_future().wait();
  EXPECT_EQ(scheduler_->accepted_shares(), 0u) << "counted before the store said it was durable";
  EXPECT_EQ(count("accepted"), 0);
  sched::Sinks::Stored release;
  {
    std::lock_guard lock(mutex_);
    release = std::move(held_[0]);
  }
  std::thread committer([&] { release(true); });  // as a committer thread would
  committer.join();
  ASSERT_TRUE(wait_for("accepted", 1));
  EXPECT_EQ(scheduler_->accepted_shares(), 1u);
  EXPECT_EQ(count("store_failed"), 0);
}

TEST_F(SchedulerTest, ContextsArePreparedOffTheStrandReusedAndReleasedOnce) {
  make_scheduler("ctxalgo");
  const std::vector<uint8_t> seed_a(32, 0xaa), seed_b(32, 0xbb);
  std::vector<uint8_t> blob(80, 0x33);
  const auto block_target = *otedama::common::bitcoin_target_from_difficulty(1e9);
  auto post = [&](const std::vector<uint8_t>& seed) {
    otd_template_t t{};
    t.struct_size = sizeof t;
    t.flags = OTD_TEMPLATE_CLEAN;
    t.coin = "CTX";
    t.algorithm = "ctxalgo";
    std::memcpy(t.block_target, block_target.data(), 32);
    t.blob = blob.data();
    t.blob_size = static_cast<uint32_t>(blob.size());
    t.reserved_offset = 40;
    t.extranonce_size = 4;
    t.nonce_offset = 76;
    t.nonce_size = 4;
    t.seed = seed.data();
    t.seed_size = static_cast<uint32_t>(seed.size());
    uint64_t id = 0;
    std::string err;
    EXPECT_EQ(scheduler_->submit_template("test.source", &t, &id, &err), OTD_OK) << err;
    return id;
  };
  // The job goes live only once its context is ready (prepared on a background thread).
  const uint64_t a1 = post(seed_a);
  ASSERT_TRUE(wait_until([&] { auto j = scheduler_->current_job(); return j && j->id == a1; }));
  auto job_a1 = scheduler_->current_job();
  ASSERT_NE(job_a1->context, nullptr);
  EXPECT_NE(job_a1->context->handle, nullptr);
  EXPECT_GE(job_a1->context->id, 1u);
  // The same seed again reuses the context; a new seed prepares another.
  const uint64_t a2 = post(seed_a);
  ASSERT_TRUE(wait_until([&] { auto j = scheduler_->current_job(); return j && j->id == a2; }));
  EXPECT_EQ(scheduler_->current_job()->context, job_a1->context);
  EXPECT_EQ(host_metric("otedama_test_contexts_prepared_total"), 1.0);
  const uint64_t b = post(seed_b);
  ASSERT_TRUE(wait_until([&] { auto j = scheduler_->current_job(); return j && j->id == b; }));
  auto job_b = scheduler_->current_job();
  EXPECT_NE(job_b->context, job_a1->context);
  EXPECT_NE(job_b->context->id, job_a1->context->id);
  EXPECT_EQ(host_metric("otedama_test_contexts_prepared_total"), 2.0);

  // Verification uses the job's own context: a share hashed with seed B is accepted for job B, and the same
  // search done with seed A is not.
  const std::vector<uint8_t> en{1, 2, 3, 4};
  const auto share_target = *otedama::common::bitcoin_target_from_difficulty(1e-6);
  auto find_nonce = [&](const std::vector<uint8_t>& seed) {
    std::vector<uint8_t> header = blob;
    std::copy(en.begin(), en.end(), header.begin() + 40);
    for (uint32_t nonce = 0;; ++nonce) {
      std::memcpy(header.data() + 76, &nonce, 4);
      std::vector<uint8_t> data = seed;
      data.insert(data.end(), header.begin(), header.end());
      const auto h = otedama::common::sha256d(data);
      otedama::common::Uint256 v{};
      std::copy(h.begin(), h.end(), v.begin());
      if (otedama::common::meets_target(v, share_target)) return nonce;
    }
  };
  otd_candidate_t c{};
  c.struct_size = sizeof c;
  c.job_id = b;
  c.worker = "bob";
  c.extranonce = en.data();
  c.extranonce_size = 4;
  std::memcpy(c.share_target, share_target.data(), 32);
  c.nonce = find_nonce(seed_b);
  ASSERT_EQ(scheduler_->submit_candidate("test.downstream", &c), OTD_OK);
  ASSERT_TRUE(wait_for("accepted", 1));
  c.nonce = find_nonce(seed_a);
  ASSERT_EQ(scheduler_->submit_candidate("test.downstream", &c), OTD_OK);
  ASSERT_TRUE(wait_for("low_difficulty", 1));

  // Once no job holds them, each context is released exactly once (on the control strand).
  EXPECT_EQ(host_metric("otedama_test_contexts_released_total"), 0.0);
  job_a1.reset();  // the test's own references count too (and the stored share holds its job)
  job_b.reset();
  {
    std::lock_guard lock(mutex_);
    stored_.clear();
  }
  scheduler_->stop();
  scheduler_->drop_jobs();
  ASSERT_TRUE(wait_until([&] { return host_metric("otedama_test_contexts_released_total") >= 2.0; }))
      << "released: " << host_metric("otedama_test_contexts_released_total");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(host_metric("otedama_test_contexts_released_total"), 2.0);
}

// Which context a job gets: light for verifying alone, full for verifying too when the pool asks for it
// (pool.verify_dataset: full). (Full when this host mines the algorithm is the randomx/ethash mining tests'.)
namespace {
/// Post a ctxalgo template (its context is prepared in the background; its job does not become the current
/// one, as this host mines another algorithm).
void post_ctxalgo(sched::Scheduler& scheduler) {
  const std::vector<uint8_t> seed(32, 0x5e), blob(80, 0x33);
  const auto block_target = *otedama::common::bitcoin_target_from_difficulty(1e9);
  auto post = [&] {
    otd_template_t t{};
    t.struct_size = sizeof t;
    t.flags = OTD_TEMPLATE_CLEAN;
    t.coin = "CTX";
    t.algorithm = "ctxalgo";
    std::memcpy(t.block_target, block_target.data(), 32);
    t.blob = blob.data();
    t.blob_size = static_cast<uint32_t>(blob.size());
    t.reserved_offset = 40;
    t.extranonce_size = 4;
    t.nonce_offset = 76;
    t.nonce_size = 4;
    t.seed = seed.data();
    t.seed_size = static_cast<uint32_t>(seed.size());
    uint64_t id = 0;
    std::string err;
    EXPECT_EQ(scheduler.submit_template("test.source", &t, &id, &err), OTD_OK) << err;
    return id;
  };
  post();
}
}  // namespace

// Devices say which algorithms they run; one that cannot run the mined algorithm gets no lanes.
TEST(Devices, RunsAlgorithmReadsTheCommaSeparatedList) {
  EXPECT_TRUE(sched::runs_algorithm("*", "kawpow"));
  EXPECT_TRUE(sched::runs_algorithm("sha256d,scrypt", "scrypt"));
  EXPECT_TRUE(sched::runs_algorithm("sha256d, scrypt", "scrypt"));
  EXPECT_FALSE(sched::runs_algorithm("sha256d,scrypt", "ethash"));
  EXPECT_FALSE(sched::runs_algorithm("sha256d,scrypt", "scryp"));
  EXPECT_FALSE(sched::runs_algorithm("", "sha256d"));
  EXPECT_FALSE(sched::runs_algorithm(",", "sha256d"));
}

TEST_F(SchedulerTest, VerifyingAloneGetsTheLightContext) {
  // SetUp's scheduler mines sha256d (with no devices): ctxalgo shares are only verified here.
  post_ctxalgo(*scheduler_);
  ASSERT_TRUE(wait_until([&] { return host_metric("otedama_test_contexts_prepared_total") >= 1.0; }));
  EXPECT_EQ(host_metric("otedama_test_contexts_full_total"), 0.0);
}

TEST_F(SchedulerTest, PoolVerifyDatasetFullGetsTheFullContext) {
  make_scheduler("sha256d", false, 0, /*full_verification=*/true);
  post_ctxalgo(*scheduler_);
  ASSERT_TRUE(wait_until([&] { return host_metric("otedama_test_contexts_prepared_total") >= 1.0; }));
  EXPECT_EQ(host_metric("otedama_test_contexts_full_total"), 1.0);
}

TEST_F(SchedulerTest, TheNextSeedIsPreparedAheadSoTheSwitchDoesNotWait) {
  make_scheduler("ctxalgo");
  const std::vector<uint8_t> seed_a(32, 0xa1), seed_b(32, 0xb2);
  std::vector<uint8_t> blob(80, 0x44);
  const auto block_target = *otedama::common::bitcoin_target_from_difficulty(1e9);
  auto post = [&](const std::vector<uint8_t>& seed, const std::vector<uint8_t>* next, uint32_t struct_size) {
    otd_template_t t{};
    t.struct_size = struct_size;
    t.flags = OTD_TEMPLATE_CLEAN;
    t.coin = "CTX";
    t.algorithm = "ctxalgo";
    std::memcpy(t.block_target, block_target.data(), 32);
    t.blob = blob.data();
    t.blob_size = static_cast<uint32_t>(blob.size());
    t.reserved_offset = 40;
    t.extranonce_size = 4;
    t.nonce_offset = 76;
    t.nonce_size = 4;
    t.seed = seed.data();
    t.seed_size = static_cast<uint32_t>(seed.size());
    if (next != nullptr) {
      t.next_seed = next->data();
      t.next_seed_size = static_cast<uint32_t>(next->size());
    }
    uint64_t id = 0;
    std::string err;
    EXPECT_EQ(scheduler_->submit_template("test.source", &t, &id, &err), OTD_OK) << err;
    return id;
  };
  // A template that names the next seed: its own context first, then the next one, with no job for it yet.
  const uint64_t a = post(seed_a, &seed_b, sizeof(otd_template_t));
  ASSERT_TRUE(wait_until([&] { auto j = scheduler_->current_job(); return j && j->id == a; }));
  ASSERT_TRUE(wait_until([&] { return host_metric("otedama_test_contexts_prepared_total") >= 2.0; }));
  // The same hint again does not prepare it twice.
  post(seed_a, &seed_b, sizeof(otd_template_t));
  // The switch: the context is already live, so the job is current as soon as submit_template returns
  // (no background preparation in between). The template comes from a plugin built against ABI 1.0,
  // which did not have next_seed: its smaller struct is accepted and the missing fields read as zero.
  const uint64_t b = post(seed_b, nullptr, static_cast<uint32_t>(offsetof(otd_template_t, next_seed)));
  auto job_b = scheduler_->current_job();
  ASSERT_NE(job_b, nullptr);
  EXPECT_EQ(job_b->id, b);
  ASSERT_NE(job_b->context, nullptr);
  EXPECT_EQ(job_b->tmpl->c.next_seed, nullptr);
  EXPECT_EQ(job_b->tmpl->c.next_seed_size, 0u);
  EXPECT_EQ(host_metric("otedama_test_contexts_prepared_total"), 2.0);
  // A template smaller than ABI 1.0's is still refused.
  otd_template_t tiny{};
  tiny.struct_size = static_cast<uint32_t>(offsetof(otd_template_t, next_seed)) - 8;
  tiny.coin = "CTX";
  tiny.algorithm = "ctxalgo";
  std::string err;
  EXPECT_EQ(scheduler_->submit_template("test.source", &tiny, nullptr, &err), OTD_ERR_INVALID_ARG);
}

// A source whose node went away withdraws its work (OTD_TEMPLATE_WITHDRAW): no current job, its jobs are
// stale, and the next ordinary template makes work again.
TEST_F(SchedulerTest, AWithdrawalStopsTheSourcesWorkUntilItsNextTemplate) {
  const uint64_t job = post_template(1e9, true);
  ASSERT_NE(scheduler_->current_job(), nullptr);
  const std::vector<uint8_t> en(8, 7);
  const otd_candidate_t late = candidate(job, en, 1e-6);  // a valid share of the job, submitted after the withdrawal
  otd_template_t w{};
  w.struct_size = sizeof w;
  w.flags = OTD_TEMPLATE_WITHDRAW;  // nothing else is read
  uint64_t id = 99;
  std::string err;
  EXPECT_EQ(scheduler_->submit_template("test.source", &w, &id, &err), OTD_OK) << err;
  EXPECT_EQ(id, 0u);
  EXPECT_EQ(scheduler_->current_job(), nullptr);
  ASSERT_EQ(scheduler_->submit_candidate("test.downstream", &late), OTD_OK);
  ASSERT_TRUE(wait_for("stale", 1));
  EXPECT_EQ(count("accepted"), 0);
  const uint64_t next = post_template(1e9, true);
  EXPECT_GT(next, job);
  ASSERT_NE(scheduler_->current_job(), nullptr);
  EXPECT_EQ(scheduler_->current_job()->id, next);
}
