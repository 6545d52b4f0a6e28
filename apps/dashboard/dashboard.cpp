#include "apps/dashboard/dashboard.hpp"

#include "apps/dashboard/dashboard_source.hpp"

#include <boost/mp11/algorithm.hpp>
#include <caf/actor_system.hpp>

namespace pulse::dashboard {

void dashboard_channel::on_subscribe(context& ctx) {
  recent_samples recent{{}, {samples_.begin(), samples_.end()}};
  boost::mp11::mp_for_each<boost::describe::describe_members<sample, boost::describe::mod_public>>(
    [&](auto member) { recent.series.emplace_back(member.name); });
  recent.series.erase(recent.series.begin()); // "t" is the time axis
  ctx.reply(to_json(recent));
}

pulse::handlers dashboard_channel::handlers() {
  return {{"sample", &dashboard_channel::on_sample}};
}

void dashboard_channel::on_sample(context& ctx, const sample& next) {
  if (ctx.has_client())
    throw reply_error("the dashboard is read-only: samples come from the server");
  auto stamped = next;
  stamped.viewers = subscriber_count();
  broadcast("sample", to_json(stamped));
  samples_.push_back(std::move(stamped));
  if (samples_.size() > options_.kept_samples)
    samples_.pop_front();
}

void install(server& server, dashboard_options options) {
  // Each node draws its own figures: the topic stays on its node, even with scale-out.
  server.channel<dashboard_channel>("dashboard", options)
    .persistent()
    .node_local()
    .emits<sample>("sample");
  auto source = server.system().spawn<dashboard_source>(&server, server.topic("dashboard"),
                                                        options.interval);
  server.adopt(source);
}

} // namespace pulse::dashboard
