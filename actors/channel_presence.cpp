#include <pulse/channel_presence.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace pulse {

namespace json = boost::json;

channel_presence::channel_presence(const std::string& topic, std::string incarnation,
                                   std::shared_ptr<redis_broker> broker)
    : topic_(topic), incarnation_(std::move(incarnation)), broker_(std::move(broker)),
      local_(incarnation_ + ":"),
      diff_head_(json::serialize(json::string{topic}) + R"(,"presence_diff",)") {}

json::object channel_presence::list() const {
  auto all = local_.list();
  remote_.merge_into(all);
  return all;
}

json::object channel_presence::track(caf::actor_id owner, std::string_view key, json::object meta) {
  in_use_ = true;
  return local_.track(owner, key, std::move(meta));
}

std::optional<json::object> channel_presence::update(caf::actor_id owner, std::string_view key,
                                                     json::object meta) {
  return local_.update(owner, key, std::move(meta));
}

std::optional<json::object> channel_presence::untrack(caf::actor_id owner, std::string_view key) {
  return local_.untrack(owner, key);
}

std::optional<json::object> channel_presence::leave(caf::actor_id owner) {
  return local_.untrack_all(owner);
}

void channel_presence::store() {
  if (broker_)
    broker_->store_presence(topic_, incarnation_, json::serialize(local_.list()));
}

void channel_presence::heard(const json::object& diff) {
  in_use_ = true;
  auto now = std::chrono::steady_clock::now();
  for (auto& incarnation : remote_.apply(diff))
    hear(incarnation, now);
}

void channel_presence::loaded(const std::vector<messages::presence_record>& records) {
  auto now = std::chrono::steady_clock::now();
  for (auto& record : records) {
    if (record.incarnation == incarnation_ || record.age > redis_broker::presence_timeout)
      continue;
    boost::system::error_code ec;
    auto list = json::parse(record.list, ec);
    if (ec || !list.is_object())
      continue;
    remote_.replace(record.incarnation, list.get_object());
    hear(record.incarnation, now - record.age);
    in_use_ = true;
  }
}

std::vector<json::object>
channel_presence::fetched(const std::vector<messages::presence_record>& records) {
  auto now = std::chrono::steady_clock::now();
  std::vector<std::string> gone;
  for (auto& record : records) {
    if (record.incarnation == incarnation_)
      continue;
    if (record.age > redis_broker::presence_timeout)
      gone.push_back(record.incarnation); // silent for too long: its node is gone
    else
      hear(record.incarnation, now - record.age);
  }
  for (auto& [incarnation, at] : heard_)
    if (now - at > redis_broker::presence_timeout)
      gone.push_back(incarnation);
  std::vector<json::object> diffs;
  for (auto& incarnation : gone) {
    heard_.erase(incarnation);
    broker_->remove_presence(topic_, incarnation);
    if (auto diff = remote_.drop(incarnation))
      diffs.push_back(std::move(*diff));
  }
  return diffs;
}

void channel_presence::hear(const std::string& incarnation,
                            std::chrono::steady_clock::time_point at) {
  if (incarnation == incarnation_)
    return;
  auto [it, added] = heard_.try_emplace(incarnation, at);
  if (!added && at > it->second)
    it->second = at;
}

bool channel_presence::start_heartbeat() {
  if (beating_ || !broker_ || (!in_use_ && heard_.empty()))
    return false;
  beating_ = true;
  return true;
}

void channel_presence::beat(const caf::actor& channel) {
  // A sign of life, not the list: that is stored when it changes.
  broker_->beat_presence(topic_, incarnation_, !local_.empty(), channel);
}

void channel_presence::forget() {
  if (broker_ && in_use_)
    broker_->remove_presence(topic_, incarnation_);
}

} // namespace pulse
