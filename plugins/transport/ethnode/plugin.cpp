// The ethnode transport: an Ethereum-style node serving getWork (core-geth for ethash / etchash) as the
// pool's job source (pool.source: ethnode).
//
// Every node.poll_interval the active node is asked eth_syncing: false is healthy, a sync status object is
// DEGRADED (its work would be stale). A healthy node is then asked eth_getWork; work whose header hash
// changed is posted to the host (lib ethnode.hpp maps it): CLEAN when the block number or seed changed, or
// after the node was unhealthy; a new header at the same height (geth rebuilds the header when the pending
// transactions change) is a new job that leaves the older ones valid. submit_block sends eth_submitWork
// [nonce, header hash, mix digest]; true becomes an OTD_EVENT_BLOCK FOUND, false REJECTED ("the node
// refused the solution (stale or invalid)"). The block event carries the header (seal) hash: the sealed
// block's own hash needs the RLP header, which getWork does not give.
//
// Failover (as monerod): nodes are tried in order; an RPC error, a malformed reply or a syncing node moves
// to the next one at once; while not on the first, the first is probed every poll and taken back as soon as
// it is synced. When no node is usable the status goes DOWN (no answer) or DEGRADED (syncing), logged once
// per change with an OTD_EVENT_STATUS, and an OTD_TEMPLATE_WITHDRAW template stops mining the stale work.
//
// Settings (the `node` section, docs/config.md "Coin nodes"): daemons, coin (ETH for ethash, ETC for
// etchash), poll_interval; payout_address and reserve_size are not used (the node's own etherbase is paid;
// getWork has no extranonce). Under plugins.settings.org.otedama.transport.ethnode also `algorithm`
// (ethash | etchash, default ethash) and `timeout` (RPC timeout, default 10s).
//
// Threads: timers on the control strand, RPC replies on the net service's I/O threads; state under mutex_,
// never held across an RPC call, a host call that may block, or net shutdown.
#include "ethnode.hpp"

#include <otedama/common/flat_json.hpp>
#include <otedama/common/hex.hpp>
#include <otedama/node/jsonrpc.hpp>
#include <otedama/sdk/transport.hpp>

#include <Poco/JSON/Array.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace {

namespace sdk = otedama::sdk;
namespace node = otedama::node;
namespace common = otedama::common;
namespace ethnode = otedama::ethnode;
namespace ethash = otedama::ethash;

enum Counter : size_t { kRpcErrors, kFailovers, kTemplates, kBlocksAccepted, kBlocksRejected, kCounterCount };
constexpr const char* kCounterNames[kCounterCount] = {"rpc_error", "failover", "template", "block_accepted", "block_rejected"};

struct Daemon {
    std::string url;
    std::unique_ptr<node::JsonRpcClient> rpc;
};

Poco::Dynamic::Var no_params() { return Poco::JSON::Array::Ptr(new Poco::JSON::Array); }

class Ethnode final : public sdk::Transport<Ethnode> {
 public:
    static constexpr uint32_t kRoles = OTD_TRANSPORT_JOB_SOURCE;
    using Transport::Transport;

