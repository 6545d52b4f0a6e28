// Base64 and base64url, without padding on the way out, tolerant of it on the way in.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pulse::transport {

/// Encodes with the URL-safe alphabet (- and _), without padding.
std::string base64url_encode(std::string_view bytes);

/// Decodes either alphabet, with or without padding; nothing when `text` is not base64.
std::optional<std::string> base64_decode(std::string_view text);

} // namespace pulse::transport
