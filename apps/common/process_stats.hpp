// This process's CPU time and resident memory, from /proc.
#pragma once

#include <cstdint>

namespace pulse::apps {

struct process_usage {
  double cpu_seconds = 0;           ///< user + system time so far
  std::uint64_t resident_bytes = 0; ///< RSS now
};

/// Reads /proc/self; zeros where it cannot.
process_usage read_process_usage();

} // namespace pulse::apps