    void init() override {
        const std::string text = host().config_json();
        std::string why;
        const auto json = node::parse_json(text, &why);
        const auto cfg = json ? node::as_object(*json) : nullptr;
        if (cfg.isNull()) throw sdk::Error(OTD_ERR_INVALID_ARG, "ethnode: configuration is not a JSON object: " + why);
        auto bad = [](const std::string& key, const std::string& what) { return sdk::Error(OTD_ERR_INVALID_ARG, "node." + key + ": " + what); };
        for (const auto& key : cfg->getNames()) {
            const Poco::Dynamic::Var v = cfg->get(key);
            if (key == "daemons") {
                if (v.type() != typeid(Poco::JSON::Array::Ptr)) throw bad(key, "expected a list of {url, user, pass, cookie_file}");
                const auto list = v.extract<Poco::JSON::Array::Ptr>();
                for (std::size_t i = 0; i < list->size(); ++i) {
                    const auto d = node::as_object(list->get(static_cast<unsigned>(i)));
                    const std::string at = key + "[" + std::to_string(i) + "]";
                    if (d.isNull()) throw bad(at, "expected a map {url, user, pass, cookie_file}");
                    DaemonConfig dc;
                    for (const auto& f : d->getNames()) {
                        const auto s = node::get_string(d, f, &why);
                        if (!s) throw bad(at + "." + f, why);
                        if (f == "url") dc.url = *s;
                        else if (f == "user") dc.auth.user = *s;
                        else if (f == "pass") dc.auth.pass = *s;
                        else if (f == "cookie_file") dc.auth.cookie_file = *s;
                        else if (f == "zmq") dc.zmq = *s;
                        else throw bad(at + "." + f, "unknown key (known: url, user, pass, cookie_file)");
                    }
                    const auto url = node::parse_url(dc.url, &why);
                    if (!url) throw bad(at + ".url", why);
                    dc.parsed = *url;
                    if (dc.parsed.path.empty()) dc.parsed.path = "/";
                    daemon_configs_.push_back(std::move(dc));
                }
            } else if (key == "payout_address" || key == "coin" || key == "algorithm") {
                const auto s = node::get_string(cfg, key, &why);
                if (!s) throw bad(key, why);
                (key == "payout_address" ? payout_address_ : key == "coin" ? coin_ : algorithm_) = *s;
            } else if (key == "poll_interval" || key == "timeout") {
                const auto s = node::get_string(cfg, key, &why);
                const auto ms = s ? common::parse_duration_ms(*s, &why) : std::nullopt;
                if (!ms || *ms < 10 || *ms > 3'600'000) throw bad(key, "expected a duration from 10ms to 1h" + (why.empty() ? "" : " (" + why + ")"));
                (key == "poll_interval" ? poll_ms_ : timeout_ms_) = *ms;
            } else if (key == "reserve_size") {
                // The node section's key for monerod; getWork has no extranonce space.
            } else {
                throw bad(key, "unknown key (known: daemons, coin, poll_interval, algorithm, timeout; payout_address and reserve_size are not used)");
            }
        }
        if (algorithm_.empty()) algorithm_ = "ethash";
        if (algorithm_ == "ethash") variant_ = &ethash::kEthash;
        else if (algorithm_ == "etchash") variant_ = &ethash::kEtchash;
        else throw bad("algorithm", "'" + algorithm_ + "' is not served by eth_getWork here (known: ethash, etchash)");
        if (coin_.empty()) coin_ = algorithm_ == "etchash" ? "ETC" : "ETH";
    }

    void start() {
        if (daemon_configs_.empty()) throw sdk::Error(OTD_ERR_INVALID_ARG, "ethnode: node.daemons is empty: name at least one node, e.g. - {url: http://127.0.0.1:8545}");
        jobs_ = host().service<otd_jobs_service_t>(OTD_SERVICE_JOBS);
        timers_ = host().service<otd_timer_service_t>(OTD_SERVICE_TIMER);
        net_ = host().service<otd_net_service_t>(OTD_SERVICE_NET);
        if (jobs_ == nullptr || timers_ == nullptr || net_ == nullptr)
            throw sdk::Error(OTD_ERR_UNSUPPORTED, "ethnode needs the host's otedama.jobs/1, otedama.timer/1 and otedama.net/1 services");
        register_metrics();
        for (const auto& dc : daemon_configs_) {
            node::JsonRpcClient::Options o;
            o.http.url = dc.parsed;
            o.http.auth = dc.auth;
            o.http.timeout_ms = static_cast<uint32_t>(timeout_ms_);
            o.http.max_body = 1024 * 1024;
            o.http.user_agent = "otedama-ethnode";
            o.version = "2.0";
            daemons_.push_back(Daemon{dc.parsed.endpoint(), std::make_unique<node::JsonRpcClient>(host().raw(), net_, std::move(o))});
            if (!dc.zmq.empty()) host().logf(OTD_LOG_INFO, "ethnode: %s: zmq is not used by Ethereum nodes; ignored", dc.parsed.endpoint().c_str());
        }
        if (!payout_address_.empty())
            host().logf(OTD_LOG_INFO, "ethnode: node.payout_address is not used: getWork blocks pay the node's own etherbase (core-geth --miner.etherbase)");
        const otd_status_t st = timers_->start(host().raw(), static_cast<uint32_t>(poll_ms_), 1, &Ethnode::on_tick, this, &timer_);
        if (st != OTD_OK) throw sdk::Error(st, "ethnode: cannot start its poll timer");
        host().logf(OTD_LOG_INFO, "ethnode: %zu node(s), first %s, %s %s, poll every %llu ms", daemons_.size(), daemons_[0].url.c_str(), coin_.c_str(), algorithm_.c_str(),
                    static_cast<unsigned long long>(poll_ms_));
        poll();
    }

