#include "transport/websocket_reader.hpp"

#include "transport/close_code.hpp"
#include "transport/utf8.hpp"

#include <array>
#include <cstring>

namespace pulse::transport {

namespace {

enum opcode : std::uint8_t {
  continuation = 0x0,
  text = 0x1,
  binary = 0x2,
  close = 0x8,
  ping = 0x9,
  pong = 0xA,
};

constexpr std::size_t max_control_payload = 125;

/// Unmasks `size` bytes from `src` into `dst`, the key cycling from position 0.
void unmask(char* dst, const char* src, std::size_t size, const std::array<std::uint8_t, 4>& key) {
  std::uint64_t key8 = 0;
  for (int i = 0; i < 8; ++i)
    key8 |= std::uint64_t{key[i % 4]} << (8 * i);
  std::size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    std::uint64_t word;
    std::memcpy(&word, src + i, 8);
    word ^= key8; // little and big endian alike: key8 repeats the key byte by byte
    std::memcpy(dst + i, &word, 8);
  }
  for (; i < size; ++i)
    dst[i] = static_cast<char>(src[i] ^ key[i % 4]);
}

bool is_valid_close_code(std::uint16_t code) {
  if (code >= 3000 && code <= 4999)
    return true;
  return code >= 1000 && code <= 1014 && code != 1004 && code != 1005 && code != 1006;
}

} // namespace

bool websocket_reader::consume(std::string_view bytes, listener& out) {
  if (done_)
    return false;
  if (partial_.empty()) {
    // Common case: parse straight from the caller's buffer and keep only a straddling tail.
    while (!done_ && !bytes.empty()) {
      auto used = parse_frame(bytes, out);
      if (used == 0)
        break;
      bytes.remove_prefix(used);
    }
    if (!done_)
      partial_.assign(bytes);
  } else {
    partial_.append(bytes);
    std::string_view rest{partial_};
    while (!done_ && !rest.empty()) {
      auto used = parse_frame(rest, out);
      if (used == 0)
        break;
      rest.remove_prefix(used);
    }
    if (done_ || rest.empty())
      std::string{}.swap(partial_); // give the memory back: idle connections stay small
    else
      partial_.erase(0, partial_.size() - rest.size());
  }
  return !done_;
}

websocket_reader::websocket_reader(std::size_t max_message_bytes,
                                   std::optional<deflate_agreement> deflate)
    : max_message_bytes_(max_message_bytes) {
  if (deflate)
    inflater_.emplace(!deflate->client_no_context_takeover);
}

