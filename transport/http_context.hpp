// What every HTTP session of one server shares: limits, routes, files, the upgrade decision, the
// live WebSocket and long-poll sessions.
#pragma once

#include "transport/connection.hpp"
#include "transport/limits.hpp"
#include "transport/longpoll_endpoint.hpp"
#include "transport/session_tracker.hpp"
#include "transport/static_files.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>

#include <atomic>
#include <memory>
#include <string>
#include <unordered_map>

namespace pulse::transport {

struct http_context {
  transport::limits limits;
  static_files files;
  std::unordered_map<std::string, route_function> routes; ///< exact path -> handler
  upgrade_function upgrade;
  std::string websocket_path = "/socket/websocket";
  std::string longpoll_path = "/socket/longpoll";
  session_tracker sessions; ///< every connection, WebSocket or long-poll
  longpoll_endpoint longpoll{*this};
  boost::asio::io_context* io = nullptr; ///< the server's, for what runs outside any socket
  std::atomic<bool> stopping = false;
  std::unique_ptr<boost::asio::ssl::context> tls; ///< set: every connection is TLS (https, wss)
};

} // namespace pulse::transport
