// The monerod transport: a Monero node as the pool's job source (pool.source: monerod, RandomX).
//
// Every node.poll_interval the active daemon is asked get_info (JSON-RPC at /json_rpc). A healthy node
// (synchronized, not busy syncing, height >= target_height, the same nettype as the first node seen) whose
// top block changed, or whose template is older than kTemplateRefreshMs, is asked get_block_template with
// wallet_address = node.payout_address and reserve_size = node.reserve_size; the template is posted to the
// host (CLEAN when prev_hash changed, or after the node was unhealthy). submit_block fills the extranonce and
// the nonce into the template (lib/otedama/monero) and sends it with submit_block; the node's verdict
// becomes an OTD_EVENT_BLOCK FOUND or REJECTED with its reason in the log.
//
// Failover: daemons are tried in order; an RPC error or an unhealthy node moves to the next one at once;
// while not on the first, the first is probed every poll and taken back as soon as it is healthy.
// Health: when no daemon is usable, the status goes DOWN (no answer) or DEGRADED (syncing, another chain)
// with the reason, logged once per change, an OTD_EVENT_STATUS is posted, and the transport posts an
// OTD_TEMPLATE_WITHDRAW template: the host stops mining the stale tip until a node is healthy again.
// New blocks: a daemon with daemons[].zmq (monerod --zmq-pub tcp://127.0.0.1:18083) is subscribed to over ZMQ
// (lib/otedama/node/zmtp, topic "json-minimal-chain_main", one message per block added to the main chain):
// a message from the active daemon fetches a template at once. Polling stays: the health check and the
// fallback while the publisher is unreachable (reconnected with back-off), and the only path without zmq.
//
// Settings (the `node` section, docs/config.md "Coin nodes"): daemons, payout_address, coin (XMR),
// poll_interval, reserve_size; under plugins.settings.org.otedama.transport.monerod also `algorithm`
// (randomx) and `timeout` (RPC timeout, default 10s).
//
// Threads: timers on the control strand, RPC replies on the net service's I/O threads; state under mutex_,
// never held across an RPC call, a host call that may block, or net shutdown.
#include "monerod.hpp"

#include <otedama/common/flat_json.hpp>
#include <otedama/common/hex.hpp>
#include <otedama/monero/block.hpp>
#include <otedama/node/jsonrpc.hpp>
#include <otedama/node/zmtp.hpp>
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
namespace monerod = otedama::monerod;
namespace monero = otedama::monero;

/// A template is fetched again after this long on the same tip (new mempool transactions, fees).
constexpr uint64_t kTemplateRefreshMs = 30'000;

enum Counter : size_t { kRpcErrors, kFailovers, kTemplates, kBlocksAccepted, kBlocksRejected, kZmqMessages, kZmqErrors, kCounterCount };
constexpr const char* kCounterNames[kCounterCount] = {"rpc_error", "failover", "template", "block_accepted", "block_rejected", "zmq_message", "zmq_error"};

/// monerod's ZMQ publisher topic for blocks added to the main chain (monero src/rpc/zmq_pub.cpp, docs/ZMQ.md:
/// "json-minimal-chain_main" carries first_height, first_prev_id and the new block ids).
constexpr const char* kMonerodZmqTopic = "json-minimal-chain_main";

struct Daemon {
    std::string url;
    std::unique_ptr<node::JsonRpcClient> rpc;
};

class Monerod final : public sdk::Transport<Monerod> {
 public:
    static constexpr uint32_t kRoles = OTD_TRANSPORT_JOB_SOURCE;
    using Transport::Transport;

