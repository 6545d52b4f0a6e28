// Who is present on one topic, on this node and (with scale-out) on the others, as Phoenix's
// Presence and Tracker keep it: this node's table, what the other nodes' channel actors shared,
// and when each of them last gave a sign of life (a node that dies takes its presences along).
#pragma once

#include <pulse/messages.hpp>
#include <pulse/presence.hpp>
#include <pulse/redis_broker.hpp>

#include <boost/json/object.hpp>
#include <caf/actor.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace pulse {

class channel_presence {
 public:
  /// `broker`: null for a topic of this node alone.
  channel_presence(const std::string& topic, std::string incarnation,
                   std::shared_ptr<redis_broker> broker);

  /// Once anyone was tracked (here or elsewhere), joiners get a presence_state.
  bool in_use() const noexcept { return in_use_; }
  /// Everyone present, on every node, as a presence_state payload.
  boost::json::object list() const;

  // This node's clients: each returns the presence_diff to share, if anything changed.
  boost::json::object track(caf::actor_id owner, std::string_view key, boost::json::object meta);
  std::optional<boost::json::object> update(caf::actor_id owner, std::string_view key,
                                            boost::json::object meta);
  std::optional<boost::json::object> untrack(caf::actor_id owner, std::string_view key);
  /// Every key `owner` tracked leaves with it.
  std::optional<boost::json::object> leave(caf::actor_id owner);

  // Scale-out.
  /// Stores this node's list in Redis (before its diff goes out, so that a node hearing the diff
  /// finds the list there).
  void store();
  /// Whether a remote broadcast's tail is a presence_diff.
  bool is_diff(std::string_view tail) const noexcept { return tail.starts_with(diff_head_); }
  /// A presence_diff from another node.
  void heard(const boost::json::object& diff);
  /// What every node stored, as the broker brought it with the topic's history.
  void loaded(const std::vector<messages::presence_record>& records);
  /// The heartbeat's answer: the diffs that take silent nodes' presences away.
  std::vector<boost::json::object> fetched(const std::vector<messages::presence_record>& records);
  /// True once, when the heartbeat must start (the actor sends itself presence_tick_atom).
  bool start_heartbeat();
  /// The heartbeat: this node's sign of life, and every node's age back.
  void beat(const caf::actor& channel);
  /// The actor is going: its presences leave Redis with it.
  void forget();

 private:
  void hear(const std::string& incarnation, std::chrono::steady_clock::time_point at);

  std::string topic_;
  std::string incarnation_; // names this actor among the topic's actors on every node
  std::shared_ptr<redis_broker> broker_;
  presence_table local_;
  remote_presence remote_;
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> heard_;
  std::string diff_head_; ///< how a presence diff's tail starts: `"topic","presence_diff",`
  bool in_use_ = false;
  bool beating_ = false;
};

} // namespace pulse
