// Handles for server code: a topic to broadcast to from any thread, and a channel definition to
// add lambda handlers to.
#pragma once

#include "actors/handlers.hpp"
#include "actors/payload.hpp"
#include "actors/typed.hpp"

#include <boost/json/value.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace pulse {

class context;
struct channel_definition;
struct server_core;

/// One concrete topic, usable from any thread, at any time. Cheap to copy. After its server is
/// gone, every call does nothing.
class channel_handle {
 public:
  const std::string& topic() const noexcept { return topic_; }

  /// Sends `event` to every subscriber of the topic (encoded once, in the topic's actor).
  void broadcast(std::string_view event, boost::json::value payload) const;
  template<bytes B>
  void broadcast(std::string_view event, B&& payload) const {
    broadcast_bytes(event, binary{std::forward<B>(payload)});
  }

  /// Runs the topic's handler for `event` as if a client had pushed it; there is no client, so
  /// the handler's ctx.send and replies go nowhere.
  void send(std::string_view event, boost::json::value payload) const;
  template<bytes B>
  void send(std::string_view event, B&& payload) const {
    send_bytes(event, binary{std::forward<B>(payload)});
  }

 private:
  friend class server;
  friend class channel_builder;
  void broadcast_bytes(std::string_view event, binary payload) const;
  void send_bytes(std::string_view event, binary payload) const;
  channel_handle(std::weak_ptr<server_core> core, std::string topic)
      : core_(std::move(core)), topic_(std::move(topic)) {}

  std::weak_ptr<server_core> core_;
  std::string topic_;
};

/// A channel definition, as server.channel(...) returns it. Lambdas added here join the class's
/// own handlers (a lambda for the same event wins):
///
///   auto notifications = server.channel("notifications");
///   notifications.on("new_alert", [&](pulse::context&, const boost::json::value& p) {
///     notifications.broadcast("alert", {{"message", p.at("message")}});
///   });
class channel_builder {
 public:
  /// Handles `event` with `fn`: `(context&, const boost::json::value&)` (or `const
  /// pulse::binary&` for bytes, `const pulse::any_payload&` for either), returning nothing or the
  /// reply.
  channel_builder& on(std::string event, handler fn);
  /// Declares that the channel sends `event` with a `T` payload (for the TypeScript types of
  /// --emit-types: a lambda channel's outbound events are known from this alone).
  template<class T>
  channel_builder& emits(std::string event) {
    return emits(std::move(event), typescript_type<T>(ts_direction::to_client));
  }

  /// Runs after the class's on_subscribe, unless it rejected the join.
  channel_builder& on_subscribe(std::function<void(context&)> fn);
  /// Runs after the class's on_unsubscribe.
  channel_builder& on_unsubscribe(std::function<void(context&)> fn);

  /// Keeps each topic's actor (and the state in its members) when its last subscriber leaves.
  channel_builder& persistent(bool keep = true);

  /// With scale-out over Redis, keeps each topic to this node: its broadcasts, history and
  /// presence are not shared with the other nodes (a node's own figures, say).
  channel_builder& node_local(bool local = true);

  /// Keeps each topic's actor for `idle` after its last subscriber left, so that clients who
  /// reconnect meanwhile find its state and history.
  channel_builder& linger(std::chrono::milliseconds idle);

  /// Keeps each topic's last `max_messages` broadcasts (and only those younger than `max_age`,
  /// unless zero): broadcasts then carry offsets, and a client that rejoins with
  /// {"last_offset": n, "epoch": e} gets what it missed before anything live
  /// (docs/protocol.md).
  channel_builder& history(std::size_t max_messages,
                           std::chrono::milliseconds max_age = std::chrono::milliseconds{0});

  /// The definition's name or pattern ("chat", "room:*").
  const std::string& pattern() const noexcept;

  /// A concrete topic of this definition: topic("room:42") for "room:*". Throws
  /// std::invalid_argument when the definition does not match it.
  channel_handle topic(std::string topic) const;

  /// For a definition by exact name: broadcast on, or send to, that topic. Throws
  /// std::logic_error on a pattern (use topic(...) first).
  void broadcast(std::string_view event, boost::json::value payload) const;
  template<bytes B>
  void broadcast(std::string_view event, B&& payload) const {
    exact_topic().broadcast(event, std::forward<B>(payload));
  }
  void send(std::string_view event, boost::json::value payload) const;
  template<bytes B>
  void send(std::string_view event, B&& payload) const {
    exact_topic().send(event, std::forward<B>(payload));
  }

 private:
  friend class server;
  channel_builder& emits(std::string event, std::string typescript);
  channel_builder(std::weak_ptr<server_core> core, std::shared_ptr<channel_definition> definition)
      : core_(std::move(core)), definition_(std::move(definition)) {}

  channel_handle exact_topic() const;

  std::weak_ptr<server_core> core_;
  std::shared_ptr<channel_definition> definition_;
};

} // namespace pulse
