// Known Monero blocks for the tests of lib/otedama/monero and of the randomx plugin.
//
// Regtest blocks recorded from monerod v0.18.0.0 ('Fluorine Fermi', Debian package) run with
// `--regtest --offline --fixed-difficulty 1`, copied from the project's shared node fixtures
// (fixtures/nodes/monero-regtest-block-template.json and monero-regtest-block-template-with-txs.json; see
// their README): get_block_template {reserve_size: 8} answered blocktemplate_blob, blockhashing_blob and
// reserved_offset; the block built from it (extra nonce f000000f00000001 at reserved_offset, nonce 42) was
// accepted by the node (submit_block status OK), which then reported its id, its miner tx hash and its
// RandomX pow_hash (get_last_block_header fill_pow_hash=true; key = seed_hash). The "next" templates are
// the node's get_block_template answers right after each block. Every hash is in Monero's raw byte order.
//
// Mainnet genesis: monero-project/monero src/cryptonote_config.h (config::GENESIS_TX, GENESIS_NONCE 10000;
// generate_genesis_block uses major version 1, minor 0, timestamp 0, zero prev_id). Its id 418015bb... is
// also the regtest chain's seed hash and the prev_id of the height-1 block above (regtest starts from the
// mainnet genesis block), which makes it a check of the v1 miner tx path.
#pragma once

