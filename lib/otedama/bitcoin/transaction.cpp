#include "otedama/bitcoin/transaction.hpp"

#include <otedama/common/sha256.hpp>

namespace otedama::bitcoin {
namespace {

void set_error(std::string* error, std::string text) {
    if (error != nullptr) *error = std::move(text);
}

/// Cursor over a transaction, with errors that name the offset.
struct Reader {
    std::span<const uint8_t> bytes;
    std::size_t pos = 0;
    std::string error;

    bool need(std::size_t n, const char* what) {
        if (bytes.size() - pos < n) {
            if (error.empty())
                error = std::string("truncated ") + what + " at offset " + std::to_string(pos) + " (" + std::to_string(n) +
                        " bytes needed, " + std::to_string(bytes.size() - pos) + " left)";
            return false;
        }
        return true;
    }
    bool skip(std::size_t n, const char* what) {
        if (!need(n, what)) return false;
        pos += n;
        return true;
    }
    std::optional<uint64_t> count(const char* what) {
        std::string why;
        auto v = read_compact_size(bytes, pos, &why);
        if (!v && error.empty()) error = std::string(what) + ": " + why;
        return v;
    }
    bool skip_counted(const char* what) {  // CompactSize length, then that many bytes
        const auto n = count(what);
        return n && skip(static_cast<std::size_t>(*n), what);
    }
};

}  // namespace

void write_compact_size(std::vector<uint8_t>& out, uint64_t value) {
    auto le = [&](uint64_t v, int n) {
        for (int i = 0; i < n; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
    };
    if (value < 0xfd) {
        out.push_back(static_cast<uint8_t>(value));
    } else if (value <= 0xffff) {
        out.push_back(0xfd);
        le(value, 2);
    } else if (value <= 0xffffffffu) {
        out.push_back(0xfe);
        le(value, 4);
    } else {
        out.push_back(0xff);
        le(value, 8);
    }
}

std::optional<uint64_t> read_compact_size(std::span<const uint8_t> bytes, std::size_t& pos, std::string* error) {
    if (pos >= bytes.size()) {
        set_error(error, "truncated CompactSize at offset " + std::to_string(pos));
        return std::nullopt;
    }
    const uint8_t first = bytes[pos];
    std::size_t n = first < 0xfd ? 0 : first == 0xfd ? 2 : first == 0xfe ? 4 : 8;
    if (bytes.size() - pos - 1 < n) {
        set_error(error, "truncated CompactSize at offset " + std::to_string(pos));
        return std::nullopt;
    }
    uint64_t v = first;
    if (n != 0) {
        v = 0;
        for (std::size_t i = 0; i < n; ++i) v |= static_cast<uint64_t>(bytes[pos + 1 + i]) << (8 * i);
        const uint64_t min = n == 2 ? 0xfd : n == 4 ? 0x10000 : 0x100000000ull;
        if (v < min) {
            set_error(error, "non-canonical CompactSize at offset " + std::to_string(pos));
            return std::nullopt;
        }
    }
    pos += 1 + n;
    return v;
}

std::optional<TransactionInfo> parse_transaction(std::span<const uint8_t> bytes, std::string* error) {
    Reader r{bytes, 0, {}};
    TransactionInfo info;
    auto fail = [&]() -> std::optional<TransactionInfo> {
        set_error(error, r.error);
        return std::nullopt;
    };
    if (!r.skip(4, "version")) return fail();
    uint8_t flags = 0;
    if (r.need(2, "input count") && bytes[r.pos] == 0x00) {  // BIP 144 marker (a real tx has inputs)
        flags = bytes[r.pos + 1];
        if (flags == 0 || (flags & ~0x09u) != 0) {
            static constexpr char kHex[] = "0123456789abcdef";
            r.error = std::string("unknown transaction flags 0x") + kHex[flags >> 4] + kHex[flags & 15] + " at offset " + std::to_string(r.pos + 1);
            return fail();
        }
        r.pos += 2;
    }
    const std::size_t vin_start = r.pos;
    const auto vin = r.count("input count");
    if (!vin) return fail();
    if (*vin == 0 && flags == 0) {
        r.error = "transaction without inputs";
        return fail();
    }
    for (uint64_t i = 0; i < *vin; ++i)
        if (!r.skip(36, "input outpoint") || !r.skip_counted("input script") || !r.skip(4, "input sequence")) return fail();
    const auto vout = r.count("output count");
    if (!vout) return fail();
    for (uint64_t i = 0; i < *vout; ++i)
        if (!r.skip(8, "output value") || !r.skip_counted("output script")) return fail();
    const std::size_t vout_end = r.pos;
    if ((flags & 1) != 0) {
        for (uint64_t i = 0; i < *vin; ++i) {
            const auto items = r.count("witness stack size");
            if (!items) return fail();
            for (uint64_t k = 0; k < *items; ++k)
                if (!r.skip_counted("witness item")) return fail();
        }
    }
    if ((flags & 8) != 0) {
        if (!r.need(1, "MWEB transaction marker")) return fail();
        if (bytes[r.pos] != 0) {
            r.error = "MWEB transaction body at offset " + std::to_string(r.pos) + " (a template transaction never carries one)";
            return fail();
        }
        ++r.pos;
    }
    if (!r.skip(4, "locktime")) return fail();
    if (r.pos != bytes.size()) {
        set_error(error, std::to_string(bytes.size() - r.pos) + " trailing bytes after the transaction at offset " + std::to_string(r.pos));
        return std::nullopt;
    }
    // The txid serialisation: version | inputs | outputs | locktime.
    common::Sha256 h;
    h.update(bytes.subspan(0, 4));
    h.update(bytes.subspan(vin_start, vout_end - vin_start));
    h.update(bytes.subspan(bytes.size() - 4));
    const auto first = h.finalize();
    const auto txid = common::sha256(first);
    std::copy(txid.begin(), txid.end(), info.txid.begin());
    info.has_witness = (flags & 1) != 0;
    info.mweb_flag = (flags & 8) != 0;
    if (info.has_witness) {
        const auto w = common::sha256d(bytes);
        std::copy(w.begin(), w.end(), info.wtxid.begin());
    } else {
        info.wtxid = info.txid;
    }
    info.inputs = static_cast<std::size_t>(*vin);
    info.outputs = static_cast<std::size_t>(*vout);
    return info;
}

}  // namespace otedama::bitcoin
