// A latency histogram with fixed buckets, updated from any thread without locks (Prometheus'
// cumulative buckets are computed when it is read).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

namespace pulse::transport {

class latency_histogram {
 public:
  /// Upper bounds of the buckets, in microseconds; one more bucket counts the rest (+Inf).
  static constexpr std::array<std::uint64_t, 14> bounds_us{50,      100,      250,     500,
                                                           1'000,   2'500,    5'000,   10'000,
                                                           25'000,  50'000,   100'000, 250'000,
                                                           500'000, 1'000'000};

  void observe(std::chrono::nanoseconds latency) noexcept;

  struct snapshot {
    std::array<std::uint64_t, bounds_us.size() + 1> counts{}; ///< per bucket, not cumulative
    std::uint64_t count = 0;
    double sum_seconds = 0;
  };
  snapshot read() const noexcept;

 private:
  std::array<std::atomic<std::uint64_t>, bounds_us.size() + 1> counts_{};
  std::atomic<std::uint64_t> sum_ns_ = 0;
};

} // namespace pulse::transport
