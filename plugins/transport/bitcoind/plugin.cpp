// The bitcoind transport: a job source for the Bitcoin family (bitcoind, litecoind and forks that speak the
// same RPC), pool.source: bitcoind.
//
//  - Templates: getblocktemplate {"rules":["segwit"]} (Litecoin: ["mweb","segwit"]) over JSON-RPC
//    (lib/otedama/node's HTTP client on the host's otedama.net/1), turned into otd_template_t by source.hpp:
//    the coinbase paying node.payout_address with node.reserve_size extranonce bytes, the merkle branch,
//    the template's transactions (and Litecoin's MWEB block) in block_data. CLEAN when the previous block
//    changes.
//  - New blocks: BIP 22 long-poll (the template's longpollid, one request always outstanding), with a health
//    check every node.poll_interval as the fallback: getblockchaininfo's best block differs from the
//    template's previous block -> a new template at once. A template is also refreshed every 30 s (new
//    transactions, time). After a block of ours is accepted the next template is fetched at once.
//    With daemons[].zmq (the node's -zmqpubhashblock=tcp://127.0.0.1:28332) the pool also subscribes to
//    "hashblock" over ZMQ (lib/otedama/node/zmtp, reconnected with back-off): a notice from the active
//    daemon fetches a template at once (a node whose long-poll is slow or broken by a proxy).
//  - Blocks: submit_block assembles the whole block (header, coinbase with its witness, the template's
//    transactions, MWEB) and calls submitblock; the BIP 22 answer (null = accepted, else the reason such as
//    high-hash, bad-txnmrklroot, duplicate) becomes OTD_EVENT_BLOCK FOUND or REJECTED with a log line.
//  - Health (source.hpp): down, syncing, no peers, wrong chain; one log line and one status event per change,
//    get_status says it, and while the node is not up no template is posted and the jobs already posted are
//    withdrawn (OTD_TEMPLATE_WITHDRAW), so nobody mines on a stale tip.
//  - Failover: node.daemons in order; after 3 failed checks in a row the next daemon is used.
// RPC auth: a cookie file (re-read on every request: the node writes a new one at each start) or
// user/password.
//
// Threads: timers run on the control strand, RPC callbacks on the host's I/O threads; the state is guarded by
// one mutex, and RPC clients are replaced (failover) and shut down only on the control strand.
#include "source.hpp"

#include <otedama/common/hex.hpp>
#include <otedama/common/sha256.hpp>
#include <otedama/node/jsonrpc.hpp>
#include <otedama/node/zmtp.hpp>
#include <otedama/sdk/transport.hpp>

#include <Poco/JSON/Array.h>

#include <atomic>
#include <memory>
#include <algorithm>
#include <mutex>
#include <set>

namespace {

namespace sdk = otedama::sdk;
namespace node = otedama::node;
namespace bitcoind = otedama::bitcoind;
namespace common = otedama::common;
namespace json = otedama::stratum::json;

constexpr uint64_t kRefreshMs = 30'000;
constexpr uint32_t kLongPollTimeoutMs = 10 * 60 * 1000;
constexpr int kFailuresBeforeFailover = 3;

class Bitcoind final : public sdk::Transport<Bitcoind> {
 public:
  static constexpr uint32_t kRoles = OTD_TRANSPORT_JOB_SOURCE;
  using Transport::Transport;

