#include "apps/common/app_main.hpp"

#include <pulse/transport/log.hpp>

#include <CLI/CLI.hpp>

#include <cctype>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>

namespace pulse::apps {

int run_app(int argc, char** argv, std::string_view description,
            const std::function<void(server&, const std::filesystem::path&)>& install,
            const app_options& add_options) {
  // SIGINT and SIGTERM wait until run() has its handlers (a graceful stop) in place: the port
  // is printed before, and whoever reads it may stop the server at once. Blocked before any
  // thread starts, so that every thread inherits the mask and none takes them meanwhile.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  CLI::App app{std::string{description}};
  server_options options;
  std::string web_root = PULSE_WEB_ROOT;
  app.add_option("--port", options.port, "TCP port; 0 picks a free one")->capture_default_str();
  app.add_option("--bind", options.bind, "address to listen on")->capture_default_str();
  app
    .add_option("--threads", options.threads,
                "threads for actors and for I/O, each (0: the CPUs this process may use)")
    ->capture_default_str();
  std::string scheduler_name = "sharing";
  app
    .add_option("--scheduler", scheduler_name,
                "how actor threads share work: one queue for all (sharing), or a queue each "
                "(stealing)")
    ->check(CLI::IsMember({"sharing", "stealing"}))
    ->capture_default_str();
  app
    .add_flag("--batch-scheduling,!--no-batch-scheduling", options.batch_scheduling,
              "actor threads under SCHED_BATCH: a woken worker waits for the I/O thread on its "
              "CPU to block rather than preempting it")
    ->capture_default_str();
  app.add_option("--web-root", web_root, "directory of the built web pages")->capture_default_str();
  app.add_option("--tls-cert", options.tls_certificate,
                 "PEM certificate chain: serve https and wss (with --tls-key)");
  app.add_option("--tls-key", options.tls_private_key, "PEM private key of --tls-cert");
  app.add_option("--redis", options.redis_url,
                 "redis://HOST:PORT: share channels with the other nodes on this Redis");
  app.add_option("--redis-sentinel", options.redis_sentinels,
                 "HOST:PORT,...: the Redis Sentinels that name the master (with --redis-master)");
  app.add_option("--redis-master", options.redis_master,
                 "the name of the master the sentinels watch");
  app.add_option("--redis-cluster", options.redis_cluster,
                 "HOST:PORT,...: nodes of a Redis Cluster to share channels through");
  std::int64_t redis_hold_ms = options.redis_hold.count();
  app
    .add_option("--redis-hold-ms", redis_hold_ms,
                "while Redis is out of reach, hold broadcasts this long, then serve alone")
    ->capture_default_str();
  app.add_flag("--compress", options.limits.permessage_deflate,
               "permessage-deflate for clients that offer it (docs/operations.md); off by default");
  app.add_option("--api-key", options.api_key,
                 "key of the server API (/api/...); empty: the API is off");
  auto& jwt = options.jwt;
  auto jwt_option = [&app](std::string name, auto& value, std::string help) {
    return app.add_option(std::move(name), value, std::move(help))
      ->group("JWT (docs/operations.md)");
  };
  jwt_option("--jwt-key", jwt.key_file,
             "connections need a JWT verified with this key: an HS256 secret file, or an RSA "
             "(RS256, PS256), EC (ES256) or Ed25519 (EdDSA) public key in PEM");
  jwt_option("--jwt-jwks", jwt.jwks_file,
             "connections need a JWT verified with a key of this JWKS file (by kid; reloaded on "
             "SIGHUP)");
  jwt_option("--jwt-issuer", jwt.issuer, "the iss a JWT must have");
  jwt_option("--jwt-audience", jwt.audience,
             "the audience a JWT's aud must name (a string, or one in a list)");
  std::int64_t leeway_s = jwt.leeway.count();
  jwt_option("--jwt-leeway", leeway_s, "clock skew allowed on exp and nbf, in seconds")
    ->check(CLI::NonNegativeNumber)
    ->capture_default_str();
  std::string log_format_name = "text";
  std::string log_level_name = "info";
  app.add_option("--log-format", log_format_name, "log lines as text, or as JSON objects")
    ->check(CLI::IsMember({"text", "json"}))
    ->capture_default_str();
  app.add_option("--log-level", log_level_name, "least severe level logged")
    ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
    ->capture_default_str();
  app.set_config("--config", "", "read settings from a TOML or INI file (keys: option names)");
  std::string types_file;
  app.add_option("--emit-types", types_file,
                 "write the TypeScript types of every channel to this file (e.g. channels.d.ts) "
                 "and exit");

  auto& limits = options.limits;
  auto limit = [&app](std::string name, auto& value, std::string help) {
    return app.add_option(std::move(name), value, std::move(help))
      ->capture_default_str()
      ->group("Limits (docs/operations.md)");
  };
  limit("--max-message-bytes", limits.max_message_bytes,
        "largest inbound WebSocket message (larger: close 1009)");
  limit("--max-queued-bytes", limits.max_queued_bytes,
        "outbound bytes queued per connection (more: close 1008, slow consumer)");
  limit("--socket-send-buffer", limits.socket_send_buffer_bytes,
        "SO_SNDBUF per connection in bytes (0: the system's autotuning)");
  std::int64_t idle_ms = limits.idle_timeout.count();
  limit("--idle-timeout-ms", idle_ms, "no inbound data for this long: close 1008");
  std::int64_t close_ms = limits.close_timeout.count();
  limit("--close-timeout-ms", close_ms, "time a closing connection gets to flush before it is cut");
  limit("--max-connections", limits.max_connections,
        "open connections, WebSocket and long-poll (more: HTTP 503, long-poll status 500)");
  limit("--max-connections-per-ip", limits.max_connections_per_ip,
        "open connections per address, 0 for no limit (more: HTTP 503, long-poll status 500)");
  std::int64_t window_ms = limits.longpoll_window.count();
  limit("--longpoll-window-ms", window_ms,
        "how long a long-poll GET waits for a message (keep it under the client's 20 s)");
  std::int64_t longpoll_idle_ms = limits.longpoll_idle_timeout.count();
  limit("--longpoll-idle-timeout-ms", longpoll_idle_ms,
        "no long-poll GET for this long: the session ends");
  limit("--max-longpoll-messages", limits.max_longpoll_messages,
        "messages a long-poll session buffers between GETs (more: slow consumer, closed)");
  limit("--max-messages-per-second", options.max_messages_per_second,
        "inbound messages per second per connection (more: error replies, then 1008)");
  limit("--max-subscriptions", options.max_subscriptions_per_connection,
        "topics one connection may join");
  limit("--max-json-depth", options.max_json_depth,
        "how deeply a message's JSON may nest (deeper: an error reply)");
  app.add_option("--allowed-origin", options.allowed_origins,
                 "an origin whose pages may connect (repeatable; * for any; default: same "
                 "origin)");

  if (add_options)
    add_options(app);

  // Every setting also comes from the environment: --max-queued-bytes as PULSE_MAX_QUEUED_BYTES.
  for (auto* option : app.get_options()) {
    auto name = option->get_single_name();
    if (name == "help" || name.empty())
      continue;
    std::string variable = "PULSE_";
    for (char c : name)
      variable += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    option->envname(variable);
  }
  app.footer("Each option can also be set by an environment variable, PULSE_ and its name in "
             "capitals with underscores (PULSE_MAX_QUEUED_BYTES), or in the --config file; the "
             "command line wins over the file, which wins over the environment.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  configure_log(log_format_name == "json" ? log_format::json : log_format::text,
                spdlog::level::from_str(log_level_name));
  options.scheduler = scheduler_name == "stealing" ? scheduling::stealing : scheduling::sharing;
  limits.idle_timeout = std::chrono::milliseconds{idle_ms};
  limits.close_timeout = std::chrono::milliseconds{close_ms};
  options.redis_hold = std::chrono::milliseconds{redis_hold_ms};
  limits.longpoll_window = std::chrono::milliseconds{window_ms};
  limits.longpoll_idle_timeout = std::chrono::milliseconds{longpoll_idle_ms};
  jwt.leeway = std::chrono::seconds{leeway_s};
  try {
    server srv{options};
    install(srv, web_root);
    if (!types_file.empty()) {
      std::ofstream file{types_file};
      file << srv.typescript_types();
      if (!file.flush()) {
        std::cerr << argv[0] << ": cannot write " << types_file << "\n";
        return 1;
      }
      return 0;
    }
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
