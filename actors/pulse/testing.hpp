// pulse::testing: test channels without sockets, as Phoenix's ChannelTest does.
//
//   pulse::server server;
//   server.channel<chat_room>("room:*");
//   pulse::testing::test_client alice{server};
//   REQUIRE(alice.join("room:1", {{"username", "alice"}}).is_ok());
//   alice.push("room:1", "message", {{"text", "hi"}});
//   auto frame = alice.next_event("new_message");
//   REQUIRE(frame.payload.at("text") == "hi");
//
// A test_client drives the real connection actor with Phoenix V2 frames and collects what the
// server sends back, in order; only the socket is missing. Waits are bounded and end as soon as
// what they wait for arrives.
#pragma once

#include <pulse/server.hpp>
#include <pulse/transport/outbound_frame.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pulse::testing {

inline constexpr std::chrono::milliseconds default_timeout{3000};

/// A server-to-client message, decoded.
struct frame {
  std::optional<std::string> join_ref;
  std::optional<std::string> ref;
  std::string topic;
  std::string event;
  boost::json::value payload; ///< a reply's `{"status", "response"}` too
  std::string bytes;          ///< a binary frame's payload (a binary reply's response)
  bool is_binary = false;

  /// Parses V2 `[join_ref, ref, topic, event, payload]` or a V1 object; throws
  /// std::runtime_error otherwise.
  static frame parse(std::string_view text);
  /// Parses a V2 binary frame as the server writes them (push, reply, broadcast).
  static frame parse_binary(std::string_view bytes);
  /// Either, by the frame's kind.
  static frame parse(const transport::outbound_frame& frame);

  bool is_reply() const noexcept { return event == "phx_reply"; }
  /// A reply whose status is "ok".
  bool is_ok() const;
  /// A reply's response (null for other frames).
  const boost::json::value& response() const;
  /// A reply's error reason, or "".
  std::string reason() const;
};

class memory_connection;

/// Waits until `condition()` holds, checking every millisecond; false after `timeout`. For
/// conditions that announce themselves nowhere (a topic's actor has stopped, say).
bool eventually(const std::function<bool()>& condition,
                std::chrono::milliseconds timeout = default_timeout);

class test_client {
 public:
  explicit test_client(server& server);
  /// A client that speaks the serializer `vsn` asks for ("1.0.0": V1 objects).
  test_client(server& server, std::string_view vsn);
  ~test_client();

  test_client(const test_client&) = delete;
  test_client& operator=(const test_client&) = delete;

  /// Sends one raw text message, exactly as given.
  void send_text(std::string text);
  /// Sends one raw binary message, exactly as given.
  void send_binary(std::string bytes);
  /// Sends raw text messages as one read of a socket hands them over: the connection has them
  /// all before it handles the first.
  void send_texts(std::vector<std::string> texts);

  /// Joins `topic` and returns the join's reply.
  frame join(const std::string& topic, boost::json::object params = {},
             std::chrono::milliseconds timeout = default_timeout);
  /// Pushes `event` on a joined topic and returns the push's ref.
  std::string push(const std::string& topic, const std::string& event,
                   boost::json::value payload = boost::json::object{});
  /// Pushes bytes, as a V2 binary frame, and returns the push's ref.
  std::string push_binary(const std::string& topic, const std::string& event,
                          std::string_view bytes);
  /// Pushes and returns the reply to that push.
  frame request(const std::string& topic, const std::string& event,
                boost::json::value payload = boost::json::object{},
                std::chrono::milliseconds timeout = default_timeout);
  /// Leaves `topic` and returns the leave's reply.
  frame leave(const std::string& topic, std::chrono::milliseconds timeout = default_timeout);
  /// Answers a server request (a frame with a ref that is not a reply).
  void answer(const frame& server_request, bool ok, boost::json::value response);

  /// The next frame, in arrival order. Throws std::runtime_error after `timeout`.
  frame next(std::chrono::milliseconds timeout = default_timeout);
  /// The next frame whose event is `event`; frames before it stay queued for next().
  frame next_event(const std::string& event, std::chrono::milliseconds timeout = default_timeout);
  /// The reply to `ref`; frames before it stay queued for next().
  frame reply_to(const std::string& ref, std::chrono::milliseconds timeout = default_timeout);
  /// The reply to `ref`, or nothing when the server closed the connection first. Throws after
  /// `timeout`.
  std::optional<frame> reply_or_close(const std::string& ref,
                                      std::chrono::milliseconds timeout = default_timeout);
  /// The next frame as the shared bytes the server queued (to check what is shared).
  transport::outbound_frame next_raw(std::chrono::milliseconds timeout = default_timeout);
  /// Frames received and not yet taken.
  std::size_t pending() const;

  /// The connection drops, as when the network goes away.
  void disconnect();
  /// Waits until the server closes this connection; returns the close code, or nothing after
  /// `timeout`.
  std::optional<std::uint16_t> wait_closed(std::chrono::milliseconds timeout = default_timeout);

  /// The join_ref of this client's current subscription to `topic` ("" if none).
  std::string join_ref(const std::string& topic) const;

 private:
  std::string next_ref() { return std::to_string(++ref_counter_); }
  std::string encode(const std::optional<std::string>& join_ref, const std::string& ref,
                     const std::string& topic, const std::string& event,
                     const boost::json::value& payload) const;
  /// The first frame `matches` accepts, skipped ones first; nothing once the server closed.
  std::optional<frame> take_matching(const std::function<bool(const frame&)>& matches,
                                     std::chrono::milliseconds timeout);

  std::shared_ptr<memory_connection> connection_;
  std::shared_ptr<transport::connection_handler> handler_;
  std::deque<frame> skipped_; // frames passed over by next_event() and reply_to()
  std::map<std::string, std::string> join_refs_;
  std::uint64_t ref_counter_ = 0;
  bool v1_ = false;
};

} // namespace pulse::testing
