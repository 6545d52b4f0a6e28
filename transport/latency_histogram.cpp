#include <pulse/transport/latency_histogram.hpp>

#include <algorithm>

namespace pulse::transport {

void latency_histogram::observe(std::chrono::nanoseconds latency) noexcept {
  auto ns = static_cast<std::uint64_t>(std::max<std::int64_t>(latency.count(), 0));
  auto us = ns / 1000;
  auto bucket = static_cast<std::size_t>(std::lower_bound(bounds_us.begin(), bounds_us.end(), us)
                                         - bounds_us.begin());
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(ns, std::memory_order_relaxed);
}

latency_histogram::snapshot latency_histogram::read() const noexcept {
  snapshot out;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    out.counts[i] = counts_[i].load(std::memory_order_relaxed);
    out.count += out.counts[i];
  }
  out.sum_seconds = static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
  return out;
}

} // namespace pulse::transport
