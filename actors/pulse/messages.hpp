// The whole conversation between Pulse's actors, on one page.
//
//   transport ──inbound_text / inbound_binary / inbound_batch (what one read completed)
//             / disconnect / shutdown──▶ connection actor
//   connection ──subscribe──▶ channel        (found in the topic directory; started there on the
//                                             first join, once per topic even when joins race)
//   channel ──joined | join_refused──▶ connection   (the join's reply, what the client missed,
//                                                    presence_state: written in that order)
//   connection ──push / answer / unsubscribe──▶ channel ──left──▶ connection (a leave's reply)
//   channel ══fan_out══▶ every subscriber's connection actor: one message per flush, the same
//                        shared batch of encoded frames for all of them (broadcasts, and the
//                        replies, pushes and server requests of that flush, each marked with
//                        whom it is for); each connection writes its part to its own socket
//   server code ──publish / dispatch / listen──▶ directory ──▶ channel ──event──▶ listener
//   channel ──(no subscriber left)──▶ leaves the directory, forwards what still reaches it, stops
//   server ──drain──▶ registry ──drain──▶ channels, then transport ──shutdown──▶ connections
//                                                      (graceful stop, a barrier)
//   channel ──publish (a batch per flush)──▶ Redis broker ══Redis══▶ every node's broker
//           ──remote_batch / history_loaded / stream_gap──▶ channel  (scale-out, redis_broker.hpp)
//
// Only a connection's own actor writes to its socket. A channel never touches one: what it
// broadcasts while its mailbox holds more is batched, and each flush is one message per
// subscriber carrying frames that every subscriber shares (one allocation per flush), so the
// writes of one hot topic run on whichever scheduler workers run its subscribers' connections
// (the connections a flush wakes are scheduled together, a share per worker: lean_actor.hpp).
//
// Every message is local to one process: none is ever serialized, so they are declared as
// unsafe message types instead of being given an inspect() overload.
#pragma once

#include <pulse/auth.hpp>
#include <pulse/event.hpp>
#include <pulse/payload.hpp>
#include <pulse/transport/connection.hpp>
#include <pulse/transport/outbound_frame.hpp>
#include <pulse/transport/phoenix_codec.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pulse::messages {

// ---- transport -> connection --------------------------------------------------------------------

/// One complete inbound text message.
struct inbound_text {
  std::string text;
};

/// One complete inbound binary message.
struct inbound_binary {
  std::string bytes;
};

/// Several complete inbound messages, in order: what one read of the socket completed.
struct inbound_batch {
  std::vector<transport::inbound_message> messages;
};

/// The socket is gone.
using disconnect_atom = caf::atom_constant<caf::atom("disconnect")>;

/// The server stops: write what is queued, then close the socket with 1001 (going away).
using shutdown_atom = caf::atom_constant<caf::atom("shutdown")>;

// ---- connection <-> channel ---------------------------------------------------------------------

/// Join a topic.
struct subscribe {
  std::string topic;
  std::string join_ref;           ///< names this subscription on its connection
  std::optional<std::string> ref; ///< the join message's ref, echoed by the reply
  boost::json::object params;
  caf::actor connection;
  std::shared_ptr<const connection_identity> identity; ///< who the connection is (shared)
  transport::phoenix::wire_format format;              ///< how its frames are written
};

/// The join succeeded: `frames` are the reply, what the client missed, the presence state and
/// what the join handler sent, in the order they go out, before anything live.
struct joined {
  std::string topic;
  std::string join_ref;
  caf::actor channel;
  std::vector<transport::outbound_frame> frames;
};

/// The join was refused; `reply` says why.
struct join_refused {
  std::string topic;
  std::string join_ref;
  transport::outbound_frame reply;
};

/// An event for the topic's handlers.
struct push {
  caf::actor_id connection;
  std::string join_ref;
  std::optional<std::string> ref;
  std::string event;
  pulse::any_payload payload;
};

