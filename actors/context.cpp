#include <pulse/channel_actor.hpp>
#include <pulse/context.hpp>

namespace pulse {

namespace json = boost::json;

namespace {
const json::object empty_object;
} // namespace

const std::string& context::topic() const noexcept {
  return actor_.topic();
}

const json::object& context::params() const noexcept {
  return subscriber_ ? subscriber_->params() : empty_object;
}

const json::value& context::identity() const noexcept {
  static const json::value none;
  return subscriber_ ? subscriber_->identity->identity : none;
}

std::string_view context::user_id() const noexcept {
  return user_id_of(identity());
}

const json::object& context::connect_params() const noexcept {
  return subscriber_ ? subscriber_->identity->params : empty_object;
}

json::object& context::assigns() noexcept {
  return subscriber_ ? subscriber_->assigns() : local_assigns_;
}

void context::assign(std::string_view key, json::value value) {
  assigns()[key] = std::move(value);
}

void context::reject(std::string_view reason) {
  reject_with(json::object{{"reason", reason}});
}

void context::reject_with(json::value response) {
  if (!joining_ || rejected_)
    return;
  rejected_ = true;
  replied_ = true;
  join_response_ = std::move(response);
  join_response_ok_ = false;
}

void context::reply(json::value response) {
  if (replied_)
    return;
  replied_ = true;
  if (joining_) {
    join_response_ = std::move(response);
    return;
  }
  if (subscriber_ && ref_ && *ref_)
    actor_.reply(*subscriber_, *ref_, true, any_payload{std::move(response)});
}

void context::reply_bytes(binary response) {
  if (joining_)
    return reply(boost::json::value(nullptr)); // a join's reply travels as JSON
  if (replied_)
    return;
  replied_ = true;
  if (subscriber_ && ref_ && *ref_)
    actor_.reply(*subscriber_, *ref_, true, any_payload{std::move(response)});
}

void context::reply_error(json::value response) {
  if (joining_)
    return reject_with(std::move(response));
  if (replied_)
    return;
  replied_ = true;
  if (subscriber_ && ref_ && *ref_)
    actor_.reply(*subscriber_, *ref_, false, any_payload{std::move(response)});
}

void context::send(std::string_view event, json::value payload) {
  if (subscriber_)
    actor_.push(*subscriber_, event, pulse::any_payload{std::move(payload)});
}

void context::send_bytes(std::string_view event, binary payload) {
  if (subscriber_)
    actor_.push(*subscriber_, event, pulse::any_payload{std::move(payload)});
}

void context::request(std::string_view event, json::value payload,
                      std::chrono::milliseconds timeout, answer_handler on_answer) {
  if (!subscriber_) {
    if (on_answer)
      on_answer(*this, answer{answer::outcome::gone, {}});
    return;
  }
  actor_.request(*subscriber_, event, payload, timeout, std::move(on_answer));
}

void context::track(std::string_view key, json::object meta) {
  if (subscriber_)
    actor_.track(*subscriber_, key, std::move(meta));
}

void context::update(std::string_view key, json::object meta) {
  if (subscriber_)
    actor_.update(*subscriber_, key, std::move(meta));
}

void context::untrack(std::string_view key) {
  if (subscriber_)
    actor_.untrack(*subscriber_, key);
}

json::object context::presence_list() const {
  return actor_.presence_list();
}

void context::fail_channel(std::string_view reason) {
  actor_.fail(reason);
}

void context::broadcast(std::string_view event, json::value payload, broadcast_options options) {
  actor_.broadcast(event, pulse::any_payload{std::move(payload)}, nullptr, options.keep);
}

void context::broadcast_bytes(std::string_view event, binary payload, bool skip_sender,
                              broadcast_options options) {
  actor_.broadcast(event, pulse::any_payload{std::move(payload)},
                   skip_sender ? subscriber_ : nullptr, options.keep);
}

void context::broadcast_from(std::string_view event, json::value payload,
                             broadcast_options options) {
  actor_.broadcast(event, pulse::any_payload{std::move(payload)}, subscriber_, options.keep);
}

} // namespace pulse