std::size_t websocket_reader::parse_frame(std::string_view bytes, listener& out) {
  if (bytes.size() < 2)
    return 0;
  auto b0 = static_cast<std::uint8_t>(bytes[0]);
  auto b1 = static_cast<std::uint8_t>(bytes[1]);
  bool fin = b0 & 0x80;
  bool rsv1 = b0 & 0x40; // permessage-deflate: the message is compressed
  auto op = static_cast<std::uint8_t>(b0 & 0x0F);
  if ((b0 & 0x30) || (rsv1 && !inflater_)) {
    fail(out, close_code::protocol_error, "reserved bits set without a negotiated extension");
    return 0;
  }
  if (!(b1 & 0x80)) {
    fail(out, close_code::protocol_error, "client frames must be masked");
    return 0;
  }
  bool is_control = op & 0x8;
  switch (op) {
    case continuation:
    case text:
    case binary:
    case close:
    case ping:
    case pong: break;
    default: fail(out, close_code::protocol_error, "unknown opcode"); return 0;
  }
  if (rsv1 && (is_control || op == continuation)) {
    fail(out, close_code::protocol_error,
         "RSV1 (compressed) belongs on the first frame of a data message only");
    return 0;
  }
  std::size_t header = 2;
  std::uint64_t length = b1 & 0x7F;
  if (length == 126) {
    if (bytes.size() < 4)
      return 0;
    length = (std::uint64_t{static_cast<std::uint8_t>(bytes[2])} << 8)
             | static_cast<std::uint8_t>(bytes[3]);
    header = 4;
  } else if (length == 127) {
    if (bytes.size() < 10)
      return 0;
    length = 0;
    for (int i = 2; i < 10; ++i)
      length = (length << 8) | static_cast<std::uint8_t>(bytes[i]);
    header = 10;
    if (length >> 63) {
      fail(out, close_code::protocol_error, "payload length has its most significant bit set");
      return 0;
    }
  }
  if (is_control && (!fin || length > max_control_payload)) {
    fail(out, close_code::protocol_error, "control frames must be final and at most 125 bytes");
    return 0;
  }
  if (op == continuation && !in_message_) {
    fail(out, close_code::protocol_error, "continuation frame without a message to continue");
    return 0;
  }
  if ((op == text || op == binary) && in_message_) {
    fail(out, close_code::protocol_error, "new message before the previous one was finished");
    return 0;
  }
  if (!is_control) {
    bool compressed = op == continuation ? message_is_compressed_ : rsv1;
    // Refuse before buffering: an announced size is enough to know. Compressed bytes may exceed
    // what they inflate to by DEFLATE's stored-block overhead, hence the slack.
    bool too_big = compressed ? compressed_bytes_ + length
                                  > max_message_bytes_ + max_message_bytes_ / 4096 + 64
                              : message_.size() + length > max_message_bytes_;
    if (too_big) {
      fail(out, close_code::message_too_big, "message exceeds the server's size limit");
      return 0;
    }
  }
  if (bytes.size() < header + 4 + length)
    return 0;
  std::array<std::uint8_t, 4> key;
  std::memcpy(key.data(), bytes.data() + header, 4);
  const char* payload = bytes.data() + header + 4;
  auto size = static_cast<std::size_t>(length);
  auto used = header + 4 + size;

  if (!is_control) {
    if (op != continuation) {
      message_is_binary_ = op == binary;
      message_is_compressed_ = rsv1;
      compressed_bytes_ = 0;
    }
    if (!take_payload(payload, size, key, out))
      return 0;
    in_message_ = !fin;
    if (fin && !deliver(out))
      return 0;
    return used;
  }

  char control[max_control_payload];
  unmask(control, payload, size, key);
  std::string_view body{control, size};
  switch (op) {
    case ping: out.on_ping(body); break;
    case pong: break;
    default: { // close
      if (size == 1) {
        fail(out, close_code::protocol_error, "close frame with a one-byte payload");
        return 0;
      }
      std::uint16_t code = close_code::no_status;
      if (size >= 2) {
        code = static_cast<std::uint16_t>((static_cast<std::uint8_t>(body[0]) << 8)
                                          | static_cast<std::uint8_t>(body[1]));
        if (!is_valid_close_code(code)) {
          fail(out, close_code::protocol_error, "invalid close code");
          return 0;
        }
        body.remove_prefix(2);
        if (!is_valid_utf8(body)) {
          fail(out, close_code::invalid_payload, "close reason is not valid UTF-8");
          return 0;
        }
      }
      done_ = true;
      std::string{}.swap(message_);
      if (inflater_)
        inflater_->reset(); // the connection ends: zlib's state is of no more use
      out.on_close(code, body);
    }
  }
  return used;
}

bool websocket_reader::take_payload(const char* payload, std::size_t size,
                                    const std::array<std::uint8_t, 4>& key, listener& out) {
  if (!message_is_compressed_) {
    auto old_size = message_.size();
    message_.resize(old_size + size);
    unmask(message_.data() + old_size, payload, size, key);
    return true;
  }
  compressed_bytes_ += size;
  // Unmasked a slice at a time on the stack (a multiple of 4, so the key stays in step) and
  // inflated straight into the message: the compressed bytes are never held whole.
  std::array<char, 4096> plain;
  for (std::size_t done = 0; done < size; done += plain.size()) {
    auto slice = std::min(plain.size(), size - done);
    unmask(plain.data(), payload + done, slice, key);
    if (!inflated(inflater_->inflate({plain.data(), slice}, message_, max_message_bytes_), out))
      return false;
  }
  return true;
}

bool websocket_reader::inflated(message_inflater::result outcome, listener& out) {
  switch (outcome) {
    case message_inflater::result::ok: return true;
    case message_inflater::result::too_big:
      fail(out, close_code::message_too_big, "message exceeds the server's size limit inflated");
      return false;
    default:
      fail(out, close_code::invalid_payload, "compressed message is not valid DEFLATE data");
      return false;
  }
}

bool websocket_reader::deliver(listener& out) {
  if (message_is_compressed_ && !inflated(inflater_->finish(message_, max_message_bytes_), out))
    return false;
  if (!message_is_binary_ && !is_valid_utf8(message_)) {
    fail(out, close_code::invalid_payload, "text message is not valid UTF-8");
    return false;
  }
  std::string message;
  message.swap(message_);
  if (message_is_binary_)
    out.on_binary(std::move(message));
  else
    out.on_text(std::move(message));
  return true;
}

void websocket_reader::fail(listener& out, std::uint16_t code, std::string_view why) {
  done_ = true;
  std::string{}.swap(message_);
  if (inflater_)
    inflater_->reset();
  out.on_failure(code, why);
}

} // namespace pulse::transport