  // The configuration is read in start(): the host creates every transport it finds, but starts only the
  // configured job source, and a host that serves the devnet has no node section to complain about.
  void start() {
    {
      std::string why;
      auto cfg = bitcoind::parse_config(host().config_json(), &why);
      if (!cfg) throw sdk::Error(OTD_ERR_INVALID_ARG, why);
      config_ = std::move(*cfg);
    }
    jobs_ = host().service<otd_jobs_service_t>(OTD_SERVICE_JOBS);
    timers_ = host().service<otd_timer_service_t>(OTD_SERVICE_TIMER);
    net_ = host().service<otd_net_service_t>(OTD_SERVICE_NET);
    if (jobs_ == nullptr || timers_ == nullptr || net_ == nullptr)
      throw sdk::Error(OTD_ERR_UNSUPPORTED, "bitcoind needs the host's otedama.jobs/1, otedama.timer/1 and otedama.net/1 services");
    for (const auto& d : config_.daemons) {
      std::string why;
      if (!node::parse_url(d.url, &why)) throw sdk::Error(OTD_ERR_INVALID_ARG, "node.daemons: '" + d.url + "': " + why);
    }
    std::vector<std::optional<node::zmtp::Endpoint>> zmq_endpoints;
    for (const auto& d : config_.daemons) {
      std::string why;
      if (d.zmq.empty()) {
        zmq_endpoints.emplace_back();
      } else if (auto ep = node::zmtp::parse_endpoint(d.zmq, &why)) {
        zmq_endpoints.emplace_back(std::move(*ep));
      } else {
        throw sdk::Error(OTD_ERR_INVALID_ARG, "node.daemons: '" + d.url + "': zmq: " + why);
      }
    }
    register_metrics();
    {
      std::lock_guard lock(mutex_);
      stopped_ = false;
    }
    use_daemon(0);
    const otd_status_t st = timers_->start(host().raw(), static_cast<uint32_t>(config_.poll_interval_ms), 1, &Bitcoind::on_timer, this, &timer_);
    if (st != OTD_OK) throw sdk::Error(st, "bitcoind: cannot start the poll timer");
    start_zmq(zmq_endpoints);
    host().logf(OTD_LOG_INFO, "bitcoind: job source for %s, node %s (%zu configured), payout %s, poll every %llu ms",
                config_.coin.empty() ? "the node's coin" : config_.coin.c_str(), config_.daemons[0].url.c_str(), config_.daemons.size(),
                config_.payout_address.c_str(), static_cast<unsigned long long>(config_.poll_interval_ms));
    tick();
  }

  void stop() {
    if (timer_ != nullptr) timers_->cancel(host().raw(), timer_);
    timer_ = nullptr;
    std::shared_ptr<Clients> clients;
    {
      std::lock_guard lock(mutex_);
      stopped_ = true;
      clients = std::move(clients_);
    }
    shutdown_clients(clients);
    for (auto& z : zmq_) z->shutdown();
    if (net_ != nullptr) net_->shutdown(host().raw());
    zmq_.clear();
  }

  otd_transport_status_t status() {
    auto s = sdk::make_struct<otd_transport_status_t>();
    std::lock_guard lock(mutex_);
    switch (state_) {
      case bitcoind::NodeState::up: s.state = OTD_STATUS_UP; break;
      case bitcoind::NodeState::syncing:
      case bitcoind::NodeState::no_peers: s.state = OTD_STATUS_DEGRADED; break;
      default: s.state = OTD_STATUS_DOWN; break;
    }
    s.connections = state_ == bitcoind::NodeState::up ? 1 : 0;
    s.templates = templates_posted_;
    s.submissions = blocks_submitted_;
    sdk::copy_field(s.endpoint, active_ < config_.daemons.size() ? config_.daemons[active_].url : std::string("not started"));
    sdk::copy_field(s.message, std::string(bitcoind::node_state_name(state_)) + ": " + state_why_);
    return s;
  }