/// The client's answer to a server request.
struct answer {
  caf::actor_id connection;
  std::string request_ref;
  bool ok;
  boost::json::value response;
};

/// Leave (also sent when a join replaces an older one).
struct unsubscribe {
  caf::actor_id connection;
  std::string join_ref;
  /// A client's phx_leave (its ref, if it gave one): the channel answers with `left` once the
  /// subscription is gone, as Phoenix replies from the channel.
  bool answer = false;
  std::optional<std::string> ref;
};

/// Channel -> connection: the leave is done (everything the channel sent before is ahead of
/// this): the client gets the leave's reply, then phx_close.
struct left {
  std::string topic;
  std::string join_ref;
  std::optional<std::string> ref;
};

/// Channel -> connection: a push with `ref` reached the channel after the connection's
/// subscription ended (it crossed a leave): answer it as unmatched.
struct push_unmatched {
  std::string topic;
  std::optional<std::string> ref;
};

/// One message of a channel's flush, encoded once per wire format in use, and whom it is for:
/// every subscriber (`only` and `except` 0), every subscriber but `except` (broadcast_from), or
/// only `only` (a reply, a push, a server request: they travel in the batch so that they keep
/// their place among the broadcasts). A format's frame is empty where it cannot carry the
/// message (bytes over V1).
struct outbound_entry {
  std::array<transport::outbound_frame, transport::phoenix::wire_format_count> frames;
  caf::actor_id only = 0;
  caf::actor_id except = 0;

  const transport::outbound_frame& in(transport::phoenix::wire_format format) const noexcept {
    return frames[static_cast<std::size_t>(format)];
  }

  bool is_for(caf::actor_id connection) const noexcept {
    return only == 0 ? except != connection : only == connection;
  }
};

/// Channel -> each subscriber's connection: what the channel sent since its last flush, in
/// order. Built once per flush; every recipient shares the one message.
struct fan_out {
  std::vector<outbound_entry> entries;
};

// ---- server code -> channel (through the topic directory) ---------------------------------------

/// Broadcast from outside the channel.
struct publish {
  std::string topic;
  std::string event;
  pulse::any_payload payload;
};

/// Run a handler as if a client had pushed the event.
struct dispatch {
  std::string topic;
  std::string event;
  pulse::any_payload payload;
};

/// Deliver the topic's broadcasts to `listener` as pulse::event messages, until it quits or
/// sends unlisten.
struct listen {
  std::string topic;
  caf::actor listener;
};

struct unlisten {
  std::string topic;
  caf::actor_id listener;
};

// ---- channel lifecycle --------------------------------------------------------------------------

/// Channel -> itself: it left the directory; whatever reached it before this is forwarded to the
/// topic's next actor, then it stops.
using stop_atom = caf::atom_constant<caf::atom("stop")>;

/// Channel -> itself: the linger after its last subscriber left is over (if `generation` is
/// still the current one, nobody came back).
struct linger_expired {
  std::uint64_t generation;
};

/// Channel -> itself: a server request ran out of time.
struct request_expired {
  std::uint64_t request_id;
};

/// Directory -> registry: a channel actor ended with an error (the registry counts it, and
/// restarts a persistent channel).
struct channel_down {
  std::string topic;
  std::string reason;
};

// ---- scale-out: broker -> channel ---------------------------------------------------------------

/// A broadcast of the topic, from any node (this one too), as Redis ordered them. `tail` is the
/// end of its frame, `"topic","event",payload]`, encoded once by the publisher; `offset` is 0 for
/// a broadcast that no history keeps.
struct remote_broadcast {
  std::uint64_t offset;
  bool own;             ///< published by this node
  caf::actor_id except; ///< own broadcasts only: the subscriber it skips (0: none)
  std::string tail;
};

