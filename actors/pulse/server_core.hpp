// What a server and its handles share: the actor system, the registry, the definitions and the
// transport. Handles keep a weak reference, so they outlive their server harmlessly.
#pragma once

#include <pulse/channel_definition.hpp>
#include <pulse/connection_actor.hpp>
#include <pulse/metrics.hpp>
#include <pulse/redis_broker.hpp>
#include <pulse/server.hpp>
#include <pulse/topic_directory.hpp>
#include <pulse/transport/http_server.hpp>
#include <pulse/transport/phoenix_codec.hpp>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

namespace pulse {

struct server_core : std::enable_shared_from_this<server_core> {
  explicit server_core(server_options opts);
  ~server_core();

  /// Hands `msg` to `topic`'s channel actor (from any thread), starting it first when `start`.
  template<class Message>
  void tell_channel(const std::string& topic, Message&& msg, bool start) {
    directory->send(topic, std::forward<Message>(msg), start);
  }
  /// Starts the actor for a topic (the directory's starter).
  caf::actor start_channel(const std::string& topic,
                           std::shared_ptr<channel_definition> definition);

  /// Spawns the connection actor for `socket`.
  std::shared_ptr<transport::connection_handler>
  open(std::shared_ptr<transport::websocket_connection> socket,
       std::shared_ptr<const connection_identity> identity = nullptr,
       transport::phoenix::wire_format format = transport::phoenix::wire_format::v2);

  /// Decides on a WebSocket upgrade or a new long-poll session: protocol version, origin,
  /// authentication.
  transport::upgrade_decision decide(const transport::http_request& request);
  /// Who the client is: the authenticator's word, else its JWT's claims.
  connect_result authenticate(const connect_info& client) const;
  transport::upgrade_decision accept_connection(std::shared_ptr<const connection_identity> identity,
                                                transport::phoenix::wire_format format);

  /// Throws std::invalid_argument when no definition matches `topic`.
  void require_definition(const std::string& topic) const;

  void stop();

  server_options options;
  caf::actor_system_config config;
  std::unique_ptr<caf::actor_system> system; // declared before every actor handle
  std::shared_ptr<definition_table> definitions = std::make_shared<definition_table>();
  std::shared_ptr<redis_broker> broker; ///< set: nodes share channels through Redis
  std::shared_ptr<topic_directory> directory;
  caf::actor registry;
  transport::http_server http;
  pulse::authenticator authenticator;
  std::shared_ptr<jwt_verifier> jwt; ///< set: server_options::jwt has keys
  actor_metrics metrics;
  connection_limits per_connection; ///< every connection actor's, by reference
  std::mutex mutex;                 // guards owned, started, stopped
  std::vector<caf::actor> owned;    // stopped with the server: adopted actors, callback listeners
  bool started = false;
  bool stopped = false;
};

} // namespace pulse
