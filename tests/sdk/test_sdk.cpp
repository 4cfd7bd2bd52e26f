// Unit tests of the header-only plugin SDK (plugin-api/otedama/sdk/), without loading a shared object: the
// SDK's tables, trampolines and module are exercised exactly as the host would call them through the C ABI.
#include <otedama/sdk/otedama.hpp>

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <limits>
#include <new>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace sdk = otedama::sdk;

namespace {

// -----------------------------------------------------------------------------------------------------------
// A fake host for the instances the tests create: config JSON is settable (long enough to need the SDK's
// retry with a bigger buffer), log lines are captured.

std::string g_config = "{}";
std::vector<std::string> g_log;

otd_status_t OTD_CALL fake_get_config(const otd_host_t*, char* buf, size_t cap, size_t* needed) {
  *needed = g_config.size() + 1;
  if (cap < g_config.size() + 1) return OTD_ERR_BUFFER_TOO_SMALL;
  std::memcpy(buf, g_config.c_str(), g_config.size() + 1);
  return OTD_OK;
}
void OTD_CALL fake_log(const otd_host_t*, otd_log_level_t level, const char* message) {
  g_log.push_back(std::to_string(level) + ":" + message);
}
const void* OTD_CALL fake_get_service(const otd_host_t*, const char* id);

const otd_host_t* fake_host() {
  static const otd_host_t host = [] {
    otd_host_t h = sdk::make_struct<otd_host_t>();
    h.abi_major = OTD_ABI_MAJOR;
    h.abi_minor = OTD_ABI_MINOR;
    h.host_name = "sdk-test";
    h.host_version = "0";
    h.log = &fake_log;
    h.get_config = &fake_get_config;
    h.get_service = &fake_get_service;
    return h;
  }();
  return &host;
}

// A timer service that claims struct_size 0 (broken), and a well-formed serial service.
const otd_timer_service_t kBrokenTimer{};
const otd_serial_service_t kSerial = sdk::make_struct<otd_serial_service_t>();
const void* OTD_CALL fake_get_service(const otd_host_t*, const char* id) {
  if (std::string_view(id) == OTD_SERVICE_TIMER) return &kBrokenTimer;
  if (std::string_view(id) == OTD_SERVICE_SERIAL) return &kSerial;
  return nullptr;
}

int g_destroyed = 0;  // destructor calls of test plugins
int g_initialised = 0;

// -----------------------------------------------------------------------------------------------------------
// Test plugin classes

/// An algorithm with only the mandatory members: the optional table entries must stay NULL.
class MinimalAlgo : public sdk::Algorithm<MinimalAlgo> {
 public:
  static constexpr const char* kName = "minimal";
  static constexpr const char* kCoinFamily = "test";
  static constexpr uint32_t kFlags = 0;
  using Algorithm::Algorithm;
  ~MinimalAlgo() override { ++g_destroyed; }

  void hash(const otd_algo_context_t*, std::span<const uint8_t> input, std::span<uint8_t, OTD_HASH_SIZE> out) {
    if (input.size() == 13) throw std::runtime_error("unlucky input");
    std::fill(out.begin(), out.end(), static_cast<uint8_t>(input.size()));
  }
  void verify(const otd_algo_context_t*, const otd_verify_request_t& req, otd_verify_result_t& res) {
    res.meets_share = req.blob_size > 0 ? 1 : 0;
  }
  std::array<uint8_t, OTD_HASH_SIZE> target_from_difficulty(double difficulty) {
    if (difficulty <= 0) throw sdk::Error(OTD_ERR_INVALID_ARG, "difficulty must be positive");
    std::array<uint8_t, OTD_HASH_SIZE> t{};
    t.fill(0xff);
    return t;
  }
  double difficulty_from_target(std::span<const uint8_t, OTD_HASH_SIZE> target) { return target[0] + 1.0; }
  sdk::Blob build_blob(const otd_template_t&, std::span<const uint8_t> extranonce, uint32_t, uint32_t) {
    sdk::Blob b;
    b.bytes.assign(8, 0);
    b.bytes.insert(b.bytes.end(), extranonce.begin(), extranonce.end());
    b.nonce_offset = 4;
    b.nonce_size = 4;
    return b;
  }
  std::string implementation() { return std::string(300, 'x'); }  // longer than the 128-byte field
};

/// An algorithm with every optional member, a self-test and an init that reads the configuration.
class FullAlgo : public sdk::Algorithm<FullAlgo> {
 public:
  static constexpr const char* kName = "full";
  static constexpr const char* kCoinFamily = "test";
  static constexpr uint32_t kFlags = OTD_ALGO_NEEDS_CONTEXT;
  using Algorithm::Algorithm;
  ~FullAlgo() override { ++g_destroyed; }

  void init() override {
    ++g_initialised;
    const std::string config = host().config_json();
    if (config.find("\"fail\"") != std::string::npos)
      throw sdk::Error(OTD_ERR_INVALID_ARG, "config says fail (" + std::to_string(config.size()) + " bytes)");
  }
  [[nodiscard]] bool has_self_test() const noexcept override { return true; }
  void self_test() override {
    if (g_config.find("\"bad-kat\"") != std::string::npos)
      throw sdk::Error(OTD_ERR_SELF_TEST, "known-answer mismatch: expected 01, got 02");
  }

  void hash(const otd_algo_context_t*, std::span<const uint8_t>, std::span<uint8_t, OTD_HASH_SIZE> out) {
    std::fill(out.begin(), out.end(), 0);
  }
  void verify(const otd_algo_context_t*, const otd_verify_request_t&, otd_verify_result_t&) {}
  std::array<uint8_t, OTD_HASH_SIZE> target_from_difficulty(double) { return {}; }
  double difficulty_from_target(std::span<const uint8_t, OTD_HASH_SIZE>) { return 1.0; }
  sdk::Blob build_blob(const otd_template_t&, std::span<const uint8_t>, uint32_t, uint32_t) { return {}; }
  std::string implementation() { return "scalar"; }

  otd_algo_context_t* prepare_context(const otd_context_params_t&) {
    return reinterpret_cast<otd_algo_context_t*>(&context_);
  }
  void release_context(otd_algo_context_t*) {}
  otd_scan_state_t* create_scan_state(const otd_algo_context_t*) { return reinterpret_cast<otd_scan_state_t*>(&state_); }
  void destroy_scan_state(otd_scan_state_t*) {}
  otd_status_t scan(otd_scan_state_t*, const otd_work_unit_t& work, otd_scan_stats_t& stats) {
    stats.hashes = work.nonce_count;
    return OTD_ERR_ABORTED;
  }