    void init() override {
        const std::string text = host().config_json();
        std::string why;
        const auto json = node::parse_json(text, &why);
        const auto cfg = json ? node::as_object(*json) : nullptr;
        if (cfg.isNull()) throw sdk::Error(OTD_ERR_INVALID_ARG, "monerod: configuration is not a JSON object: " + why);
        auto bad = [](const std::string& key, const std::string& what) { return sdk::Error(OTD_ERR_INVALID_ARG, "node." + key + ": " + what); };
        for (const auto& key : cfg->getNames()) {
            const Poco::Dynamic::Var v = cfg->get(key);
            if (key == "daemons") {
                if (v.type() != typeid(Poco::JSON::Array::Ptr)) throw bad(key, "expected a list of {url, user, pass, cookie_file, zmq}");
                const auto list = v.extract<Poco::JSON::Array::Ptr>();
                for (std::size_t i = 0; i < list->size(); ++i) {
                    const auto d = node::as_object(list->get(static_cast<unsigned>(i)));
                    const std::string at = key + "[" + std::to_string(i) + "]";
                    if (d.isNull()) throw bad(at, "expected a map {url, user, pass, cookie_file, zmq}");
                    DaemonConfig dc;
                    for (const auto& f : d->getNames()) {
                        const auto s = node::get_string(d, f, &why);
                        if (!s) throw bad(at + "." + f, why);
                        if (f == "url") dc.url = *s;
                        else if (f == "user") dc.auth.user = *s;
                        else if (f == "pass") dc.auth.pass = *s;
                        else if (f == "cookie_file") dc.auth.cookie_file = *s;
                        else if (f == "zmq") {
                            dc.zmq = *s;
                            if (!dc.zmq.empty()) {
                                const auto ep = node::zmtp::parse_endpoint(dc.zmq, &why);
                                if (!ep) throw bad(at + ".zmq", why);
                                dc.zmq_endpoint = *ep;
                            }
                        }
                        else throw bad(at + "." + f, "unknown key (known: url, user, pass, cookie_file, zmq)");
                    }
                    const auto url = node::parse_url(dc.url, &why);
                    if (!url) throw bad(at + ".url", why);
                    dc.parsed = *url;
                    dc.parsed.path = "/json_rpc";  // monerod's JSON-RPC endpoint, whatever path was written
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
                const auto n = node::get_uint(cfg, key, &why);
                if (!n || *n > 255) throw bad(key, "expected an integer 0..255");
                reserve_size_ = static_cast<uint32_t>(*n);
            } else {
                throw bad(key, "unknown key (known: daemons, payout_address, coin, poll_interval, reserve_size, algorithm, timeout)");
            }
        }
        if (coin_.empty()) coin_ = "XMR";
        if (algorithm_.empty()) algorithm_ = "randomx";
    }

    void start() {
        if (daemon_configs_.empty()) throw sdk::Error(OTD_ERR_INVALID_ARG, "monerod: node.daemons is empty: name at least one node, e.g. - {url: http://127.0.0.1:18081}");
        if (payout_address_.empty()) throw sdk::Error(OTD_ERR_INVALID_ARG, "monerod: node.payout_address is empty: the pool's Monero address every block pays");
        jobs_ = host().service<otd_jobs_service_t>(OTD_SERVICE_JOBS);
        timers_ = host().service<otd_timer_service_t>(OTD_SERVICE_TIMER);
        net_ = host().service<otd_net_service_t>(OTD_SERVICE_NET);
        if (jobs_ == nullptr || timers_ == nullptr || net_ == nullptr)
            throw sdk::Error(OTD_ERR_UNSUPPORTED, "monerod needs the host's otedama.jobs/1, otedama.timer/1 and otedama.net/1 services");
        register_metrics();
        for (const auto& dc : daemon_configs_) {
            node::JsonRpcClient::Options o;
            o.http.url = dc.parsed;
            o.http.auth = dc.auth;
            o.http.timeout_ms = static_cast<uint32_t>(timeout_ms_);
            o.http.max_body = 64 * 1024 * 1024;
            o.http.user_agent = "otedama-monerod";
            o.version = "2.0";
            daemons_.push_back(Daemon{dc.parsed.endpoint(), std::make_unique<node::JsonRpcClient>(host().raw(), net_, std::move(o))});
        }
        const otd_status_t st = timers_->start(host().raw(), static_cast<uint32_t>(poll_ms_), 1, &Monerod::on_tick, this, &timer_);
        if (st != OTD_OK) throw sdk::Error(st, "monerod: cannot start its poll timer");
        start_zmq();
        host().logf(OTD_LOG_INFO, "monerod: %zu daemon(s), first %s, %s %s, payout to %s, reserve %u bytes, poll every %llu ms", daemons_.size(),
                    daemons_[0].url.c_str(), coin_.c_str(), algorithm_.c_str(), payout_address_.c_str(), reserve_size_, static_cast<unsigned long long>(poll_ms_));
        poll();
    }

    void stop() {
        if (timer_ != nullptr) timers_->cancel(host().raw(), timer_);
        timer_ = nullptr;
        {
            std::lock_guard lock(mutex_);
            stopped_ = true;
        }
        for (auto& z : zmq_) z->shutdown();
        // Every request in flight ends with ErrorKind::shutdown; no handler runs after this.
        if (net_ != nullptr) net_->shutdown(host().raw());
        zmq_.clear();
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
        if (block.tmpl == nullptr || block.header == nullptr) throw sdk::Error(OTD_ERR_INVALID_ARG, "monerod: the block has no template or header");
        const bool has_extranonce = block.struct_size >= OTD_FIELD_END(otd_block_t, extranonce_size) && (block.extranonce != nullptr || block.extranonce_size == 0);
        if (!has_extranonce) throw sdk::Error(OTD_ERR_INVALID_ARG, "monerod: the block does not carry its extranonce (host too old)");
        std::string why;
        const auto blob = monerod::assemble_block(*block.tmpl, std::span<const uint8_t>(block.extranonce, block.extranonce_size), static_cast<uint32_t>(block.nonce),
                                                  std::span<const uint8_t>(block.header, block.header_size), &why);
        const uint64_t height = block.tmpl->height;
        const monero::Hash id = monero::block_id(std::span<const uint8_t>(block.header, block.header_size));
        if (!blob) {
            count(kBlocksRejected);
            post_block_event(OTD_BLOCK_REJECTED, id, height, block.tmpl->reward);
            throw sdk::Error(OTD_ERR_INVALID_ARG, "monerod: cannot assemble the block at height " + std::to_string(height) + ": " + why);
        }
        std::size_t target = 0;
        {
            std::lock_guard lock(mutex_);
            ++blocks_submitted_;
            target = active_;
        }
        host().logf(OTD_LOG_INFO, "monerod: submitting block %llu %s to %s", static_cast<unsigned long long>(height), common::to_hex(id).c_str(), daemons_[target].url.c_str());
        send_block(common::to_hex(*blob), id, height, block.tmpl->reward, target, 0);
    }

 private:
    struct DaemonConfig {
        std::string url;
        node::Url parsed;
        node::Auth auth;
        std::string zmq;
        node::zmtp::Endpoint zmq_endpoint;
    };

    // ---- ZMQ new-block notices

    /// [control] One subscriber per daemon with a zmq endpoint; a message from the active daemon refreshes now.
    void start_zmq() {
        for (std::size_t i = 0; i < daemon_configs_.size(); ++i) {
            const auto& dc = daemon_configs_[i];
            if (dc.zmq.empty()) continue;
            node::zmtp::ZmqSubscriber::Options o;
            o.endpoint = dc.zmq_endpoint;
            o.topics = {kMonerodZmqTopic};
            auto warned = std::make_shared<std::atomic<bool>>(false);
            auto sub = std::make_unique<node::zmtp::ZmqSubscriber>(
                host().raw(), net_, timers_, o,
                [this, i](const std::vector<std::string>& parts) { on_zmq_message(i, parts); },
                [this, warned](const std::string& why) {
                    count(kZmqErrors);
                    // One warning per outage (the back-off retries are logged at debug level).
                    host().logf(warned->exchange(true) ? OTD_LOG_DEBUG : OTD_LOG_WARN, "monerod: ZMQ %s; new blocks are found by polling until it is back", why.c_str());
                },
                [this, warned, zmq = dc.zmq]() {
                    warned->store(false);
                    host().logf(OTD_LOG_INFO, "monerod: ZMQ subscribed to %s (%s): new blocks are fetched as they are announced", zmq.c_str(), kMonerodZmqTopic);
                });
            std::string why;
            if (!sub->start(&why)) throw sdk::Error(OTD_ERR_GENERIC, "monerod: " + why);
            zmq_.push_back(std::move(sub));
        }
    }

    /// [io] A message from daemon `index`'s publisher.
    void on_zmq_message(std::size_t index, const std::vector<std::string>& parts) {
        // The topic, then ':' and the JSON, in one frame (monero src/rpc/zmq_pub.cpp); a message for another
        // topic (a publisher shared with other subscribers never sends us one, but a prefix could match) is ignored.
        const std::string topic = std::string(kMonerodZmqTopic) + ":";
        if (parts.empty() || parts[0].compare(0, topic.size(), topic) != 0) {
            count(kZmqErrors);
            return;
        }
        count(kZmqMessages);
        bool active = false;
        {
            std::lock_guard lock(mutex_);
            active = index == active_ && !stopped_;
        }
        if (!active) return;
        host().logf(OTD_LOG_DEBUG, "monerod: ZMQ: a new block on %s: fetching its template now", daemons_[index].url.c_str());
        refresh_now();
    }

    // ---- polling and failover

    static void OTD_CALL on_tick(void* user) noexcept {
        auto* self = static_cast<Monerod*>(user);
        try {
            self->poll();
            self->flush_metrics();
        } catch (const std::exception& e) {
            self->host().error(std::string("monerod: poll failed: ") + e.what());
        } catch (...) {
        }
    }

    /// Start a round: get_info on the active daemon (and a probe of the first when failed over).
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
        ask_info(target);
    }

