#include "actors/registry_actor.hpp"

#include "actors/channel_actor.hpp"
#include "transport/log.hpp"
#include "transport/phoenix_codec.hpp"

#include <boost/json/serialize.hpp>
#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/system_messages.hpp>

namespace pulse {

registry_actor::registry_actor(caf::actor_config& config,
                               std::shared_ptr<definition_table> definitions,
                               std::atomic<std::size_t>* live_channels, actor_metrics* metrics,
                               std::shared_ptr<redis_broker> broker)
    : caf::event_based_actor(config), definitions_(std::move(definitions)),
      live_channels_(live_channels), metrics_(metrics), broker_(std::move(broker)) {}

void registry_actor::forget(std::unordered_map<std::string, entry>::iterator it) {
  channels_.erase(it);
  live_channels_->store(channels_.size(), std::memory_order_relaxed);
}

caf::behavior registry_actor::make_behavior() {
  set_down_handler([this](caf::down_msg& down) {
    for (auto it = channels_.begin(); it != channels_.end(); ++it)
      if (it->second.channel.address() == down.source)
        return forget_failed(it, down.reason ? to_string(down.reason) : std::string{});
  });
  return {
    [this](messages::subscribe& msg) {
      if (auto* target = route(msg.topic)) {
        ++target->routed;
        send(target->channel, std::move(msg));
        return;
      }
      if (msg.socket)
        msg.socket->send(transport::phoenix::encode_error_reply(std::nullopt, msg.ref, msg.topic,
                                                                "unmatched topic"));
      actor_metrics::add(metrics_->join_refusals);
      send(msg.connection, messages::subscribe_refused{msg.topic, msg.join_ref});
    },
    [this](messages::listen& msg) {
      if (auto* target = route(msg.topic)) {
        ++target->routed;
        send(target->channel, std::move(msg));
      }
    },
    [this](messages::dispatch& msg) {
      if (auto* target = route(msg.topic)) {
        ++target->routed;
        send(target->channel, std::move(msg));
      }
    },
    [this](messages::publish& msg) {
      // Nobody subscribed means nobody to tell: no channel is started for a broadcast.
      if (auto it = channels_.find(msg.topic); it != channels_.end())
        send(it->second.channel, std::move(msg));
    },
    [this](messages::unlisten& msg) {
      if (auto it = channels_.find(msg.topic); it != channels_.end())
        send(it->second.channel, std::move(msg));
    },

    [this](messages::drain_atom) {
      // Once every channel answered, everything it fanned out before is on the sockets' queues.
      auto promise = make_response_promise();
      auto waiting = std::make_shared<std::size_t>(channels_.size());
      auto finish = [promise]() mutable {
        promise.deliver(messages::drain_atom::value);
      };
      if (*waiting == 0)
        return finish();
      for (auto& [_, known] : channels_) {
        auto answered = [waiting, finish]() mutable {
          if (--*waiting == 0)
            finish();
        };
        request(known.channel, caf::infinite, messages::drain_atom::value)
          .then(answered, [answered](caf::error&) mutable { answered(); });
      }
    },
    [this](messages::channels_atom) {
      // The server API's list: each channel counts its own subscribers.
      auto promise = make_response_promise<std::string>();
      auto counts = std::make_shared<boost::json::object>();
      auto waiting = std::make_shared<std::size_t>(channels_.size());
      auto finish = [promise, counts]() mutable {
        boost::json::array list;
        for (auto& [topic, count] : *counts)
          list.push_back(boost::json::object{{"name", topic}, {"subscribers", count}});
        promise.deliver(boost::json::serialize(boost::json::object{{"channels", std::move(list)}}));
      };
      if (*waiting == 0) {
        finish();
        return promise;
      }
      for (auto& [name, known] : channels_) {
        std::string topic = name; // lambdas cannot capture structured bindings (clang 14)
        auto answered = [waiting, finish, counts, topic](std::size_t count) mutable {
          (*counts)[topic] = count;
          if (--*waiting == 0)
            finish();
        };
        request(known.channel, caf::infinite, messages::count_atom::value)
          .then(answered, [answered](caf::error&) mutable { answered(0); });
      }
      return promise;
    },
    [this](messages::presence_atom, const std::string& topic) {
      auto promise = make_response_promise<std::string>();
      auto it = channels_.find(topic);
      if (it == channels_.end()) {
        promise.deliver(std::string{"{}"}); // not running: nobody is present
        return promise;
      }
      request(it->second.channel, caf::infinite, messages::presence_atom::value)
        .then([promise](std::string& list) mutable { promise.deliver(std::move(list)); },
              [promise](caf::error&) mutable { promise.deliver(std::string{"{}"}); });
      return promise;
    },
    [this](messages::channel_failed& msg) {
      // Sent by the failing channel before it goes, so it arrives ahead of any rejoin its
      // subscribers make once they hear of the failure (monitors fire newest first).
      auto it = channels_.find(msg.topic);
      if (it != channels_.end() && current_sender()
          && current_sender()->id() == it->second.channel.id())
        forget_failed(it, msg.reason);
    },
    [this](messages::channel_idle& msg) {
      auto it = channels_.find(msg.topic);
      if (it == channels_.end() || !current_sender()
          || current_sender()->id() != it->second.channel.id())
        return;
      if (it->second.routed != msg.routed)
        return; // a subscribe is on its way to it: it will not stay idle
      send(it->second.channel, messages::stop_atom::value);
      demonitor(it->second.channel);
      forget(it);
    },
  };
}

void registry_actor::forget_failed(std::unordered_map<std::string, entry>::iterator it,
                                   const std::string& reason) {
  auto topic = it->first;
  demonitor(it->second.channel);
  forget(it);
  if (reason.empty())
    return; // a normal exit: nothing failed
  actor_metrics::add(metrics_->channel_failures);
  // A failed channel: its subscribers hear phx_error and rejoin a fresh one. A persistent
  // channel has nobody to rejoin it, so it starts again at once.
  auto definition = definitions_->find(topic);
  bool restart = definition && definition->settings()->is_persistent();
  log().error("channel {} failed: {}; {}", topic, reason,
              restart ? "restarted" : "the next join starts it afresh");
  if (restart)
    route(topic);
}

registry_actor::entry* registry_actor::route(const std::string& topic) {
  if (auto it = channels_.find(topic); it != channels_.end())
    return &it->second;
  auto definition = definitions_->find(topic);
  if (!definition)
    return nullptr;
  auto shared = definition->settings()->node_local ? nullptr : broker_;
  auto channel = spawn<channel_actor>(topic, std::move(definition), metrics_,
                                      caf::actor_cast<caf::actor>(this), std::move(shared));
  monitor(channel);
  auto& added = channels_.emplace(topic, entry{std::move(channel), 0}).first->second;
  live_channels_->store(channels_.size(), std::memory_order_relaxed);
  return &added;
}

void registry_actor::on_exit() {
  for (auto& [_, known] : channels_)
    send_exit(known.channel, caf::exit_reason::user_shutdown);
  channels_.clear();

  live_channels_->store(0, std::memory_order_relaxed);
}

} // namespace pulse