 private:
  int context_ = 0;
  int state_ = 0;
};

/// Half of an optional pair is not enough: prepare_context without release_context leaves both NULL.
class HalfContextAlgo : public sdk::Algorithm<HalfContextAlgo> {
 public:
  static constexpr const char* kName = "half";
  static constexpr const char* kCoinFamily = "test";
  static constexpr uint32_t kFlags = 0;
  using Algorithm::Algorithm;
  void hash(const otd_algo_context_t*, std::span<const uint8_t>, std::span<uint8_t, OTD_HASH_SIZE>) {}
  void verify(const otd_algo_context_t*, const otd_verify_request_t&, otd_verify_result_t&) {}
  std::array<uint8_t, OTD_HASH_SIZE> target_from_difficulty(double) { return {}; }
  double difficulty_from_target(std::span<const uint8_t, OTD_HASH_SIZE>) { return 1.0; }
  sdk::Blob build_blob(const otd_template_t&, std::span<const uint8_t>, uint32_t, uint32_t) { return {}; }
  std::string implementation() { return "scalar"; }
  otd_algo_context_t* prepare_context(const otd_context_params_t&) { return nullptr; }
};

struct FakeDevice {
  int pushes = 0;
  int flushes = 0;
};

/// A queued (ASIC-style) backend: push_work/poll/flush_work, no run.
class QueuedBackend : public sdk::Backend<QueuedBackend> {
 public:
  using Backend::Backend;
  ~QueuedBackend() override { ++g_destroyed; }

  std::vector<otd_device_info_t> enumerate() {
    std::vector<otd_device_info_t> out;
    for (int i = 0; i < 3; ++i) {
      otd_device_info_t info = sdk::device_info(OTD_DEVICE_QUEUED, "asic" + std::to_string(i), "Test ASIC", "sha256d");
      info.queue_depth = 4;
      info.memory_bytes = 1234;
      out.push_back(info);
    }
    return out;
  }
  otd_device_t* open_device(uint32_t index, const otd_device_limits_t&) {
    if (index >= 3) throw sdk::Error(OTD_ERR_NOT_FOUND, "no device " + std::to_string(index));
    return reinterpret_cast<otd_device_t*>(&device_);
  }
  void close_device(otd_device_t*) {}
  void set_limits(otd_device_t*, const otd_device_limits_t&) {}
  otd_device_telemetry_t telemetry(otd_device_t*) {
    otd_device_telemetry_t t{};
    t.struct_size = 1;  // the SDK must fix it up
    t.hashrate = 42.0;
    return t;
  }
  otd_status_t push_work(otd_device_t* d, const otd_work_unit_t&) {
    auto* dev = reinterpret_cast<FakeDevice*>(d);
    return ++dev->pushes > 4 ? OTD_ERR_BUSY : OTD_OK;
  }
  otd_status_t poll(otd_device_t*, uint32_t, otd_found_fn fn, void* user, uint64_t& hashes_done) {
    otd_found_t found = sdk::make_struct<otd_found_t>();
    found.work_id = 7;
    found.nonce = 0x1234;
    hashes_done = 100;
    return fn(user, &found);
  }
  void flush_work(otd_device_t* d) { ++reinterpret_cast<FakeDevice*>(d)->flushes; }

 private:
  FakeDevice device_;
};

/// A scan (CPU/GPU-style) backend: run, no queued members.
class ScanBackend : public sdk::Backend<ScanBackend> {
 public:
  using Backend::Backend;
  std::vector<otd_device_info_t> enumerate() { return {}; }
  otd_device_t* open_device(uint32_t, const otd_device_limits_t&) { return nullptr; }
  void close_device(otd_device_t*) {}
  void set_limits(otd_device_t*, const otd_device_limits_t&) {}
  otd_device_telemetry_t telemetry(otd_device_t*) { return {}; }
  otd_status_t run(otd_device_t*, uint32_t, const otd_work_unit_t& work, uint64_t& hashes_done) {
    hashes_done = work.nonce_count;
    return OTD_OK;
  }
};

/// A payout scheme: two credits per request.
class TwoCredits : public sdk::Payout<TwoCredits> {
 public:
  static constexpr const char* kScheme = "TEST";
  using Payout::Payout;
  otd_payout_window_t window() {
    otd_payout_window_t w{};
    w.type = OTD_PAYOUT_WINDOW_ROUND;
    return w;
  }
  std::vector<otd_credit_t> compute(const otd_payout_request_t& req) {
    const uint64_t fee = sdk::fee_of(req.block_reward, req.fee_ppm);
    otd_credit_t c1{};
    c1.account = req.fee_account;
    c1.amount = fee;
    c1.is_fee = 1;
    otd_credit_t c2{};
    c2.account = req.finder;
    c2.amount = req.block_reward - fee;
    return {c1, c2};
  }
};

constexpr otd_plugin_descriptor_t kMinimalDesc =
    sdk::descriptor(OTD_KIND_ALGORITHM, "org.test.algorithm.minimal", "minimal", "1.0.0", "Test", "", "",
                    OTD_ALGORITHM_INTERFACE_ID);
constexpr otd_plugin_descriptor_t kFullDesc = sdk::descriptor(
    OTD_KIND_ALGORITHM, "org.test.algorithm.full", "full", "1.0.0", "Test", "", "", OTD_ALGORITHM_INTERFACE_ID);
constexpr otd_plugin_descriptor_t kHalfDesc = sdk::descriptor(
    OTD_KIND_ALGORITHM, "org.test.algorithm.half", "half", "1.0.0", "Test", "", "", OTD_ALGORITHM_INTERFACE_ID);
constexpr otd_plugin_descriptor_t kQueuedDesc = sdk::descriptor(
    OTD_KIND_BACKEND, "org.test.backend.queued", "queued", "1.0.0", "Test", "", "", OTD_BACKEND_INTERFACE_ID);
constexpr otd_plugin_descriptor_t kScanDesc = sdk::descriptor(
    OTD_KIND_BACKEND, "org.test.backend.scan", "scan", "1.0.0", "Test", "", "", OTD_BACKEND_INTERFACE_ID);
constexpr otd_plugin_descriptor_t kPayoutDesc = sdk::descriptor(
    OTD_KIND_PAYOUT, "org.test.payout.two", "two", "1.0.0", "Test", "", "", OTD_PAYOUT_INTERFACE_ID);

// A module needing a newer host minor than its own headers define cannot be instantiated (static_assert in
// sdk::Module): with ABI 1.0 the SDK's refusal path is unreachable, and the C fixture newer-minor covers
// how the host treats a plugin that refuses an older host.

}  // namespace

