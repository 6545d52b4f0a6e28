// permessage-deflate (RFC 7692) at the upgrade: which offer Pulse accepts, and what it answers.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pulse::transport {

/// The terms of permessage-deflate on one connection. Pulse always takes
/// server_no_context_takeover: each compressed server message stands alone, so one broadcast is
/// compressed once and the same bytes go to every connection with the same window bits.
struct deflate_agreement {
  /// The LZ77 window of server messages, 9-15 (zlib cannot make 8: such offers are declined).
  int server_window_bits = 15;
  /// The offer named server_max_window_bits, so the response must name it too.
  bool server_window_bits_asked = false;
  /// The client compresses each message alone: the inflater keeps nothing between messages.
  bool client_no_context_takeover = false;

  /// The Sec-WebSocket-Extensions response: exactly one extension.
  std::string response_header() const;

  bool operator==(const deflate_agreement&) const = default;
};

/// Reads every offer in `header` (the Sec-WebSocket-Extensions values, repeated headers joined by
/// commas) and accepts the first permessage-deflate offer whose parameters are all known, none
/// twice, with valid values. Nothing when no offer is acceptable.
std::optional<deflate_agreement> negotiate_deflate(std::string_view header);

} // namespace pulse::transport
