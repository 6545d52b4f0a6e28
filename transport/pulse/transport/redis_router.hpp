// Where each Redis command and subscription goes, for the three deployments Pulse supports:
// one Redis (one address), Redis Sentinel (the master the sentinels name, followed through
// failovers) and Redis Cluster (the master that owns the key's slot, after CLUSTER SLOTS, MOVED
// and ASK). Every node it talks to gets two connections: one for commands, one for
// subscriptions (plain SUBSCRIBE, or sharded SSUBSCRIBE in a cluster, so that a broadcast only
// crosses the shard that owns its topic). Subscriptions are kept: made again on whichever node
// serves them after a reconnection, a failover or a slot's move, each time announced by
// on_subscribed() (what was published in between was not heard).
#pragma once

#include <pulse/transport/redis_client.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace pulse::transport {

class redis_sentinel;

/// Redis Cluster's slot of a key (CRC16 of its hash tag, or of the whole key, modulo 16384).
std::uint16_t redis_key_slot(std::string_view key);

/// Every member runs on the io_context's thread (one thread), except healthy().
class redis_router : public std::enable_shared_from_this<redis_router> {
 public:
  enum class deployment { single, sentinel, cluster };
  struct settings {
    deployment kind = deployment::single;
    /// single: the one Redis; sentinel: the sentinels; cluster: some of its nodes.
    std::vector<redis_address> addresses;
    std::string master_name; ///< sentinel: the master's name in the sentinels' configuration
  };

  using callback = redis_client::callback;

  redis_router(boost::asio::io_context& io, settings config);
  ~redis_router();

  redis_router(const redis_router&) = delete;
  redis_router& operator=(const redis_router&) = delete;

  /// A message on a subscribed channel.
  void on_message(std::function<void(std::string_view channel, std::string_view data)> fn) {
    on_message_ = std::move(fn);
  }
  /// A subscription started, or started again: what was published before may not have been
  /// heard.
  void on_subscribed(std::function<void(const std::string& channel)> fn) {
    on_subscribed_ = std::move(fn);
  }
  /// A subscription ended without being asked to (a connection dropped, a slot moved): nothing
  /// published on the channel is heard until on_subscribed() says it is back.
  void on_lost(std::function<void(const std::string& channel)> fn) { on_lost_ = std::move(fn); }
  /// After the messages of one read were handed over: a batch ends there.
  void on_read_done(std::function<void()> fn) { on_read_done_ = std::move(fn); }
  /// Every command can be served (true), or some cannot (false, with why).
  void on_health(std::function<void(bool up, std::string_view reason)> fn) {
    on_health_ = std::move(fn);
  }

  void start();
  void stop();

  /// Every node that serves a slot (or the one master) is connected.
  bool healthy() const noexcept { return healthy_.load(std::memory_order_acquire); }
  /// Subscriptions are sharded (SSUBSCRIBE) and scripts must publish with SPUBLISH.
  bool sharded() const noexcept { return config_.kind == deployment::cluster; }

  /// Sends `args` to the node serving `key`'s slot, following MOVED and ASK and retrying while
  /// a slot migrates or a cluster or replica recovers (a few seconds at most). `done` is always
  /// called, later: with nothing when the command could not be sent or its connection dropped
  /// before the answer (it may or may not have run).
  void command(std::string_view key, std::vector<std::string> args, callback done);

  /// Subscribes to `channel` and keeps it subscribed, wherever it is served, until unsubscribe().
  void subscribe(const std::string& channel);
  void unsubscribe(const std::string& channel);

  /// How many times a command follows a redirection or retries before its error is the answer.
  static constexpr int max_attempts = 40;
  static constexpr std::chrono::milliseconds retry_delay{100};

 private:
  struct node {
    redis_address address;
    std::shared_ptr<redis_client> commands;
    std::shared_ptr<redis_client> events;
  };
  struct subscription {
    node* on = nullptr;     ///< where it was asked for (nullptr: nowhere yet)
    bool confirmed = false; ///< Redis answered the subscribe
  };

  node& node_at(const redis_address& address);
  node* owner(std::string_view key);
  void send(std::string_view key, std::vector<std::string> args, callback done, int attempt,
            std::optional<redis_address> asking);
  void retry(std::string key, std::vector<std::string> args, callback done, int attempt,
             std::chrono::milliseconds after, std::optional<redis_address> asking = std::nullopt);
  void place(const std::string& channel);
  void place_all();
  void lose(const std::string& channel);
  void lose_all_on(node& n);
  void refresh();
  void apply_slots(const redis_reply& reply);
  void watch_topology();
  void update_health(std::string_view reason);
  void master_changed(const redis_address& address);

  boost::asio::io_context& io_;
  settings config_;
  std::map<std::string, std::unique_ptr<node>> nodes_; ///< by "host:port"; only ever added
  node* primary_ = nullptr;                            ///< single and sentinel: the master
  std::shared_ptr<redis_sentinel> sentinel_;
  std::vector<node*> slots_;                          ///< cluster: each slot's master
  std::map<std::string, subscription> subscriptions_; ///< channel -> where it is
  bool refreshing_ = false;
  bool refresh_again_ = false;
  boost::asio::steady_timer topology_timer_;
  std::set<std::shared_ptr<boost::asio::steady_timer>> retries_; ///< cancelled by stop()
  std::atomic<bool> healthy_ = false;
  bool reported_healthy_ = false;
  bool stopped_ = true;
  std::function<void(std::string_view, std::string_view)> on_message_;
  std::function<void(const std::string&)> on_subscribed_;
  std::function<void(const std::string&)> on_lost_;
  std::function<void()> on_read_done_;
  std::function<void(bool, std::string_view)> on_health_;
};

} // namespace pulse::transport