// The test binary carries a real entry, defined the way every SDK plugin defines it.
OTEDAMA_PLUGIN_ENTRY(sdk::plugin_class<MinimalAlgo>(kMinimalDesc), sdk::plugin_class<FullAlgo>(kFullDesc),
                     sdk::plugin_class<HalfContextAlgo>(kHalfDesc), sdk::plugin_class<QueuedBackend>(kQueuedDesc),
                     sdk::plugin_class<ScanBackend>(kScanDesc), sdk::plugin_class<TwoCredits>(kPayoutDesc));

namespace {

const otd_plugin_factory_t* factory() {
  return static_cast<const otd_plugin_factory_t*>(otedama_plugin_entry.get_factory(OTD_PLUGIN_FACTORY_ID));
}

/// Creates an instance through the C factory (as the host does) and destroys it at scope exit.
class Instance {
 public:
  explicit Instance(const char* id) {
    char err[OTD_ERROR_CAP] = {};
    status_ = factory()->create_plugin(factory(), fake_host(), id, &plugin_, err, sizeof err);
    error_ = err;
  }
  ~Instance() {
    if (plugin_ != nullptr) plugin_->destroy(plugin_);
  }
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

  [[nodiscard]] otd_status_t status() const { return status_; }
  [[nodiscard]] const std::string& error() const { return error_; }
  [[nodiscard]] const otd_plugin_t* get() const { return plugin_; }
  template <class Table>
  [[nodiscard]] const Table* table(const char* interface_id) const {
    return static_cast<const Table*>(plugin_->get_interface(plugin_, interface_id));
  }
  /// Destroys now (to observe the destructor).
  void destroy() {
    plugin_->destroy(plugin_);
    plugin_ = nullptr;
  }

