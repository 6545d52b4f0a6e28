#include "apps/dashboard/dashboard_source.hpp"

#include "apps/common/clock.hpp"
#include "apps/dashboard/dashboard.hpp"

#include <caf/atom.hpp>

#include <algorithm>
#include <cmath>

namespace pulse::dashboard {

namespace {
using tick_atom = caf::atom_constant<caf::atom("tick")>;
} // namespace

dashboard_source::dashboard_source(caf::actor_config& config, const server* source,
                                   channel_handle target, std::chrono::milliseconds interval)
    : caf::event_based_actor(config), server_(source), target_(std::move(target)),
      interval_(interval), random_(std::random_device{}()) {}

caf::behavior dashboard_source::make_behavior() {
  last_stats_ = server_->stats();
  last_usage_ = apps::read_process_usage();
  last_time_ = std::chrono::steady_clock::now();
  delayed_send(this, interval_, tick_atom::value);
  return {
    [this](tick_atom) {
      sample();
      delayed_send(this, interval_, tick_atom::value);
    },
  };
}

void dashboard_source::sample() {
  auto stats = server_->stats();
  auto usage = apps::read_process_usage();
  auto now = std::chrono::steady_clock::now();
  double seconds = std::chrono::duration<double>(now - last_time_).count();
  if (seconds <= 0)
    return;
  auto per_second = [&](std::uint64_t current, std::uint64_t previous) {
    return std::round(static_cast<double>(current - previous) / seconds);
  };
  // A random walk that stays between 0 and 100: something that moves even on an idle server.
  std::normal_distribution<double> step{0, 4};
  simulated_ = std::clamp(simulated_ + step(random_) + (50 - simulated_) * 0.05, 0.0, 100.0);
  dashboard::sample next{
    .t = apps::now_unix_ms(),
    .connections = stats.connections,
    .channels = stats.channels,
    .messages_in_per_s = per_second(stats.messages_in, last_stats_.messages_in),
    .messages_out_per_s = per_second(stats.messages_out, last_stats_.messages_out),
    .cpu_percent = std::round((usage.cpu_seconds - last_usage_.cpu_seconds) / seconds * 1000) / 10,
    .memory_mb = std::round(static_cast<double>(usage.resident_bytes) / (1 << 20) * 10) / 10,
    .simulated = std::round(simulated_ * 10) / 10,
  };
  last_stats_ = stats;
  last_usage_ = usage;
  last_time_ = now;
  target_.send("sample", to_json(next));
}

} // namespace pulse::dashboard
