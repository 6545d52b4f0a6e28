// The actor behind one concrete topic: its subscribers, its handlers, its fan-out.
#pragma once

#include "actors/channel.hpp"
#include "actors/channel_definition.hpp"
#include "actors/context.hpp"
#include "actors/history.hpp"
#include "actors/messages.hpp"
#include "actors/metrics.hpp"
#include "actors/presence.hpp"
#include "actors/redis_broker.hpp"

#include <boost/json/object.hpp>
#include <caf/event_based_actor.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace pulse {

/// One client's subscription to a topic: Phoenix's per-join socket state.
struct subscriber {
  caf::actor connection;
  std::string join_ref;
  boost::json::object params;
  boost::json::object assigns;
  std::shared_ptr<const connection_identity> identity;     ///< never null
  std::shared_ptr<transport::websocket_connection> socket; ///< where its frames go
};

/// Runs one topic's handlers, one message at a time; fans broadcasts out to the connection
/// actors of its subscribers as one shared, pre-encoded frame.
class channel_actor : public caf::event_based_actor {
 public:
  channel_actor(caf::actor_config& config, std::string topic,
                std::shared_ptr<channel_definition> definition, actor_metrics* metrics,
                caf::actor registry, std::shared_ptr<redis_broker> broker = nullptr);

  caf::behavior make_behavior() override;
  const char* name() const override { return "pulse.channel"; }
  void on_exit() override;

  const std::string& topic() const noexcept { return topic_; }
  std::size_t subscriber_count() const noexcept { return subscribers_.size(); }
  std::vector<boost::json::value> recent(std::string_view event, std::size_t max) const;

  // What channel and pulse::context do on a handler's behalf.
  /// Every subscriber but `except` (if any); `record`: kept in the history (presence diffs are
  /// not: a rejoining client gets the presence state instead).
  void broadcast(std::string_view event, const boost::json::value& payload,
                 const pulse::subscriber* except, bool record = true);
  void deliver(const pulse::subscriber& to, transport::outbound_frame frame);
  void reply(const pulse::subscriber& to, const std::optional<std::string>& ref, bool ok,
             const boost::json::value& response);
  void request(pulse::subscriber& to, std::string_view event, const boost::json::value& payload,
               std::chrono::milliseconds timeout, answer_handler on_answer);

  /// Quits with an error once the current message is handled (channel::fail).
  void fail(std::string_view reason);

  // Presence, for the subscriber a context serves.
  void track(const pulse::subscriber& who, std::string_view key, boost::json::object meta);
  void update(const pulse::subscriber& who, std::string_view key, boost::json::object meta);
  void untrack(const pulse::subscriber& who, std::string_view key);
  /// Everyone present: here, and through the other nodes (scale-out).
  boost::json::object presence_list() const;

 private:
  struct pending_request {
    caf::actor_id connection;
    answer_handler on_answer;
  };

  void handle_subscribe(messages::subscribe& msg);
  void handle_push(messages::push& msg);
  void handle_unsubscribe(caf::actor_id connection, const std::string* join_ref);
  void handle_answer(messages::answer& msg);
  void handle_dispatch(messages::dispatch& msg);
  void handle_remote(messages::remote_broadcast& msg);
  void handle_history(messages::history_loaded& msg);
  /// A presence diff of this node: to every node's subscribers, and into Redis.
  void presence_changed(const boost::json::object& diff);
  void hear_presence(const std::string& incarnation, std::chrono::steady_clock::time_point at);
  void handle_presence_fetched(messages::presence_fetched& msg);
  void start_presence_ticks();
  void tell_listeners(std::string_view event, const boost::json::value& payload);
  /// One shared frame onto every subscriber's socket queue but `except`'s.
  void fan_out(const transport::outbound_frame& frame, const pulse::subscriber* except);
  void finish_request(std::uint64_t id, answer result);
  void run_handler(pulse::context& ctx, const boost::json::value& payload);
  void remove_listener(caf::actor_id listener);
  pulse::subscriber* find(caf::actor_id connection);
  void check_idle();
  void report_idle();
  /// After each message: writes the broadcasts queued so far, once the mailbox is empty.
  void after_message();
  void uncork();
  /// The join reply's response with the history's position, and what the client missed.
  std::vector<transport::outbound_frame> recover(const boost::json::object& params,
                                                 boost::json::value& response);

  std::string topic_;
  std::shared_ptr<channel_definition> definition_;
  std::shared_ptr<const channel_settings> settings_;
  std::unique_ptr<channel> channel_;
  std::unordered_map<std::string, handler> handlers_;
  std::string handled_events_; // for errors that name what was expected
  actor_metrics* metrics_;
  caf::actor registry_;

  std::vector<pulse::subscriber> subscribers_; // contiguous: the fan-out loop walks it
  std::unordered_map<caf::actor_id, std::size_t> index_;
  std::vector<caf::actor> listeners_; // in-process subscribers

  std::unordered_map<std::uint64_t, pending_request> requests_;
  std::uint64_t next_request_ = 0;

  /// Frames for a client whose join is being decided: they follow its join reply.
  const pulse::subscriber* joining_ = nullptr;
  std::vector<transport::outbound_frame> join_held_;

  std::string incarnation_; // names this actor among the topic's actors on every node
  presence_table presence_;
  bool uses_presence_ = false; // once anyone was tracked, joiners get presence_state
  /// Scale-out: who is present through other nodes, and when each of their channel actors
  /// last gave a sign of life (see redis_broker::presence_timeout).
  remote_presence remote_presence_;
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> heard_;
  bool presence_ticking_ = false;
  std::string
    presence_tail_head_; ///< how a presence diff's tail starts: `"topic","presence_diff",`
  std::optional<message_history> history_;

  /// Sockets with broadcasts queued and not yet written (see after_message()). Plain pointers,
  /// no reference counting in the fan-out loop: a subscriber is only ever removed after uncork().
  std::vector<transport::websocket_connection*> corked_;
  std::size_t corked_broadcasts_ = 0;

  /// Scale-out (redis_broker.hpp): broadcasts go through Redis and come back to every node.
  /// Until the broker has the topic's shared history, joins and broadcasts wait.
  std::shared_ptr<redis_broker> broker_;
  bool syncing_ = false;
  std::vector<messages::subscribe> held_joins_;
  std::vector<messages::remote_broadcast> held_broadcasts_;

  std::uint64_t routed_ = 0;
  std::uint64_t idle_generation_ = 0;
  bool idle_reported_ = false;
};

} // namespace pulse