  void submit_block(const otd_block_t& block) {
    std::string why;
    const auto hex = bitcoind::block_hex_for_submit(block, &why);
    const auto id = common::sha256d(std::span<const uint8_t>(block.header, block.header_size == 80 ? 80 : 0));
    const uint64_t height = block.tmpl != nullptr ? block.tmpl->height : 0;
    const uint64_t reward = block.tmpl != nullptr ? block.tmpl->reward : 0;
    std::string coin;
    {
      std::lock_guard lock(mutex_);
      coin = coin_.empty() ? config_.coin : coin_;
    }
    if (!hex) {
      count("block_malformed");
      post_block(OTD_BLOCK_REJECTED, id.data(), height, reward, coin);
      throw sdk::Error(OTD_ERR_INVALID_ARG, "bitcoind: cannot submit the block: " + why);
    }
    otedama::bitcoin::Hash256 parent{};
    std::copy(block.tmpl->prev_hash, block.tmpl->prev_hash + 32, parent.begin());
    std::shared_ptr<Clients> clients;
    {
      std::lock_guard lock(mutex_);
      // One block per parent: while one is with the node, or once one was accepted (or the node said the parent
      // is gone: duplicate, inconclusive, prev-blk-not-found ...), another block on the same parent can only be a
      // competitor of our own block or a stale one (at regtest's difficulty nearly every hash is a block, and
      // thousands would reach the node). Counted, logged at debug level, not sent.
      if (parents_in_flight_.contains(parent) || std::find(closed_parents_.begin(), closed_parents_.end(), parent) != closed_parents_.end()) {
        count("block_same_parent");
        host().logf(OTD_LOG_DEBUG, "bitcoind: block %s not sent: a block on the same parent is already with the node",
                    common::to_hex(common::reversed(id)).c_str());
        return;
      }
      // A node that is not up cannot take it (the first failed submission marks it down).
      if (state_ != bitcoind::NodeState::up) {
        count("block_node_not_up");
        host().logf(OTD_LOG_DEBUG, "bitcoind: block %s not sent: the node is %s", common::to_hex(common::reversed(id)).c_str(),
                    bitcoind::node_state_name(state_));
        return;
      }
      parents_in_flight_.insert(parent);
      ++blocks_submitted_;
      clients = clients_;
    }
    if (!clients) throw sdk::Error(OTD_ERR_GENERIC, "bitcoind: stopped");
    std::string hash_hex = common::to_hex(common::reversed(id));
    Poco::JSON::Array::Ptr params = new Poco::JSON::Array;
    params->add(*hex);
    const std::string endpoint = clients->url;
    clients->rpc->call("submitblock", params, [this, height, reward, id, hash_hex, endpoint, coin, parent, gen = clients->generation](const node::Error& error, Poco::Dynamic::Var result) {
      bool close_parent = false;  // no further block on this parent can extend the chain
      if (error) {
        count("submit_failed");
        host().logf(OTD_LOG_ERROR, "bitcoind: block %llu (%s) could not be submitted to %s: %s", static_cast<unsigned long long>(height),
                    hash_hex.c_str(), endpoint.c_str(), error.message.c_str());
        post_block(OTD_BLOCK_REJECTED, id.data(), height, reward, coin);
        if (error.kind != node::ErrorKind::shutdown && error.kind != node::ErrorKind::rpc_error) {
          std::lock_guard lock(mutex_);
          if (gen == generation_ && !stopped_) {
            ++failures_;
            set_state_locked(bitcoind::NodeState::down, error.message);
          }
        }
      } else if (result.isEmpty()) {
        count("block_accepted");
        host().logf(OTD_LOG_INFO, "bitcoind: block %llu accepted by %s: %s", static_cast<unsigned long long>(height), endpoint.c_str(), hash_hex.c_str());
        post_block(OTD_BLOCK_FOUND, id.data(), height, reward, coin);
        close_parent = true;
      } else {
        const std::string reason = result.isString() ? result.extract<std::string>() : node::to_json(result);
        count("block_rejected");
        host().logf(OTD_LOG_WARN, "bitcoind: block %llu (%s) rejected by %s: %s", static_cast<unsigned long long>(height), hash_hex.c_str(),
                    endpoint.c_str(), reason.c_str());
        post_block(OTD_BLOCK_REJECTED, id.data(), height, reward, coin);
        close_parent = bitcoind::parent_is_spent(reason);
      }
      // The tip has (or may have) moved: the next template now rather than at the next check.
      std::lock_guard lock(mutex_);
      parents_in_flight_.erase(parent);
      if (close_parent) {
        closed_parents_.push_back(parent);
        if (closed_parents_.size() > 16) closed_parents_.erase(closed_parents_.begin());
      }
      fetch_template_locked();
    });
  }

 private:
  /// The RPC clients of one daemon: short calls, and the long-poll (its own timeout).
  struct Clients {
    std::size_t index = 0;
    uint64_t generation = 0;
    std::string url;
    std::unique_ptr<node::JsonRpcClient> rpc;
    std::unique_ptr<node::HttpClient> longpoll;
  };

