// Shares channels between Pulse nodes through Redis: the broker seam's scale-out side.
//
// A channel sends what it broadcast during one mailbox burst as one batch; one script numbers the
// batch (for topics that keep history, offsets in the history), appends the kept broadcasts to
// the topic's stream (bounded with MAXLEN ~) and publishes the batch as one message on the
// topic's Redis channel: every node, the publisher's too, then fans it out to its own
// subscribers as Redis ordered it, in one flush. So a broadcast reaches every node's subscribers
// once, in the same order everywhere, and offsets and epochs are the same on every node: a
// client recovers on any node.
//
// Nothing is lost to a short outage (topic_sync.hpp): a node holds what its channels publish
// while Redis is out of reach and publishes it once Redis is back; each topic then reads from
// its stream what it missed (by offset) and delivers it before anything newer; where something
// is lost for good (no history, an outage longer than the hold, a stream trimmed past it),
// the channel's subscribers get a pulse_gap event. Redis may be one server, a master that Redis
// Sentinel names (followed through failovers), or a Redis Cluster (each topic's keys and
// sharded channel in its slot, so broadcasts spread over the masters). Keys: redis_wire.hpp.
#pragma once

#include <pulse/messages.hpp>

#include <caf/actor.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace pulse {

class redis_broker {
 public:
  struct config {
    enum class deployment { single, sentinel, cluster };
    deployment kind = deployment::single;
    /// single: "redis://HOST:PORT"; sentinel: the sentinels and cluster: some of its nodes, as
    /// "HOST:PORT,HOST:PORT,...".
    std::string addresses;
    std::string master_name; ///< sentinel: the master's name
    /// How long a node holds what its channels publish while Redis is out of reach, before it
    /// gives up and serves alone.
    std::chrono::milliseconds hold{10000};
    /// How many broadcasts a topic holds at most meanwhile (then it serves alone).
    std::size_t max_held = 10000;
  };

  /// Throws std::invalid_argument when an address is malformed.
  explicit redis_broker(config settings);
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
  /// Delivers `topic`'s broadcasts from every node to `channel` (messages::remote_batch, in
  /// order), after messages::history_loaded with the topic's shared history (up to `keep`
  /// entries; while Redis is unreachable, a fresh local epoch at once). After a reconnection it
  /// catches up from the stream; when the history it follows is lost (Redis lost its data), a
  /// new history_loaded.
  void join(const std::string& topic, const caf::actor& channel, std::size_t keep);
  void leave(const std::string& topic, caf::actor_id channel);
  /// Publishes what a channel broadcast, in order. What Redis does not take within the hold
  /// comes back to `channel` as messages::publish_failed.
  void publish(const std::string& topic, std::vector<messages::shared_broadcast> broadcasts,
               const caf::actor& channel);
  /// Sends `channel` messages::drained_atom once everything it published came back from Redis
  /// (within drain_wait; what has not by then comes back as messages::publish_failed first).
  void drain(const std::string& topic, const caf::actor& channel);
  static constexpr std::chrono::milliseconds drain_wait{2000};

  // Presence across nodes: each channel actor stores its own presence list under its
  // incarnation when it changes, and gives a sign of life every presence_heartbeat (a small
  // sorted set per topic, not the lists); one that stays silent for presence_timeout is gone
  // (its node died), and every node's channel tells its subscribers that its metas left.
  static constexpr std::chrono::milliseconds presence_heartbeat{1000};
  static constexpr std::chrono::milliseconds presence_timeout{4000};
  void store_presence(const std::string& topic, const std::string& incarnation, std::string list);
  void remove_presence(const std::string& topic, const std::string& incarnation);
  /// The heartbeat: refreshes `incarnation`'s sign of life (when `alive`) and sends `channel`
  /// messages::presence_fetched with every incarnation's age (lists are not read).
  void beat_presence(const std::string& topic, const std::string& incarnation, bool alive,
                     const caf::actor& channel);

 private:
  struct state;
  std::weak_ptr<state> weak() const;
  std::shared_ptr<state> state_;
};

} // namespace pulse
