// The devnet's test_epochs (plugins/transport/devnet/devnet.cpp, OTD_TEMPLATE_TEST_EPOCH in work.h), through
// the whole host on the CPU backend: every template names the tiny geometry, the host prepares that context
// (its own key: never the real epoch's), the CPU backend mines on it, each block is re-verified by the host
// and accepted by the devnet, which checks it on the same geometry. The option is refused for families
// without epochs. Runs everywhere (no GPU, no OpenCL); a few seconds per case.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

namespace fs = std::filesystem;

/// Runs otedama-host with `args` (stdout and stderr); the exit code, or -1 when it did not exit.
int host_command(const std::string& args, std::string& out) {
  const std::string cmd = "env -u OTEDAMA_PLUGIN_PATH '" OTEDAMA_HOST "' " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return -1;
  std::array<char, 4096> buf{};
  size_t n = 0;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

fs::path write_config(const std::string& name, const std::string& algorithm, const std::string& devnet) {
  const fs::path dir = fs::temp_directory_path() / ("otedama-devnet-test-epochs-" + std::to_string(::getpid()) + "-" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "otedama.yaml") << "mining:\n  algorithm: " << algorithm << "\n  enable_cpu: true\n  enable_gpu: false\n  cpu:\n    threads: 1\n"
                                      << "pool:\n  enable: false\nstorage:\n  path: " << (dir / "ledger.db").string()
                                      << "\ndevnet:\n  algorithm: " << algorithm << "\n" << devnet;
  return dir;
}

}  // namespace

TEST(DevnetTestEpochs, TheHostMinesEthashFamilyBlocksOnTheCpu) {
  struct Case {
    const char* algorithm;
    const char* difficulty;  // ethash: expected hashes; kawpow: Bitcoin's unit (1e-6 x 2^32 = about 4300 hashes)
  };
  for (const Case& c : {Case{"ethash", "3000"}, Case{"kawpow", "0.000001"}}) {
    SCOPED_TRACE(c.algorithm);
    const fs::path dir = write_config(c.algorithm, c.algorithm,
                                      std::string("  difficulty: ") + c.difficulty + "\n  block_time: 0\n  refresh: 5s\n  test_epochs: true\n");
    std::string out;
    ASSERT_EQ(host_command("serve --config '" + (dir / "otedama.yaml").string() + "' --run-for 8", out), 0) << out;
    EXPECT_NE(out.find("TEST epochs"), std::string::npos) << out;
    EXPECT_NE(out.find("epoch 0 with the TEST geometry (1031 cache items, 262912 dataset bytes)"), std::string::npos) << out;
    EXPECT_NE(out.find(":test-epoch"), std::string::npos) << "the host keys the test epoch's context apart\n" << out;
    EXPECT_NE(out.find("by local:cpu0"), std::string::npos) << out;
    EXPECT_NE(out.find("block 1 accepted"), std::string::npos) << out;
    EXPECT_EQ(out.find("failed CPU re-verification"), std::string::npos) << out;
    fs::remove_all(dir);
  }
}

TEST(DevnetTestEpochs, RefusedWhereThereAreNoEpochsOrNotABoolean) {
  {
    const fs::path dir = write_config("sha256d", "sha256d", "  test_epochs: true\n");
    std::string out;
    EXPECT_NE(host_command("serve --config '" + (dir / "otedama.yaml").string() + "' --run-for 3", out), 0) << out;
    EXPECT_NE(out.find("devnet.test_epochs is for the Ethereum family (ethash, etchash, kawpow); 'sha256d' has no epochs"), std::string::npos)
        << out;
    fs::remove_all(dir);
  }
  {
    const fs::path dir = write_config("notbool", "ethash", "  test_epochs: 1\n");
    std::string out;
    EXPECT_NE(host_command("serve --config '" + (dir / "otedama.yaml").string() + "' --run-for 3", out), 0) << out;
    EXPECT_NE(out.find("devnet.test_epochs must be true or false, got 1"), std::string::npos) << out;
    fs::remove_all(dir);
  }
}