  /// [control] One ZMQ subscriber (topic "hashblock") per daemon with an endpoint.
  void start_zmq(const std::vector<std::optional<node::zmtp::Endpoint>>& endpoints) {
    for (std::size_t i = 0; i < endpoints.size(); ++i) {
      if (!endpoints[i]) continue;
      node::zmtp::ZmqSubscriber::Options o;
      o.endpoint = *endpoints[i];
      o.topics = {"hashblock"};
      auto warned = std::make_shared<std::atomic<bool>>(false);
      auto sub = std::make_unique<node::zmtp::ZmqSubscriber>(
          host().raw(), net_, timers_, o, [this, i](const std::vector<std::string>& parts) { on_zmq_message(i, parts); },
          [this, warned](const std::string& why) {
            count("zmq_error");
            host().logf(warned->exchange(true) ? OTD_LOG_DEBUG : OTD_LOG_WARN, "bitcoind: ZMQ %s; new blocks come by long-poll and polling until it is back",
                        why.c_str());
          },
          [this, warned, zmq = config_.daemons[i].zmq]() {
            warned->store(false);
            host().logf(OTD_LOG_INFO, "bitcoind: ZMQ subscribed to %s (hashblock)", zmq.c_str());
          });
      std::string why;
      if (!sub->start(&why)) throw sdk::Error(OTD_ERR_GENERIC, "bitcoind: " + why);
      zmq_.push_back(std::move(sub));
    }
  }

  /// [io] A ZMQ message from daemon `index`: "hashblock", the 32-byte block hash, a 4-byte sequence number
  /// (bitcoind doc/zmq.md). From the active daemon: a template now.
  void on_zmq_message(std::size_t index, const std::vector<std::string>& parts) {
    if (parts.size() < 2 || parts[0] != "hashblock" || parts[1].size() != 32) {
      count("zmq_error");
      host().logf(OTD_LOG_DEBUG, "bitcoind: ZMQ: ignored a message that is not hashblock + a 32-byte hash");
      return;
    }
    count("zmq_message");
    std::lock_guard lock(mutex_);
    if (stopped_ || index != active_) return;
    const std::vector<uint8_t> reversed(parts[1].rbegin(), parts[1].rend());  // shown as RPC shows hashes
    const std::string hash = common::to_hex(reversed);
    host().logf(OTD_LOG_DEBUG, "bitcoind: ZMQ: new block %s on %s: fetching a template now", hash.c_str(), config_.daemons[index].url.c_str());
    fetch_template_locked();
  }

  static void OTD_CALL on_timer(void* user) {
    auto* self = static_cast<Bitcoind*>(user);
    try {
      self->tick();
    } catch (const std::exception& e) {
      self->host().error(std::string("bitcoind: check failed: ") + e.what());
    } catch (...) {
    }
  }

  /// [control] Replace the clients with ones for daemon `index`.
  void use_daemon(std::size_t index) {
    const auto& d = config_.daemons[index];
    auto c = std::make_shared<Clients>();
    c->index = index;
    c->url = d.url;
    node::JsonRpcClient::Options o;
    o.http.url = *node::parse_url(d.url);
    o.http.auth = node::Auth{d.user, d.pass, d.cookie_file};
    o.http.timeout_ms = static_cast<uint32_t>(config_.rpc_timeout_ms);
    o.http.user_agent = "otedama-bitcoind";
    o.version = "1.0";
    c->rpc = std::make_unique<node::JsonRpcClient>(host().raw(), net_, o);
    auto lp = o.http;
    lp.timeout_ms = kLongPollTimeoutMs;
    c->longpoll = std::make_unique<node::HttpClient>(host().raw(), net_, lp);
    std::shared_ptr<Clients> old;
    {
      std::lock_guard lock(mutex_);
      c->generation = ++generation_;
      old = std::move(clients_);
      clients_ = c;
      active_ = index;
      health_in_flight_ = false;
      gbt_in_flight_ = false;
      longpoll_in_flight_ = false;
      failures_ = 0;
    }
    shutdown_clients(old);
  }

  /// [control] Outside the mutex: shutdown waits for the clients' callbacks, which take it.
  static void shutdown_clients(const std::shared_ptr<Clients>& c) {
    if (!c) return;
    c->rpc->shutdown();
    c->longpoll->shutdown();
  }

