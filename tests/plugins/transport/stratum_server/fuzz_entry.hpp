// One fuzz entry point for the stratum server's line handling, shared by the libFuzzer target
// (fuzz_stratum_line.cpp, clang builds only) and the corpus replay test (test_corpus_replay.cpp, every
// build), so CI runs the same code over the checked-in corpus even where there is no libFuzzer.
//
// For one input it: parses it with the JSON reader (default and line limits) and walks every value;
// reads it as a JSON-RPC request; then opens a fresh connection on the engine (a Bitcoin-dialect port,
// subscribed and authorized, or for inputs that mention "jsonrpc" a Monero port, logged in; both with a
// job), feeds every '\n'-separated line of the input, answers every candidate the
// engine posted with a verdict (cycling through all of them), and closes the connection. It checks what
// must always hold (every line the engine sends is valid JSON ending in '\n') and aborts otherwise.
#pragma once

#include <cstddef>
#include <cstdint>

namespace otedama::stratum::fuzz {

int one_input(const uint8_t* data, size_t size);

/// Lines the engine sent during the last one_input() call (for the replay test's assertions).
size_t last_output_lines();
/// Whether the engine closed the connection during the last one_input() call.
bool last_closed();
/// Whether the last input went to the Monero (xmrig) port (inputs that mention "jsonrpc") rather than the
/// Bitcoin one.
bool last_was_monero();

}  // namespace otedama::stratum::fuzz