    void stop() {
        if (timer_ != nullptr) timers_->cancel(host().raw(), timer_);
        timer_ = nullptr;
        {
            std::lock_guard lock(mutex_);
            stopped_ = true;
        }
        if (net_ != nullptr) net_->shutdown(host().raw());
        for (auto& d : daemons_) d.rpc->shutdown();
        flush_metrics();
    }

    otd_transport_status_t status() {
        auto s = sdk::make_struct<otd_transport_status_t>();
        std::lock_guard lock(mutex_);
        s.state = state_;
        s.connections = state_ == OTD_STATUS_UP ? 1 : 0;
        s.templates = counters_[kTemplates].load();
        s.submissions = blocks_submitted_;
        sdk::copy_field(s.endpoint, daemons_.empty() ? std::string() : daemons_[active_].url);
        sdk::copy_field(s.message, message_);
        return s;
    }

    void submit_block(const otd_block_t& block) {
        if (block.tmpl == nullptr || block.header == nullptr) throw sdk::Error(OTD_ERR_INVALID_ARG, "ethnode: the block has no template or header");
        const otd_template_t& t = *block.tmpl;
        if (t.blob == nullptr || t.blob_size != 32) throw sdk::Error(OTD_ERR_INVALID_ARG, "ethnode: the block's template has no 32-byte header hash");
        if (block.header_size != 40 || !std::equal(t.blob, t.blob + 32, block.header))
            throw sdk::Error(OTD_ERR_INVALID_ARG, "ethnode: the solved header is not the template's header hash (32 bytes) + nonce (8)");
        ethnode::Hash header{}, mix{};
        std::copy(t.blob, t.blob + 32, header.begin());
        std::copy(block.mix, block.mix + 32, mix.begin());
        std::size_t target = 0;
        {
            std::lock_guard lock(mutex_);
            ++blocks_submitted_;
            target = active_;
        }
        host().logf(OTD_LOG_INFO, "ethnode: submitting block %llu (header %s, nonce 0x%016llx) to %s", static_cast<unsigned long long>(t.height),
                    common::to_hex(header).c_str(), static_cast<unsigned long long>(block.nonce), daemons_[target].url.c_str());
        send_block(ethnode::submit_params(header, block.nonce, mix), header, t.height, target, 0);
    }

 private:
    struct DaemonConfig {
        std::string url;
        node::Url parsed;
        node::Auth auth;
        std::string zmq;
    };

    // ---- polling and failover

    static void OTD_CALL on_tick(void* user) noexcept {
        auto* self = static_cast<Ethnode*>(user);
        try {
            self->poll();
            self->flush_metrics();
        } catch (const std::exception& e) {
            self->host().error(std::string("ethnode: poll failed: ") + e.what());
        } catch (...) {
        }
    }

    void poll() {
        std::size_t target = 0;
        bool probe_first = false;
        {
            std::lock_guard lock(mutex_);
            if (stopped_ || polling_) return;
            polling_ = true;
            round_tried_ = 0;
            round_degraded_ = false;
            target = active_;
            probe_first = active_ != 0 && !probing_;
            if (probe_first) probing_ = true;
        }
        if (probe_first) probe(0);
        ask_syncing(target);
    }

    void ask_syncing(std::size_t index) {
        daemons_[index].rpc->call("eth_syncing", no_params(), [this, index](const node::Error& e, Poco::Dynamic::Var result) { on_syncing(index, e, std::move(result)); });
    }

    /// While failed over: is the first node synced again? Then it becomes the active one.
    void probe(std::size_t index) {
        daemons_[index].rpc->call("eth_syncing", no_params(), [this, index](const node::Error& e, Poco::Dynamic::Var result) {
            std::string why;
            const auto syncing = e ? std::nullopt : ethnode::parse_syncing(result, &why);
            const bool healthy = syncing && !*syncing;
            std::lock_guard lock(mutex_);
            probing_ = false;
            if (healthy && active_ != index && !stopped_) {
                host().logf(OTD_LOG_INFO, "ethnode: %s is synced again: back to it from %s", daemons_[index].url.c_str(), daemons_[active_].url.c_str());
                active_ = index;
                last_header_.reset();  // post its work on the next round
            }
        });
    }

