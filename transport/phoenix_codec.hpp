// Phoenix Channels V2 JSON: `[join_ref, ref, topic, event, payload]` text frames. The only file
// that knows the wire's names (phx_join, phx_reply, ...); everything past it speaks envelopes.
#pragma once

#include "transport/envelope.hpp"
#include "transport/outbound_frame.hpp"

#include <boost/json/fwd.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace pulse::transport::phoenix {

/// Phoenix's serializers: V2 (`[join_ref, ref, topic, event, payload]` arrays, and binary
/// frames) and V1 (JSON objects, text only). A connection speaks one, chosen at connect time.
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
  std::size_t max_json_depth = 32;
};

/// The topic every connection-level message (heartbeats) uses.
inline constexpr std::string_view system_topic = "phoenix";

/// Decodes one text message. A text that is not JSON yields a decode_error without refs.
std::variant<envelope, decode_error> decode(std::string_view text,
                                            const decode_limits& limits = {});

/// `[join_ref, ref, topic, "phx_reply", {"status": "ok"|"error", "response": response}]`.
outbound_frame encode_reply(const std::optional<std::string>& join_ref,
                            const std::optional<std::string>& ref, std::string_view topic, bool ok,
                            const boost::json::value& response);

/// An error reply whose response is `{"reason": reason}`.
outbound_frame encode_error_reply(const std::optional<std::string>& join_ref,
                                  const std::optional<std::string>& ref, std::string_view topic,
                                  std::string_view reason);

/// `[null, null, topic, event, payload]`: one encoding for every subscriber. A channel that keeps
/// history puts the broadcast's offset in the ref slot: `[null, "o17", ...]`.
outbound_frame encode_broadcast(std::string_view topic, std::string_view event,
                                const boost::json::value& payload,
                                const std::optional<std::string>& ref = std::nullopt);

/// A broadcast's frame in two steps, for nodes that share broadcasts: its tail,
/// `"topic","event",payload]`, encoded once by the node that publishes it, then on each node
/// the frame, `[null,<ref>,` and the tail, without any JSON work.
std::string encode_broadcast_tail(std::string_view topic, std::string_view event,
                                  const boost::json::value& payload);
outbound_frame broadcast_from_tail(std::string_view tail, const std::optional<std::string>& ref);

/// `[join_ref, null, topic, event, payload]`: a push to one subscriber.
outbound_frame encode_push(std::string_view join_ref, std::string_view topic,
                           std::string_view event, const boost::json::value& payload);

/// `[join_ref, request_ref, topic, event, payload]`: a server request the client answers with a
/// `pulse_reply` push (see docs/protocol.md).
outbound_frame encode_request(std::string_view join_ref, std::string_view request_ref,
                              std::string_view topic, std::string_view event,
                              const boost::json::value& payload);

/// `[join_ref, join_ref, topic, "phx_close", {}]`: the subscription ended for good.
outbound_frame encode_unsubscribed(std::string_view join_ref, std::string_view topic);

/// `[join_ref, join_ref, topic, "phx_error", {}]`: the channel failed; the client rejoins.
outbound_frame encode_channel_failed(std::string_view join_ref, std::string_view topic);

/// The event name of a client's answer to a server request.
inline constexpr std::string_view answer_event = "pulse_reply";

} // namespace pulse::transport::phoenix
