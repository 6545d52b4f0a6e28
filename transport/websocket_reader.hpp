// Inbound RFC 6455 frames to messages: a pure parser with no I/O, so it is unit-tested and fuzzed
// in memory. The session feeds it whatever bytes the socket produced.
#pragma once

#include "transport/deflate_negotiation.hpp"
#include "transport/message_inflater.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pulse::transport {

/// Parses the client side of a WebSocket connection: masked frames, text and binary messages
/// (fragmented or not, compressed with permessage-deflate where it was agreed), pings and closes.
/// Any violation ends the stream with the close code to send.
class websocket_reader {
 public:
  /// Receives what the reader finds, in order.
  class listener {
   public:
    virtual ~listener() = default;
    /// A complete, valid UTF-8 text message.
    virtual void on_text(std::string&& message) = 0;
    /// A complete binary message.
    virtual void on_binary(std::string&& message) = 0;
    /// A ping: answer with a pong carrying `payload`.
    virtual void on_ping(std::string_view payload) = 0;
    /// The peer's close frame (`code` is close_code::no_status when it had none).
    virtual void on_close(std::uint16_t code, std::string_view reason) = 0;
    /// The stream broke a rule: close with `code`. Nothing else is reported after this.
    virtual void on_failure(std::uint16_t code, std::string_view why) = 0;
  };

  /// `max_message_bytes` bounds every message, after inflating when it came compressed;
  /// `deflate`: the permessage-deflate terms of the connection, if any.
  explicit websocket_reader(std::size_t max_message_bytes,
                            std::optional<deflate_agreement> deflate = std::nullopt);

  /// Parses `bytes` (any amount, frames may straddle calls) and reports complete messages.
  /// Returns false once the stream ended (closed or failed): read no more.
  bool consume(std::string_view bytes, listener& out);

  /// True after a close frame or a failure.
  bool is_done() const noexcept { return done_; }

  /// Bytes held for an incomplete frame or message (what an idle connection costs).
  std::size_t buffered_bytes() const noexcept { return partial_.capacity() + message_.capacity(); }

  /// True while zlib's inflate state is allocated (between messages: only with context takeover).
  bool holds_inflate_state() const noexcept { return inflater_ && inflater_->holds_state(); }

 private:
  /// Parses one frame at the start of `bytes`; returns the bytes it used, or 0 when incomplete.
  std::size_t parse_frame(std::string_view bytes, listener& out);
  /// Adds a data frame's payload to the message; false when the stream failed.
  bool take_payload(const char* payload, std::size_t size, const std::array<std::uint8_t, 4>& key,
                    listener& out);
  /// True when inflating went well; otherwise fails the stream (1009 or 1007).
  bool inflated(message_inflater::result outcome, listener& out);
  /// Hands the finished message over; false when the stream failed.
  bool deliver(listener& out);
  void fail(listener& out, std::uint16_t code, std::string_view why);

  std::size_t max_message_bytes_;
  /// Set when permessage-deflate was agreed.
  std::optional<message_inflater> inflater_;
  std::string partial_;              // an incomplete frame carried over to the next read
  std::string message_;              // the message being assembled from fragments (inflated)
  std::size_t compressed_bytes_ = 0; // of the message, as they came
  bool in_message_ = false;
  bool message_is_binary_ = false;
  bool message_is_compressed_ = false;
  bool done_ = false;
};

} // namespace pulse::transport
