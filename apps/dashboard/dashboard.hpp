// The dashboard app: a data-source actor samples the server's own figures every 500 ms and feeds
// them to the persistent `dashboard` channel, which keeps the last minute and broadcasts each
// sample to every viewer (one encoding per sample, however many viewers).
//
// Wire contract: join `dashboard`; the join's reply holds {"series": [names], "samples": [the
// last 120 samples]}; then every 500 ms a `sample` broadcast:
//   {"t": unix ms, "connections", "channels", "messages_in_per_s", "messages_out_per_s",
//    "cpu_percent", "memory_mb", "simulated", "viewers"}
#pragma once

#include "actors/pulse.hpp"

#include <chrono>
#include <cstddef>
#include <deque>

namespace pulse::dashboard {

struct dashboard_options {
  std::chrono::milliseconds interval = std::chrono::milliseconds{500};
  std::size_t kept_samples = 120;
};

/// The `dashboard` channel: keeps recent samples, hands them to new viewers, broadcasts new ones.
class dashboard_channel : public channel {
 public:
  explicit dashboard_channel(dashboard_options options = {}) : options_(options) {}

  void on_subscribe(context& ctx) override;
  pulse::handlers handlers() override;

 private:
  void on_sample(context& ctx, const boost::json::value& sample);

  dashboard_options options_;
  std::deque<boost::json::value> samples_;
};

/// Defines the `dashboard` channel and starts its data source (stopped with the server).
void install(server& server, dashboard_options options = {});

} // namespace pulse::dashboard
