// ABI conformance suite: every fixture plugin in tests/conformance/fixtures/ breaks exactly one rule of the
// plugin ABI (CONVENTIONS.md section 1). Loaded after the good in-tree plugins, each must be rejected at its
// own stage with its own reason, listed exactly once, and leave the good plugins loaded and working.
#include "loader/loader.hpp"

#include <otedama/otedama.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <dlfcn.h>
#include <unistd.h>

#ifndef OTEDAMA_TEST_PLUGIN_DIRS
#error "OTEDAMA_TEST_PLUGIN_DIRS (the in-tree plugin build dirs, ':'-separated) must be defined by meson"
#endif
#ifndef OTEDAMA_CONFORMANCE_FIXTURE_DIR
#error "OTEDAMA_CONFORMANCE_FIXTURE_DIR must be defined by meson"
#endif

namespace fs = std::filesystem;
using otedama::loader::Loader;
using otedama::loader::PluginRecord;
using otedama::loader::Stage;

namespace {

constexpr std::string_view kSha256dId = "org.otedama.algorithm.sha256d";

// ---------------------------------------------------------------------------------------------------------
// A fake host: one static table for every plugin. Logs are captured, config is "{}", clocks are real,
// metrics are accepted and dropped, and there are no services.

struct FakeHostState {
  std::mutex mutex;
  std::vector<std::string> log_lines;
  std::vector<std::string> tables_requested;  // plugin ids (or library file names) the loader asked for
};
FakeHostState& fake_state() {
  static FakeHostState state;
  return state;
}

void OTD_CALL fake_log(const otd_host_t*, otd_log_level_t level, const char* message) {
  std::lock_guard lock(fake_state().mutex);
  fake_state().log_lines.push_back(std::to_string(level) + " " + (message != nullptr ? message : "(null)"));
}
otd_status_t OTD_CALL fake_post_event(const otd_host_t*, const otd_event_header_t* event) {
  return event == nullptr ? OTD_ERR_INVALID_ARG : OTD_OK;
}
otd_status_t OTD_CALL fake_get_config(const otd_host_t*, char* buf, size_t cap, size_t* needed) {
  constexpr char kConfig[] = "{}";
  if (needed != nullptr) *needed = sizeof kConfig;
  if (buf == nullptr || cap < sizeof kConfig) return OTD_ERR_BUFFER_TOO_SMALL;
  std::memcpy(buf, kConfig, sizeof kConfig);
  return OTD_OK;
}
uint64_t OTD_CALL fake_monotonic_ns(const otd_host_t*) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count());
}
int64_t OTD_CALL fake_wall_time_ms(const otd_host_t*) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}
otd_status_t OTD_CALL fake_metric_register(const otd_host_t*, const otd_metric_desc_t* desc, uint32_t* metric_id) {
  if (desc == nullptr || metric_id == nullptr) return OTD_ERR_INVALID_ARG;
  *metric_id = 1;
  return OTD_OK;
}
void OTD_CALL fake_metric_update(const otd_host_t*, uint32_t, const char* const*, double) {}
const void* OTD_CALL fake_get_service(const otd_host_t*, const char*) { return nullptr; }

const otd_host_t kFakeHost = {
    static_cast<uint32_t>(sizeof(otd_host_t)),
    OTD_ABI_MAJOR,
    OTD_ABI_MINOR,
    0,
    nullptr,
    "otedama-conformance-test",
    "0.0.0",
    &fake_log,
    &fake_post_event,
    &fake_get_config,
    &fake_monotonic_ns,
    &fake_wall_time_ms,
    &fake_metric_register,
    &fake_metric_update,
    &fake_get_service,
};

otedama::loader::HostTableFactory fake_host_tables() {
  return [](std::string_view plugin_id, uint32_t) -> const otd_host_t* {
    std::lock_guard lock(fake_state().mutex);
    fake_state().tables_requested.emplace_back(plugin_id);
    return &kFakeHost;
  };
}

// ---------------------------------------------------------------------------------------------------------
// Paths from the build

