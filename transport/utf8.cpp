#include <pulse/transport/utf8.hpp>

#include <cstdint>
#include <cstring>

namespace pulse::transport {

bool is_valid_utf8(std::string_view text) noexcept {
  auto* p = reinterpret_cast<const std::uint8_t*>(text.data());
  auto* end = p + text.size();
  while (p < end) {
    // Fast path: eight ASCII bytes at a time.
    if (end - p >= 8) {
      std::uint64_t word;
      std::memcpy(&word, p, sizeof word);
      if ((word & 0x8080808080808080ULL) == 0) {
        p += 8;
        continue;
      }
    }
    auto lead = *p;
    if (lead < 0x80) {
      ++p;
      continue;
    }
    int continuation;
    std::uint8_t min_second = 0x80, max_second = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
      continuation = 1;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      continuation = 2;
      if (lead == 0xE0)
        min_second = 0xA0; // overlong
      else if (lead == 0xED)
        max_second = 0x9F; // UTF-16 surrogates
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      continuation = 3;
      if (lead == 0xF0)
        min_second = 0x90; // overlong
      else if (lead == 0xF4)
        max_second = 0x8F; // above U+10FFFF
    } else {
      return false;
    }
    if (end - p <= continuation)
      return false;
    if (p[1] < min_second || p[1] > max_second)
      return false;
    for (int i = 2; i <= continuation; ++i)
      if ((p[i] & 0xC0) != 0x80)
        return false;
    p += continuation + 1;
  }
  return true;
}

} // namespace pulse::transport