  /// [control] One health check (and the template work it leads to); failover after repeated failures.
  void tick() {
    std::shared_ptr<Clients> clients;
    {
      std::lock_guard lock(mutex_);
      if (stopped_) return;
      if (failures_ >= kFailuresBeforeFailover && config_.daemons.size() > 1) {
        const std::size_t next = (active_ + 1) % config_.daemons.size();
        host().logf(OTD_LOG_WARN, "bitcoind: %s failed %d checks in a row, failing over to %s", config_.daemons[active_].url.c_str(), failures_,
                    config_.daemons[next].url.c_str());
        failures_ = 0;
        clients = nullptr;
      } else {
        clients = clients_;
      }
    }
    if (!clients) {
      std::size_t next = 0;
      {
        std::lock_guard lock(mutex_);
        next = (active_ + 1) % config_.daemons.size();
      }
      use_daemon(next);
      std::lock_guard lock(mutex_);
      clients = clients_;
    }
    {
      std::lock_guard lock(mutex_);
      if (health_in_flight_) return;
      health_in_flight_ = true;
    }
    const uint64_t gen = clients->generation;
    auto facts = std::make_shared<bitcoind::NodeFacts>();
    // The raw client pointer, not the shared Clients: a callback must never hold the last reference to the client
    // that runs it (clients are shut down and freed on the control strand, after their last callback).
    node::JsonRpcClient* rpc = clients->rpc.get();
    rpc->call("getnetworkinfo", Poco::Dynamic::Var(), [this, gen, facts, rpc](const node::Error& error, Poco::Dynamic::Var result) {
      if (error) return health_failed(gen, error);
      const auto o = node::as_object(result);
      std::string why;
      const auto sub = node::get_string(o, "subversion", &why);
      const auto conns = node::get_uint(o, "connections", &why);
      if (!sub || !conns) return health_failed(gen, bad_reply("getnetworkinfo", why));
      facts->subversion = *sub;
      facts->connections = static_cast<int64_t>(*conns);
      rpc->call("getblockchaininfo", Poco::Dynamic::Var(), [this, gen, facts](const node::Error& error2, Poco::Dynamic::Var result2) {
        if (error2) return health_failed(gen, error2);
        const auto o2 = node::as_object(result2);
        std::string why2;
        const auto chain = node::get_string(o2, "chain", &why2);
        const auto blocks = node::get_uint(o2, "blocks", &why2);
        const auto best = node::get_string(o2, "bestblockhash", &why2);
        if (!chain || !blocks || !best) return health_failed(gen, bad_reply("getblockchaininfo", why2));
        facts->chain = *chain;
        facts->blocks = *blocks;
        facts->best_block_hash = *best;
        facts->headers = node::get_uint(o2, "headers", &why2).value_or(*blocks);
        facts->initial_block_download = node::get_bool(o2, "initialblockdownload", &why2).value_or(false);
        on_facts(gen, *facts);
      });
    });
  }

  static node::Error bad_reply(const char* method, const std::string& why) {
    node::Error e;
    e.kind = node::ErrorKind::json;
    e.message = std::string(method) + ": " + why;
    return e;
  }

  /// [io] A health call failed: down (counted towards failover), or the state an RPC error code means.
  void health_failed(uint64_t gen, const node::Error& error) {
    std::lock_guard lock(mutex_);
    if (gen != generation_ || stopped_) return;
    health_in_flight_ = false;
    count(error.kind == node::ErrorKind::json ? "bad_reply" : "rpc_failed");
    if (error.kind == node::ErrorKind::rpc_error) {
      if (const auto s = bitcoind::state_of_rpc_error(error.rpc_code)) {
        set_state_locked(*s, error.message);
        return;
      }
    }
    ++failures_;
    set_state_locked(bitcoind::NodeState::down, error.message);
  }

  /// [io] The node's facts: judge, and fetch a template when the tip moved or the refresh is due.
  void on_facts(uint64_t gen, const bitcoind::NodeFacts& facts) {
    std::lock_guard lock(mutex_);
    if (gen != generation_ || stopped_) return;
    health_in_flight_ = false;
    failures_ = 0;
    auto j = bitcoind::judge(facts, config_.coin, config_.payout_address);
    if (j.state != bitcoind::NodeState::up) {
      set_state_locked(j.state, j.why);
      return;
    }
    coin_ = config_.coin.empty() ? std::string(j.network->coin) : config_.coin;
    for (auto& ch : coin_) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    algorithm_ = bitcoind::algorithm_of_coin(coin_);
    payout_script_ = std::move(j.payout_script);
    best_hash_ = facts.best_block_hash;
    const bool was_up = state_ == bitcoind::NodeState::up;
    set_state_locked(bitcoind::NodeState::up, j.why);
    const uint64_t now = static_cast<uint64_t>(host().wall_time_ms());
    const bool tip_moved = !current_ || common::to_hex(common::reversed(current_->tmpl.prev_hash)) != facts.best_block_hash;
    if (!was_up || tip_moved || now - last_template_ms_ >= kRefreshMs) fetch_template_locked();
    start_longpoll_locked();
  }

