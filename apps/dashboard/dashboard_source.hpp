// The dashboard's data source: an actor that samples the server every interval.
#pragma once

#include "apps/common/process_stats.hpp"
#include <pulse/pulse.hpp>

#include <caf/event_based_actor.hpp>

#include <chrono>
#include <cstdint>
#include <random>

namespace pulse::dashboard {

class dashboard_source : public caf::event_based_actor {
 public:
  dashboard_source(caf::actor_config& config, const server* source, channel_handle target,
                   std::chrono::milliseconds interval);

  caf::behavior make_behavior() override;
  const char* name() const override { return "pulse.dashboard_source"; }

 private:
  void sample();

  const server* server_;
  channel_handle target_;
  std::chrono::milliseconds interval_;
  server_stats last_stats_;
  apps::process_usage last_usage_;
  std::chrono::steady_clock::time_point last_time_;
  std::mt19937 random_;
  double simulated_ = 50;
};

} // namespace pulse::dashboard