std::vector<fs::path> good_plugin_dirs() {
  std::vector<fs::path> dirs;
  std::string_view rest = OTEDAMA_TEST_PLUGIN_DIRS;
  while (!rest.empty()) {
    const size_t colon = rest.find(':');
    if (colon != 0) dirs.emplace_back(std::string(rest.substr(0, colon)));
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  return dirs;
}

const fs::path kFixtureDir = OTEDAMA_CONFORMANCE_FIXTURE_DIR;

fs::path fixture_path(std::string_view rule) { return kFixtureDir / ("conformance-" + std::string(rule) + ".so"); }

bool is_under(const fs::path& file, const fs::path& dir) {
  return file.parent_path().lexically_normal() == dir.lexically_normal();
}

std::string describe(const PluginRecord& r) {
  return r.path.string() + " [" + r.id + "] " + r.status();
}

std::string describe_all(const Loader& loader) {
  std::string out;
  for (const auto& r : loader.records()) out += "  " + describe(r) + "\n";
  return out;
}

std::vector<const PluginRecord*> records_for(const Loader& loader, const fs::path& path) {
  std::vector<const PluginRecord*> out;
  for (const auto& r : loader.records())
    if (r.path.lexically_normal() == path.lexically_normal()) out.push_back(&r);
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// What each fixture must produce

struct Expectation {
  const char* rule;     // fixture conformance-<rule>.so
  Stage stage;          // where the loader must stop
  std::string reason;   // a distinctive substring of the reason
  const char* id;       // the descriptor id the record must carry, or nullptr (failed before descriptors)
};

const std::vector<Expectation>& expectations() {
  static const std::vector<Expectation> list = {
      {"no-entry", Stage::entry_symbol, "no entry symbol 'otedama_plugin_entry'", nullptr},
      {"wrong-major", Stage::abi_major, "ABI major 2 is not supported (host speaks 1.0)", nullptr},
      {"newer-minor", Stage::negotiate,
       "ABI negotiation failed: plugin needs host ABI 1.7 or newer, host speaks 1.0", nullptr},
      {"failing-init", Stage::init, "init failed (status -1): cannot open /dev/otedama-fixture: No such device",
       nullptr},
      {"no-factory", Stage::factory, "no factory 'otedama.plugin-factory/1'", nullptr},
      {"struct-too-large", Stage::descriptor,
       "descriptor struct_size " + std::to_string(sizeof(otd_plugin_descriptor_t) + 64) +
           " is larger than this host knows (" + std::to_string(sizeof(otd_plugin_descriptor_t)) + ")",
       nullptr},
      {"bad-descriptor", Stage::descriptor, "descriptor field 'vendor' is NULL or empty", nullptr},
      {"duplicate-id", Stage::duplicate_id, "duplicate id 'org.otedama.algorithm.sha256d' (already loaded from ",
       "org.otedama.algorithm.sha256d"},
      {"throws", Stage::create,
       "C++ exception crossed the ABI in create_plugin: fixture exception from create_plugin",
       "org.otedama.conformance.throws"},
      {"null-mandatory", Stage::kind_table, "mandatory function 'verify' is NULL",
       "org.otedama.conformance.null-mandatory"},
      {"failing-self-test", Stage::self_test,
       "self-test failed (status -12): known-answer mismatch: expected 6fe28c0a..., got 00000000...",
       "org.otedama.conformance.failing-self-test"},
  };
  return list;
}

// ---------------------------------------------------------------------------------------------------------
// One loader for the whole suite, loaded the way the host loads: good plugins first, then every fixture.

class Conformance : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    loader_ = std::make_unique<Loader>(fake_host_tables(), otedama::loader::Options{});
    for (const auto& dir : good_plugin_dirs()) loader_->load_directory(dir);
    good_record_count_ = loader_->records().size();
    loader_->load_directory(kFixtureDir);
  }
  static void TearDownTestSuite() { loader_.reset(); }

  static const Loader& loader() { return *loader_; }
  static size_t good_record_count() { return good_record_count_; }

 private:
  static inline std::unique_ptr<Loader> loader_;
  static inline size_t good_record_count_ = 0;
};

class ConformanceFixture : public Conformance, public ::testing::WithParamInterface<Expectation> {};

