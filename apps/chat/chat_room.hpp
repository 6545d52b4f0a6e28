// The chat app's rooms: `room:NAME` topics with a username per member and a history.
//
// Wire contract, for any client: join `room:NAME` with {"username": ...}; the join's reply holds
// {"history": [the last 50 messages]}; event `message` {"text": ...} broadcasts `new_message`
// {"username", "text", "at"} and replies {"at": ...}. Empty messages and messages over 4,000
// characters are refused with an error reply that says why. Members are tracked in presence
// under their username. Rooms keep their last 1,000 broadcasts and linger 5 minutes after the
// last member left, so a client that reconnects rejoins with {"last_offset", "epoch"} and gets
// what it missed (the reply then says "recovered": true, and its "history" can be ignored).
// Rooms named `room:private-...` refuse joins without the right {"passcode": ...}.
#pragma once

#include "actors/pulse.hpp"

#include <boost/describe/class.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

namespace pulse::chat {

struct room_options {
  std::size_t kept_messages = 1000;  ///< broadcasts a room keeps for clients that reconnect
  std::size_t messages_on_join = 50; ///< history a new member gets
  std::size_t max_text_chars = 4000; ///< longest message, in characters
  std::size_t max_username_chars = 32;
  std::chrono::minutes linger{5}; ///< an empty room's life, for clients that come back
  /// Rooms named "private-..." let in only joins that give this passcode (join authorization).
  std::string private_passcode = "pulse";
};

/// What a member joins with; recovery's {"last_offset", "epoch"} may come along too.
struct member {
  std::string username;
  std::optional<std::string> passcode; ///< for private rooms
};
BOOST_DESCRIBE_STRUCT(member, (), (username, passcode))

/// What a member says, and when the room took it.
struct post {
  std::string text;
};
BOOST_DESCRIBE_STRUCT(post, (), (text))
struct posted {
  std::string at;
};
BOOST_DESCRIBE_STRUCT(posted, (), (at))

/// What everyone hears.
struct new_message {
  std::string username, text, at;
};
BOOST_DESCRIBE_STRUCT(new_message, (), (username, text, at))

class chat_room : public typed_channel<chat_room> {
 public:
  using events = pulse::events<join_with<member>, in<"message", post, posted>,
                               out<"new_message", new_message>>;

  explicit chat_room(room_options options = {}) : options_(options) {}

  void on_join(context& ctx, const member& who);
  pulse::handlers handlers() override;

 private:
  posted on_message(context& ctx, const post& said);

  room_options options_;
};

/// Defines the `room:*` channels on `server`.
void install(server& server, room_options options = {});

} // namespace pulse::chat
