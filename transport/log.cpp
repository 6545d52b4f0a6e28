#include <pulse/transport/log.hpp>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <cstdio>
#include <string_view>

namespace pulse {

namespace {

constexpr auto text_pattern = "%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v";

/// %j: the message as the inside of a JSON string.
class json_escaped_message : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    auto append = [&dest](std::string_view text) {
      dest.append(text.data(), text.data() + text.size());
    };
    for (char c : std::string_view{msg.payload.data(), msg.payload.size()}) {
      switch (c) {
        case '"': append("\\\""); break;
        case '\\': append("\\\\"); break;
        case '\n': append("\\n"); break;
        case '\r': append("\\r"); break;
        case '\t': append("\\t"); break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            char escaped[7];
            std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
            append(escaped);
          } else {
            dest.push_back(c);
          }
      }
    }
  }

  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<json_escaped_message>();
  }
};

} // namespace

spdlog::logger& log() {
  static std::shared_ptr<spdlog::logger> logger = [] {
    if (auto existing = spdlog::get("pulse"))
      return existing;
    auto created = spdlog::stderr_color_mt("pulse");
    created->set_pattern(text_pattern);
    return created;
  }();
  return *logger;
}

void configure_log(log_format format, spdlog::level::level_enum level) {
  auto& logger = log();
  logger.set_level(level);
  if (format == log_format::text) {
    logger.set_pattern(text_pattern);
    return;
  }
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  formatter->add_flag<json_escaped_message>('j').set_pattern(
    R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","logger":"%n","message":"%j"})");
  logger.set_formatter(std::move(formatter));
}

} // namespace pulse