 private:
  otd_status_t status_ = OTD_ERR_GENERIC;
  std::string error_;
  const otd_plugin_t* plugin_ = nullptr;
};

// ===========================================================================================================
// guard(): every exception becomes a status and a message

TEST(SdkGuard, VoidFunctionIsOk) {
  char err[32] = "untouched";
  EXPECT_EQ(sdk::guard(err, sizeof err, [] {}), OTD_OK);
  EXPECT_STREQ(err, "untouched");
}

TEST(SdkGuard, ReturnedStatusPassesThrough) {
  EXPECT_EQ(sdk::guard(nullptr, 0, [] { return OTD_ERR_BUSY; }), OTD_ERR_BUSY);
  EXPECT_EQ(sdk::guard(nullptr, 0, [] { return OTD_OK; }), OTD_OK);
}

TEST(SdkGuard, SdkErrorKeepsItsStatusAndMessage) {
  char err[OTD_ERROR_CAP] = {};
  EXPECT_EQ(sdk::guard(err, sizeof err, [] { throw sdk::Error(OTD_ERR_IO, "device vanished"); }), OTD_ERR_IO);
  EXPECT_STREQ(err, "device vanished");
  EXPECT_EQ(sdk::guard(err, sizeof err, [] { throw sdk::Error(OTD_ERR_SELF_TEST, "mismatch"); }), OTD_ERR_SELF_TEST);
  EXPECT_STREQ(err, "mismatch");
}

TEST(SdkGuard, SdkErrorWithOkStatusIsStillAnError) {
  char err[OTD_ERROR_CAP] = {};
  EXPECT_EQ(sdk::guard(err, sizeof err, [] { throw sdk::Error(OTD_OK, "confused"); }), OTD_ERR_GENERIC);
  EXPECT_STREQ(err, "confused");
}

TEST(SdkGuard, StdExceptionBecomesExceptionStatus) {
  char err[OTD_ERROR_CAP] = {};
  EXPECT_EQ(sdk::guard(err, sizeof err, [] { throw std::runtime_error("boom"); }), OTD_ERR_EXCEPTION);
  EXPECT_STREQ(err, "exception: boom");
  EXPECT_EQ(sdk::guard(err, sizeof err, [] { throw std::out_of_range("index 9"); }), OTD_ERR_EXCEPTION);
  EXPECT_STREQ(err, "exception: index 9");
}

TEST(SdkGuard, BadAllocBecomesNoMemory) {
  char err[OTD_ERROR_CAP] = {};
  EXPECT_EQ(sdk::guard(err, sizeof err, [] { throw std::bad_alloc(); }), OTD_ERR_NO_MEMORY);
  EXPECT_STREQ(err, "out of memory");
}

TEST(SdkGuard, UnknownExceptionIsCaught) {
  char err[OTD_ERROR_CAP] = {};
  EXPECT_EQ(sdk::guard(err, sizeof err, [] { throw 42; }), OTD_ERR_EXCEPTION);
  EXPECT_STREQ(err, "unknown exception");
}

TEST(SdkGuard, NullOrEmptyBufferIsSafe) {
  EXPECT_EQ(sdk::guard(nullptr, 0, [] { throw sdk::Error(OTD_ERR_IO, "x"); }), OTD_ERR_IO);
  EXPECT_EQ(sdk::guard(nullptr, 100, [] { throw std::runtime_error("x"); }), OTD_ERR_EXCEPTION);
  char err[4] = "abc";
  EXPECT_EQ(sdk::guard(err, 0, [] { throw std::runtime_error("x"); }), OTD_ERR_EXCEPTION);
  EXPECT_STREQ(err, "abc") << "cap 0 must not write";
}

TEST(SdkGuard, IsNoexcept) {
  static_assert(noexcept(sdk::guard(nullptr, 0, [] { throw 1; })));
  SUCCEED();
}

TEST(SdkGuard, LongMessageIsTruncatedIntoSmallBuffer) {
  char err[16];
  std::memset(err, '#', sizeof err);
  EXPECT_EQ(sdk::guard(err, 8, [] { throw sdk::Error(OTD_ERR_IO, "a very long message indeed"); }), OTD_ERR_IO);
  EXPECT_STREQ(err, "a very ");
  EXPECT_EQ(err[8], '#') << "wrote past cap";
}

// ===========================================================================================================
// Messages and fixed fields

TEST(SdkCopy, MessageTruncatesAndTerminates) {
  char buf[8];
  std::memset(buf, '#', sizeof buf);
  sdk::copy_message(buf, 4, "abcdef");
  EXPECT_STREQ(buf, "abc");
  EXPECT_EQ(buf[4], '#');

  sdk::copy_message(buf, 1, "abcdef");
  EXPECT_STREQ(buf, "");

  sdk::copy_message(buf, sizeof buf, "1234567");  // exactly fits with its NUL
  EXPECT_STREQ(buf, "1234567");

  sdk::copy_message(buf, sizeof buf, "");
  EXPECT_STREQ(buf, "");

  std::memset(buf, '#', sizeof buf);
  sdk::copy_message(buf, 0, "abc");
  EXPECT_EQ(buf[0], '#');
  sdk::copy_message(nullptr, 10, "abc");  // no crash
}

TEST(SdkCopy, MessageWithEmbeddedNulStopsThere) {
  char buf[16];
  sdk::copy_message(buf, sizeof buf, std::string_view("ab\0cd", 5));
  EXPECT_STREQ(buf, "ab");
}

TEST(SdkCopy, FieldTruncatesToArraySize) {
  struct {
    char field[4];
    char after[4];
  } s;
  std::memset(&s, '#', sizeof s);
  sdk::copy_field(s.field, "abcdef");
  EXPECT_STREQ(s.field, "abc");
  EXPECT_EQ(s.after[0], '#');
  sdk::copy_field(s.field, "");
  EXPECT_STREQ(s.field, "");

  otd_device_info_t info{};
  sdk::copy_field(info.id, std::string(200, 'z'));
  EXPECT_EQ(std::strlen(info.id), OTD_ID_CAP - 1);
}

TEST(SdkCopy, MakeStructSetsSizeAndZeroes) {
  const auto r = sdk::make_struct<otd_verify_result_t>();
  EXPECT_EQ(r.struct_size, sizeof(otd_verify_result_t));
  EXPECT_EQ(r.meets_share, 0u);
  EXPECT_EQ(r.share_difficulty, 0.0);
  const auto info = sdk::device_info(OTD_DEVICE_SCAN, "cpu0", "CPU", "sha256d,scrypt");
  EXPECT_EQ(info.struct_size, sizeof(otd_device_info_t));
  EXPECT_STREQ(info.id, "cpu0");
  EXPECT_STREQ(info.algorithms, "sha256d,scrypt");
  EXPECT_EQ(info.max_lanes, 1u);
  EXPECT_EQ(info.numa_node, -1);
}

// ===========================================================================================================
// Money arithmetic

TEST(SdkMoney, MulDivFloorIsExact) {
  EXPECT_EQ(sdk::mul_div_floor(10, 3, 4), 7u);  // 30 / 4 = 7.5
  EXPECT_EQ(sdk::mul_div_floor(0, 123, 7), 0u);
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  // The intermediate needs 128 bits: (2^64-1)^2 / (2^64-1).
  EXPECT_EQ(sdk::mul_div_floor(kMax, kMax, kMax), kMax);
  EXPECT_EQ(sdk::mul_div_floor(kMax, 3, 4), kMax / 4 * 3 + (kMax % 4) * 3 / 4);
  EXPECT_EQ(sdk::mul_div_floor(1ull << 63, 2, 4), 1ull << 62);
  // 6.25 BTC split by weights 1:2 (of 3): floors, the remainder is the caller's to assign.
  EXPECT_EQ(sdk::mul_div_floor(625000000, 1, 3), 208333333u);
  EXPECT_EQ(sdk::mul_div_floor(625000000, 2, 3), 416666666u);
}

TEST(SdkMoney, MulDivFloorOverflowAndZeroDivisorThrow) {
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  try {
    (void)sdk::mul_div_floor(kMax, 2, 1);
    FAIL() << "no overflow error";
  } catch (const sdk::Error& e) {
    EXPECT_EQ(e.status(), OTD_ERR_INVALID_ARG);
    EXPECT_NE(std::string(e.what()).find("exceeds 64 bits"), std::string::npos) << e.what();
  }
  try {
    (void)sdk::mul_div_floor(1, 1, 0);
    FAIL() << "no division-by-zero error";
  } catch (const sdk::Error& e) {
    EXPECT_EQ(e.status(), OTD_ERR_INVALID_ARG);
    EXPECT_NE(std::string(e.what()).find("division by zero"), std::string::npos) << e.what();
  }
  // The largest product that still fits after division is fine.
  EXPECT_EQ(sdk::mul_div_floor(kMax, 2, 2), kMax);
}

TEST(SdkMoney, FeeOfIsFloorOfPartsPerMillion) {
  EXPECT_EQ(sdk::fee_of(1000000, 15000), 15000u);       // 1.5 %
  EXPECT_EQ(sdk::fee_of(625000000, 15000), 9375000u);   // 1.5 % of 6.25 BTC
  EXPECT_EQ(sdk::fee_of(999999, 1), 0u);                 // floors
  EXPECT_EQ(sdk::fee_of(12345, 0), 0u);
  EXPECT_EQ(sdk::fee_of(12345, 1000000), 12345u);        // 100 %
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  EXPECT_EQ(sdk::fee_of(kMax, 1000000), kMax);           // no 64-bit overflow in the intermediate
  EXPECT_EQ(sdk::fee_of(kMax, 500000), kMax / 2);
  EXPECT_THROW((void)sdk::fee_of(100, 1000001), sdk::Error);
  EXPECT_EQ(sdk::guard(nullptr, 0, [] { (void)sdk::fee_of(100, 2000000); }), OTD_ERR_INVALID_ARG);
}

// ===========================================================================================================
// Algorithm tables: optional members are detected

TEST(SdkAlgorithm, MandatoryOnlyLeavesOptionalNull) {
  const otd_algorithm_t& t = sdk::AlgorithmTable<MinimalAlgo>::table;
  EXPECT_EQ(t.struct_size, sizeof(otd_algorithm_t));
  EXPECT_STREQ(t.name, "minimal");
  EXPECT_STREQ(t.coin_family, "test");
  EXPECT_EQ(t.flags, 0u);
  EXPECT_NE(t.hash, nullptr);
  EXPECT_NE(t.verify, nullptr);
  EXPECT_NE(t.target_from_difficulty, nullptr);
  EXPECT_NE(t.difficulty_from_target, nullptr);
  EXPECT_NE(t.build_blob, nullptr);
  EXPECT_NE(t.get_info, nullptr);
  EXPECT_EQ(t.prepare_context, nullptr);
  EXPECT_EQ(t.release_context, nullptr);
  EXPECT_EQ(t.create_scan_state, nullptr);
  EXPECT_EQ(t.destroy_scan_state, nullptr);
  EXPECT_EQ(t.scan, nullptr);
}

TEST(SdkAlgorithm, OptionalMembersFillTheTable) {
  const otd_algorithm_t& t = sdk::AlgorithmTable<FullAlgo>::table;
  EXPECT_EQ(t.flags, static_cast<uint32_t>(OTD_ALGO_NEEDS_CONTEXT));
  EXPECT_NE(t.prepare_context, nullptr);
  EXPECT_NE(t.release_context, nullptr);
  EXPECT_NE(t.create_scan_state, nullptr);
  EXPECT_NE(t.destroy_scan_state, nullptr);
  EXPECT_NE(t.scan, nullptr);
}

TEST(SdkAlgorithm, HalfAPairIsNotDetected) {
  const otd_algorithm_t& t = sdk::AlgorithmTable<HalfContextAlgo>::table;
  EXPECT_EQ(t.prepare_context, nullptr);
  EXPECT_EQ(t.release_context, nullptr);
}

TEST(SdkAlgorithm, TrampolinesCheckArgumentsAndMapExceptions) {
  Instance inst("org.test.algorithm.minimal");
  ASSERT_EQ(inst.status(), OTD_OK) << inst.error();
  const auto* t = inst.table<otd_algorithm_t>(OTD_ALGORITHM_INTERFACE_ID);
  ASSERT_EQ(t, &sdk::AlgorithmTable<MinimalAlgo>::table);
  const otd_plugin_t* p = inst.get();
  char err[OTD_ERROR_CAP] = {};
  uint8_t in[13] = {};
  uint8_t out[OTD_HASH_SIZE] = {};

  EXPECT_EQ(t->hash(p, nullptr, in, 3, out, sizeof out, err, sizeof err), OTD_OK);
  EXPECT_EQ(out[0], 3);
  EXPECT_EQ(out[31], 3);
  EXPECT_EQ(t->hash(p, nullptr, in, 3, out, OTD_HASH_SIZE - 1, err, sizeof err), OTD_ERR_INVALID_ARG);
  EXPECT_NE(std::string(err).find("smaller than 32"), std::string::npos) << err;
  EXPECT_EQ(t->hash(p, nullptr, nullptr, 3, out, sizeof out, err, sizeof err), OTD_ERR_INVALID_ARG);
  EXPECT_EQ(t->hash(p, nullptr, nullptr, 0, out, sizeof out, err, sizeof err), OTD_OK) << "empty input is valid";
  EXPECT_EQ(t->hash(p, nullptr, in, 13, out, sizeof out, err, sizeof err), OTD_ERR_EXCEPTION);
  EXPECT_STREQ(err, "exception: unlucky input");

  otd_verify_request_t req = sdk::make_struct<otd_verify_request_t>();
  otd_verify_result_t res = sdk::make_struct<otd_verify_result_t>();
  req.blob = in;
  req.blob_size = 1;
  EXPECT_EQ(t->verify(p, nullptr, &req, &res, err, sizeof err), OTD_OK);
  EXPECT_EQ(res.meets_share, 1u);
  res.struct_size = sizeof(otd_verify_result_t) - 8;  // an older, shorter result: refused, not overrun
  EXPECT_EQ(t->verify(p, nullptr, &req, &res, err, sizeof err), OTD_ERR_INVALID_ARG);
  EXPECT_EQ(t->verify(p, nullptr, nullptr, &res, err, sizeof err), OTD_ERR_INVALID_ARG);

  uint8_t target[OTD_HASH_SIZE] = {};
  EXPECT_EQ(t->target_from_difficulty(p, 1.0, target), OTD_OK);
  EXPECT_EQ(target[0], 0xff);
  EXPECT_EQ(t->target_from_difficulty(p, -1.0, target), OTD_ERR_INVALID_ARG);
  double diff = 0;
  target[0] = 4;
  EXPECT_EQ(t->difficulty_from_target(p, target, &diff), OTD_OK);
  EXPECT_EQ(diff, 5.0);
  EXPECT_EQ(t->difficulty_from_target(p, target, nullptr), OTD_ERR_INVALID_ARG);

  otd_algorithm_info_t info = sdk::make_struct<otd_algorithm_info_t>();
  EXPECT_EQ(t->get_info(p, &info), OTD_OK);
  EXPECT_EQ(info.hash_size, OTD_HASH_SIZE);
  EXPECT_EQ(std::strlen(info.implementation), OTD_NAME_CAP - 1) << "truncated into the fixed field";
}

TEST(SdkAlgorithm, BuildBlobReportsTheSizeItNeeds) {
  Instance inst("org.test.algorithm.minimal");
  ASSERT_EQ(inst.status(), OTD_OK);
  const auto* t = inst.table<otd_algorithm_t>(OTD_ALGORITHM_INTERFACE_ID);
  otd_template_t tmpl = sdk::make_struct<otd_template_t>();
  const uint8_t en[4] = {1, 2, 3, 4};
  uint8_t blob[64] = {};
  uint32_t size = 0, nonce_offset = 0, nonce_size = 0;
  char err[OTD_ERROR_CAP] = {};
  EXPECT_EQ(t->build_blob(inst.get(), &tmpl, en, 4, 0, 0, blob, 5, &size, &nonce_offset, &nonce_size, err, sizeof err),
            OTD_ERR_BUFFER_TOO_SMALL);
  EXPECT_EQ(size, 12u);
  EXPECT_EQ(t->build_blob(inst.get(), &tmpl, en, 4, 0, 0, nullptr, 0, &size, &nonce_offset, &nonce_size, err,
                          sizeof err),
            OTD_ERR_BUFFER_TOO_SMALL);
  EXPECT_EQ(t->build_blob(inst.get(), &tmpl, en, 4, 0, 0, blob, sizeof blob, &size, &nonce_offset, &nonce_size, err,
                          sizeof err),
            OTD_OK);
  EXPECT_EQ(size, 12u);
  EXPECT_EQ(nonce_offset, 4u);
  EXPECT_EQ(nonce_size, 4u);
  EXPECT_EQ(blob[8], 1);
  EXPECT_EQ(blob[11], 4);
  EXPECT_EQ(t->build_blob(inst.get(), &tmpl, nullptr, 4, 0, 0, blob, sizeof blob, &size, &nonce_offset, &nonce_size,
                          err, sizeof err),
            OTD_ERR_INVALID_ARG);
}

TEST(SdkAlgorithm, OptionalTrampolinesReachTheClass) {
  g_config = "{}";
  Instance inst("org.test.algorithm.full");
  ASSERT_EQ(inst.status(), OTD_OK) << inst.error();
  const auto* t = inst.table<otd_algorithm_t>(OTD_ALGORITHM_INTERFACE_ID);
  ASSERT_NE(t, nullptr);
  char err[OTD_ERROR_CAP] = {};
  otd_context_params_t params = sdk::make_struct<otd_context_params_t>();
  otd_algo_context_t* ctx = nullptr;
  ASSERT_EQ(t->prepare_context(inst.get(), &params, &ctx, err, sizeof err), OTD_OK);
  EXPECT_NE(ctx, nullptr);
  otd_scan_state_t* state = nullptr;
  ASSERT_EQ(t->create_scan_state(inst.get(), ctx, nullptr, &state, err, sizeof err), OTD_OK);
  EXPECT_NE(state, nullptr);
  otd_work_unit_t work = sdk::make_struct<otd_work_unit_t>();
  work.nonce_count = 99;
  otd_scan_stats_t stats = sdk::make_struct<otd_scan_stats_t>();
  EXPECT_EQ(t->scan(inst.get(), state, &work, &stats), OTD_ERR_ABORTED);
  EXPECT_EQ(stats.hashes, 99u);
  t->destroy_scan_state(inst.get(), state);
  t->release_context(inst.get(), ctx);
}

// ===========================================================================================================
// Backend tables

TEST(SdkBackend, QueuedMembersFillQueuedEntriesOnly) {
  const otd_backend_t& t = sdk::BackendTable<QueuedBackend>::table;
  EXPECT_EQ(t.struct_size, sizeof(otd_backend_t));
  EXPECT_NE(t.enumerate, nullptr);
  EXPECT_NE(t.open_device, nullptr);
  EXPECT_NE(t.close_device, nullptr);
  EXPECT_NE(t.set_limits, nullptr);
  EXPECT_NE(t.get_telemetry, nullptr);
  EXPECT_EQ(t.run, nullptr);
  EXPECT_NE(t.push_work, nullptr);
  EXPECT_NE(t.poll, nullptr);
  EXPECT_NE(t.flush_work, nullptr);
}

TEST(SdkBackend, ScanMembersFillRunOnly) {
  const otd_backend_t& t = sdk::BackendTable<ScanBackend>::table;
  EXPECT_NE(t.run, nullptr);
  EXPECT_EQ(t.push_work, nullptr);
  EXPECT_EQ(t.poll, nullptr);
  EXPECT_EQ(t.flush_work, nullptr);
}

otd_status_t OTD_CALL collect_found(void* user, const otd_found_t* found) {
  static_cast<std::vector<otd_found_t>*>(user)->push_back(*found);
  return OTD_OK;
}

TEST(SdkBackend, QueuedDeviceRoundTrip) {
  Instance inst("org.test.backend.queued");
  ASSERT_EQ(inst.status(), OTD_OK) << inst.error();
  const auto* t = inst.table<otd_backend_t>(OTD_BACKEND_INTERFACE_ID);
  ASSERT_EQ(t, &sdk::BackendTable<QueuedBackend>::table);
  EXPECT_EQ(inst.table<otd_backend_t>(OTD_ALGORITHM_INTERFACE_ID), nullptr);
  const otd_plugin_t* p = inst.get();
  char err[OTD_ERROR_CAP] = {};

  otd_device_limits_t limits = sdk::make_struct<otd_device_limits_t>();
  otd_device_t* dev = nullptr;
  EXPECT_EQ(t->open_device(p, 7, &limits, &dev, err, sizeof err), OTD_ERR_NOT_FOUND);
  EXPECT_STREQ(err, "no device 7");
  ASSERT_EQ(t->open_device(p, 0, &limits, &dev, err, sizeof err), OTD_OK);
  ASSERT_NE(dev, nullptr);

  otd_work_unit_t work = sdk::make_struct<otd_work_unit_t>();
  for (int i = 0; i < 4; ++i) EXPECT_EQ(t->push_work(p, dev, &work, err, sizeof err), OTD_OK);
  EXPECT_EQ(t->push_work(p, dev, &work, err, sizeof err), OTD_ERR_BUSY);
  EXPECT_EQ(t->push_work(p, dev, nullptr, err, sizeof err), OTD_ERR_INVALID_ARG);

  std::vector<otd_found_t> found;
  uint64_t hashes = 5;
  EXPECT_EQ(t->poll(p, dev, 0, &collect_found, &found, &hashes, err, sizeof err), OTD_OK);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].work_id, 7u);
  EXPECT_EQ(found[0].nonce, 0x1234u);
  EXPECT_EQ(hashes, 100u);
  EXPECT_EQ(t->poll(p, dev, 0, nullptr, nullptr, &hashes, err, sizeof err), OTD_ERR_INVALID_ARG);

  EXPECT_EQ(t->flush_work(p, dev), OTD_OK);
  EXPECT_EQ(reinterpret_cast<FakeDevice*>(dev)->flushes, 1);

  otd_device_telemetry_t tel = sdk::make_struct<otd_device_telemetry_t>();
  EXPECT_EQ(t->get_telemetry(p, dev, &tel), OTD_OK);
  EXPECT_EQ(tel.struct_size, sizeof(otd_device_telemetry_t)) << "the SDK sets struct_size itself";
  EXPECT_EQ(tel.hashrate, 42.0);
  // An older, smaller struct (a host of an earlier minor) gets only what it has room for.
  otd_device_telemetry_t older = sdk::make_struct<otd_device_telemetry_t>();
  older.struct_size = offsetof(otd_device_telemetry_t, hashrate) + sizeof(double);
  older.temperature_c = -7;
  EXPECT_EQ(t->get_telemetry(p, dev, &older), OTD_OK);
  EXPECT_EQ(older.hashrate, 42.0);
  EXPECT_EQ(older.temperature_c, -7) << "fields past the caller's struct_size are untouched";
  older.struct_size = 2;
  EXPECT_EQ(t->get_telemetry(p, dev, &older), OTD_ERR_INVALID_ARG);
  t->close_device(p, dev);
}

