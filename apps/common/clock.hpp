// Wall-clock time as the apps put it in payloads.
#pragma once

#include <cstdint>
#include <string>

namespace pulse::apps {

/// UTC, ISO 8601, with milliseconds: "2026-11-29T18:04:05.123Z".
std::string now_iso8601();

/// Milliseconds since the Unix epoch.
std::int64_t now_unix_ms();

} // namespace pulse::apps
