// Inbound RFC 6455 frames to messages: a pure parser with no I/O, so it is unit-tested and fuzzed
// in memory. The session feeds it whatever bytes the socket produced.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace pulse::transport {

/// Parses the client side of a WebSocket connection: masked frames, fragmented text messages,
/// pings and closes. Binary messages are refused (Pulse speaks JSON text). Any violation ends the
/// stream with the close code to send.
class websocket_reader {
 public:
  /// Receives what the reader finds, in order.
  class listener {
   public:
    virtual ~listener() = default;
    /// A complete, valid UTF-8 text message.
    virtual void on_text(std::string&& message) = 0;
    /// A ping: answer with a pong carrying `payload`.
    virtual void on_ping(std::string_view payload) = 0;
    /// The peer's close frame (`code` is close_code::no_status when it had none).
    virtual void on_close(std::uint16_t code, std::string_view reason) = 0;
    /// The stream broke a rule: close with `code`. Nothing else is reported after this.
    virtual void on_failure(std::uint16_t code, std::string_view why) = 0;
  };

  explicit websocket_reader(std::size_t max_message_bytes)
      : max_message_bytes_(max_message_bytes) {}

  /// Parses `bytes` (any amount, frames may straddle calls) and reports complete messages.
  /// Returns false once the stream ended (closed or failed): read no more.
  bool consume(std::string_view bytes, listener& out);

  /// True after a close frame or a failure.
  bool is_done() const noexcept { return done_; }

  /// Bytes held for an incomplete frame or message (what an idle connection costs).
  std::size_t buffered_bytes() const noexcept { return partial_.capacity() + message_.capacity(); }

 private:
  /// Parses one frame at the start of `bytes`; returns the bytes it used, or 0 when incomplete.
  std::size_t parse_frame(std::string_view bytes, listener& out);
  void fail(listener& out, std::uint16_t code, std::string_view why);

  std::size_t max_message_bytes_;
  std::string partial_; // an incomplete frame carried over to the next read
  std::string message_; // the text message being assembled from fragments
  bool in_message_ = false;
  bool done_ = false;
};

} // namespace pulse::transport