  /// [any, mutex held] getblocktemplate on the short-call client (once at a time; a request made while one is
  /// in flight runs when it returns).
  void fetch_template_locked() {
    if (stopped_ || !clients_ || state_ != bitcoind::NodeState::up) return;
    if (gbt_in_flight_) {
      refetch_ = true;
      return;
    }
    gbt_in_flight_ = true;
    refetch_ = false;
    request_template_locked(clients_->rpc->http(), {}, false);
  }

  /// [any, mutex held] Keep one long-poll outstanding for the current template's longpollid.
  void start_longpoll_locked() {
    if (stopped_ || !clients_ || longpoll_in_flight_ || !current_ || current_->tmpl.longpollid.empty()) return;
    if (state_ != bitcoind::NodeState::up) return;
    longpoll_in_flight_ = true;
    request_template_locked(*clients_->longpoll, current_->tmpl.longpollid, true);
  }

  void request_template_locked(node::HttpClient& http, const std::string& longpollid, bool longpoll) {
    const uint64_t gen = generation_;
    const uint64_t id = ++rpc_id_;
    const bool litecoin = coin_ == "LTC";
    std::string body = R"({"jsonrpc":"1.0","id":)" + std::to_string(id) + R"(,"method":"getblocktemplate","params":)" +
                       bitcoind::getblocktemplate_params(litecoin, longpollid) + "}";
    const std::string endpoint = clients_->url;
    http.post({}, std::move(body), [this, gen, id, longpoll, endpoint](const node::Error& error, node::Response response) {
      on_template_reply(gen, id, longpoll, endpoint, error, std::move(response));
    });
  }

  /// [io] A getblocktemplate answer.
  void on_template_reply(uint64_t gen, uint64_t id, bool longpoll, const std::string& endpoint, const node::Error& error, node::Response response) {
    std::optional<otedama::bitcoin::BlockTemplate> tmpl;
    std::string why;
    node::Error failure = error;
    if (!failure) {
      if (response.status == 200) {
        json::Document doc;
        if (!doc.parse(response.body, bitcoind::node_reply_limits())) {
          failure = bad_reply("getblocktemplate", std::string(doc.error()));
        } else if (const auto err = doc.root().find("error"); err.exists() && !err.is_null()) {
          Poco::Dynamic::Var ignored;
          failure = node::parse_rpc_reply(response, id, endpoint, &ignored);
          if (!failure) failure = bad_reply("getblocktemplate", "error object in a 200 reply");
        } else {
          tmpl = bitcoind::parse_block_template(doc.root().find("result"), &why);
          if (!tmpl) failure = bad_reply("getblocktemplate", why);
        }
      } else {
        Poco::Dynamic::Var ignored;
        failure = node::parse_rpc_reply(response, id, endpoint, &ignored);
        if (!failure) failure = bad_reply("getblocktemplate", "HTTP " + std::to_string(response.status));
      }
    }
    std::lock_guard lock(mutex_);
    if (gen != generation_ || stopped_) return;
    (longpoll ? longpoll_in_flight_ : gbt_in_flight_) = false;
    if (failure) {
      if (failure.kind != node::ErrorKind::shutdown) {
        count(failure.kind == node::ErrorKind::json ? "bad_reply" : "rpc_failed");
        if (failure.kind == node::ErrorKind::rpc_error) {
          if (const auto s = bitcoind::state_of_rpc_error(failure.rpc_code)) set_state_locked(*s, failure.message);
          else host().logf(OTD_LOG_WARN, "bitcoind: getblocktemplate failed: %s", failure.message.c_str());
        } else if (failure.kind == node::ErrorKind::json) {
          host().logf(OTD_LOG_WARN, "bitcoind: unusable template from %s: %s", endpoint.c_str(), failure.message.c_str());
        } else if (!longpoll || failure.kind != node::ErrorKind::timeout) {
          ++failures_;
          set_state_locked(bitcoind::NodeState::down, failure.message);
        }
      }
    } else {
      post_template_locked(std::move(*tmpl), longpoll);
    }
    if (!longpoll && refetch_) fetch_template_locked();
    if (longpoll) start_longpoll_locked();
  }