TEST_P(ConformanceFixture, IsRejectedOnceAtItsStageWithItsReason) {
  const Expectation& want = GetParam();
  const fs::path path = fixture_path(want.rule);
  ASSERT_TRUE(fs::exists(path)) << "fixture not built: " << path;

  const auto records = records_for(loader(), path);
  ASSERT_EQ(records.size(), 1u) << "expected exactly one record for " << path << ", all records:\n"
                                << describe_all(loader());
  const PluginRecord& r = *records.front();
  EXPECT_EQ(r.stage, want.stage) << describe(r) << " (expected stage '"
                                 << otedama::loader::stage_name(want.stage) << "')";
  EXPECT_FALSE(r.loaded());
  EXPECT_NE(r.reason.find(want.reason), std::string::npos)
      << "reason of " << want.rule << " is\n  " << r.reason << "\nexpected it to contain\n  " << want.reason;
  EXPECT_EQ(r.instance, nullptr) << "a rejected plugin must not keep an instance";
  EXPECT_EQ(r.table, nullptr) << "a rejected plugin must not expose a kind table";
  // status() is what --list-plugins prints.
  EXPECT_EQ(r.status(), "rejected at " + std::string(otedama::loader::stage_name(want.stage)) + ": " + r.reason);
  if (want.id != nullptr) {
    EXPECT_EQ(r.id, want.id) << "the descriptor was read, so the listing names the plugin";
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ConformanceFixture, ::testing::ValuesIn(expectations()),
                         [](const ::testing::TestParamInfo<Expectation>& info) {
                           std::string name = info.param.rule;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

TEST_F(Conformance, EveryFixtureFileHasAnExpectation) {
  std::set<std::string> expected;
  for (const auto& e : expectations()) expected.insert(fixture_path(e.rule).filename().string());
  std::set<std::string> built;
  for (const auto& entry : fs::directory_iterator(kFixtureDir)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && name.starts_with("conformance-") && entry.path().extension() == ".so")
      built.insert(name);
  }
  EXPECT_EQ(built, expected) << "every fixture in " << kFixtureDir << " needs a row in expectations(), and back";
}

TEST_F(Conformance, FixturesAddOneRecordEach) {
  // Every fixture library exposes one plugin, so loading the fixtures adds exactly one record per file
  // (a record per library for failures before the descriptors, a record per plugin after).
  EXPECT_EQ(loader().records().size() - good_record_count(), expectations().size()) << describe_all(loader());
}

TEST_F(Conformance, GoodInTreePluginsStillLoaded) {
  const auto dirs = good_plugin_dirs();
  ASSERT_FALSE(dirs.empty());
  size_t good = 0;
  for (const auto& r : loader().records()) {
    const bool in_tree = std::any_of(dirs.begin(), dirs.end(), [&](const fs::path& d) { return is_under(r.path, d); });
    if (!in_tree) continue;
    ++good;
    EXPECT_TRUE(r.loaded()) << "in-tree plugin rejected: " << describe(r);
    EXPECT_NE(r.instance, nullptr) << describe(r);
    EXPECT_NE(r.table, nullptr) << describe(r);
  }
  EXPECT_EQ(good, good_record_count()) << describe_all(loader());
  EXPECT_GE(good, 1u) << "no in-tree plugin was found in " << OTEDAMA_TEST_PLUGIN_DIRS;

  const PluginRecord* sha = loader().find(kSha256dId);
  ASSERT_NE(sha, nullptr) << "the in-tree sha256d plugin is not loaded:\n" << describe_all(loader());
  EXPECT_TRUE(sha->loaded());
  EXPECT_EQ(sha->kind, OTD_KIND_ALGORITHM);
  EXPECT_NE(sha->path.lexically_normal(), fixture_path("duplicate-id").lexically_normal())
      << "the duplicate replaced the first plugin with its id";
  EXPECT_TRUE(std::any_of(dirs.begin(), dirs.end(), [&](const fs::path& d) { return is_under(sha->path, d); }))
      << "sha256d was found at " << sha->path << ", not in an in-tree plugin dir";
  EXPECT_EQ(loader().find_algorithm("sha256d"), sha);
}

TEST_F(Conformance, DuplicateNamesTheFirstPath) {
  const PluginRecord* sha = loader().find(kSha256dId);
  ASSERT_NE(sha, nullptr);
  const auto dup = records_for(loader(), fixture_path("duplicate-id"));
  ASSERT_EQ(dup.size(), 1u);
  EXPECT_NE(dup.front()->reason.find("(already loaded from " + sha->path.string() + ")"), std::string::npos)
      << dup.front()->reason;
}

TEST_F(Conformance, GoodAlgorithmStillWorksAfterTheFixtures) {
  // The host keeps running: the surviving sha256d instance answers a known-answer hash. Expected value:
  // SHA-256(SHA-256("abc")) as raw digest bytes (FIPS 180-2 test vector "abc", hashed twice), which is the
  // internal (little-endian number) byte order abi.h specifies for hashes.
  const PluginRecord* sha = loader().find(kSha256dId);
  ASSERT_NE(sha, nullptr);
  const auto* table = static_cast<const otd_algorithm_t*>(sha->table);
  ASSERT_NE(table, nullptr);
  ASSERT_NE(table->hash, nullptr);
  const uint8_t input[] = {'a', 'b', 'c'};
  uint8_t out[OTD_HASH_SIZE] = {};
  char err[OTD_ERROR_CAP] = {};
  ASSERT_EQ(table->hash(sha->instance, nullptr, input, sizeof input, out, sizeof out, err, sizeof err), OTD_OK) << err;
  static constexpr std::array<uint8_t, OTD_HASH_SIZE> kExpected = {
      0x4f, 0x8b, 0x42, 0xc2, 0x2d, 0xd3, 0x72, 0x9b, 0x51, 0x9b, 0xa6, 0xf6, 0x8d, 0x2d, 0xa7, 0xcc,
      0x5b, 0x2d, 0x60, 0x6d, 0x05, 0xda, 0xed, 0x5a, 0xd5, 0x12, 0x8c, 0xc0, 0x3e, 0x6c, 0x63, 0x58};
  EXPECT_EQ(0, std::memcmp(out, kExpected.data(), kExpected.size()));
}

TEST_F(Conformance, EveryCreatedInstanceGotAHostTable) {
  // The loader asks the host for a table per library (init) and per plugin it creates; the fixtures that
  // reached create (throws, null-mandatory, failing-self-test) were handed one like any good plugin.
  std::lock_guard lock(fake_state().mutex);
  const auto& asked = fake_state().tables_requested;
  for (const char* id : {"org.otedama.conformance.throws", "org.otedama.conformance.null-mandatory",
                         "org.otedama.conformance.failing-self-test"})
    EXPECT_NE(std::find(asked.begin(), asked.end(), id), asked.end()) << id;
  EXPECT_NE(std::find(asked.begin(), asked.end(), kSha256dId), asked.end());
}

// ---------------------------------------------------------------------------------------------------------
// Loaders of their own

TEST(ConformanceLoader, MissingFileIsRejectedAtOpen) {
  Loader loader(fake_host_tables(), {});
  const fs::path missing = kFixtureDir / "conformance-does-not-exist.so";
  ASSERT_FALSE(fs::exists(missing));
  loader.load_file(missing);
  const auto records = records_for(loader, missing);
  ASSERT_EQ(records.size(), 1u) << describe_all(loader);
  EXPECT_EQ(records.front()->stage, Stage::open);
  EXPECT_NE(records.front()->reason.find("cannot open"), std::string::npos) << records.front()->reason;
  EXPECT_EQ(loader.records().size(), 1u);
}

TEST(ConformanceLoader, FileThatIsNotASharedObjectIsRejectedAtOpen) {
  const fs::path bogus = fs::temp_directory_path() / ("otedama-conformance-" + std::to_string(::getpid()) + ".so");
  {
    std::FILE* f = std::fopen(bogus.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::fputs("this is not an ELF file\n", f);
    std::fclose(f);
  }
  Loader loader(fake_host_tables(), {});
  loader.load_file(bogus);
  fs::remove(bogus);
  const auto records = records_for(loader, bogus);
  ASSERT_EQ(records.size(), 1u) << describe_all(loader);
  EXPECT_EQ(records.front()->stage, Stage::open);
  EXPECT_NE(records.front()->reason.find("cannot open"), std::string::npos) << records.front()->reason;
}

TEST(ConformanceLoader, OpenReasonIsTheDlerrorText) {
  // The open stage's reason is "cannot open: <dlerror text>", nothing more: compare with what dlopen itself
  // says about the same file (and nothing like a stale errno appended to it).
  const fs::path missing = kFixtureDir / "conformance-does-not-exist.so";
  ASSERT_EQ(::dlopen(missing.c_str(), RTLD_NOW | RTLD_LOCAL), nullptr);
  const char* text = ::dlerror();
  ASSERT_NE(text, nullptr);
  const std::string expected = std::string("cannot open: ") + text;
  Loader loader(fake_host_tables(), {});
  loader.load_file(missing);
  ASSERT_EQ(loader.records().size(), 1u);
  EXPECT_EQ(loader.records().front().reason, expected);
}

TEST(ConformanceLoader, MissingDirectoryIsNotFatal) {
  Loader loader(fake_host_tables(), {});
  loader.load_directory(kFixtureDir / "no-such-directory");
  EXPECT_TRUE(loader.records().empty());
}

TEST(ConformanceLoader, SameGoodDirectoryTwiceGivesDuplicates) {
  Loader loader(fake_host_tables(), {});
  const auto dirs = good_plugin_dirs();
  for (const auto& dir : dirs) loader.load_directory(dir);
  const size_t first = loader.records().size();
  ASSERT_GE(first, 1u);
  std::vector<std::string> first_ids;
  for (const auto& r : loader.records()) {
    ASSERT_TRUE(r.loaded()) << describe(r);
    first_ids.push_back(r.id);
  }
  for (const auto& dir : dirs) loader.load_directory(dir);
  ASSERT_EQ(loader.records().size(), 2 * first) << describe_all(loader);
  for (size_t i = first; i < loader.records().size(); ++i) {
    const PluginRecord& r = loader.records()[i];
    EXPECT_EQ(r.stage, Stage::duplicate_id) << describe(r);
    EXPECT_NE(r.reason.find("duplicate id '" + r.id + "' (already loaded from "), std::string::npos) << r.reason;
    EXPECT_EQ(r.id, first_ids[i - first]);
  }
  // The first copies stay the ones in use.
  for (size_t i = 0; i < first; ++i) {
    const PluginRecord* found = loader.find(first_ids[i]);
    ASSERT_NE(found, nullptr);
    EXPECT_EQ(found, &loader.records()[i]);
  }
}

TEST(ConformanceLoader, WithoutSelfTestsTheFailingSelfTestFixtureLoads) {
  // Options::run_self_tests = false skips only the known-answer run (the mandatory presence check stays):
  // this proves the failing-self-test fixture is valid in every other respect.
  otedama::loader::Options options;
  options.run_self_tests = false;
  Loader loader(fake_host_tables(), options);
  loader.load_file(fixture_path("failing-self-test"));
  const auto records = records_for(loader, fixture_path("failing-self-test"));
  ASSERT_EQ(records.size(), 1u);
  EXPECT_TRUE(records.front()->loaded()) << describe(*records.front());
}

TEST(ConformanceLoader, FixturesAloneAreRejectedTheSameWay) {
  // Without the good plugins first, only duplicate-id changes: it is the first sha256d id and loads.
  Loader loader(fake_host_tables(), {});
  loader.load_directory(kFixtureDir);
  for (const auto& want : expectations()) {
    const auto records = records_for(loader, fixture_path(want.rule));
    ASSERT_EQ(records.size(), 1u) << want.rule;
    if (std::string_view(want.rule) == "duplicate-id") {
      EXPECT_TRUE(records.front()->loaded()) << describe(*records.front());
    } else {
      EXPECT_EQ(records.front()->stage, want.stage) << describe(*records.front());
    }
  }
}

TEST(ConformanceLoader, DisabledIdIsListedNotCreated) {
  otedama::loader::Options options;
  options.disabled_ids = {std::string(kSha256dId)};
  Loader loader(fake_host_tables(), options);
  for (const auto& dir : good_plugin_dirs()) loader.load_directory(dir);
  loader.load_file(fixture_path("duplicate-id"));
  EXPECT_EQ(loader.find(kSha256dId), nullptr) << describe_all(loader);
  size_t disabled = 0;
  for (const auto& r : loader.records()) {
    if (r.id != kSha256dId) continue;
    EXPECT_EQ(r.stage, Stage::disabled) << describe(r);
    EXPECT_EQ(r.instance, nullptr);
    ++disabled;
  }
  EXPECT_EQ(disabled, 2u) << "the in-tree sha256d and the fixture with the same id are both disabled\n"
                          << describe_all(loader);
}

}  // namespace
