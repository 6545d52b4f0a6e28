#include <pulse/subscriber_set.hpp>

#include <caf/mailbox_element.hpp>
#include <caf/make_message.hpp>

#include <algorithm>

namespace pulse {

subscriber::subscriber(caf::actor to, std::string ref, boost::json::object join_params,
                       std::shared_ptr<const connection_identity> who,
                       transport::phoenix::wire_format written_as)
    : connection(std::move(to)), join_ref(std::move(ref)), identity(std::move(who)),
      format(written_as) {
  if (!join_params.empty())
    extras_ = std::make_unique<extras>(extras{std::move(join_params), {}});
}

const boost::json::object& subscriber::params() const noexcept {
  static const boost::json::object none;
  return extras_ ? extras_->params : none;
}

boost::json::object& subscriber::assigns() {
  if (!extras_)
    extras_ = std::make_unique<extras>();
  return extras_->assigns;
}

namespace {

lean_actor* as_lean(const subscriber& sub) {
  return static_cast<lean_actor*>(caf::actor_cast<caf::abstract_actor*>(sub.connection));
}

} // namespace

subscriber* subscriber_set::find(caf::actor_id connection) {
  auto it = index_.find(connection);
  return it == index_.end() ? nullptr : &subscribers_[it->second];
}

subscriber& subscriber_set::add(subscriber sub) {
  sub.lean = dynamic_cast<lean_actor*>(caf::actor_cast<caf::abstract_actor*>(sub.connection))
             != nullptr;
  index_[sub.id()] = subscribers_.size();
  ++per_format_[static_cast<std::size_t>(sub.format)];
  return subscribers_.emplace_back(std::move(sub));
}

std::optional<subscriber> subscriber_set::remove(caf::actor_id connection,
                                                 const std::string* join_ref) {
  auto it = index_.find(connection);
  if (it == index_.end())
    return std::nullopt;
  auto position = it->second;
  if (join_ref && subscribers_[position].join_ref != *join_ref)
    return std::nullopt; // an older subscription of this connection, already replaced
  std::optional<subscriber> gone{std::move(subscribers_[position])};
  index_.erase(it);
  --per_format_[static_cast<std::size_t>(gone->format)];
  if (position + 1 != subscribers_.size()) {
    subscribers_[position] = std::move(subscribers_.back());
    index_[subscribers_[position].id()] = position;
  }
  subscribers_.pop_back();
  return gone;
}

void subscriber_set::queue_broadcast(frame_set frames, caf::actor_id except) {
  queued_.push_back({std::move(frames), 0, except});
}

void subscriber_set::queue_for(const subscriber& to, transport::outbound_frame frame) {
  frame_set frames;
  frames[static_cast<std::size_t>(to.format)] = std::move(frame);
  queued_.push_back({std::move(frames), to.id(), 0});
}

void subscriber_set::flush(caf::execution_unit* host) {
  if (queued_.empty())
    return;
  // Who gets the batch: with a broadcast in it, everyone, but for a subscriber that every
  // broadcast skips and no frame names (the sender of a lone broadcast_from); without one, the
  // subscribers the frames name.
  bool has_broadcast = false;
  caf::actor_id skip = 0; // the `except` every broadcast shares, if they share one
  std::vector<caf::actor_id> named;
  for (auto& entry : queued_) {
    if (entry.only != 0) {
      named.push_back(entry.only);
    } else {
      skip = !has_broadcast || skip == entry.except ? entry.except : 0;
      has_broadcast = true;
    }
  }
  if (std::find(named.begin(), named.end(), skip) != named.end())
    skip = 0;
  auto batch = caf::make_message(messages::fan_out{std::move(queued_)});
  queued_ = {};
  if (has_broadcast)
    return send_to_all(batch, skip, host);
  std::sort(named.begin(), named.end());
  named.erase(std::unique(named.begin(), named.end()), named.end());
  wake_list woken;
  for (auto id : named)
    if (auto* sub = find(id))
      deliver(*sub, batch, woken, host);
  woken.schedule(host);
}

void subscriber_set::send_to_all(const caf::message& batch, caf::actor_id skip,
                                 caf::execution_unit* host) {
  // A few subscribers ahead, the connection actor's lines that the delivery touches (its id,
  // reference count and mailbox): the misses overlap instead of stalling the loop in turn.
  constexpr std::size_t ahead = 4;
  wake_list woken;
  auto count = subscribers_.size();
  for (std::size_t i = 0; i < count; ++i) {
    if (i + ahead < count && subscribers_[i + ahead].lean)
      as_lean(subscribers_[i + ahead])->prefetch();
    auto& sub = subscribers_[i];
    if (sub.id() != skip)
      deliver(sub, batch, woken, host);
  }
  woken.schedule(host);
}

void subscriber_set::deliver(const subscriber& to, const caf::message& batch, wake_list& woken,
                             caf::execution_unit* host) {
  auto element = caf::make_mailbox_element(nullptr, caf::make_message_id(), {}, batch);
  if (to.lean)
    as_lean(to)->enqueue(std::move(element), woken);
  else
    to.connection->enqueue(std::move(element), host);
}

void subscriber_set::clear() {
  per_format_ = {};
  subscribers_.clear();
  index_.clear();
  queued_.clear();
}

} // namespace pulse
