#include "apps/common/app_main.hpp"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

namespace pulse::apps {

int run_app(int argc, char** argv, std::string_view description,
            const std::function<void(server&, const std::filesystem::path&)>& install) {
  CLI::App app{std::string{description}};
  server_options options;
  std::string web_root = PULSE_WEB_ROOT;
  app.add_option("--port", options.port, "TCP port; 0 picks a free one")->capture_default_str();
  app.add_option("--bind", options.bind, "address to listen on")->capture_default_str();
  app
    .add_option("--threads", options.threads,
                "threads for actors and for I/O, each (0: the CPUs this process may use)")
    ->capture_default_str();
  app.add_option("--web-root", web_root, "directory of the built web pages")->capture_default_str();
  app.add_option("--tls-cert", options.tls_certificate,
                 "PEM certificate chain: serve https and wss (with --tls-key)");
  app.add_option("--tls-key", options.tls_private_key, "PEM private key of --tls-cert");
  auto& limits = options.limits;
  auto* group = app.add_option_group("Limits",
                                     "bounds on what clients may do (docs/operations.md)");
  group
    ->add_option("--max-message-bytes", limits.max_message_bytes,
                 "largest inbound WebSocket message (larger: close 1009)")
    ->capture_default_str();
  group
    ->add_option("--max-queued-bytes", limits.max_queued_bytes,
                 "outbound bytes queued per connection (more: close 1008, slow consumer)")
    ->capture_default_str();
  group
    ->add_option("--socket-send-buffer", limits.socket_send_buffer_bytes,
                 "SO_SNDBUF per connection in bytes (0: the system's autotuning)")
    ->capture_default_str();
  std::int64_t idle_ms = limits.idle_timeout.count();
  group->add_option("--idle-timeout-ms", idle_ms, "no inbound data for this long: close 1008")
    ->capture_default_str();
  std::int64_t close_ms = limits.close_timeout.count();
  group
    ->add_option("--close-timeout-ms", close_ms,
                 "time a closing connection gets to flush before it is cut")
    ->capture_default_str();
  group
    ->add_option("--max-connections", limits.max_connections,
                 "open WebSocket connections (more: HTTP 503)")
    ->capture_default_str();
  group
    ->add_option("--max-connections-per-ip", limits.max_connections_per_ip,
                 "open WebSocket connections per address, 0 for no limit (more: HTTP 503)")
    ->capture_default_str();
  group
    ->add_option("--max-messages-per-second", options.max_messages_per_second,
                 "inbound messages per second per connection (more: error replies, then 1008)")
    ->capture_default_str();
  group
    ->add_option("--max-subscriptions", options.max_subscriptions_per_connection,
                 "topics one connection may join")
    ->capture_default_str();
  group->add_option(
    "--allowed-origin", options.allowed_origins,
    "an origin whose pages may connect (repeatable; * for any; default: same origin)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  limits.idle_timeout = std::chrono::milliseconds{idle_ms};
  limits.close_timeout = std::chrono::milliseconds{close_ms};
  try {
    server srv{options};
    install(srv, web_root);
    auto port = srv.start();
    auto scheme = options.tls_certificate.empty() ? "http" : "https";
    std::printf("listening on %s://%s:%u\n", scheme, options.bind.c_str(), unsigned{port});
    std::fflush(stdout);
    srv.run();
  } catch (const std::exception& e) {
    std::cerr << argv[0] << ": " << e.what() << "\n";
    return 1;
  }
  return 0;
}

} // namespace pulse::apps
