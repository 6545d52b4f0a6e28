// Shares channels between Pulse nodes through Redis: the broker seam's scale-out side.
//
// Every broadcast of a node goes to Redis, which numbers it (for topics that keep history),
// appends it to the topic's stream (bounded with MAXLEN) and publishes it on the topic's Redis
// channel, in one script: every node, the publisher's too, then fans it out to its own
// subscribers as Redis ordered it. So a broadcast reaches every node's subscribers once, in
// the order each publisher sent them, and offsets and epochs are the same on every node: a client
// recovers on any node. When Redis is unreachable, each node goes on serving its own
// subscribers alone ("degraded" on /healthz) and rejoins the others once Redis is back.
//
// Redis keys, per topic T: "pulse:{T}" (the pub/sub channel), "pulse:{T}:seq" (the last
// offset), "pulse:{T}:log" (the stream), "pulse:{T}:epoch", "pulse:{T}:presence" (a hash:
// incarnation -> "<ms> <presence list>").
#pragma once

#include <caf/actor.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace pulse {

class redis_broker {
 public:
  /// `url`: "redis://HOST:PORT". Throws std::invalid_argument when it is not one.
  explicit redis_broker(const std::string& url);
  ~redis_broker();

  redis_broker(const redis_broker&) = delete;
  redis_broker& operator=(const redis_broker&) = delete;

  /// Connects (and keeps reconnecting) on a thread of its own.
  void start();
  /// Disconnects and joins its thread. Idempotent.
  void stop();

  /// Connected to Redis: broadcasts cross nodes.
  bool healthy() const noexcept;

  // From channel actors, any thread.
  /// Delivers `topic`'s broadcasts from every node to `channel` (messages::remote_broadcast).
  /// Once listening, it sends `channel` messages::history_loaded with the topic's shared history
  /// (up to `keep` entries), and again after each reconnection; while Redis is unreachable, a
  /// fresh local epoch at once.
  void join(const std::string& topic, const caf::actor& channel, std::size_t keep);
  void leave(const std::string& topic, caf::actor_id channel);
  /// Publishes a broadcast's frame tail to every node; `keep` > 0: numbered and kept in the
  /// topic's stream (at most `keep` entries). When Redis cannot take it, `channel` gets it
  /// back as messages::publish_failed.
  void publish(const std::string& topic, std::string tail, std::size_t keep, caf::actor_id except,
               const caf::actor& channel);

  // Presence across nodes: each channel actor stores its own presence list under its
  // incarnation, again every presence_heartbeat; one that stays silent for presence_timeout is
  // gone (its node died), and every node's channel tells its subscribers that its metas left.
  static constexpr std::chrono::milliseconds presence_heartbeat{1000};
  static constexpr std::chrono::milliseconds presence_timeout{4000};
  void store_presence(const std::string& topic, const std::string& incarnation, std::string list);
  void remove_presence(const std::string& topic, const std::string& incarnation);
  /// Sends `channel` messages::presence_fetched with every incarnation's stored list.
  void fetch_presence(const std::string& topic, const caf::actor& channel);

 private:
  struct state;
  std::shared_ptr<state> state_;
};

} // namespace pulse
