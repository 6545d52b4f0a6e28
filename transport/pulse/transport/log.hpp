// Pulse's logger, shared by every layer: one named spdlog logger, "pulse".
#pragma once

#include <spdlog/spdlog.h>

namespace pulse {

/// The logger every part of Pulse writes to (stderr by default; replace it with spdlog's API).
spdlog::logger& log();

enum class log_format {
  text, ///< for people: "2026-11-29T21:40:00.123 info message"
  json, ///< for log collectors: one object per line, {"time", "level", "message"}
};

/// How log lines look, and the least severe level that is written.
void configure_log(log_format format, spdlog::level::level_enum level = spdlog::level::info);

} // namespace pulse
