// The channels of Pulse's docs, exactly as documented (notifications, chat), the benchmark's
// bench channel, echo for client conformance tests, and identity for authentication tests.
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

/// `identity`: event `whoami` replies {user_id, identity} (who the server says the client is;
/// with JWT authentication, its token's claims). With JWT keys also `private:*`, whose joins need a
/// channel token for their topic; its `whoami` adds {assigns} (the channel token's claims).
void install_identity(server& server);

/// All of the above.
void install_seed_channels(server& server);

} // namespace pulse::demo