namespace otedama::testing::monero_fixtures {

struct RecordedBlock {
    const char* name;
    unsigned long long height;
    const char* template_blob;          // blocktemplate_blob
    const char* template_hashing_blob;  // the node's blockhashing_blob for it
    unsigned reserved_offset;
    unsigned reserve_size;
    const char* extra_nonce;            // what filled the reserved bytes of the accepted block
    unsigned nonce;
    const char* block_blob;             // the accepted block
    const char* miner_tx_prefix_hash;
    const char* miner_tx_hash;
    const char* tree_root;
    const char* hashing_blob;           // of the accepted block
    const char* block_id;
    const char* seed_hash;
    const char* pow_hash;               // RandomX(seed_hash, hashing_blob) as the node reported it
    unsigned tx_count;                  // other transactions
    const char* next_template_blob;
    const char* next_template_hashing_blob;
};

inline constexpr RecordedBlock kHeight1 = {
    "regtest height 1 (no transactions)",
    1,
    "1010ebed84d806418015bb9ae982a1975da7d79277c2705727a56894ba0fb246adaabb1f4632e300000000023d01ff0101808080f0ffff0703"
    "42449a7b5da57a3970056b6e4a22ea3970b2d7a5f2795def183acef81466208e952b01939c07166335418a1a72c96a602ac079142cc4b0f5b0"
    "556bf32fbea270ae76c8020800000000000000000000",
    "1010ebed84d806418015bb9ae982a1975da7d79277c2705727a56894ba0fb246adaabb1f4632e300000000b4ca2531c232311a4422daf71bc1"
    "ed10ab75b2933d5f8af21be7b5da462ab05a01",
    126,
    8,
    "f000000f00000001",
    42,
    "1010ebed84d806418015bb9ae982a1975da7d79277c2705727a56894ba0fb246adaabb1f4632e32a000000023d01ff0101808080f0ffff0703"
    "42449a7b5da57a3970056b6e4a22ea3970b2d7a5f2795def183acef81466208e952b01939c07166335418a1a72c96a602ac079142cc4b0f5b0"
    "556bf32fbea270ae76c80208f000000f000000010000",
    "8864b225641b7320aeb13fbb60c0de85546fb70cc1acebe9ccf0e635b19a8375",
    "73077137cb6790a61eea1f7fb5aa3e0ff672d5fb96ed4ff2725c46e6637cd1c9",
    "73077137cb6790a61eea1f7fb5aa3e0ff672d5fb96ed4ff2725c46e6637cd1c9",
    "1010ebed84d806418015bb9ae982a1975da7d79277c2705727a56894ba0fb246adaabb1f4632e32a00000073077137cb6790a61eea1f7fb5aa"
    "3e0ff672d5fb96ed4ff2725c46e6637cd1c901",
    "a5b0379586f1b8b6d92f4fe60db8a6c38cf259b9391a1e75b28f6a2f2b0c0762",
    "418015bb9ae982a1975da7d79277c2705727a56894ba0fb246adaabb1f4632e3",
    "e05eae2a55224deba32d064fef49590bf95522b0d3bdc67cd28f746d1e968ce8",
    0,
    "1010ebed84d806a5b0379586f1b8b6d92f4fe60db8a6c38cf259b9391a1e75b28f6a2f2b0c076200000000023e01ff0201c08080d0ffff0703"
    "21d1c8f176ca2d836397e97e3f4f678c32f2ce5c0b2e25322c37ee46611ff3719d2b01b7e8327ca6799c6628f2e6178fee93291b03cc136d3b"
    "12c3bfc323e0664aab15020800000000000000000000",
    "1010ebed84d806a5b0379586f1b8b6d92f4fe60db8a6c38cf259b9391a1e75b28f6a2f2b0c07620000000023d51bdbb7a584ddc82ebcc56c0c"
    "a6dad6613e2c7c3dac89bac0c449eb85e1db01",
};

inline constexpr RecordedBlock kHeight123 = {
    "regtest height 123 (4 pool transactions)",
    123,
    "1010d8ee84d80676a9ea19f76a55cdee49d5f1e588dc0348d2656d7ca45ee264e90c4e8db8c6880000000002b70101ff7b01b7a5bd99888008"
    "03f5879ace67b573c0134fafa6546caf2bd1ad37b6e4579806268a7e1429bc938e772b017a1ad606012a259537837077917efdf44296467012"
    "aa6fccd9e0e74c2f291b4c020800000000000000000004a463db02d63ae882a492b9479eb9d3840e2cd1c6839059cb4e06918f4c9fa5a3db9f"
    "c80c4d036f11b58e9f1fd83e2f1f0cc6ed0d175e32e21651b4e790bf13574b4055b96394847135c5faba6fb5d8a13bd88803b64e58d2a7b148"
    "89b9db4c5073e3ffe95038ab36a165872a2c980f31fa1d4bc0fab7d6a97db7ba54c6df60f3",
    "1010d8ee84d80676a9ea19f76a55cdee49d5f1e588dc0348d2656d7ca45ee264e90c4e8db8c68800000000c5119ece23130956d18ba12dc3de"
    "76660642f4f69239d8d5ab174e7d6465ddda05",
    127,
    8,
    "f000000f00000001",
    42,
    "1010d8ee84d80676a9ea19f76a55cdee49d5f1e588dc0348d2656d7ca45ee264e90c4e8db8c6882a00000002b70101ff7b01b7a5bd99888008"
    "03f5879ace67b573c0134fafa6546caf2bd1ad37b6e4579806268a7e1429bc938e772b017a1ad606012a259537837077917efdf44296467012"
    "aa6fccd9e0e74c2f291b4c0208f000000f000000010004a463db02d63ae882a492b9479eb9d3840e2cd1c6839059cb4e06918f4c9fa5a3db9f"
    "c80c4d036f11b58e9f1fd83e2f1f0cc6ed0d175e32e21651b4e790bf13574b4055b96394847135c5faba6fb5d8a13bd88803b64e58d2a7b148"
    "89b9db4c5073e3ffe95038ab36a165872a2c980f31fa1d4bc0fab7d6a97db7ba54c6df60f3",
    "8af36f7f841fc16a05b0370dc5281c144d209f5a520d34a9105012f6ccbd6b87",
    "eb9216412db5f93d753c2a1379e1536dcf6be1685b8618ff5eb5a7d9caf21ac6",
    "2a73aa1cf9b047c5f91cc818fa92d570eb6bdb6882b7d45d2ad02f6cea129088",
    "1010d8ee84d80676a9ea19f76a55cdee49d5f1e588dc0348d2656d7ca45ee264e90c4e8db8c6882a0000002a73aa1cf9b047c5f91cc818fa92"
    "d570eb6bdb6882b7d45d2ad02f6cea12908805",
    "7b5c7e0ff194c629bb7e117abb512b90e6f27b0e38c94111ac144b4b08145c2e",
    "418015bb9ae982a1975da7d79277c2705727a56894ba0fb246adaabb1f4632e3",
    "5a9d1196d9523769fa6d849cf91d15eeb793827bb98bcd4e07349b5434494003",
    4,
    "1010d8ee84d8067b5c7e0ff194c629bb7e117abb512b90e6f27b0e38c94111ac144b4b08145c2e0000000002b80101ff7c01f58bbb90e1ff07"
    "03f9a3c1cff5c53317b0645d98fc049062a4fb4a4b4e2d17267765839fb4e2f18ce02b0191584eb49cd7744dcc8d00a4a8084c381115ee6f78"
    "307673b32bc2a5f2eb35c9020800000000000000000000",
    "1010d8ee84d8067b5c7e0ff194c629bb7e117abb512b90e6f27b0e38c94111ac144b4b08145c2e00000000a8d1ab6b7d8f074d5d0277a638b2"
    "20ab2b25103562b617be500cd1dd93f222fb01",
};

inline constexpr const RecordedBlock* kRecorded[] = {&kHeight1, &kHeight123};

// Monero mainnet genesis (v1 miner transaction).
inline constexpr const char* kGenesisTx =
    "013c01ff0001ffffffffffff03029b2e4c0281c0b02e7c53291a94d1d0cbff8883f8024f5142ee494ffbbd08807121017767aafcde9be00d"
    "cfd098715ebcf7f410daebc582fda69d24a28e9d0bc890d1";
inline constexpr unsigned kGenesisNonce = 10000;
inline constexpr const char* kGenesisId = "418015bb9ae982a1975da7d79277c2705727a56894ba0fb246adaabb1f4632e3";

}  // namespace otedama::testing::monero_fixtures