    void ask_info(std::size_t index) {
        daemons_[index].rpc->call("get_info", {}, [this, index](const node::Error& e, Poco::Dynamic::Var result) { on_info(index, e, std::move(result)); });
    }

    /// While failed over: is the first daemon healthy again? Then it becomes the active one.
    void probe(std::size_t index) {
        daemons_[index].rpc->call("get_info", {}, [this, index](const node::Error& e, Poco::Dynamic::Var result) {
            bool healthy = false;
            if (!e) {
                std::string why;
                const auto info = monerod::parse_info(node::as_object(result), &why);
                std::lock_guard lock(mutex_);
                healthy = info && monerod::judge(*info, nettype_, &why) == monerod::Health::ok;
            }
            std::lock_guard lock(mutex_);
            probing_ = false;
            if (healthy && active_ != index && !stopped_) {
                host().logf(OTD_LOG_INFO, "monerod: %s is healthy again: back to it from %s", daemons_[index].url.c_str(), daemons_[active_].url.c_str());
                active_ = index;
                last_top_.clear();  // fetch its template on the next round
            }
        });
    }

    void on_info(std::size_t index, const node::Error& e, Poco::Dynamic::Var result) {
        if (e.kind == node::ErrorKind::shutdown) {
            std::lock_guard lock(mutex_);
            polling_ = false;
            return;
        }
        std::string why;
        std::optional<monerod::NodeInfo> info;
        if (!e) info = monerod::parse_info(node::as_object(result), &why);
        if (e || !info) {
            count(kRpcErrors);
            daemon_failed(index, OTD_STATUS_DOWN, e ? e.message : daemons_[index].url + ": " + why);
            return;
        }
        monerod::Health health;
        bool fetch = false;
        {
            std::lock_guard lock(mutex_);
            if (nettype_.empty() && !info->nettype.empty()) nettype_ = info->nettype;  // the first node seen names the chain
            health = monerod::judge(*info, nettype_, &why);
            if (health == monerod::Health::ok) {
                const uint64_t now = host().monotonic_ns() / 1'000'000;
                fetch = info->top_hash != last_top_ || state_ != OTD_STATUS_UP || now - last_template_ms_ >= kTemplateRefreshMs;
                if (fetch) last_top_ = info->top_hash;
            }
        }
        if (health != monerod::Health::ok) {
            daemon_failed(index, OTD_STATUS_DEGRADED, daemons_[index].url + " " + why);
            return;
        }
        if (!fetch) {
            std::lock_guard lock(mutex_);
            polling_ = false;
            return;
        }
        ask_template(index);
    }