TEST(SdkBackend, EnumerateRespectsCapacityAndOlderStructs) {
  Instance inst("org.test.backend.queued");
  ASSERT_EQ(inst.status(), OTD_OK);
  const auto* t = inst.table<otd_backend_t>(OTD_BACKEND_INTERFACE_ID);
  uint32_t count = 0;
  EXPECT_EQ(t->enumerate(inst.get(), nullptr, 0, &count), OTD_OK);
  EXPECT_EQ(count, 3u) << "capacity 0 asks how many";
  EXPECT_EQ(t->enumerate(inst.get(), nullptr, 2, &count), OTD_ERR_INVALID_ARG);
  EXPECT_EQ(t->enumerate(inst.get(), nullptr, 0, nullptr), OTD_ERR_INVALID_ARG);

  // An older host whose otd_device_info_t ended before memory_bytes: nothing past it may be written.
  std::array<otd_device_info_t, 2> infos;
  std::memset(infos.data(), 0xab, sizeof infos);
  const auto old_size = static_cast<uint32_t>(offsetof(otd_device_info_t, memory_bytes));
  for (auto& i : infos) i.struct_size = old_size;
  EXPECT_EQ(t->enumerate(inst.get(), infos.data(), 2, &count), OTD_OK);
  EXPECT_EQ(count, 3u) << "more devices than capacity: count says so";
  EXPECT_EQ(infos[0].struct_size, old_size);
  EXPECT_STREQ(infos[0].id, "asic0");
  EXPECT_STREQ(infos[1].id, "asic1");
  EXPECT_EQ(infos[0].style, OTD_DEVICE_QUEUED);
  uint64_t untouched = 0;
  std::memset(&untouched, 0xab, sizeof untouched);
  EXPECT_EQ(infos[0].memory_bytes, untouched) << "wrote past the caller's struct_size";

  std::array<otd_device_info_t, 3> full{};
  for (auto& i : full) i.struct_size = sizeof(otd_device_info_t);
  EXPECT_EQ(t->enumerate(inst.get(), full.data(), 3, &count), OTD_OK);
  EXPECT_EQ(full[2].memory_bytes, 1234u);
  EXPECT_EQ(full[2].queue_depth, 4u);
}