  /// [any, mutex held] Build and post a template (CLEAN when its previous block is new).
  void post_template_locked(otedama::bitcoin::BlockTemplate tmpl, bool from_longpoll) {
    if (state_ != bitcoind::NodeState::up || payout_script_.empty()) return;
    // An answer overtaken by a newer one (a slow regular fetch after a long-poll saw the next block): an older
    // height is dropped unless it builds on the best block the node reported (a reorganisation).
    if (current_ && tmpl.height < current_->tmpl.height && common::to_hex(common::reversed(tmpl.prev_hash)) != best_hash_) return;
    const bool clean = !current_ || current_->tmpl.prev_hash != tmpl.prev_hash;
    // The same tip and the same transactions (bitcoind's longpollid is the tip and its mempool counter): nothing
    // new for the miners until the refresh is due (after a block both the fetch and the long-poll answer).
    const uint64_t now = static_cast<uint64_t>(host().wall_time_ms());
    if (!clean && !tmpl.longpollid.empty() && tmpl.longpollid == current_->tmpl.longpollid && now - last_template_ms_ < kRefreshMs) return;
    const std::string job_id = std::to_string(tmpl.height) + "-" + std::to_string(templates_posted_ + 1);
    std::string why;
    auto prepared = bitcoind::prepare(std::move(tmpl), payout_script_, config_, coin_, algorithm_, job_id, &why);
    if (!prepared) {
      count("bad_template");
      host().logf(OTD_LOG_ERROR, "bitcoind: cannot build a job from the node's template: %s", why.c_str());
      return;
    }
    auto p = std::make_shared<bitcoind::PreparedTemplate>(std::move(*prepared));
    const otd_template_t view = p->view(clean ? OTD_TEMPLATE_CLEAN : 0);
    uint64_t job = 0;
    char err[OTD_ERROR_CAP] = {};
    const otd_status_t st = jobs_->submit_template(host().raw(), &view, &job, err, sizeof err);
    if (st != OTD_OK) {
      count("template_refused");
      host().logf(OTD_LOG_ERROR, "bitcoind: the host refused template %s: %s", job_id.c_str(), err);
      return;
    }
    current_ = std::move(p);
    withdrawn_ = false;
    ++templates_posted_;
    last_template_ms_ = now;
    if (clean)
      host().logf(OTD_LOG_INFO, "bitcoind: new block template %s: height %llu, %zu transactions, reward %llu%s", job_id.c_str(),
                  static_cast<unsigned long long>(current_->tmpl.height), current_->tmpl.transactions.size(),
                  static_cast<unsigned long long>(current_->tmpl.coinbase_value), from_longpoll ? " (long-poll)" : "");
  }

  /// [any, mutex held] Record a state; a change logs one line, posts a status event and, when the node is not
  /// up any more, withdraws the jobs already posted.
  void set_state_locked(bitcoind::NodeState state, const std::string& why) {
    const bool changed = state != state_;
    state_ = state;
    state_why_ = why;
    if (!changed) return;
    const auto level = state == bitcoind::NodeState::up ? OTD_LOG_INFO : OTD_LOG_WARN;
    host().logf(level, "bitcoind: node %s is %s: %s%s", config_.daemons[active_].url.c_str(), bitcoind::node_state_name(state), why.c_str(),
                state == bitcoind::NodeState::up ? "" : "; no new work until it is back");
    auto ev = otd_event_status_t{};
    ev.header.size = sizeof ev;
    ev.header.type = OTD_EVENT_STATUS;
    ev.state = state == bitcoind::NodeState::up ? OTD_STATUS_UP
               : (state == bitcoind::NodeState::syncing || state == bitcoind::NodeState::no_peers) ? OTD_STATUS_DEGRADED
                                                                                                   : OTD_STATUS_DOWN;
    sdk::copy_field(ev.component, "node:" + config_.daemons[active_].url);
    sdk::copy_field(ev.message, std::string(bitcoind::node_state_name(state)) + ": " + why);
    host().post_event(ev.header);
    if (state != bitcoind::NodeState::up) withdraw_locked();
  }

