// One complete WebSocket message as it goes on the wire, immutable and shared.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace pulse::transport {

/// A complete server-to-client WebSocket frame (header and payload), encoded once and shared by
/// every socket it is queued on. Server frames are never masked, so the bytes are the same for
/// every subscriber: a broadcast to ten thousand clients is one allocation and ten thousand
/// reference counts, never ten thousand copies.
class outbound_frame {
 public:
  /// Room at the front of a payload buffer for the largest WebSocket header (10 bytes).
  static constexpr std::size_t headroom_bytes = 10;

  outbound_frame() = default;

  /// Frames a text message whose payload starts at `buffer[headroom_bytes]`; the header is
  /// written into the headroom, so the payload is never copied.
  static outbound_frame text_with_headroom(std::string&& buffer);

  /// Frames a text message, copying `payload` once.
  static outbound_frame text(std::string_view payload);

  /// Frames a binary message whose payload starts at `buffer[headroom_bytes]`.
  static outbound_frame binary_with_headroom(std::string&& buffer);

  /// Frames a binary message, copying `payload` once.
  static outbound_frame binary(std::string_view payload);

  /// A text or binary message (not a control frame).
  bool is_data() const noexcept;
  /// A binary message.
  bool is_binary() const noexcept;
  /// Compressed with permessage-deflate (RSV1 set).
  bool is_compressed() const noexcept;

  /// Smallest payload worth compressing: below it zlib saves a few bytes at best (Phoenix's JSON
  /// saves about 15% at 128 bytes, 2% at 64) for a compression's cost.
  static constexpr std::size_t min_deflate_bytes = 128;

  /// This frame as sent on a connection that agreed to permessage-deflate with
  /// server_no_context_takeover and a window of `window_bits` (9-15): its payload compressed, RSV1
  /// set. Compressed once per window size, by the first caller (others wait for it), then kept
  /// with the frame and shared by every connection it is queued on. Control frames, payloads under
  /// min_deflate_bytes and payloads that do not shrink come back as they are.
  outbound_frame deflated(int window_bits) const;

  /// Frames a close message with `code` and a reason (truncated to the 123 bytes a close allows).
  static outbound_frame close(std::uint16_t code, std::string_view reason);

  /// Frames a pong answering a ping with `payload` (at most 125 bytes).
  static outbound_frame pong(std::string_view payload);

  /// The bytes to write: header then payload.
  std::string_view wire_bytes() const noexcept {
    return bytes_ ? std::string_view{bytes_->bytes}.substr(offset_) : std::string_view{};
  }

  /// The message's payload, without the header.
  std::string_view payload() const noexcept;

  std::size_t size_bytes() const noexcept { return wire_bytes().size(); }

  bool empty() const noexcept { return !bytes_; }

  /// How many owners share these bytes (for tests that prove a broadcast is not copied).
  long use_count() const noexcept { return bytes_.use_count(); }

  /// Identity of the shared buffer (for tests that prove two frames are the same bytes).
  const void* identity() const noexcept { return bytes_.get(); }

  /// When the frame was made (for the broadcast-to-socket latency).
  std::chrono::steady_clock::time_point created() const noexcept {
    return bytes_ ? bytes_->created : std::chrono::steady_clock::time_point{};
  }

 private:
  struct deflated_variants; // per window size: the compressed frame, made once

  struct shared_bytes {
    explicit shared_bytes(std::string&& wire)
        : shared_bytes(std::move(wire), std::chrono::steady_clock::now()) {}
    shared_bytes(std::string&& wire, std::chrono::steady_clock::time_point made)
        : bytes(std::move(wire)), created(made) {}
    shared_bytes(const shared_bytes&) = delete;
    shared_bytes& operator=(const shared_bytes&) = delete;
    ~shared_bytes();

    std::string bytes;
    std::chrono::steady_clock::time_point created;
    /// Made by the first deflated() call (8 bytes until then, for frames never compressed).
    mutable std::atomic<deflated_variants*> variants = nullptr;
  };

  outbound_frame(std::string&& bytes, std::size_t offset)
      : bytes_(std::make_shared<const shared_bytes>(std::move(bytes))), offset_(offset) {}
  outbound_frame(std::shared_ptr<const shared_bytes> bytes, std::size_t offset)
      : bytes_(std::move(bytes)), offset_(offset) {}

  std::shared_ptr<const shared_bytes> bytes_;
  std::size_t offset_ = 0;
};

} // namespace pulse::transport
