// A blocking WebSocket and HTTP client for integration tests, over real sockets. Every wait has a
// timeout and ends as soon as what it waits for arrives.
#pragma once

#include "actors/testing.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pulse::test {

using pulse::testing::frame;
inline constexpr std::chrono::milliseconds io_timeout{5000};

class ws_test_client {
 public:
  struct options {
    std::string target = "/socket/websocket?vsn=2.0.0";
    std::vector<std::string> subprotocols;
    std::map<std::string, std::string> headers; ///< extra request headers (Origin, ...)
    /// Offer permessage-deflate (Beast's client: it compresses every message it sends), asking
    /// for this server window.
    bool deflate = false;
    int deflate_server_window_bits = 15;
  };

  /// Connects to 127.0.0.1:`port` and completes the WebSocket handshake; throws on failure.
  explicit ws_test_client(std::uint16_t port, options opts);
  explicit ws_test_client(std::uint16_t port) : ws_test_client(port, options{}) {}
  ~ws_test_client();

  void send_text(const std::string& text);
  void send_binary(const std::string& bytes);
  /// Bytes straight onto the TCP socket, past the WebSocket layer (crafted frames).
  void send_raw(const std::string& bytes);
  void ping(const std::string& payload);

  /// Joins and returns the reply; the join_ref is remembered for later pushes.
  frame join(const std::string& topic, boost::json::object params = {});
  std::string push(const std::string& topic, const std::string& event,
                   boost::json::value payload = boost::json::object{});
  frame request(const std::string& topic, const std::string& event,
                boost::json::value payload = boost::json::object{});
  void answer(const frame& server_request, bool ok, boost::json::value response);

  /// The next text message; throws after `timeout` or when the connection closed.
  std::string receive_text(std::chrono::milliseconds timeout = io_timeout);
  frame receive(std::chrono::milliseconds timeout = io_timeout);
  frame receive_event(const std::string& event, std::chrono::milliseconds timeout = io_timeout);
  frame reply_to(const std::string& ref, std::chrono::milliseconds timeout = io_timeout);

  /// Reads until the server closes; returns its close code (nothing on timeout).
  std::optional<std::uint16_t> wait_close(std::chrono::milliseconds timeout = io_timeout);
  /// The close reason the server sent, once closed.
  std::string close_reason() const;
  /// The subprotocol the server chose ("" for none).
  std::string subprotocol() const;
  /// The server's Sec-WebSocket-Extensions answer ("" for none).
  std::string extensions() const;
  /// Pongs received so far.
  int pongs() const;

  std::string join_ref(const std::string& topic) const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
  std::vector<frame> skipped_;
  std::map<std::string, std::string> join_refs_;
  std::uint64_t refs_ = 0;
};

struct http_result {
  unsigned status = 0;
  std::string body;
  std::map<std::string, std::string> headers; ///< lower-case names
};

/// One HTTP request; the connection closes afterwards.
http_result http_request(std::uint16_t port, const std::string& method, const std::string& target,
                         std::map<std::string, std::string> headers = {}, std::string body = {});

/// Writes `bytes` to a fresh TCP connection and returns all the server answers until it closes
/// (or `timeout`).
std::string raw_exchange(std::uint16_t port, const std::string& bytes,
                         std::chrono::milliseconds timeout = io_timeout);

} // namespace pulse::test