  /// [any, mutex held] Tell the host every job of this source is stale (the node cannot build on it now).
  void withdraw_locked() {
    if (withdrawn_ || !current_) return;
    withdrawn_ = true;
    current_.reset();  // the next template after recovery is CLEAN
#ifdef OTD_TEMPLATE_WITHDRAW
    auto t = sdk::make_struct<otd_template_t>();
    t.flags = OTD_TEMPLATE_WITHDRAW;
    uint64_t job = 0;
    char err[OTD_ERROR_CAP] = {};
    if (jobs_->submit_template(host().raw(), &t, &job, err, sizeof err) != OTD_OK)
      host().logf(OTD_LOG_WARN, "bitcoind: the host refused to withdraw the jobs: %s", err);
#endif
  }

  void post_block(uint32_t state, const uint8_t* hash, uint64_t height, uint64_t reward, const std::string& coin) {
    auto ev = otd_event_block_t{};
    ev.header.size = sizeof ev;
    ev.header.type = OTD_EVENT_BLOCK;
    ev.state = state;
    ev.height = height;
    std::copy(hash, hash + OTD_HASH_SIZE, ev.hash);
    ev.reward = reward;
    sdk::copy_field(ev.coin, coin);
    host().post_event(ev.header);
  }

  void register_metrics() {
    if (metric_registered_ || host().raw() == nullptr || host().raw()->metric_register == nullptr) return;
    static const char* const kLabels[] = {"event"};
    auto desc = sdk::make_struct<otd_metric_desc_t>();
    desc.type = OTD_METRIC_COUNTER;
    desc.name = "bitcoind_events_total";
    desc.help = "bitcoind job source: blocks accepted/rejected, failed RPC calls, unusable node replies, ZMQ messages and errors, by event";
    desc.unit = "";
    desc.label_count = 1;
    desc.label_names = kLabels;
    metric_registered_ = host().raw()->metric_register(host().raw(), &desc, &metric_) == OTD_OK;
  }

  void count(const char* event) const {
    if (!metric_registered_) return;
    const char* label[] = {event};
    host().raw()->metric_update(host().raw(), metric_, label, 1.0);
  }

  bitcoind::Config config_;
  const otd_jobs_service_t* jobs_ = nullptr;
  const otd_timer_service_t* timers_ = nullptr;
  const otd_net_service_t* net_ = nullptr;
  otd_timer_t* timer_ = nullptr;
  std::vector<std::unique_ptr<node::zmtp::ZmqSubscriber>> zmq_;  ///< started in start(), shut down in stop()
  bool metric_registered_ = false;
  uint32_t metric_ = 0;

  std::mutex mutex_;
  bool stopped_ = true;
  std::shared_ptr<Clients> clients_;
  uint64_t generation_ = 0;
  std::size_t active_ = 0;
  int failures_ = 0;
  bool health_in_flight_ = false;
  bool gbt_in_flight_ = false;
  bool refetch_ = false;
  bool longpoll_in_flight_ = false;
  uint64_t rpc_id_ = 0;
  bitcoind::NodeState state_ = bitcoind::NodeState::unknown;
  std::string state_why_ = "not checked yet";
  std::string coin_;
  std::string algorithm_;
  std::vector<uint8_t> payout_script_;
  std::string best_hash_;
  std::shared_ptr<bitcoind::PreparedTemplate> current_;
  bool withdrawn_ = false;
  uint64_t last_template_ms_ = 0;
  uint64_t templates_posted_ = 0;
  uint64_t blocks_submitted_ = 0;
  std::set<otedama::bitcoin::Hash256> parents_in_flight_;
  std::vector<otedama::bitcoin::Hash256> closed_parents_;  ///< the last 16 parents no further block of ours can extend
};

constexpr otd_plugin_descriptor_t kDescriptor =
    sdk::descriptor(OTD_KIND_TRANSPORT, "org.otedama.transport.bitcoind", "bitcoind", "0.1.0", "Otedama",
                    "Job source for the Bitcoin family (bitcoind, litecoind): getblocktemplate, long-poll, submitblock", "",
                    OTD_TRANSPORT_INTERFACE_ID);

}  // namespace

OTEDAMA_PLUGIN_ENTRY(sdk::plugin_class<Bitcoind>(kDescriptor));
