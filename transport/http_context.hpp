// What every HTTP session of one server shares: limits, routes, files, the upgrade decision and
// the live WebSocket sessions.
#pragma once

#include "transport/connection.hpp"
#include "transport/limits.hpp"
#include "transport/session_tracker.hpp"
#include "transport/static_files.hpp"

#include <atomic>
#include <string>
#include <unordered_map>

namespace pulse::transport {

struct http_context {
  transport::limits limits;
  static_files files;
  std::unordered_map<std::string, route_function> routes; ///< exact path -> handler
  upgrade_function upgrade;
  std::string websocket_path = "/socket/websocket";
  session_tracker sessions;
  std::atomic<bool> stopping = false;
};

} // namespace pulse::transport
