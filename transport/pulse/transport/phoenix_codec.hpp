// Phoenix Channels on the wire: the V2 serializer (`[join_ref, ref, topic, event, payload]` text
// frames, and binary frames for byte payloads) and the V1 serializer (JSON objects, text only).
// The only file that knows the wire's names (phx_join, phx_reply, ...); everything past it
// speaks envelopes. See docs/protocol.md.
#pragma once

#include <pulse/transport/envelope.hpp>
#include <pulse/transport/outbound_frame.hpp>

#include <boost/json/value.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace pulse::transport::phoenix {

/// Phoenix's serializers. A connection speaks one, chosen at connect time.
enum class wire_format : std::uint8_t { v2, v1 };
inline constexpr std::size_t wire_format_count = 2;

/// The format a client asks for with its `vsn` param, as Phoenix picks it: none or "1.0.x" is
/// V1, "2.0.x" is V2; nothing for any other version (the connection is refused, HTTP 403).
std::optional<wire_format> format_for_version(const std::string* vsn);

/// Bounds on what a client may send, beyond the WebSocket message size.
struct decode_limits {
  std::size_t max_topic_bytes = 255;
  std::size_t max_event_bytes = 255;
  std::size_t max_ref_bytes = 64;
  std::size_t max_json_depth = 256;
};

/// The topic every connection-level message (heartbeats) uses.
inline constexpr std::string_view system_topic = "phoenix";

/// The event name of a client's answer to a server request.
inline constexpr std::string_view answer_event = "pulse_reply";

// ---- decoding
// ------------------------------------------------------------------------------------

/// Decodes one text message. A refused message whose refs and topic could still be read gets
/// them in its decode_error, so that the error is answered where the client expects it.
std::variant<envelope, decode_error> decode(std::string_view text,
                                            wire_format format = wire_format::v2,
                                            const decode_limits& limits = {});

/// Decodes one binary message: a V2 push (kind 0) whose payload is bytes. `decode_error::fatal`
/// says the frame could not even be taken apart.
std::variant<envelope, decode_error> decode_binary(std::string_view bytes,
                                                   const decode_limits& limits = {});

// ---- encoding: one frame each, in the connection's format ---------------------------------------

/// A reply: `{"response": response, "status": "ok"|"error"}`, echoing the message's refs.
outbound_frame encode_reply(wire_format format, const std::optional<std::string>& join_ref,
                            const std::optional<std::string>& ref, std::string_view topic, bool ok,
                            const boost::json::value& response);

/// An error reply whose response is `{"reason": reason}`.
outbound_frame encode_error_reply(wire_format format, const std::optional<std::string>& join_ref,
                                  const std::optional<std::string>& ref, std::string_view topic,
                                  std::string_view reason);

/// A broadcast (null refs): one encoding per format for every subscriber. A channel that keeps
/// history puts the broadcast's offset in the ref slot: `[null, "o17", ...]`.
outbound_frame encode_broadcast(wire_format format, std::string_view topic, std::string_view event,
                                const boost::json::value& payload,
                                const std::optional<std::string>& ref = std::nullopt);

/// A push to one subscriber (its join_ref, no ref).
outbound_frame encode_push(wire_format format, std::string_view join_ref, std::string_view topic,
                           std::string_view event, const boost::json::value& payload);

/// A server request: a push with a ref of its own, which the client answers with a
/// `pulse_reply` push (see docs/protocol.md).
outbound_frame encode_request(wire_format format, std::string_view join_ref,
                              std::string_view request_ref, std::string_view topic,
                              std::string_view event, const boost::json::value& payload);

/// `phx_close`: the subscription ended for good (both refs are the join_ref).
outbound_frame encode_unsubscribed(wire_format format, std::string_view join_ref,
                                   std::string_view topic);

/// `phx_error`: the channel failed; the client rejoins.
outbound_frame encode_channel_failed(wire_format format, std::string_view join_ref,
                                     std::string_view topic);

// ---- binary payloads: V2 binary frames, which V1 cannot carry -----------------------------------

/// Kind 2: a broadcast of bytes. Throws std::invalid_argument for a topic or event over 255 bytes.
outbound_frame encode_binary_broadcast(std::string_view topic, std::string_view event,
                                       std::string_view bytes);
/// Kind 0 (server form, no ref): a push of bytes to one subscriber.
outbound_frame encode_binary_push(std::string_view join_ref, std::string_view topic,
                                  std::string_view event, std::string_view bytes);
/// Kind 1: a reply whose response is bytes.
outbound_frame encode_binary_reply(const std::optional<std::string>& join_ref,
                                   const std::optional<std::string>& ref, std::string_view topic,
                                   bool ok, std::string_view bytes);

// ---- broadcasts shared between nodes (scale-out) ------------------------------------------------

/// A broadcast in two steps: its tail, encoded once by the node that publishes it (JSON:
/// `"topic","event",payload]`; bytes: the kind 2 frame itself), then on each node the frame in
/// each format its subscribers speak, without any JSON work.
std::string encode_broadcast_tail(std::string_view topic, std::string_view event,
                                  const boost::json::value& payload);
std::string encode_binary_broadcast_tail(std::string_view topic, std::string_view event,
                                         std::string_view bytes);
/// The frame of a tail, with `ref` (the offset) where the format has room for it; an empty frame
/// when the format cannot carry it (bytes over V1).
outbound_frame broadcast_from_tail(wire_format format, std::string_view tail,
                                   const std::optional<std::string>& ref);

/// What a tail says: its event and payload (JSON, or bytes). Nothing when it is not a tail.
struct tail_content {
  std::string event;
  boost::json::value json; ///< the payload, unless is_binary
  std::string bytes;
  bool is_binary = false;
};
std::optional<tail_content> read_tail(std::string_view tail);

/// A V2 frame (a kept broadcast) in `format`; an empty frame when it cannot be carried there.
outbound_frame convert(const outbound_frame& v2_frame, wire_format format);

} // namespace pulse::transport::phoenix
