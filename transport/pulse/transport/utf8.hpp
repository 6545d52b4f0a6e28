// UTF-8 validation for text messages (RFC 6455 requires it; a failure closes with 1007).
#pragma once

#include <string_view>

namespace pulse::transport {

/// True when `text` is well-formed UTF-8 (RFC 3629: no overlongs, no surrogates, at most U+10FFFF).
bool is_valid_utf8(std::string_view text) noexcept;

} // namespace pulse::transport