/// Broker -> channel: broadcasts in Redis's order, each once, what a reconnection caught up
/// from the stream first; one message per batch, so that the channel fans them out in one flush.
struct remote_batch {
  std::vector<remote_broadcast> broadcasts;
};

/// Channel -> broker: what the channel broadcast while its mailbox held more, sent to Redis in
/// one round trip.
struct shared_broadcast {
  caf::actor_id except; ///< the subscriber it skips (0: none)
  bool keep;            ///< numbered and kept in the topic's history
  std::string tail;
};

/// Broker -> channel: subscribers of this node may have missed broadcasts of the topic (Redis
/// lost them, or this node could not hear them); they are told with a pulse_gap event. `epoch`
/// and `offset`: where the history stands now (history channels).
struct stream_gap {
  std::string epoch;
  std::uint64_t offset;
};

/// Channel -> itself: what it broadcast through Redis during this burst goes to the broker now.
using share_atom = caf::atom_constant<caf::atom("share")>;

/// Channel -> broker -> channel: everything this channel published has come back from Redis
/// (or, past the wait, was delivered here): the drain of a graceful stop goes on.
using drained_atom = caf::atom_constant<caf::atom("drained")>;

/// What one channel actor of a topic (on some node) stored of its presence list in Redis.
struct presence_record {
  std::string incarnation;
  std::chrono::milliseconds age; ///< since it last stored it (its heartbeat)
  std::string list;              ///< a presence_state payload, as JSON text
};

/// The presence every node stored for the topic (the heartbeat's answer).
struct presence_fetched {
  std::vector<presence_record> records;
};

/// Channel -> itself: the broker took too long to bring the shared history; serve alone.
using sync_timeout_atom = caf::atom_constant<caf::atom("synctime")>;

/// Channel -> itself: store its presence again, and look for nodes that went silent.
using presence_tick_atom = caf::atom_constant<caf::atom("prestick")>;

/// The topic's shared history, once the broker listens to the topic (after a join, and again
/// after every reconnection). Until then the channel holds its joins back.
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

/// Redis did not take these broadcasts in time (an outage longer than the hold): delivered to
/// this node's subscribers only, unnumbered.
struct publish_failed {
  std::vector<shared_broadcast> broadcasts;
};

// ---- the registry: what concerns every channel
// ---------------------------------------------------

/// Server API -> registry: every running topic and its subscriber count, as a JSON text.
using channels_atom = caf::atom_constant<caf::atom("channels")>;
/// Registry -> channel: how many subscribers it has.
using count_atom = caf::atom_constant<caf::atom("count")>;
/// Server API -> registry -> channel: the topic's presence list, as a JSON text.
using presence_atom = caf::atom_constant<caf::atom("presence")>;

/// A graceful stop, as a barrier. Server -> registry (a request): the registry asks every channel
/// (a request each: answered once the channel has flushed everything sent to it before to its
/// subscribers' connection actors) and answers once all did; then the transport tells every
/// connection actor to shut down, which it does behind what is in its mailbox.
using drain_atom = caf::atom_constant<caf::atom("drain")>;

} // namespace pulse::messages

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pulse::messages::inbound_text)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pulse::messages::inbound_binary)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pulse::messages::inbound_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pulse::messages::subscribe)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pulse::messages::joined)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pulse::messages::join_refused)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pulse::messages::push)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pulse::messages::answer)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pulse::messages::unsubscribe)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pulse::messages::left)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pulse::messages::push_unmatched)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pulse::messages::fan_out)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pulse::messages::publish)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pulse::messages::dispatch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pulse::messages::listen)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pulse::messages::unlisten)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pulse::messages::request_expired)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pulse::messages::linger_expired)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pulse::messages::channel_down)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pulse::messages::remote_broadcast)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pulse::messages::remote_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pulse::messages::stream_gap)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pulse::messages::history_loaded)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pulse::messages::publish_failed)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pulse::messages::presence_fetched)

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pulse::event)
