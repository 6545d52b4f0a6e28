// The actor behind one client connection: routes its messages to channels, knows which topics
// it joined (topic -> join_ref), and is the only writer of its socket: replies, pushes and the
// channels' batches all reach the socket through it, corked until its mailbox is empty. A lean
// actor (lean_actor.hpp): every broadcast activates every subscriber's connection.
#pragma once

#include <pulse/auth.hpp>
#include <pulse/lean_actor.hpp>
#include <pulse/messages.hpp>
#include <pulse/metrics.hpp>
#include <pulse/topic_directory.hpp>
#include <pulse/transport/connection.hpp>
#include <pulse/transport/envelope.hpp>
#include <pulse/transport/phoenix_codec.hpp>

#include <caf/actor.hpp>
#include <caf/system_messages.hpp>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace pulse {

/// A connection's topics: a handful, so a vector searched in order beats a hash map, in time
/// and in the memory each idle connection costs.
template<class Value>
class topic_table {
 public:
  using entry = std::pair<std::string, Value>;
  using iterator = typename std::vector<entry>::iterator;

  iterator begin() noexcept { return entries_.begin(); }
  iterator end() noexcept { return entries_.end(); }
  iterator find(std::string_view topic) {
    return std::find_if(entries_.begin(), entries_.end(),
                        [topic](const entry& e) { return e.first == topic; });
  }
  iterator erase(iterator it) { return entries_.erase(it); }
  void emplace(std::string topic, Value value) {
    entries_.emplace_back(std::move(topic), std::move(value));
  }
  std::size_t size() const noexcept { return entries_.size(); }
  void clear() noexcept { entries_.clear(); }

 private:
  std::vector<entry> entries_;
};

struct connection_limits {
  std::size_t max_subscriptions = 100;
  /// Pushes held for a topic whose join is still being decided.
  std::size_t max_held_pushes = 64;
  /// Inbound messages per second (a token bucket of one second's worth). Past it, messages get
  /// an error reply; a client that goes on until it is a second's worth in debt is closed (1008).
  double max_messages_per_second = 10'000;
  /// What a message may hold: topic, event and ref sizes, JSON nesting.
  transport::phoenix::decode_limits decode;
};

class connection_actor : public lean_actor {
 public:
  connection_actor(caf::actor_config& config,
                   std::shared_ptr<transport::websocket_connection> socket,
                   std::shared_ptr<topic_directory> directory, const connection_limits& limits,
                   std::shared_ptr<const connection_identity> identity, actor_metrics* metrics,
                   transport::phoenix::wire_format format = transport::phoenix::wire_format::v2);

  const char* name() const override { return "pulse.connection"; }
  void on_exit() override;
  void prefetch_reachable() const noexcept override;

 protected:
  void handle(caf::type_erased_tuple& content) override;

 private:
  struct topic_state {
    std::string join_ref;
    caf::actor channel;                    ///< set once the join succeeded
    std::vector<transport::envelope> held; ///< pushes that arrived before that
  };
  /// A leave the channel has yet to answer (left): its channel stays monitored until then, so
  /// that a channel dying meanwhile still gets the leave answered.
  struct leaving {
    caf::actor_addr channel;
    std::string topic;
    std::string join_ref;
    std::optional<std::string> ref;
  };

  void handle_text(std::string& text);
  void handle_binary(std::string& bytes);
  enum class admission { admitted, refused, closed };
  /// Takes a token for one inbound message: refused past the rate, closed (the connection too)
  /// far past it.
  admission admit_message();
  void handle_decoded(std::variant<transport::envelope, transport::decode_error> decoded,
                      admission admitted);
  void handle(transport::envelope&& msg);
  void handle_subscribe(transport::envelope&& msg);
  void handle_unsubscribe(transport::envelope&& msg);
  void forward(transport::envelope&& msg, topic_state& state);
  void handle_joined(messages::joined& msg);
  void handle_refused(messages::join_refused& msg);
  void handle_fan_out(const messages::fan_out& msg);
  void handle_left(const messages::left& msg);
  /// The leave's `ok` reply (when it had a ref), then phx_close.
  void write_left(const std::string& topic, const std::string& join_ref,
                  const std::optional<std::string>& ref);
  void handle_channel_down(const caf::down_msg& down);
  /// Stops monitoring `channel` unless a subscription or a leave still depends on it.
  void demonitor_unless_used(const caf::actor_addr& channel);
  void shut_down();
  void reply_ok(const transport::envelope& msg);
  void reply_error(const transport::envelope& msg, std::string_view reason,
                   bool with_join_ref = true);
  /// Queues a frame on the socket; after_message() writes what is queued.
  void write(transport::outbound_frame frame);
  /// After each message: once the mailbox is empty (or enough piled up), one write of
  /// everything queued.
  void after_message();

  // First: lean_actor::prefetch() brings it, and prefetch_reachable() reads it.
  std::shared_ptr<transport::websocket_connection> socket_;
  std::shared_ptr<topic_directory> directory_;
  const connection_limits& limits_; // the server's: shared by every connection
  std::shared_ptr<const connection_identity> identity_;
  actor_metrics* metrics_;
  transport::phoenix::wire_format format_;
  topic_table<topic_state> topics_;
  std::vector<leaving> leaving_;
  double tokens_;
  std::chrono::steady_clock::time_point refilled_ = std::chrono::steady_clock::now();
  bool closing_ = false;
  bool must_flush_ = false;          // the socket waits for a flush() of ours
  std::size_t unflushed_frames_ = 0; // queued since the last flush
};

/// Spawns the connection actor for a freshly upgraded socket and returns what the transport
/// reports its traffic to. `limits` outlives the actor (the server's).
std::shared_ptr<transport::connection_handler>
open_connection(caf::actor_system& system, std::shared_ptr<transport::websocket_connection> socket,
                std::shared_ptr<topic_directory> directory, const connection_limits& limits,
                std::shared_ptr<const connection_identity> identity, actor_metrics* metrics,
                transport::phoenix::wire_format format = transport::phoenix::wire_format::v2);

} // namespace pulse
