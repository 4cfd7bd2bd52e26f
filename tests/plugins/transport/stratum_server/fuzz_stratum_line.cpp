// libFuzzer target for the stratum server's line handling (clang only: meson builds it, on demand, when the
// compiler is clang: `ninja tests/plugins/transport/stratum_server/fuzz-stratum-line`). Run it with a
// scratch directory first, since libFuzzer writes the inputs it finds into its first corpus directory:
//   mkdir -p /tmp/stratum-corpus && build/tests/plugins/transport/stratum_server/fuzz-stratum-line \
//       -max_len=4096 /tmp/stratum-corpus tests/plugins/transport/stratum_server/corpus
// The same entry point runs over the checked-in corpus in every build (test_corpus_replay.cpp).
#include "fuzz_entry.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return otedama::stratum::fuzz::one_input(data, size);
}