    void ask_template(std::size_t index) {
        Poco::JSON::Object::Ptr params = new Poco::JSON::Object;
        params->set("wallet_address", payout_address_);
        params->set("reserve_size", reserve_size_);
        daemons_[index].rpc->call("get_block_template", params, [this, index](const node::Error& e, Poco::Dynamic::Var result) {
            if (e.kind == node::ErrorKind::shutdown) {
                std::lock_guard lock(mutex_);
                polling_ = false;
                return;
            }
            std::string why;
            std::optional<monerod::Template> t;
            if (!e) t = monerod::parse_block_template(node::as_object(result), reserve_size_, &why);
            if (e || !t) {
                count(kRpcErrors);
                {
                    std::lock_guard lock(mutex_);
                    last_top_.clear();
                }
                // A refused wallet address is a configuration error no other node will accept either; it still
                // fails over (the next node may be the right network) and the status says why.
                daemon_failed(index, OTD_STATUS_DOWN, e ? e.message : daemons_[index].url + ": " + why);
                return;
            }
            post_template(index, std::move(*t));
        });
    }

    void post_template(std::size_t index, monerod::Template t) {
        uint32_t flags = 0;
        {
            std::lock_guard lock(mutex_);
            polling_ = false;
            if (stopped_) return;
            if (state_ != OTD_STATUS_UP || t.prev_hash != last_prev_) flags |= OTD_TEMPLATE_CLEAN;
            last_prev_ = t.prev_hash;
            t.source_job_id = std::to_string(t.height) + "-" + std::to_string(++template_seq_);
            last_template_ms_ = host().monotonic_ns() / 1'000'000;
            current_ = std::make_shared<monerod::Template>(std::move(t));
        }
        set_state(OTD_STATUS_UP, "mining on " + daemons_[index].url + " at height " + std::to_string(current_->height));
        const otd_template_t view = current_->view(coin_, algorithm_, flags);
        uint64_t job = 0;
        char err[OTD_ERROR_CAP] = {};
        const otd_status_t st = jobs_->submit_template(host().raw(), &view, &job, err, sizeof err);
        if (st != OTD_OK) {
            count(kRpcErrors);
            host().logf(OTD_LOG_ERROR, "monerod: the host refused template %s: %s", current_->source_job_id.c_str(), err);
            return;
        }
        count(kTemplates);
        host().logf(OTD_LOG_DEBUG, "monerod: template %s (height %llu, difficulty %llu%s) -> job %llu", current_->source_job_id.c_str(),
                    static_cast<unsigned long long>(current_->height), static_cast<unsigned long long>(current_->difficulty),
                    (flags & OTD_TEMPLATE_CLEAN) != 0U ? ", clean" : "", static_cast<unsigned long long>(job));
    }

