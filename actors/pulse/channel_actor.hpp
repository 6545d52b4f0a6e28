// The actor behind one concrete topic, as Phoenix's Channel.Server: it runs the topic's handlers
// one message at a time and keeps who is subscribed. What it sends goes through its
// subscriber_set (batched, one shared message per subscriber's connection actor per flush); who
// is present is its channel_presence; what a rejoining client missed is its message_history;
// questions to clients are its server_requests; with scale-out its broadcasts go through the
// Redis broker and come back as every node's (the "scale-out" part of channel_actor.cpp).
#pragma once

#include <pulse/channel.hpp>
#include <pulse/channel_definition.hpp>
#include <pulse/channel_presence.hpp>
#include <pulse/context.hpp>
#include <pulse/history.hpp>
#include <pulse/messages.hpp>
#include <pulse/metrics.hpp>
#include <pulse/redis_broker.hpp>
#include <pulse/server_requests.hpp>
#include <pulse/subscriber_set.hpp>
#include <pulse/topic_directory.hpp>

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

class channel_actor : public caf::event_based_actor {
 public:
  channel_actor(caf::actor_config& config, std::string topic,
                std::shared_ptr<channel_definition> definition, actor_metrics* metrics,
                std::shared_ptr<topic_directory> directory,
                std::shared_ptr<redis_broker> broker = nullptr);

  caf::behavior make_behavior() override;
  const char* name() const override { return "pulse.channel"; }
  void on_exit() override;

  const std::string& topic() const noexcept { return topic_; }
  std::size_t subscriber_count() const noexcept { return subscribers_.size(); }
  std::vector<boost::json::value> recent(std::string_view event, std::size_t max) const;
  std::vector<binary> recent_bytes(std::string_view event, std::size_t max) const;

  // What channel and pulse::context do on a handler's behalf.
  /// Every subscriber but `except` (if any), on every node; `keep`: kept in the history
  /// (presence diffs are not: a rejoining client gets the presence state instead).
  void broadcast(std::string_view event, const any_payload& p, const pulse::subscriber* except,
                 bool keep = true);
  /// A frame (in its format) for one subscriber, in its place among the broadcasts.
  void deliver(const pulse::subscriber& to, transport::outbound_frame frame);
  void push(const pulse::subscriber& to, std::string_view event, const any_payload& p);
  void reply(const pulse::subscriber& to, const std::optional<std::string>& ref, bool ok,
             const any_payload& response);
  void request(pulse::subscriber& to, std::string_view event, const boost::json::value& payload,
               std::chrono::milliseconds timeout, answer_handler on_answer);

  /// Quits with an error once the current message is handled (channel::fail).
  void fail(std::string_view reason);

  // Presence, for the subscriber a context serves.
  void track(const pulse::subscriber& who, std::string_view key, boost::json::object meta);
  void update(const pulse::subscriber& who, std::string_view key, boost::json::object meta);
  void untrack(const pulse::subscriber& who, std::string_view key);
  /// Everyone present: here, and through the other nodes (scale-out).
  boost::json::object presence_list() const { return presence_.list(); }

 private:
  // Subscription.
  void handle_subscribe(messages::subscribe& msg);
  void handle_unsubscribe(caf::actor_id connection, const std::string* join_ref);
  void refuse(messages::subscribe& msg, const pulse::context& ctx);
  /// A channel that requires tokens: false, with ctx rejected, when the join's is not good.
  bool check_channel_token(pulse::subscriber& candidate, pulse::context& ctx);
  void check_idle();
  void retire();
  /// While retiring: hands what reached it to the topic's next actor. True when it did.
  template<class Message>
  bool forward_if_retiring(Message& msg, bool start);

  // Events.
  void handle_push(messages::push& msg);
  void handle_dispatch(messages::dispatch& msg);
  void handle_answer(messages::answer& msg);
  void finish_request(std::uint64_t id, server_requests::pending pending, answer result);
  void run_handler(pulse::context& ctx, const any_payload& p);
  void tell_listeners(std::string_view event, const any_payload& p);
  /// A broadcast's frame in each format its subscribers speak (and V2 for the history).
  frame_set encode_broadcast(std::string_view event, const any_payload& p,
                             const std::optional<std::string>& offset, bool for_history) const;
  /// The same, from a tail that another node (or Redis) encoded.
  frame_set frames_from_tail(std::string_view tail, const std::optional<std::string>& offset,
                             bool for_history) const;
  void remove_listener(caf::actor_id listener);

  // Output: after each message, what it queued goes out once the mailbox is empty.
  void after_message();

  // Presence.
  void share_presence(const boost::json::object& diff);
  void start_heartbeat();

  // Scale-out.
  void handle_remote(messages::remote_broadcast& msg);
  void handle_history(messages::history_loaded& msg);
  /// What it broadcast through Redis goes to the broker: at once when `now`, else once its
  /// mailbox is empty (a batch per burst, as the fan-out does).
  void share(bool now);
  /// Subscribers may have missed broadcasts: each gets a pulse_gap event.
  void notify_gap(const messages::stream_gap& gap);

  std::string topic_;
  std::shared_ptr<channel_definition> definition_;
  std::shared_ptr<const channel_settings> settings_;
  std::unique_ptr<channel> channel_;
  std::unordered_map<std::string, handler> handlers_;
  std::string handled_events_; // for errors that name what was expected
  actor_metrics* metrics_;
  std::shared_ptr<topic_directory> directory_;

  subscriber_set subscribers_;
  std::vector<caf::actor> listeners_; // in-process subscribers
  server_requests requests_;
  std::string incarnation_; // names this actor among the topic's actors on every node
  channel_presence presence_;
  std::optional<message_history> history_;

  /// Frames for a client whose join is being decided: they follow its join reply.
  const pulse::subscriber* joining_ = nullptr;
  std::vector<transport::outbound_frame> join_held_;

  /// Scale-out (redis_broker.hpp): broadcasts go through Redis and come back to every node.
  /// Until the broker has the topic's shared history, joins and broadcasts wait.
  std::shared_ptr<redis_broker> broker_;
  bool syncing_ = false;
  std::vector<messages::subscribe> held_joins_;
  std::vector<messages::remote_broadcast> held_broadcasts_;
  std::vector<messages::shared_broadcast> shared_; ///< broadcast, not yet handed to the broker
  bool share_due_ = false;                         ///< a share_atom is on its way
  std::vector<caf::response_promise> draining_;    ///< drain requests waiting for the broker

  std::uint64_t idle_generation_ = 0;
  bool retiring_ = false; // out of the directory: forwards, then stops
};

} // namespace pulse
