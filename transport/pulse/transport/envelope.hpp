// One inbound client message in Pulse's own words, decoded from the wire by the Phoenix codec.
#pragma once

#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace pulse::transport {

/// What a client asks for.
enum class intent : std::uint8_t {
  subscribe,   ///< join a topic, with params
  unsubscribe, ///< leave a topic
  heartbeat,   ///< keep the connection alive
  push,        ///< an event for the topic's handlers
  answer,      ///< the client's answer to a server request (Pulse's extension)
};

/// A decoded client message. `join_ref` names the subscription a message belongs to, `ref` the
/// message itself (a reply echoes both).
struct envelope {
  intent kind = intent::push;
  std::optional<std::string> join_ref;
  std::optional<std::string> ref;
  std::string topic;
  std::string event;
  boost::json::value payload;
  /// A binary message's payload (V2 binary frames): `payload` is then null.
  std::string bytes;
  bool is_binary = false;
  /// For an answer: the server request it answers, and whether it succeeded; the payload is then
  /// the answer's response.
  std::string request_ref;
  bool is_ok = true;
};

/// An inbound text that is not a valid message, with the refs and topic that could still be read
/// so that the error can be answered where the client expects it.
struct decode_error {
  std::string reason;
  std::optional<std::string> join_ref;
  std::optional<std::string> ref;
  std::string topic;
  /// The message could not be taken apart at all (a binary frame that breaks the format).
  bool fatal = false;
};

} // namespace pulse::transport