    /// The daemon at `index` failed (no answer, a bad reply, syncing, another chain): the next one is tried
    /// in this round; when every daemon failed, the pool has no valid work.
    void daemon_failed(std::size_t index, uint32_t state, const std::string& why) {
        std::size_t next = 0;
        bool try_next = false;
        bool degraded = false;
        {
            std::lock_guard lock(mutex_);
            if (stopped_) {
                polling_ = false;
                return;
            }
            if (index != active_) {  // the probe switched back to the first daemon meanwhile: its round decides
                polling_ = false;
                return;
            }
            ++round_tried_;
            round_degraded_ = round_degraded_ || state == OTD_STATUS_DEGRADED;
            if (round_tried_ < daemons_.size()) {
                next = (index + 1) % daemons_.size();
                // Logged when mining stops on a node; while no node is usable the rounds repeat quietly.
                host().logf(state_ == OTD_STATUS_UP ? OTD_LOG_WARN : OTD_LOG_DEBUG, "monerod: %s; trying %s", why.c_str(), daemons_[next].url.c_str());
                active_ = next;
                last_top_.clear();
                try_next = true;
            } else {
                polling_ = false;
                degraded = round_degraded_;
                active_ = 0;  // the next round starts again from the first daemon
            }
        }
        if (try_next) {
            count(kFailovers);
            ask_info(next);
            return;
        }
        // Some node answered but is syncing or on another chain: degraded; nobody answered: down.
        set_state(degraded ? OTD_STATUS_DEGRADED : state, daemons_.size() > 1 ? "no usable node: " + why : why);
    }

