#include "apps/common/process_stats.hpp"

#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>

namespace pulse::apps {

process_usage read_process_usage() {
  process_usage usage;
  static const long ticks_per_second = sysconf(_SC_CLK_TCK);
  static const long page_bytes = sysconf(_SC_PAGESIZE);
  if (std::ifstream stat{"/proc/self/stat"}; stat) {
    std::string line;
    std::getline(stat, line);
    // Fields after the command name, which is in parentheses and may hold spaces.
    auto close = line.rfind(')');
    if (close != std::string::npos) {
      std::istringstream fields{line.substr(close + 2)};
      std::string field;
      unsigned long long utime = 0, stime = 0;
      for (int index = 3; fields >> field; ++index) {
        if (index == 14)
          utime = std::stoull(field);
        if (index == 15) {
          stime = std::stoull(field);
          break;
        }
      }
      usage.cpu_seconds = static_cast<double>(utime + stime)
                          / static_cast<double>(ticks_per_second);
    }
  }
  if (std::ifstream statm{"/proc/self/statm"}; statm) {
    unsigned long long size = 0, resident = 0;
    statm >> size >> resident;
    usage.resident_bytes = resident * static_cast<std::uint64_t>(page_bytes);
  }
  return usage;
}

} // namespace pulse::apps
