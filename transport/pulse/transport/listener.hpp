// Accepts TCP connections and starts an HTTP session on each, on a strand of its own where
// several threads run the io_context.
#pragma once

#include <pulse/transport/asio.hpp>
#include <pulse/transport/http_context.hpp>

#include <memory>

namespace pulse::transport {

class listener : public std::enable_shared_from_this<listener> {
 public:
  /// Binds and listens; throws boost::system::system_error when the address is taken.
  /// `one_thread`: one thread runs `io`, so its handlers already run one at a time and a
  /// connection needs no strand (which costs ~130 bytes per connection).
  listener(asio::io_context& io, tcp::endpoint endpoint, http_context& context, bool one_thread);

  void run();
  void stop();
  tcp::endpoint local_endpoint() const;

 private:
  void do_accept();
  void on_accept(error_code ec, tcp::socket socket);

  asio::io_context& io_;
  tcp::acceptor acceptor_;
  asio::steady_timer retry_timer_;
  http_context& context_;
  bool one_thread_;
  tcp::endpoint peer_; // the accept in flight writes its peer's address here (no getpeername)
};

} // namespace pulse::transport
