#include <pulse/transport/http_session.hpp>
#include <pulse/transport/listener.hpp>
#include <pulse/transport/log.hpp>

namespace pulse::transport {

listener::listener(asio::io_context& io, tcp::endpoint endpoint, http_context& context,
                   bool one_thread)
    : io_(io), acceptor_(asio::make_strand(io)), retry_timer_(acceptor_.get_executor()),
      context_(context), one_thread_(one_thread) {
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  // Linux hands TCP_NODELAY on to every accepted socket: one setsockopt here, none per connection.
  acceptor_.set_option(tcp::no_delay{true});
  acceptor_.bind(endpoint);
  acceptor_.listen(asio::socket_base::max_listen_connections);
}

void listener::run() {
  asio::dispatch(acceptor_.get_executor(), [self = shared_from_this()] { self->do_accept(); });
}

void listener::stop() {
  asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
    error_code ec;
    self->acceptor_.close(ec);
    self->retry_timer_.cancel();
  });
}

tcp::endpoint listener::local_endpoint() const {
  return acceptor_.local_endpoint();
}

void listener::do_accept() {
  // Each connection's reads, writes and timers never run concurrently: on a strand of its own,
  // unless one thread runs every handler anyway.
  auto accepted = [self = shared_from_this()](error_code ec, tcp::socket socket) {
    self->on_accept(ec, std::move(socket));
  };
  if (one_thread_)
    acceptor_.async_accept(io_.get_executor(), peer_, std::move(accepted));
  else
    acceptor_.async_accept(asio::make_strand(io_), peer_, std::move(accepted));
}

void listener::on_accept(error_code ec, tcp::socket socket) {
  if (ec == asio::error::operation_aborted || !acceptor_.is_open())
    return;
  if (ec) {
    // Out of file descriptors, typically: log, and try again shortly rather than spin.
    log().warn("accept failed: {}", ec.message());
    retry_timer_.expires_after(std::chrono::milliseconds{50});
    retry_timer_.async_wait([self = shared_from_this()](error_code wait_ec) {
      if (!wait_ec && self->acceptor_.is_open())
        self->do_accept();
    });
    return;
  }
  if (context_.tls)
    std::make_shared<http_session<tls_stream>>(std::move(socket), peer_, context_)->run();
  else
    std::make_shared<http_session<beast::tcp_stream>>(std::move(socket), peer_, context_)->run();
  do_accept();
}

} // namespace pulse::transport
