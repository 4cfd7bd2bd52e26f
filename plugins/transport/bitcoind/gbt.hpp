// getblocktemplate (BIP 22/23) answers -> lib/otedama/bitcoin's BlockTemplate, and submitblock answers -> a
// verdict. No sockets here: the plugin's RPC layer hands the parsed `result` over, tests hand recorded ones.
//
// Every field is checked: a missing or mistyped one, a hash that is not 64 hex digits, transaction data that
// does not hash to its stated txid/hash, a `depends` index that points forward; the error names the field
// ("transactions[3].data: ...", "bits: ...").
//
// Thread safety: pure functions.
#pragma once

#include "json.hpp"  // the strict JSON reader (plugins/transport/stratum-server)

#include <otedama/bitcoin/block.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace otedama::bitcoind {

namespace json = otedama::stratum::json;

/// The rules a pool asks for: segwit always; Litecoin also mweb (litecoind refuses a template without it
/// once MWEB is active).
[[nodiscard]] std::string getblocktemplate_params(bool litecoin, std::string_view longpollid = {});

/// Parse getblocktemplate's `result` object.
[[nodiscard]] std::optional<bitcoin::BlockTemplate> parse_block_template(const json::Value& result, std::string* error = nullptr);

/// Parse a whole JSON text that is getblocktemplate's result (or an object with it under "result").
[[nodiscard]] std::optional<bitcoin::BlockTemplate> parse_block_template_text(std::string_view text, std::string* error = nullptr);

/// The limits for node replies: a mainnet template has thousands of transactions.
[[nodiscard]] json::Limits node_reply_limits() noexcept;

/// submitblock's answer (BIP 22): null = accepted, a string = the reason it was refused.
struct SubmitVerdict {
    bool accepted = false;
    std::string reason;  ///< "high-hash", "duplicate", "inconclusive" ...; empty when accepted
};
[[nodiscard]] SubmitVerdict submit_verdict(const json::Value& result);

}  // namespace otedama::bitcoind
