// Client-side WebSocket frames, built byte by byte, for tests of the server's frame reader.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace pulse::test {

/// Frame opcodes (RFC 6455 §5.2).
namespace op {
constexpr std::uint8_t continuation = 0, text = 1, binary = 2, close = 8, ping = 9, pong = 10;
} // namespace op

/// A client frame: masked unless `masked` is false, final unless `fin` is false.
inline std::string client_frame(std::uint8_t op, std::string_view payload, bool fin = true,
                                bool masked = true, std::uint8_t rsv = 0) {
  std::string out;
  out.push_back(static_cast<char>((fin ? 0x80 : 0) | (rsv << 4) | op));
  std::uint8_t mask_bit = masked ? 0x80 : 0;
  auto size = payload.size();
  if (size < 126) {
    out.push_back(static_cast<char>(mask_bit | size));
  } else if (size <= 0xFFFF) {
    out.push_back(static_cast<char>(mask_bit | 126));
    out.push_back(static_cast<char>(size >> 8));
    out.push_back(static_cast<char>(size & 0xFF));
  } else {
    out.push_back(static_cast<char>(mask_bit | 127));
    for (int shift = 56; shift >= 0; shift -= 8)
      out.push_back(static_cast<char>((static_cast<std::uint64_t>(size) >> shift) & 0xFF));
  }
  const std::uint8_t key[4] = {0x37, 0xFA, 0x21, 0x3D};
  if (masked)
    out.append(reinterpret_cast<const char*>(key), 4);
  for (std::size_t i = 0; i < size; ++i)
    out.push_back(masked ? static_cast<char>(payload[i] ^ key[i % 4]) : payload[i]);
  return out;
}

/// A close frame's payload: the code, big-endian, then the reason.
inline std::string close_payload(std::uint16_t code, std::string_view reason = {}) {
  std::string out;
  out.push_back(static_cast<char>(code >> 8));
  out.push_back(static_cast<char>(code & 0xFF));
  out.append(reason);
  return out;
}

} // namespace pulse::test
