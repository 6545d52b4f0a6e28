#include "actors/channel.hpp"

#include "actors/channel_actor.hpp"

namespace pulse {

channel::~channel() = default;

void channel::on_subscribe(context&) {}

void channel::on_unsubscribe(context&) {}

pulse::handlers channel::handlers() {
  return {};
}

void channel::broadcast(std::string_view event, boost::json::value payload,
                        broadcast_options options) {
  actor_->broadcast(event, pulse::any_payload{std::move(payload)}, nullptr, options.keep);
}

void channel::broadcast_bytes(context* skip, std::string_view event, binary payload,
                              broadcast_options options) {
  actor_->broadcast(event, pulse::any_payload{std::move(payload)},
                    skip ? skip->subscriber_ : nullptr, options.keep);
}

void channel::broadcast_from(context& ctx, std::string_view event, boost::json::value payload,
                             broadcast_options options) {
  actor_->broadcast(event, pulse::any_payload{std::move(payload)}, ctx.subscriber_, options.keep);
}

void channel::track(context& ctx, std::string_view key, boost::json::object meta) {
  ctx.track(key, std::move(meta));
}

void channel::update(context& ctx, std::string_view key, boost::json::object meta) {
  ctx.update(key, std::move(meta));
}

void channel::untrack(context& ctx, std::string_view key) {
  ctx.untrack(key);
}

boost::json::object channel::presence_list() const {
  return actor_->presence_list();
}

void channel::fail(std::string_view reason) {
  actor_->fail(reason);
}

const std::string& channel::topic() const {
  return actor_->topic();
}

std::vector<boost::json::value> channel::recent(std::string_view event, std::size_t max) const {
  return actor_->recent(event, max);
}

std::vector<binary> channel::recent_bytes(std::string_view event, std::size_t max) const {
  return actor_->recent_bytes(event, max);
}

std::size_t channel::subscriber_count() const {
  return actor_->subscriber_count();
}

} // namespace pulse
