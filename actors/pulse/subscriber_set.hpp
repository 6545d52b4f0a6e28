// A topic's subscribers, and the frames on their way to them: what a channel actor sends in one
// turn is batched, and each flush is one message per subscriber's connection actor, carrying a
// batch every one of them shares. The channel never writes to a socket.
#pragma once

#include <pulse/auth.hpp>
#include <pulse/lean_actor.hpp>
#include <pulse/messages.hpp>

#include <boost/json/object.hpp>
#include <caf/actor.hpp>
#include <caf/execution_unit.hpp>

#include <array>
#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace pulse {

/// One client's subscription to a topic: Phoenix's per-join socket state.
struct subscriber {
  subscriber(caf::actor to, std::string ref, boost::json::object join_params,
             std::shared_ptr<const connection_identity> who,
             transport::phoenix::wire_format written_as);

  caf::actor connection;
  std::string join_ref;
  std::shared_ptr<const connection_identity> identity; ///< never null
  transport::phoenix::wire_format format;              ///< how its frames are written
  bool lean = false; ///< its connection is a lean_actor (set by subscriber_set::add)

  caf::actor_id id() const noexcept { return connection.id(); }

  /// The join's params.
  const boost::json::object& params() const noexcept;
  /// What the handlers assigned to this subscription.
  boost::json::object& assigns();

 private:
  struct extras {
    boost::json::object params;
    boost::json::object assigns;
  };
  // Made only for a join with params or once something is assigned: most subscriptions have
  // neither, and a hot topic holds tens of thousands of them (8 bytes instead of 48 each).
  std::unique_ptr<extras> extras_;
};

/// One message in every wire format (empty where not needed, or not possible).
using frame_set = std::array<transport::outbound_frame, transport::phoenix::wire_format_count>;

class subscriber_set {
 public:
  /// The subscriber behind `connection`, or nullptr.
  subscriber* find(caf::actor_id connection);
  /// Adds `sub`: it gets what is queued from now on. Flush first, or it would get what was
  /// queued before it joined.
  subscriber& add(subscriber sub);
  /// Takes the subscriber behind `connection` out, if its join_ref is `join_ref` (any, when
  /// null). Flush first, or it misses what was queued while it was in.
  std::optional<subscriber> remove(caf::actor_id connection, const std::string* join_ref);

  std::size_t size() const noexcept { return subscribers_.size(); }
  bool empty() const noexcept { return subscribers_.empty(); }
  /// How many subscribers speak `format` (a broadcast is encoded for each format in use).
  std::size_t speaking(transport::phoenix::wire_format format) const noexcept {
    return per_format_[static_cast<std::size_t>(format)];
  }

  /// Queues a message for every subscriber but `except` (0: none), each getting its format's
  /// frame.
  void queue_broadcast(frame_set frames, caf::actor_id except = 0);
  /// Queues a frame (in its format) for one subscriber, in its place among the broadcasts.
  void queue_for(const subscriber& to, transport::outbound_frame frame);

  bool has_queued() const noexcept { return !queued_.empty(); }
  /// Frames queued since the last flush.
  std::size_t queued_frames() const noexcept { return queued_.size(); }

  /// Sends what is queued: one message, built once, to the connection actor of every subscriber
  /// that something in it is for. `host`: the calling actor's execution unit.
  void flush(caf::execution_unit* host);

  /// Drops every subscriber (the actor is going).
  void clear();

 private:
  void send_to_all(const caf::message& batch, caf::actor_id skip, caf::execution_unit* host);
  /// Puts `batch` into the mailbox of `to`'s connection; a lean one that wakes joins `woken`.
  static void deliver(const subscriber& to, const caf::message& batch, wake_list& woken,
                      caf::execution_unit* host);

  // In chunks: a hot topic's tens of thousands of subscribers leave no slack behind (a vector's
  // doubling left up to half of its capacity unused, ~70 bytes per subscriber on average).
  std::deque<subscriber> subscribers_;
  std::unordered_map<caf::actor_id, std::size_t> index_;
  std::vector<messages::outbound_entry> queued_;
  std::array<std::size_t, transport::phoenix::wire_format_count> per_format_{};
};

} // namespace pulse