TEST(SdkBackend, ScanRunReportsHashes) {
  Instance inst("org.test.backend.scan");
  ASSERT_EQ(inst.status(), OTD_OK);
  const auto* t = inst.table<otd_backend_t>(OTD_BACKEND_INTERFACE_ID);
  otd_work_unit_t work = sdk::make_struct<otd_work_unit_t>();
  work.nonce_count = 1000;
  uint64_t hashes = 0;
  char err[OTD_ERROR_CAP] = {};
  EXPECT_EQ(t->run(inst.get(), nullptr, 0, &work, &hashes, err, sizeof err), OTD_OK);
  EXPECT_EQ(hashes, 1000u);
  EXPECT_EQ(t->run(inst.get(), nullptr, 0, nullptr, &hashes, err, sizeof err), OTD_ERR_INVALID_ARG);
}

// ===========================================================================================================
// Payout table

TEST(SdkPayout, ComputeAsksForABiggerBuffer) {
  Instance inst("org.test.payout.two");
  ASSERT_EQ(inst.status(), OTD_OK);
  const auto* t = inst.table<otd_payout_t>(OTD_PAYOUT_INTERFACE_ID);
  ASSERT_NE(t, nullptr);
  EXPECT_STREQ(t->scheme, "TEST");
  otd_payout_request_t req = sdk::make_struct<otd_payout_request_t>();
  req.fee_ppm = 10000;
  req.block_reward = 1000;
  req.fee_account = "pool";
  req.finder = "alice";
  otd_credit_t credits[2] = {};
  credits[0].struct_size = credits[1].struct_size = sizeof(otd_credit_t);  // the caller's stride (payout.h)
  uint64_t count = 0;
  char err[OTD_ERROR_CAP] = {};
  EXPECT_EQ(t->compute(inst.get(), &req, credits, 1, &count, err, sizeof err), OTD_ERR_BUFFER_TOO_SMALL);
  EXPECT_EQ(count, 2u);
  ASSERT_EQ(t->compute(inst.get(), &req, credits, 2, &count, err, sizeof err), OTD_OK);
  EXPECT_EQ(credits[0].struct_size, sizeof(otd_credit_t));
  EXPECT_EQ(credits[0].amount + credits[1].amount, 1000u);
  EXPECT_EQ(credits[0].amount, 10u);
  EXPECT_EQ(credits[0].is_fee, 1u);
  req.fee_ppm = 2000000;
  EXPECT_EQ(t->compute(inst.get(), &req, credits, 2, &count, err, sizeof err), OTD_ERR_INVALID_ARG);
  EXPECT_STREQ(err, "fee above 100%");
  otd_payout_window_t w = sdk::make_struct<otd_payout_window_t>();
  EXPECT_EQ(t->get_window(inst.get(), &w), OTD_OK);
  EXPECT_EQ(w.type, OTD_PAYOUT_WINDOW_ROUND);
}

