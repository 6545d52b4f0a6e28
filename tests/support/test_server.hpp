// A Pulse server on a free loopback port, with the test channels and the demo's seed channels.
#pragma once

#include "apps/demo/seed_channels.hpp"
#include "tests/support/test_channels.hpp"

#include <filesystem>

namespace pulse::test {

struct test_server {
  server srv;

  explicit test_server(server_options options = {}) : srv(with_free_port(std::move(options))) {
    srv.channel<test_room>("room:*");
    demo::install_seed_channels(srv);
  }

  /// Starts serving; returns the port the system picked.
  std::uint16_t start() { return srv.start(); }

  static server_options with_free_port(server_options options) {
    options.bind = "127.0.0.1";
    options.port = 0;
    return options;
  }
};

} // namespace pulse::test
