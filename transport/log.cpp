#include "transport/log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace pulse {

spdlog::logger& log() {
  static std::shared_ptr<spdlog::logger> logger = [] {
    if (auto existing = spdlog::get("pulse"))
      return existing;
    auto created = spdlog::stderr_color_mt("pulse");
    created->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    return created;
  }();
  return *logger;
}

} // namespace pulse
