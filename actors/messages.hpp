// The whole conversation between Pulse's actors, on one page.
//
//   transport ──inbound_text/disconnect_atom──▶ connection actor
//   connection ──subscribe──▶ registry ──subscribe──▶ channel      (spawned on demand)
//   channel ──subscribed | subscribe_refused──▶ connection         (the reply goes to the socket)
//   connection ──push / answer / unsubscribe──▶ channel            (direct, once subscribed)
//   channel ══frames══▶ the subscriber's socket queue              (one shared frame per broadcast)
//   server code ──publish / dispatch / listen──▶ registry ──▶ channel ──event──▶ listener
//   channel ──channel_idle──▶ registry ──stop_atom──▶ channel       (last subscriber gone)
//   server ──drain──▶ registry ──drain──▶ channels                  (graceful stop, a barrier)
//   channel ──publish──▶ Redis broker ══Redis══▶ every node's broker
//                                      ──remote_broadcast──▶ channel  (scale-out, redis_broker.hpp)
//
// A channel queues its frames straight onto its subscribers' sockets (transport's thread-safe,
// bounded queue), not through their connection actors: a broadcast to N subscribers is then N
// queue appends of one shared frame, with no message, allocation or actor wake-up per subscriber,
// and a socket that was idle is written at once. The connection actor stays the owner of the
// connection's state (its topics, its inbound traffic); see actors/channel_actor.cpp.
//
// Every message is local to one process: none is ever serialized, so they are declared as
// unsafe message types instead of being given an inspect() overload.
#pragma once

#include "actors/auth.hpp"
#include "actors/event.hpp"
#include "transport/connection.hpp"
#include "transport/outbound_frame.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pulse::messages {

/// Transport -> connection: one complete inbound text message.
struct inbound_text {
  std::string text;
};

/// Transport -> connection: the socket is gone.
using disconnect_atom = caf::atom_constant<caf::atom("disconnect")>;

/// Connection -> registry -> channel: join a topic.
struct subscribe {
  std::string topic;
  std::string join_ref;           ///< names this subscription on its connection
  std::optional<std::string> ref; ///< the join message's ref, echoed by the reply
  boost::json::object params;
  caf::actor connection;
  std::shared_ptr<const connection_identity> identity;     ///< who the connection is (shared)
  std::shared_ptr<transport::websocket_connection> socket; ///< where frames for it go
};

/// Channel -> connection: the join succeeded (its reply is on the socket already).
struct subscribed {
  std::string topic;
  std::string join_ref;
  caf::actor channel;
};

/// Channel or registry -> connection: the join was refused (the reply said why).
struct subscribe_refused {
  std::string topic;
  std::string join_ref;
};

/// Connection -> channel: an event for the topic's handlers.
struct push {
  caf::actor_id connection;
  std::string join_ref;
  std::optional<std::string> ref;
  std::string event;
  boost::json::value payload;
};

/// Connection -> channel: the client's answer to a server request.
struct answer {
  caf::actor_id connection;
  std::string request_ref;
  bool ok;
  boost::json::value response;
};

/// Connection -> channel: leave (also sent when a join replaces an older one).
struct unsubscribe {
  caf::actor_id connection;
  std::string join_ref;
};

/// Channel -> connection: a frame for the socket, from a channel that has no subscription of this
/// connection to write through (an answer to a push that crossed a leave).
struct deliver {
  transport::outbound_frame frame;
};

/// Server code -> registry -> channel: broadcast from outside the channel.
struct publish {
  std::string topic;
  std::string event;
  boost::json::value payload;
};

/// Server code -> registry -> channel: run a handler as if a client had pushed the event.
struct dispatch {
  std::string topic;
  std::string event;
  boost::json::value payload;
};

/// Server code -> registry -> channel: deliver the topic's broadcasts to `listener` as
/// pulse::event messages, until it quits or sends unlisten.
struct listen {
  std::string topic;
  caf::actor listener;
};

struct unlisten {
  std::string topic;
  caf::actor_id listener;
};