    /// Status changes: the log (once per change), an OTD_EVENT_STATUS, and a withdrawal of the work when the
    /// pool has no valid template any more.
    void set_state(uint32_t state, const std::string& message) {
        bool changed = false, withdraw = false;
        std::shared_ptr<const monerod::Template> last;
        {
            std::lock_guard lock(mutex_);
            // One change per state and node: the details of the trouble (refused, reset, the height a syncing
            // node is at) go to the status message, not to a new log line every poll.
            const std::string kind = daemons_.size() > 1 ? std::string("all") : daemons_.empty() ? std::string() : daemons_[0].url;
            changed = state != state_ || (state != OTD_STATUS_UP && kind != message_kind_);
            withdraw = state != OTD_STATUS_UP && (state_ == OTD_STATUS_UP || !withdrawn_);
            if (withdraw) withdrawn_ = true;
            if (state == OTD_STATUS_UP) withdrawn_ = false;
            const bool was_up = state_ == OTD_STATUS_UP;
            changed = changed || (state == OTD_STATUS_UP && !was_up);
            state_ = state;
            message_ = message;
            message_kind_ = kind;
            last = current_;
            if (state != OTD_STATUS_UP) {
                last_top_.clear();
                current_ = nullptr;
            }
        }
        if (withdraw) {
            // Only flags are read by the host; the rest is the last template (what a host without the flag reads).
            otd_template_t t = last ? last->view(coin_, algorithm_, 0) : sdk::make_struct<otd_template_t>();
            if (!last) {
                t.coin = coin_.c_str();
                t.algorithm = algorithm_.c_str();
            }
            t.flags = OTD_TEMPLATE_WITHDRAW;
            uint64_t job = 0;
            char err[OTD_ERROR_CAP] = {};
            if (jobs_->submit_template(host().raw(), &t, &job, err, sizeof err) != OTD_OK)
                host().logf(OTD_LOG_ERROR, "monerod: the host refused the withdrawal of the work: %s", err);
        }
        if (!changed) return;
        if (state == OTD_STATUS_UP) {
            host().logf(OTD_LOG_INFO, "monerod: node up: %s", message.c_str());
        } else {
            host().logf(OTD_LOG_WARN, "monerod: node %s: %s; no work is issued until a node is healthy", state == OTD_STATUS_DOWN ? "down" : "degraded", message.c_str());
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

    void send_block(std::string hex, monero::Hash id, uint64_t height, uint64_t reward, std::size_t index, std::size_t attempt) {
        Poco::JSON::Array::Ptr params = new Poco::JSON::Array;
        params->add(hex);
        daemons_[index].rpc->call("submit_block", params, [this, hex, id, height, reward, index, attempt](const node::Error& e, Poco::Dynamic::Var result) {
            if (!e) {
                std::string why;
                const auto status = node::get_string(node::as_object(result), "status", &why);
                if (status && *status == "OK") {
                    refresh_now();  // the tip moved: a template for the next height at once, not at the next poll
                    confirm_main_chain(id, height, reward, index);
                    return;
                }
                count(kBlocksRejected);
                host().logf(OTD_LOG_WARN, "monerod: block %llu %s refused by %s: status '%s'", static_cast<unsigned long long>(height), common::to_hex(id).c_str(),
                            daemons_[index].url.c_str(), status ? status->c_str() : why.c_str());
                post_block_event(OTD_BLOCK_REJECTED, id, height, reward);
                return;
            }
            if (e.kind == node::ErrorKind::rpc_error) {  // the node judged it: -7 "Block not accepted" and the like
                count(kBlocksRejected);
                host().logf(OTD_LOG_WARN, "monerod: block %llu %s rejected: %s", static_cast<unsigned long long>(height), common::to_hex(id).c_str(), e.message.c_str());
                post_block_event(OTD_BLOCK_REJECTED, id, height, reward);
                return;
            }
            count(kRpcErrors);
            if (e.kind != node::ErrorKind::shutdown && attempt + 1 < daemons_.size()) {
                const std::size_t next = (index + 1) % daemons_.size();
                host().logf(OTD_LOG_WARN, "monerod: submitting block %llu to %s failed (%s): trying %s", static_cast<unsigned long long>(height),
                            daemons_[index].url.c_str(), e.message.c_str(), daemons_[next].url.c_str());
                send_block(hex, id, height, reward, next, attempt + 1);
                return;
            }
            host().logf(OTD_LOG_ERROR, "monerod: block %llu %s could not be submitted: %s", static_cast<unsigned long long>(height), common::to_hex(id).c_str(),
                        e.message.c_str());
            post_block_event(OTD_BLOCK_REJECTED, id, height, reward);
        });
    }

    /// monerod answers submit_block "OK" for a block that extends an alternative chain too (a block for a
    /// height the chain already has): only a block on the main chain counts as found.
    void confirm_main_chain(const monero::Hash& id, uint64_t height, uint64_t reward, std::size_t index) {
        Poco::JSON::Object::Ptr params = new Poco::JSON::Object;
        params->set("hash", common::to_hex(id));
        daemons_[index].rpc->call("get_block_header_by_hash", params, [this, id, height, reward, index](const node::Error& e, Poco::Dynamic::Var result) {
            std::string why;
            const auto r = node::as_object(result);
            const auto header = !e && !r.isNull() && r->has("block_header") ? node::as_object(r->get("block_header")) : nullptr;
            const auto orphan = header.isNull() ? std::nullopt : node::get_bool(header, "orphan_status", &why);
            if (orphan && *orphan) {
                count(kBlocksRejected);
                host().logf(OTD_LOG_WARN, "monerod: block %llu %s was taken by %s as an alternative block only: another block at that height is on the main chain (stale work)",
                            static_cast<unsigned long long>(height), common::to_hex(id).c_str(), daemons_[index].url.c_str());
                post_block_event(OTD_BLOCK_ORPHANED, id, height, reward);
                return;
            }
            if (!orphan) {
                count(kRpcErrors);
                host().logf(OTD_LOG_WARN, "monerod: block %llu %s: submit_block said OK, but its header could not be read back (%s); counted as found",
                            static_cast<unsigned long long>(height), common::to_hex(id).c_str(), e ? e.message.c_str() : why.c_str());
            }
            count(kBlocksAccepted);
            host().logf(OTD_LOG_INFO, "monerod: block %llu %s accepted by %s", static_cast<unsigned long long>(height), common::to_hex(id).c_str(), daemons_[index].url.c_str());
            post_block_event(OTD_BLOCK_FOUND, id, height, reward);
        });
    }

    /// Fetch a template from the active daemon now (after our block moved the tip).
    void refresh_now() {
        std::size_t index = 0;
        {
            std::lock_guard lock(mutex_);
            if (stopped_) return;
            last_top_.clear();
            polling_ = true;  // a round in flight ends it; at worst one extra request
            index = active_;
        }
        ask_template(index);
    }

    void post_block_event(uint32_t state, const monero::Hash& id, uint64_t height, uint64_t reward) {
        otd_event_block_t ev{};
        ev.header.size = sizeof ev;
        ev.header.type = OTD_EVENT_BLOCK;
        ev.state = state;
        ev.height = height;
        std::copy(id.begin(), id.end(), ev.hash);
        ev.reward = reward;
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
    uint64_t poll_ms_ = 1000;
    uint64_t timeout_ms_ = 10'000;
    uint32_t reserve_size_ = 8;
    // services
    const otd_jobs_service_t* jobs_ = nullptr;
    const otd_timer_service_t* timers_ = nullptr;
    const otd_net_service_t* net_ = nullptr;
    otd_timer_t* timer_ = nullptr;
    std::vector<Daemon> daemons_;  ///< fixed after start()
    std::vector<std::unique_ptr<node::zmtp::ZmqSubscriber>> zmq_;  ///< started in start(), shut down in stop()
    // state (mutex_)
    std::mutex mutex_;
    bool stopped_ = false, polling_ = false, probing_ = false, withdrawn_ = false;
    std::size_t active_ = 0, round_tried_ = 0;
    bool round_degraded_ = false;  ///< a daemon of this round answered but was syncing or on another chain
    std::string nettype_;
    std::string last_top_;
    monerod::Hash last_prev_{};
    uint64_t last_template_ms_ = 0, template_seq_ = 0, blocks_submitted_ = 0;
    std::shared_ptr<const monerod::Template> current_;
    uint32_t state_ = OTD_STATUS_DOWN;
    std::string message_ = "starting", message_kind_;
    // metrics
    std::array<std::atomic<uint64_t>, kCounterCount> counters_{};
    std::array<uint64_t, kCounterCount> reported_{};
    bool metric_registered_ = false;
    uint32_t metric_ = 0;
};

constexpr otd_plugin_descriptor_t kDescriptor =
    sdk::descriptor(OTD_KIND_TRANSPORT, "org.otedama.transport.monerod", "monerod", "0.1.0", "Otedama",
                    "monerod job source: get_block_template / submit_block over JSON-RPC, node health, daemon failover", "",
                    OTD_TRANSPORT_INTERFACE_ID);

}  // namespace

OTEDAMA_PLUGIN_ENTRY(sdk::plugin_class<Monerod>(kDescriptor));
