#include "actors/channel.hpp"

#include "actors/channel_actor.hpp"

namespace pulse {

channel::~channel() = default;

void channel::on_subscribe(context&) {}

void channel::on_unsubscribe(context&) {}

pulse::handlers channel::handlers() {
  return {};
}

void channel::broadcast(std::string_view event, boost::json::value payload) {
  actor_->broadcast(event, payload, nullptr);
}

void channel::broadcast_from(context& ctx, std::string_view event, boost::json::value payload) {
  actor_->broadcast(event, payload, ctx.subscriber_);
}

const std::string& channel::topic() const {
  return actor_->topic();
}

std::size_t channel::subscriber_count() const {
  return actor_->subscriber_count();
}

} // namespace pulse