// ===========================================================================================================
// Module: entry, negotiation, factory, instances

TEST(SdkModule, EntryIsFilledForThisAbi) {
  EXPECT_EQ(otedama_plugin_entry.struct_size, sizeof(otd_plugin_entry_t));
  EXPECT_EQ(otedama_plugin_entry.abi_major, OTD_ABI_MAJOR);
  EXPECT_EQ(otedama_plugin_entry.abi_minor, OTD_ABI_MINOR);
  EXPECT_EQ(otedama_plugin_entry.reserved, 0u);
  EXPECT_NE(otedama_plugin_entry.negotiate, nullptr);
  EXPECT_NE(otedama_plugin_entry.init, nullptr);
  EXPECT_NE(otedama_plugin_entry.deinit, nullptr);
  EXPECT_NE(otedama_plugin_entry.get_factory, nullptr);
  EXPECT_EQ(otedama_plugin_entry.get_factory("otedama.plugin-factory/2"), nullptr);
  EXPECT_EQ(otedama_plugin_entry.get_factory(nullptr), nullptr);
  char err[OTD_ERROR_CAP] = {};
  EXPECT_EQ(otedama_plugin_entry.init(fake_host(), err, sizeof err), OTD_OK);
  otedama_plugin_entry.deinit();
}

TEST(SdkModule, NegotiateChoosesTheLowerMinor) {
  char err[OTD_ERROR_CAP] = {};
  uint32_t chosen = 99;
  EXPECT_EQ(otedama_plugin_entry.negotiate(OTD_ABI_MINOR, &chosen, err, sizeof err), OTD_OK);
  EXPECT_EQ(chosen, OTD_ABI_MINOR);
  // A newer host offers more than the plugin was built with: the plugin answers its own minor.
  chosen = 99;
  EXPECT_EQ(otedama_plugin_entry.negotiate(OTD_ABI_MINOR + 5, &chosen, err, sizeof err), OTD_OK);
  EXPECT_EQ(chosen, OTD_ABI_MINOR);
  EXPECT_LE(chosen, OTD_ABI_MINOR + 5);
  EXPECT_EQ(otedama_plugin_entry.negotiate(0, nullptr, err, sizeof err), OTD_ERR_INVALID_ARG);
}

