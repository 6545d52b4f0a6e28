// Decompression of one client's permessage-deflate messages (RFC 7692), bounded in size.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

struct z_stream_s;

namespace pulse::transport {

/// Inflates a client's compressed messages, part by part as their frames arrive, into a message
/// that may not grow past a limit (a zip bomb stops there). zlib's state (about 7 KiB and a 32 KiB
/// window) exists only while it is needed: from the first compressed message on when the client
/// takes its context over, and only within a message when it does not.
class message_inflater {
 public:
  enum class result {
    ok,
    too_big, ///< the message would exceed the limit
    corrupt, ///< not a valid DEFLATE stream
  };

  /// `keep_context`: the client compresses with context takeover (no client_no_context_takeover).
  explicit message_inflater(bool keep_context);
  ~message_inflater();
  message_inflater(message_inflater&&) noexcept;
  message_inflater& operator=(message_inflater&&) noexcept;

  /// Inflates the next part of a message's compressed payload, appending to `message`, which
  /// may hold at most `max_bytes`.
  result inflate(std::string_view compressed, std::string& message, std::size_t max_bytes);

  /// Ends the message (inflates the 00 00 ff ff its sender left off), then keeps the context for
  /// the next message or lets the state go.
  result finish(std::string& message, std::size_t max_bytes);

  /// Forgets everything (after a failure).
  void reset() noexcept;

  /// True while zlib's state is allocated.
  bool holds_state() const noexcept { return stream_ != nullptr; }

 private:
  struct stream_deleter {
    void operator()(z_stream_s* stream) const noexcept;
  };

  result run(std::string_view compressed, std::string& message, std::size_t max_bytes);
  result start_over_after_final_block();

  std::unique_ptr<z_stream_s, stream_deleter> stream_;
  bool keep_context_;
  bool stream_ended_ = false; // the sender closed its DEFLATE stream (a BFINAL block)
};

} // namespace pulse::transport
