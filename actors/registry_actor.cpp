#include <pulse/registry_actor.hpp>
#include <pulse/transport/log.hpp>

#include <boost/json/serialize.hpp>
#include <caf/exit_reason.hpp>

namespace pulse {

registry_actor::registry_actor(caf::actor_config& config,
                               std::shared_ptr<topic_directory> directory,
                               std::shared_ptr<definition_table> definitions,
                               actor_metrics* metrics)
    : caf::event_based_actor(config), directory_(std::move(directory)),
      definitions_(std::move(definitions)), metrics_(metrics) {}

caf::behavior registry_actor::make_behavior() {
  return {
    [this](messages::drain_atom) {
      // Once every channel answered, everything it was asked before is on its way to the
      // connection actors.
      auto promise = make_response_promise();
      auto channels = directory_->snapshot();
      auto waiting = std::make_shared<std::size_t>(channels.size());
      auto finish = [promise]() mutable {
        promise.deliver(messages::drain_atom::value);
      };
      if (*waiting == 0)
        return finish();
      for (auto& [_, channel] : channels) {
        auto answered = [waiting, finish]() mutable {
          if (--*waiting == 0)
            finish();
        };
        request(channel, caf::infinite, messages::drain_atom::value)
          .then(answered, [answered](caf::error&) mutable { answered(); });
      }
    },
    [this](messages::channels_atom) {
      // The server API's list: each channel counts its own subscribers.
      auto promise = make_response_promise<std::string>();
      auto channels = directory_->snapshot();
      auto counts = std::make_shared<boost::json::object>();
      auto waiting = std::make_shared<std::size_t>(channels.size());
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
      for (auto& [name, channel] : channels) {
        std::string topic = name; // lambdas cannot capture structured bindings (clang 14)
        auto answered = [waiting, finish, counts, topic](std::size_t count) mutable {
          (*counts)[topic] = count;
          if (--*waiting == 0)
            finish();
        };
        request(channel, caf::infinite, messages::count_atom::value)
          .then(answered, [answered](caf::error&) mutable { answered(0); });
      }
      return promise;
    },
    [this](messages::presence_atom, const std::string& topic) {
      auto promise = make_response_promise<std::string>();
      auto channel = directory_->find(topic);
      if (!channel) {
        promise.deliver(std::string{"{}"}); // not running: nobody is present
        return promise;
      }
      request(channel, caf::infinite, messages::presence_atom::value)
        .then([promise](std::string& list) mutable { promise.deliver(std::move(list)); },
              [promise](caf::error&) mutable { promise.deliver(std::string{"{}"}); });
      return promise;
    },
    [this](messages::channel_down& msg) {
      // A failed channel: its subscribers hear phx_error and rejoin a fresh one. A persistent
      // channel has nobody to rejoin it, so it starts again at once.
      actor_metrics::add(metrics_->channel_failures);
      auto definition = definitions_->find(msg.topic);
      bool restart = definition && definition->settings()->is_persistent();
      log().error("channel {} failed: {}; {}", msg.topic, msg.reason,
                  restart ? "restarted" : "the next join starts it afresh");
      if (restart)
        directory_->ensure(msg.topic);
    },
  };
}

void registry_actor::on_exit() {
  directory_ = nullptr;
}

} // namespace pulse
