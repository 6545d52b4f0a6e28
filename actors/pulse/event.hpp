// A broadcast as an in-process subscriber receives it.
#pragma once

#include <pulse/payload.hpp>

#include <boost/json/value.hpp>

#include <string>

namespace pulse {

/// One broadcast on a topic, delivered to in-process subscribers (server::subscribe).
struct event {
  std::string topic;
  std::string name;
  boost::json::value payload; ///< null for a broadcast of bytes
  binary bytes;               ///< a broadcast of bytes (is_binary)
  bool is_binary = false;
};

} // namespace pulse
