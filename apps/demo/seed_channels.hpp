// The channels of Pulse's docs, exactly as documented: notifications, chat, and the benchmark's
// bench channel.
#pragma once

#include "actors/pulse.hpp"

namespace pulse::demo {

/// `notifications`: event `new_alert` {message} broadcasts `alert` {message, time}.
void install_notifications(server& server);

/// `chat`: event `message` {username, text} broadcasts `new_message` {username, text}.
void install_chat(server& server);

/// `bench`: event `publish` broadcasts `message` with the same payload (the benchmark's contract).
void install_bench(server& server);

/// All three.
void install_seed_channels(server& server);

} // namespace pulse::demo
