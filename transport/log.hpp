// Pulse's logger, shared by every layer: one named spdlog logger, "pulse".
#pragma once

#include <spdlog/spdlog.h>

namespace pulse {

/// The logger every part of Pulse writes to (stderr by default; replace it with spdlog's API).
spdlog::logger& log();

} // namespace pulse