/// Channel -> registry: no subscriber left; `routed` counts the subscribes, listens and
/// dispatches the channel received, so the registry can tell whether one is still on its way.
struct channel_idle {
  std::string topic;
  std::uint64_t routed;
};

/// Channel -> registry, as it fails: forget me before my subscribers rejoin.
struct channel_failed {
  std::string topic;
  std::string reason;
};

/// Broker -> channel: a broadcast of the topic, from any node (this one too), as Redis ordered
/// them. `tail` is the end of its frame, `"topic","event",payload]`, encoded once by the
/// publisher; `offset` is 0 for a broadcast that no history keeps.
struct remote_broadcast {
  std::uint64_t offset;
  bool own;             ///< published by this node
  caf::actor_id except; ///< own broadcasts only: the subscriber it skips (0: none)
  std::string tail;
};

/// What one channel actor of a topic (on some node) stored of its presence list in Redis.
struct presence_record {
  std::string incarnation;
  std::chrono::milliseconds age; ///< since it last stored it (its heartbeat)
  std::string list;              ///< a presence_state payload, as JSON text
};

/// Broker -> channel: the presence every node stored for the topic (the heartbeat's answer).
struct presence_fetched {
  std::vector<presence_record> records;
};

/// Channel -> itself: the broker took too long to bring the shared history; serve alone.
using sync_timeout_atom = caf::atom_constant<caf::atom("synctime")>;

/// Channel -> itself: store its presence again, and look for nodes that went silent.
using presence_tick_atom = caf::atom_constant<caf::atom("prestick")>;

/// Broker -> channel: the topic's shared history, once the broker listens to the topic (after
/// a join, and again after every reconnection). Until then the channel holds its joins back.
struct history_loaded {
  struct entry {
    std::uint64_t offset;
    std::chrono::milliseconds age;
    std::string tail;
  };
  std::string epoch;
  std::uint64_t last_offset;
  std::vector<entry> entries; ///< oldest first
  std::vector<presence_record> presences;
};

/// Broker -> channel: Redis could not take this broadcast; deliver it here, at least.
struct publish_failed {
  caf::actor_id except;
  std::string tail;
};

/// Server API -> registry: every running topic and its subscriber count, as a JSON text.
using channels_atom = caf::atom_constant<caf::atom("channels")>;
/// Registry -> channel: how many subscribers it has.
using count_atom = caf::atom_constant<caf::atom("count")>;
/// Server API -> registry -> channel: the topic's presence list, as a JSON text.
using presence_atom = caf::atom_constant<caf::atom("presence")>;

/// Registry -> channel: stop now (the registry forgot the topic).
using stop_atom = caf::atom_constant<caf::atom("stop")>;

/// A graceful stop, as a barrier. Server -> registry (a request): the registry asks every channel
/// (a request each: answered once the channel has fanned out everything sent to it before onto
/// its subscribers' sockets) and answers once all did; then the transport closes every socket
/// with 1001, behind what it has queued.
using drain_atom = caf::atom_constant<caf::atom("drain")>;

/// Channel -> itself: the linger after its last subscriber left is over (if `generation` is
/// still the current one, nobody came back).
struct linger_expired {
  std::uint64_t generation;
};

/// Channel -> itself: a server request ran out of time.
struct request_expired {
  std::uint64_t request_id;
};

} // namespace pulse::messages

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pulse::messages::inbound_text)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pulse::messages::subscribe)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pulse::messages::subscribed)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pulse::messages::subscribe_refused)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pulse::messages::push)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pulse::messages::answer)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pulse::messages::unsubscribe)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pulse::messages::deliver)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pulse::messages::publish)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pulse::messages::dispatch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pulse::messages::listen)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pulse::messages::unlisten)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pulse::messages::channel_idle)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pulse::messages::request_expired)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pulse::messages::linger_expired)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pulse::messages::channel_failed)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pulse::messages::remote_broadcast)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pulse::messages::history_loaded)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pulse::messages::publish_failed)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pulse::messages::presence_fetched)

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pulse::event)
