// The channels of Pulse's docs, exactly as documented (notifications, chat), the benchmark's
// bench channel, and echo for client conformance tests.
#pragma once

#include <pulse/pulse.hpp>

namespace pulse::demo {

/// `notifications`: event `new_alert` {message} broadcasts `alert` {message, time}.
void install_notifications(server& server);

/// `chat`: event `message` {username, text} broadcasts `new_message` {username, text}.
void install_chat(server& server);

/// `bench`: event `publish` broadcasts `message` with the same payload (the benchmark's contract).
void install_bench(server& server);

/// `echo`, for client conformance tests: event `ping` replies with its payload; event `ask`
/// {event, payload, timeout_ms} asks the client (a server request), replies {asked: event}, then
/// pushes `asked` {status: "ok"|"error"|"timeout"|"gone", response}; event `crash` takes the
/// topic's actor down (its clients get phx_error and rejoin).
void install_echo(server& server);

/// All of the above.
void install_seed_channels(server& server);

} // namespace pulse::demo