    void on_syncing(std::size_t index, const node::Error& e, Poco::Dynamic::Var result) {
        if (e.kind == node::ErrorKind::shutdown) {
            std::lock_guard lock(mutex_);
            polling_ = false;
            return;
        }
        std::string why;
        const auto syncing = e ? std::nullopt : ethnode::parse_syncing(result, &why);
        if (!syncing) {
            count(kRpcErrors);
            daemon_failed(index, OTD_STATUS_DOWN, e ? e.message : daemons_[index].url + ": " + why);
            return;
        }
        if (*syncing) {
            daemon_failed(index, OTD_STATUS_DEGRADED, daemons_[index].url + " " + why);
            return;
        }
        ask_work(index);
    }

    void ask_work(std::size_t index) {
        daemons_[index].rpc->call("eth_getWork", no_params(), [this, index](const node::Error& e, Poco::Dynamic::Var result) {
            if (e.kind == node::ErrorKind::shutdown) {
                std::lock_guard lock(mutex_);
                polling_ = false;
                return;
            }
            std::string why;
            std::optional<ethnode::Work> w;
            if (!e) {
                std::shared_ptr<const ethnode::Work> previous;
                {
                    std::lock_guard lock(mutex_);
                    previous = last_work_;
                }
                w = ethnode::parse_work(result, *variant_, previous.get(), &why);
            }
            if (e || !w) {
                count(kRpcErrors);
                daemon_failed(index, OTD_STATUS_DOWN, e ? e.message : daemons_[index].url + ": " + why);
                return;
            }
            post_work(index, std::move(*w));
        });
    }

    void post_work(std::size_t index, ethnode::Work w) {
        uint32_t flags = 0;
        {
            std::lock_guard lock(mutex_);
            polling_ = false;
            if (stopped_) return;
            if (state_ == OTD_STATUS_UP && last_header_ && *last_header_ == w.header_hash) return;  // the same work
            const bool clean = state_ != OTD_STATUS_UP || last_work_ == nullptr || last_work_->height != w.height || last_work_->seed != w.seed;
            if (clean) flags |= OTD_TEMPLATE_CLEAN;
            last_header_ = w.header_hash;
            w.source_job_id = std::to_string(w.height) + "-" + std::to_string(++template_seq_);
            last_work_ = std::make_shared<ethnode::Work>(w);
            current_ = last_work_;
        }
        set_state(OTD_STATUS_UP, "mining on " + daemons_[index].url + " at height " + std::to_string(w.height));
        std::shared_ptr<const ethnode::Work> cur;
        {
            std::lock_guard lock(mutex_);
            cur = current_;
        }
        if (!cur) return;
        const otd_template_t view = cur->view(coin_, algorithm_, flags);
        uint64_t job = 0;
        char err[OTD_ERROR_CAP] = {};
        const otd_status_t st = jobs_->submit_template(host().raw(), &view, &job, err, sizeof err);
        if (st != OTD_OK) {
            count(kRpcErrors);
            host().logf(OTD_LOG_ERROR, "ethnode: the host refused work %s: %s", cur->source_job_id.c_str(), err);
            return;
        }
        count(kTemplates);
        host().logf(OTD_LOG_DEBUG, "ethnode: work %s (height %llu, epoch %llu, header %s%s) -> job %llu", cur->source_job_id.c_str(),
                    static_cast<unsigned long long>(cur->height), static_cast<unsigned long long>(cur->epoch), common::to_hex(cur->header_hash).c_str(),
                    (flags & OTD_TEMPLATE_CLEAN) != 0U ? ", clean" : "", static_cast<unsigned long long>(job));
    }

    void daemon_failed(std::size_t index, uint32_t state, const std::string& why) {
        std::size_t next = 0;
        bool try_next = false;
        bool degraded = false;
        {
            std::lock_guard lock(mutex_);
            if (stopped_ || index != active_) {
                polling_ = false;
                return;
            }
            ++round_tried_;
            round_degraded_ = round_degraded_ || state == OTD_STATUS_DEGRADED;
            if (round_tried_ < daemons_.size()) {
                next = (index + 1) % daemons_.size();
                host().logf(state_ == OTD_STATUS_UP ? OTD_LOG_WARN : OTD_LOG_DEBUG, "ethnode: %s; trying %s", why.c_str(), daemons_[next].url.c_str());
                active_ = next;
                last_header_.reset();
                try_next = true;
            } else {
                polling_ = false;
                degraded = round_degraded_;
                active_ = 0;
            }
        }
        if (try_next) {
            count(kFailovers);
            ask_syncing(next);
            return;
        }
        set_state(degraded ? OTD_STATUS_DEGRADED : state, daemons_.size() > 1 ? "no usable node: " + why : why);
    }

