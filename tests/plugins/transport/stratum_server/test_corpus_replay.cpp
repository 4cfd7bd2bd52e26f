// Replays the checked-in fuzz corpus (corpus/: malformed, hostile and borderline stratum lines) through the
// same entry point the libFuzzer target runs (fuzz_entry.hpp), so every build exercises it, and checks
// what the server promises for each: no crash, every answer valid JSON, and one malformed line never
// closes the connection.
#include "fuzz_entry.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

std::vector<fs::path> corpus_files() {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(STRATUM_CORPUS_DIR))
    if (entry.is_regular_file()) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

TEST(StratumCorpusReplay, TheCorpusIsThere) { EXPECT_GE(corpus_files().size(), 50u); }

TEST(StratumCorpusReplay, EveryInputIsSurvivedAndAnswered) {
  for (const auto& path : corpus_files()) {
    const std::string data = read_file(path);
    SCOPED_TRACE(path.filename().string());
    otedama::stratum::fuzz::one_input(reinterpret_cast<const uint8_t*>(data.data()), data.size());
    // subscribe + authorize (result, set_difficulty, notify), or an xmrig login (one answer with its job),
    // always answer; the rest depends on the input.
    const size_t hello = otedama::stratum::fuzz::last_was_monero() ? 1u : 4u;
    EXPECT_GE(otedama::stratum::fuzz::last_output_lines(), hello);
    const size_t lines = static_cast<size_t>(std::count(data.begin(), data.end(), '\n')) + 1;
    // Files named malformed-* hold malformed lines only: each is answered, and fewer than the strike
    // limit (5 in the fuzz engine) never close the connection.
    if (path.filename().string().rfind("malformed-", 0) == 0) {
      EXPECT_EQ(otedama::stratum::fuzz::last_output_lines(), hello + lines);
      if (lines <= 5) {
        EXPECT_FALSE(otedama::stratum::fuzz::last_closed());
      }
    }
  }
}

TEST(StratumCorpusReplay, EmptyAndHugeInputs) {
  otedama::stratum::fuzz::one_input(nullptr, 0);
  const std::string brackets(20000, '[');
  otedama::stratum::fuzz::one_input(reinterpret_cast<const uint8_t*>(brackets.data()), brackets.size());
  EXPECT_FALSE(otedama::stratum::fuzz::last_was_monero());
  EXPECT_EQ(otedama::stratum::fuzz::last_output_lines(), 5u);
  const std::string xmrig_brackets = "\"jsonrpc\"" + brackets;
  otedama::stratum::fuzz::one_input(reinterpret_cast<const uint8_t*>(xmrig_brackets.data()), xmrig_brackets.size());
  EXPECT_TRUE(otedama::stratum::fuzz::last_was_monero());
  EXPECT_EQ(otedama::stratum::fuzz::last_output_lines(), 2u);
  std::string many;
  for (int i = 0; i < 20; ++i) many += "x\n";
  otedama::stratum::fuzz::one_input(reinterpret_cast<const uint8_t*>(many.data()), many.size());
  EXPECT_TRUE(otedama::stratum::fuzz::last_closed());  // past the strike limit
}
