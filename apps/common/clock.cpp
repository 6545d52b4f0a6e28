#include "apps/common/clock.hpp"

#include <chrono>
#include <cstdio>

namespace pulse::apps {

std::string now_iso8601() {
  using namespace std::chrono;
  auto now = floor<milliseconds>(system_clock::now());
  auto seconds = floor<std::chrono::seconds>(now);
  auto day = floor<days>(seconds);
  year_month_day date{day};
  hh_mm_ss time{seconds - day};
  char text[32];
  std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", int{date.year()},
                unsigned{date.month()}, unsigned{date.day()}, int(time.hours().count()),
                int(time.minutes().count()), int(time.seconds().count()),
                int((now - seconds).count()));
  return text;
}

std::int64_t now_unix_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

} // namespace pulse::apps