    void set_state(uint32_t state, const std::string& message) {
        bool changed = false, withdraw = false;
        std::shared_ptr<const ethnode::Work> last;
        {
            std::lock_guard lock(mutex_);
            const std::string kind = daemons_.size() > 1 ? std::string("all") : daemons_.empty() ? std::string() : daemons_[0].url;
            changed = state != state_ || (state != OTD_STATUS_UP && kind != message_kind_);
            withdraw = state != OTD_STATUS_UP && (state_ == OTD_STATUS_UP || !withdrawn_);
            if (withdraw) withdrawn_ = true;
            if (state == OTD_STATUS_UP) withdrawn_ = false;
            state_ = state;
            message_ = message;
            message_kind_ = kind;
            last = current_;
            if (state != OTD_STATUS_UP) {
                last_header_.reset();
                current_ = nullptr;
            }
        }
        if (withdraw) {
            otd_template_t t = last ? last->view(coin_, algorithm_, 0) : sdk::make_struct<otd_template_t>();
            if (!last) {
                t.coin = coin_.c_str();
                t.algorithm = algorithm_.c_str();
            }
            t.flags = OTD_TEMPLATE_WITHDRAW;
            uint64_t job = 0;
            char err[OTD_ERROR_CAP] = {};
            if (jobs_->submit_template(host().raw(), &t, &job, err, sizeof err) != OTD_OK)
                host().logf(OTD_LOG_ERROR, "ethnode: the host refused the withdrawal of the work: %s", err);
        }
        if (!changed) return;
        if (state == OTD_STATUS_UP) {
            host().logf(OTD_LOG_INFO, "ethnode: node up: %s", message.c_str());
        } else {
            host().logf(OTD_LOG_WARN, "ethnode: node %s: %s; no work is issued until a node is healthy", state == OTD_STATUS_DOWN ? "down" : "degraded", message.c_str());
        }
        otd_event_status_t ev{};
        ev.header.size = sizeof ev;
        ev.header.type = OTD_EVENT_STATUS;
        ev.state = state;
        sdk::copy_field(ev.component, "node:" + (daemons_.empty() ? std::string() : daemons_[active_index()].url));
        sdk::copy_field(ev.message, message);
        host().post_event(ev.header);
    }

    std::size_t active_index() {
        std::lock_guard lock(mutex_);
        return active_;
    }

    // ---- blocks

    void send_block(Poco::JSON::Array::Ptr params, ethnode::Hash header, uint64_t height, std::size_t index, std::size_t attempt) {
        daemons_[index].rpc->call("eth_submitWork", params, [this, params, header, height, index, attempt](const node::Error& e, Poco::Dynamic::Var result) {
            if (!e) {
                if (!result.isEmpty() && result.type() == typeid(bool)) {
                    if (result.extract<bool>()) {
                        count(kBlocksAccepted);
                        host().logf(OTD_LOG_INFO, "ethnode: block %llu (header %s) accepted by %s", static_cast<unsigned long long>(height), common::to_hex(header).c_str(),
                                    daemons_[index].url.c_str());
                        post_block_event(OTD_BLOCK_FOUND, header, height);
                        refresh_now();
                        return;
                    }
                    count(kBlocksRejected);
                    host().logf(OTD_LOG_WARN, "ethnode: block %llu (header %s) rejected by %s: the node refused the solution (stale or invalid)",
                                static_cast<unsigned long long>(height), common::to_hex(header).c_str(), daemons_[index].url.c_str());
                    post_block_event(OTD_BLOCK_REJECTED, header, height);
                    return;
                }
                count(kRpcErrors);
                host().logf(OTD_LOG_ERROR, "ethnode: block %llu (header %s): eth_submitWork answered %s, not true or false; counted as rejected",
                            static_cast<unsigned long long>(height), common::to_hex(header).c_str(), node::to_json(result).substr(0, 200).c_str());
                post_block_event(OTD_BLOCK_REJECTED, header, height);
                return;
            }
            if (e.kind == node::ErrorKind::rpc_error) {
                count(kBlocksRejected);
                host().logf(OTD_LOG_WARN, "ethnode: block %llu (header %s) rejected: %s", static_cast<unsigned long long>(height), common::to_hex(header).c_str(), e.message.c_str());
                post_block_event(OTD_BLOCK_REJECTED, header, height);
                return;
            }
            count(kRpcErrors);
            if (e.kind != node::ErrorKind::shutdown && attempt + 1 < daemons_.size()) {
                const std::size_t next = (index + 1) % daemons_.size();
                host().logf(OTD_LOG_WARN, "ethnode: submitting block %llu to %s failed (%s): trying %s", static_cast<unsigned long long>(height), daemons_[index].url.c_str(),
                            e.message.c_str(), daemons_[next].url.c_str());
                send_block(params, header, height, next, attempt + 1);
                return;
            }
            host().logf(OTD_LOG_ERROR, "ethnode: block %llu (header %s) could not be submitted: %s", static_cast<unsigned long long>(height), common::to_hex(header).c_str(),
                        e.message.c_str());
            post_block_event(OTD_BLOCK_REJECTED, header, height);
        });
    }

