// The Autobahn|Testsuite's peer: a WebSocket echo server on Pulse's transport alone (no actors),
// so that the suite measures the frame reader, the writer and permessage-deflate, nothing else.
//
//   pulse-autobahn-echo --port 0 [--compress] [--max-message-bytes N]
//
// Echoes every text message as text and every binary message as binary, at the WebSocket path
// (/socket/websocket), and prints "listening on http://127.0.0.1:PORT" once it accepts.
#include "transport/http_server.hpp"

#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <memory>
#include <mutex>
#include <pthread.h>
#include <string>

namespace {

using namespace pulse::transport;

/// Sends each message back on the connection it came from.
class echo_handler final : public connection_handler {
 public:
  explicit echo_handler(std::shared_ptr<websocket_connection> connection)
      : connection_(std::move(connection)) {}

  void on_text(std::string&& message) override { echo(outbound_frame::text(message)); }
  void on_binary(std::string&& message) override { echo(outbound_frame::binary(message)); }
  void on_closed() override { connection_ = nullptr; } // the session held us: no cycle left
  void on_shutdown() override {
    if (connection_)
      connection_->close(1001, "server shutting down");
  }

 private:
  void echo(outbound_frame frame) {
    if (connection_)
      connection_->send(std::move(frame));
  }

  std::shared_ptr<websocket_connection> connection_;
};

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"WebSocket echo server on Pulse's transport, for the Autobahn|Testsuite"};
  std::uint16_t port = 9001;
  std::string bind = "127.0.0.1";
  std::size_t threads = 1;
  limits options;
  app.add_option("--port", port, "TCP port; 0 picks a free one")->capture_default_str();
  app.add_option("--bind", bind, "address to listen on")->capture_default_str();
  app.add_option("--threads", threads, "I/O threads")->capture_default_str();
  app.add_flag("--compress", options.permessage_deflate, "accept permessage-deflate offers");
  app
    .add_option("--max-message-bytes", options.max_message_bytes,
                "largest inbound message (9.x sends up to 16 MiB)")
    ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  // Echoes pile up while a slow client reads: the bound is for hostile peers, not for this one.
  options.max_queued_bytes = std::max(options.max_queued_bytes, 8 * options.max_message_bytes);

  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr); // before any thread starts

  http_server server{options};
  server.on_upgrade([](const http_request&) {
    return upgrade_decision::accept([](std::shared_ptr<websocket_connection> connection) {
      return std::make_shared<echo_handler>(std::move(connection));
    });
  });
  try {
    port = server.start(bind, port, threads);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
    return 1;
  }
  std::printf("listening on http://%s:%u\n", bind.c_str(), unsigned{port});
  std::fflush(stdout);
  int signal = 0;
  sigwait(&stop_signals, &signal);
  server.stop(std::chrono::seconds{1});
  return 0;
}
