// Compression of outbound messages for permessage-deflate (RFC 7692), each message on its own.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace pulse::transport {

/// Appends to `out` `payload` compressed as one permessage-deflate message that takes over no
/// context (server_no_context_takeover) with an LZ77 window of `window_bits` (9-15): raw DEFLATE
/// ended by a sync flush whose trailing 00 00 ff ff is left off. Each thread keeps one zlib stream
/// per window size, reset before each message, so a message depends on nothing sent before it.
void deflate_message(std::string_view payload, int window_bits, std::string& out);

/// Messages deflate_message() compressed in this process so far (tests count compressions).
std::uint64_t deflated_message_count() noexcept;

} // namespace pulse::transport