    /// New work now (our block moved the tip): a whole round, health first, not only eth_getWork: a node
    /// that went unhealthy while the block was in flight must not hand out work again.
    void refresh_now() { poll(); }

    void post_block_event(uint32_t state, const ethnode::Hash& header, uint64_t height) {
        otd_event_block_t ev{};
        ev.header.size = sizeof ev;
        ev.header.type = OTD_EVENT_BLOCK;
        ev.state = state;
        ev.height = height;
        std::copy(header.begin(), header.end(), ev.hash);
        ev.reward = 0;
        sdk::copy_field(ev.coin, coin_);
        host().post_event(ev.header);
    }

    // ---- metrics

    void count(Counter c) { counters_[c].fetch_add(1); }

    void register_metrics() {
        if (metric_registered_ || host().raw() == nullptr || host().raw()->metric_register == nullptr) return;
        static const char* const kLabels[] = {"event"};
        auto desc = sdk::make_struct<otd_metric_desc_t>();
        desc.type = OTD_METRIC_COUNTER;
        desc.name = "node_events_total";
        desc.help = "Coin node job source: RPC errors, failovers, templates posted, blocks accepted and rejected, by event";
        desc.unit = "";
        desc.label_count = 1;
        desc.label_names = kLabels;
        metric_registered_ = host().raw()->metric_register(host().raw(), &desc, &metric_) == OTD_OK;
    }

    void flush_metrics() {
        if (!metric_registered_) return;
        for (size_t i = 0; i < kCounterCount; ++i) {
            const uint64_t now = counters_[i].load();
            if (now == reported_[i]) continue;
            const char* label[] = {kCounterNames[i]};
            host().raw()->metric_update(host().raw(), metric_, label, static_cast<double>(now - reported_[i]));
            reported_[i] = now;
        }
    }

    // configuration
    std::vector<DaemonConfig> daemon_configs_;
    std::string payout_address_;
    std::string coin_;
    std::string algorithm_;
    const ethash::Variant* variant_ = &ethash::kEthash;
    uint64_t poll_ms_ = 1000;
    uint64_t timeout_ms_ = 10'000;
    // services
    const otd_jobs_service_t* jobs_ = nullptr;
    const otd_timer_service_t* timers_ = nullptr;
    const otd_net_service_t* net_ = nullptr;
    otd_timer_t* timer_ = nullptr;
    std::vector<Daemon> daemons_;  ///< fixed after start()
    // state (mutex_)
    std::mutex mutex_;
    bool stopped_ = false, polling_ = false, probing_ = false, withdrawn_ = false;
    std::size_t active_ = 0, round_tried_ = 0;
    bool round_degraded_ = false;
    std::optional<ethnode::Hash> last_header_;
    std::shared_ptr<const ethnode::Work> last_work_;  ///< the last work posted (CLEAN decisions, the seed's epoch)
    std::shared_ptr<const ethnode::Work> current_;    ///< what the host mines now (null while withdrawn)
    uint64_t template_seq_ = 0, blocks_submitted_ = 0;
    uint32_t state_ = OTD_STATUS_DOWN;
    std::string message_ = "starting", message_kind_;
    // metrics
    std::array<std::atomic<uint64_t>, kCounterCount> counters_{};
    std::array<uint64_t, kCounterCount> reported_{};
    bool metric_registered_ = false;
    uint32_t metric_ = 0;
};

constexpr otd_plugin_descriptor_t kDescriptor =
    sdk::descriptor(OTD_KIND_TRANSPORT, "org.otedama.transport.ethnode", "ethnode", "0.1.0", "Otedama",
                    "Ethereum-style node job source (core-geth, ethash/etchash): eth_getWork / eth_submitWork over JSON-RPC, node health, failover", "",
                    OTD_TRANSPORT_INTERFACE_ID);

}  // namespace

OTEDAMA_PLUGIN_ENTRY(sdk::plugin_class<Ethnode>(kDescriptor));
