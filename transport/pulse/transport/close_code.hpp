// The WebSocket close codes Pulse sends (RFC 6455 §7.4.1), each used for what it means.
#pragma once

#include <cstdint>

namespace pulse::transport::close_code {

constexpr std::uint16_t normal = 1000;           ///< done for good: the client does not reconnect
constexpr std::uint16_t going_away = 1001;       ///< server shutting down: clients reconnect
constexpr std::uint16_t protocol_error = 1002;   ///< a frame broke RFC 6455
constexpr std::uint16_t unsupported_data = 1003; ///< a binary message: Pulse speaks JSON text
constexpr std::uint16_t no_status = 1005;        ///< (received only) a close frame without a code
constexpr std::uint16_t invalid_payload = 1007;  ///< not UTF-8, not JSON, or not a Phoenix frame
constexpr std::uint16_t policy_violation = 1008; ///< a limit: slow consumer, heartbeat timeout
constexpr std::uint16_t message_too_big = 1009;  ///< an inbound message over the size limit
constexpr std::uint16_t internal_error = 1011;   ///< the server failed: clients reconnect

} // namespace pulse::transport::close_code
