// The seam between the transport and whatever drives it: the transport reports inbound text and
// the end of a connection upward, and offers a thread-safe send and close downward.
#pragma once

#include <pulse/transport/outbound_frame.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pulse::transport {

/// One open WebSocket, seen from above. Every member is safe to call from any thread.
class websocket_connection {
 public:
  virtual ~websocket_connection() = default;

  /// Queues a frame behind those already queued. Returns false when the connection is closing,
  /// including when this frame would have exceeded the outbound bound (the slow consumer is then
  /// closed with 1008).
  virtual bool send(outbound_frame frame) = 0;

  /// Queues a frame like send(), but leaves the writing for a later flush(), so that several
  /// frames (a burst of broadcasts) go out in one write. Returns true when this call left the
  /// connection waiting for that flush: the caller must then call flush() once.
  virtual bool queue(outbound_frame frame) = 0;

  /// Writes what queue() left, unless a write is under way already (it takes them along).
  virtual void flush() = 0;

  /// Sends what is queued, then a close frame with `code` and `reason`, then ends the connection.
  virtual void close(std::uint16_t code, std::string_view reason) = 0;

  /// The peer's IP address, as text.
  virtual const std::string& remote_address() const noexcept = 0;

  /// How many of the object's first bytes hold what queue(), flush() and the write after them
  /// touch: a fan-out prefetches them ahead of the connection's turn (websocket_session keeps
  /// them there).
  static constexpr std::size_t hot_bytes = 192;
};

/// Receives one connection's inbound traffic, one call at a time, in order.
/// One complete inbound message.
struct inbound_message {
  std::string bytes;
  bool binary = false;
};

class connection_handler {
 public:
  virtual ~connection_handler() = default;

  /// Every message one read of the socket completed, in order: a burst arrives as one. By
  /// default, one on_text() or on_binary() each.
  virtual void on_messages(std::vector<inbound_message>&& messages) {
    for (auto& message : messages)
      message.binary ? on_binary(std::move(message.bytes)) : on_text(std::move(message.bytes));
  }

  /// A complete text message.
  virtual void on_text(std::string&& message) = 0;

  /// A complete binary message (its bytes).
  virtual void on_binary(std::string&& message) = 0;

  /// The connection ended, for whatever reason. Called exactly once, last.
  virtual void on_closed() = 0;

  /// The server stops: write what is on its way, then close the connection with 1001 (going
  /// away). The transport cuts a connection that has not closed by its drain deadline.
  virtual void on_shutdown() = 0;
};

/// An HTTP request, as the transport's routes and upgrade decisions see it.
struct http_request {
  std::string method;
  std::string path;                                       ///< decoded, without the query
  std::vector<std::pair<std::string, std::string>> query; ///< decoded, in order
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string remote_address;

  /// The first query parameter named `name`, or nullptr.
  const std::string* query_param(std::string_view name) const noexcept;
  /// The first header named `name` (case-insensitive), or nullptr.
  const std::string* header(std::string_view name) const noexcept;
};

/// A response from a route.
struct http_response {
  unsigned status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

using route_function = std::function<http_response(const http_request&)>;

/// Opens the connection-level handler once the WebSocket handshake succeeded.
using open_function
  = std::function<std::shared_ptr<connection_handler>(std::shared_ptr<websocket_connection>)>;

/// The answer to an upgrade request: open it, or refuse it with an HTTP status.
struct upgrade_decision {
  open_function open; ///< empty: refused
  unsigned status = 403;
  std::string reason;

  static upgrade_decision accept(open_function fn) { return {std::move(fn), 101, {}}; }
  static upgrade_decision refuse(unsigned status, std::string reason) {
    return {{}, status, std::move(reason)};
  }
};

using upgrade_function = std::function<upgrade_decision(const http_request&)>;

} // namespace pulse::transport
