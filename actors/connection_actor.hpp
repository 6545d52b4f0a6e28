// The actor behind one client connection: routes its messages to channels, owns its socket's
// writes, and knows which topics it joined (topic -> join_ref).
#pragma once

#include "actors/auth.hpp"
#include "actors/messages.hpp"
#include "actors/metrics.hpp"
#include "transport/connection.hpp"
#include "transport/envelope.hpp"

#include <caf/event_based_actor.hpp>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
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
};

class connection_actor : public caf::event_based_actor {
 public:
  connection_actor(caf::actor_config& config,
                   std::shared_ptr<transport::websocket_connection> socket, caf::actor registry,
                   connection_limits limits, std::shared_ptr<const connection_identity> identity,
                   actor_metrics* metrics);

  caf::behavior make_behavior() override;
  const char* name() const override { return "pulse.connection"; }
  void on_exit() override;

 private:
  struct topic_state {
    std::string join_ref;
    caf::actor channel;                    ///< set once the join succeeded
    std::vector<transport::envelope> held; ///< pushes that arrived before that
  };

  void handle_text(std::string& text);
  enum class admission { admitted, refused, closed };
  /// Takes a token for one inbound message: refused past the rate, closed far past it.
  admission admit_message();
  void handle(transport::envelope&& msg);
  void handle_subscribe(transport::envelope&& msg);
  void handle_unsubscribe(transport::envelope&& msg);
  void forward(transport::envelope&& msg, topic_state& state);
  void handle_subscribed(messages::subscribed& msg);
  void handle_refused(messages::subscribe_refused& msg);
  void handle_channel_down(const caf::down_msg& down);
  void reply_ok(const transport::envelope& msg);
  void reply_error(const transport::envelope& msg, std::string_view reason,
                   bool with_join_ref = true);
  void write(transport::outbound_frame frame);

  std::shared_ptr<transport::websocket_connection> socket_;
  caf::actor registry_;
  connection_limits limits_;
  std::shared_ptr<const connection_identity> identity_;
  actor_metrics* metrics_;
  topic_table<topic_state> topics_;
  double tokens_;
  std::chrono::steady_clock::time_point refilled_ = std::chrono::steady_clock::now();
  bool closing_ = false;
};

/// Spawns the connection actor for a freshly upgraded socket and returns what the transport
/// reports its traffic to.
std::shared_ptr<transport::connection_handler>
open_connection(caf::actor_system& system, std::shared_ptr<transport::websocket_connection> socket,
                const caf::actor& registry, const connection_limits& limits,
                std::shared_ptr<const connection_identity> identity, actor_metrics* metrics);

} // namespace pulse