TEST(SdkModule, FactoryListsEveryClass) {
  const otd_plugin_factory_t* f = factory();
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->struct_size, sizeof(otd_plugin_factory_t));
  ASSERT_EQ(f->get_plugin_count(f), 6u);
  EXPECT_EQ(f->get_plugin_descriptor(f, 0), &kMinimalDesc);
  EXPECT_EQ(f->get_plugin_descriptor(f, 3), &kQueuedDesc);
  EXPECT_EQ(f->get_plugin_descriptor(f, 6), nullptr);
  EXPECT_EQ(f->get_plugin_descriptor(f, UINT32_MAX), nullptr);
  const otd_plugin_descriptor_t* d = f->get_plugin_descriptor(f, 1);
  EXPECT_EQ(d->struct_size, sizeof(otd_plugin_descriptor_t));
  EXPECT_EQ(d->kind, OTD_KIND_ALGORITHM);
  EXPECT_STREQ(d->id, "org.test.algorithm.full");
  EXPECT_STREQ(d->interface_id, OTD_ALGORITHM_INTERFACE_ID);
  // sdk::descriptor() takes description before url; the struct stores url before description.
  constexpr otd_plugin_descriptor_t kOrder =
      sdk::descriptor(OTD_KIND_BACKEND, "a.b", "n", "1", "v", "the description", "https://url", "i");
  EXPECT_STREQ(kOrder.description, "the description");
  EXPECT_STREQ(kOrder.url, "https://url");
}

TEST(SdkModule, CreateWithUnknownIdIsNotFound) {
  const otd_plugin_factory_t* f = factory();
  const otd_plugin_t* out = nullptr;
  char err[OTD_ERROR_CAP] = {};
  EXPECT_EQ(f->create_plugin(f, fake_host(), "org.test.nope", &out, err, sizeof err), OTD_ERR_NOT_FOUND);
  EXPECT_EQ(out, nullptr);
  EXPECT_NE(std::string(err).find("org.test.nope"), std::string::npos) << err;
  EXPECT_EQ(f->create_plugin(f, fake_host(), nullptr, &out, err, sizeof err), OTD_ERR_INVALID_ARG);
  EXPECT_EQ(f->create_plugin(f, fake_host(), "org.test.algorithm.minimal", nullptr, err, sizeof err),
            OTD_ERR_INVALID_ARG);
}

TEST(SdkModule, InstanceIsWiredAndDestroyFrees) {
  g_config = "{}";
  const int destroyed_before = g_destroyed;
  Instance inst("org.test.algorithm.minimal");
  ASSERT_EQ(inst.status(), OTD_OK) << inst.error();
  const otd_plugin_t* p = inst.get();
  EXPECT_EQ(p->struct_size, sizeof(otd_plugin_t));
  EXPECT_EQ(p->desc, &kMinimalDesc);
  EXPECT_NE(p->plugin_data, nullptr);
  EXPECT_NE(p->init, nullptr);
  EXPECT_NE(p->destroy, nullptr);
  EXPECT_NE(p->get_interface, nullptr);
  EXPECT_EQ(p->self_test, nullptr) << "no has_self_test(): no self_test pointer";
  EXPECT_EQ(p->get_interface(p, nullptr), nullptr);
  EXPECT_EQ(p->get_interface(p, "otedama.algorithm/2"), nullptr);
  char err[OTD_ERROR_CAP] = {};
  EXPECT_EQ(p->init(p, err, sizeof err), OTD_OK);
  inst.destroy();
  EXPECT_EQ(g_destroyed, destroyed_before + 1) << "destroy() must delete the C++ object";
}

TEST(SdkModule, InitAndSelfTestErrorsCarryStatusAndMessage) {
  // A configuration longer than the SDK's first 256-byte buffer: Host::config_json() must retry.
  g_config = "{\"mode\":\"fail\",\"pad\":\"" + std::string(400, 'p') + "\"}";
  const int init_before = g_initialised;
  Instance inst("org.test.algorithm.full");
  ASSERT_EQ(inst.status(), OTD_OK) << inst.error();
  const otd_plugin_t* p = inst.get();
  ASSERT_NE(p->self_test, nullptr);
  char err[OTD_ERROR_CAP] = {};
  EXPECT_EQ(p->init(p, err, sizeof err), OTD_ERR_INVALID_ARG);
  EXPECT_EQ(g_initialised, init_before + 1);
  EXPECT_EQ(std::string(err), "config says fail (" + std::to_string(g_config.size()) + " bytes)");

  g_config = "{\"bad-kat\":1}";
  EXPECT_EQ(p->self_test(p, err, sizeof err), OTD_ERR_SELF_TEST);
  EXPECT_STREQ(err, "known-answer mismatch: expected 01, got 02");
  g_config = "{}";
  EXPECT_EQ(p->self_test(p, err, sizeof err), OTD_OK);
  EXPECT_EQ(p->init(p, err, sizeof err), OTD_OK);
}

// ===========================================================================================================
// Host wrapper

TEST(SdkHost, LogAndServices) {
  g_log.clear();
  const sdk::Host host(fake_host());
  host.info("hello");
  host.logf(OTD_LOG_WARN, "%d devices", 3);
  ASSERT_EQ(g_log.size(), 2u);
  EXPECT_EQ(g_log[0], "2:hello");
  EXPECT_EQ(g_log[1], "3:3 devices");
  EXPECT_EQ(host.service<otd_usb_service_t>(OTD_SERVICE_USB), nullptr);
  EXPECT_EQ(host.service<otd_timer_service_t>(OTD_SERVICE_TIMER), nullptr) << "struct_size 0 is refused";
  EXPECT_EQ(host.service<otd_serial_service_t>(OTD_SERVICE_SERIAL), &kSerial);

  const sdk::Host none(nullptr);
  none.info("dropped");  // no crash without a host
  EXPECT_EQ(none.config_json(), "{}");
  EXPECT_EQ(none.service<otd_serial_service_t>(OTD_SERVICE_SERIAL), nullptr);
}

}  // namespace
