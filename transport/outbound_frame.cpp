#include "transport/outbound_frame.hpp"

#include "transport/message_deflate.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <mutex>
#include <stdexcept>

namespace pulse::transport {

namespace {

constexpr std::uint8_t fin_bit = 0x80;
constexpr std::uint8_t rsv1_bit = 0x40; // permessage-deflate: a compressed message
constexpr std::uint8_t opcode_text = 0x1;
constexpr std::uint8_t opcode_binary = 0x2;
constexpr std::uint8_t opcode_close = 0x8;
constexpr std::uint8_t opcode_pong = 0xA;

/// Writes the header for a payload of `size` bytes right before `buffer[headroom_bytes]` and
/// returns where the frame starts. `opcode` may carry RSV1.
std::size_t write_header(std::string& buffer, std::uint8_t opcode, std::size_t size) {
  std::uint8_t header[outbound_frame::headroom_bytes];
  std::size_t length = 0;
  header[length++] = fin_bit | opcode;
  if (size < 126) {
    header[length++] = static_cast<std::uint8_t>(size);
  } else if (size <= 0xFFFF) {
    header[length++] = 126;
    header[length++] = static_cast<std::uint8_t>(size >> 8);
    header[length++] = static_cast<std::uint8_t>(size);
  } else {
    header[length++] = 127;
    for (int shift = 56; shift >= 0; shift -= 8)
      header[length++] = static_cast<std::uint8_t>(static_cast<std::uint64_t>(size) >> shift);
  }
  auto start = outbound_frame::headroom_bytes - length;
  std::copy(header, header + length, buffer.begin() + static_cast<std::ptrdiff_t>(start));
  return start;
}

} // namespace

outbound_frame outbound_frame::text_with_headroom(std::string&& buffer) {
  auto payload_size = buffer.size() - headroom_bytes;
  auto start = write_header(buffer, opcode_text, payload_size);
  return {std::move(buffer), start};
}

outbound_frame outbound_frame::text(std::string_view payload) {
  std::string buffer;
  buffer.reserve(headroom_bytes + payload.size());
  buffer.append(headroom_bytes, '\0');
  buffer.append(payload);
  return text_with_headroom(std::move(buffer));
}

outbound_frame outbound_frame::binary_with_headroom(std::string&& buffer) {
  auto payload_size = buffer.size() - headroom_bytes;
  auto start = write_header(buffer, opcode_binary, payload_size);
  return {std::move(buffer), start};
}

outbound_frame outbound_frame::binary(std::string_view payload) {
  std::string buffer;
  buffer.reserve(headroom_bytes + payload.size());
  buffer.append(headroom_bytes, '\0');
  buffer.append(payload);
  return binary_with_headroom(std::move(buffer));
}

bool outbound_frame::is_data() const noexcept {
  auto bytes = wire_bytes();
  auto opcode = bytes.empty() ? 0 : static_cast<std::uint8_t>(bytes[0]) & 0x0F;
  return opcode == opcode_text || opcode == opcode_binary;
}

bool outbound_frame::is_binary() const noexcept {
  auto bytes = wire_bytes();
  return !bytes.empty() && (static_cast<std::uint8_t>(bytes[0]) & 0x0F) == opcode_binary;
}

bool outbound_frame::is_compressed() const noexcept {
  auto bytes = wire_bytes();
  return !bytes.empty() && (static_cast<std::uint8_t>(bytes[0]) & rsv1_bit);
}

struct outbound_frame::deflated_variants {
  static constexpr int min_window_bits = 9;
  struct variant {
    std::once_flag made;
    std::shared_ptr<const shared_bytes> bytes; // null: compressing does not pay, send the original
    std::size_t offset = 0;
  };
  std::array<variant, 7> by_window_bits; // 9 to 15
};

outbound_frame::shared_bytes::~shared_bytes() {
  delete variants.load(std::memory_order_acquire);
}

outbound_frame outbound_frame::deflated(int window_bits) const {
  if (window_bits < deflated_variants::min_window_bits || window_bits > 15)
    throw std::invalid_argument("permessage-deflate window bits must be 9 to 15");
  if (!is_data() || is_compressed() || payload().size() < min_deflate_bytes)
    return *this;
  auto* block = bytes_->variants.load(std::memory_order_acquire);
  if (!block) {
    auto fresh = std::make_unique<deflated_variants>();
    if (bytes_->variants.compare_exchange_strong(block, fresh.get(), std::memory_order_acq_rel))
      block = fresh.release();
    // else another thread's block won, and `block` now points to it
  }
  auto& variant = block->by_window_bits[static_cast<std::size_t>(
    window_bits - deflated_variants::min_window_bits)];
  std::call_once(variant.made, [&] {
    auto original = payload();
    std::string buffer(headroom_bytes, '\0');
    buffer.reserve(headroom_bytes + original.size());
    deflate_message(original, window_bits, buffer);
    if (buffer.size() - headroom_bytes >= original.size())
      return; // incompressible (already compressed media, random bytes): the original is smaller
    auto opcode = static_cast<std::uint8_t>(static_cast<std::uint8_t>(wire_bytes()[0]) & 0x0F);
    auto start = write_header(buffer, static_cast<std::uint8_t>(opcode | rsv1_bit),
                              buffer.size() - headroom_bytes);
    variant.bytes = std::make_shared<const shared_bytes>(std::move(buffer), bytes_->created);
    variant.offset = start;
  });
  if (!variant.bytes)
    return *this;
  return {variant.bytes, variant.offset};
}

outbound_frame outbound_frame::close(std::uint16_t code, std::string_view reason) {
  constexpr std::size_t max_reason_bytes = 123; // control frames carry at most 125 bytes
  reason = reason.substr(0, max_reason_bytes);
  std::string buffer(headroom_bytes, '\0');
  buffer.push_back(static_cast<char>(code >> 8));
  buffer.push_back(static_cast<char>(code & 0xFF));
  buffer.append(reason);
  auto start = write_header(buffer, opcode_close, buffer.size() - headroom_bytes);
  return {std::move(buffer), start};
}

outbound_frame outbound_frame::pong(std::string_view payload) {
  std::string buffer(headroom_bytes, '\0');
  buffer.append(payload.substr(0, 125));
  auto start = write_header(buffer, opcode_pong, buffer.size() - headroom_bytes);
  return {std::move(buffer), start};
}

std::string_view outbound_frame::payload() const noexcept {
  auto bytes = wire_bytes();
  if (bytes.size() < 2)
    return {};
  auto length_code = static_cast<std::uint8_t>(bytes[1]) & 0x7F;
  std::size_t header = length_code < 126 ? 2 : length_code == 126 ? 4 : 10;
  return bytes.substr(header);
}

} // namespace pulse::transport
