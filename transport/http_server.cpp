#include <pulse/transport/asio.hpp>
#include <pulse/transport/close_code.hpp>
#include <pulse/transport/http_context.hpp>
#include <pulse/transport/http_server.hpp>
#include <pulse/transport/listener.hpp>
#include <pulse/transport/websocket_session.hpp>

#include <algorithm>
#include <optional>
#include <sched.h>
#include <thread>
#include <vector>

namespace pulse::transport {

std::size_t usable_cpu_count() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    auto count = CPU_COUNT(&set);
    if (count > 0)
      return static_cast<std::size_t>(count);
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

struct http_server::impl {
  http_context context; // outlives the io_context, whose pending handlers refer to it
  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::shared_ptr<listener> acceptor;
  std::vector<std::thread> threads;
  // One timer for every connection's idle and close deadlines, instead of one armed timer per
  // connection (its timer and pending wait cost a few hundred bytes on each idle connection).
  asio::steady_timer sweep{io};
  std::uint16_t port = 0;
  bool stopped = false;

  /// How late a deadline may be acted on: a fifth of the shortest one, within 10 ms and 1 s.
  std::chrono::milliseconds sweep_period() const {
    auto shortest = std::min(context.limits.idle_timeout, context.limits.close_timeout);
    return std::clamp(shortest / 5, std::chrono::milliseconds{10}, std::chrono::milliseconds{1000});
  }

  void sweep_deadlines() {
    sweep.expires_after(sweep_period());
    sweep.async_wait([this](error_code ec) {
      if (ec)
        return;
      auto now = std::chrono::steady_clock::now();
      context.sessions.for_each([now](websocket_session_base& s) { s.check_deadline(now); });
      sweep_deadlines();
    });
  }
};

http_server::http_server(const limits& limits) : impl_(std::make_unique<impl>()) {
  impl_->context.limits = limits;
  impl_->context.io = &impl_->io;
}

http_server::~http_server() {
  stop(std::chrono::milliseconds{0});
}

void http_server::mount(std::string url_prefix, std::filesystem::path directory) {
  impl_->context.files.mount(std::move(url_prefix), std::move(directory));
}

void http_server::route(std::string path, route_function fn) {
  impl_->context.routes[std::move(path)] = std::move(fn);
}

void http_server::enable_tls(const std::filesystem::path& certificate_chain,
                             const std::filesystem::path& private_key) {
  namespace ssl = asio::ssl;
  auto tls = std::make_unique<ssl::context>(ssl::context::tls_server);
  tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2
                   | ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1
                   | ssl::context::single_dh_use);
  tls->use_certificate_chain_file(certificate_chain.string());
  tls->use_private_key_file(private_key.string(), ssl::context::pem);
  impl_->context.tls = std::move(tls);
}

void http_server::on_upgrade(upgrade_function fn) {
  impl_->context.upgrade = std::move(fn);
}

std::uint16_t http_server::start(const std::string& address, std::uint16_t port,
                                 std::size_t threads) {
  auto endpoint = tcp::endpoint{asio::ip::make_address(address), port};
  impl_->acceptor = std::make_shared<listener>(impl_->io, endpoint, impl_->context, threads <= 1);
  impl_->port = impl_->acceptor->local_endpoint().port();
  impl_->acceptor->run();
  impl_->sweep_deadlines();
  impl_->work.emplace(impl_->io.get_executor());
  for (std::size_t i = 0; i < std::max<std::size_t>(threads, 1); ++i)
    impl_->threads.emplace_back([this] { impl_->io.run(); });
  return impl_->port;
}

void http_server::stop_accepting() {
  impl_->context.stopping = true;
  if (impl_->acceptor)
    impl_->acceptor->stop();
}

bool http_server::wait_for_connections(std::chrono::steady_clock::time_point deadline) const {
  return impl_->context.sessions.wait_until_empty(deadline);
}

void http_server::stop(std::chrono::milliseconds drain_deadline) {
  if (impl_->stopped)
    return;
  impl_->stopped = true;
  auto& context = impl_->context;
  context.stopping = true;
  if (impl_->acceptor)
    impl_->acceptor->stop();
  if (!impl_->threads.empty()) {
    // Each connection writes what is on its way to it, then closes with 1001.
    context.sessions.for_each([](websocket_session_base& session) { session.shut_down(); });
    context.sessions.wait_until_empty(std::chrono::steady_clock::now() + drain_deadline);
  }
  impl_->work.reset();
  impl_->sweep.cancel();
  impl_->io.stop();
  for (auto& thread : impl_->threads)
    thread.join();
  impl_->threads.clear();
  // Whatever did not close in time is cut now, so every handler still hears on_closed().
  context.sessions.for_each([](websocket_session_base& session) { session.abort(); });
  context.longpoll.clear(); // none is left by now; their timers must not outlive the io_context
  impl_->acceptor.reset();
}

std::uint16_t http_server::port() const noexcept {
  return impl_->port;
}

std::size_t http_server::connection_count() const {
  return impl_->context.sessions.size();
}

traffic http_server::traffic() const {
  auto& sessions = impl_->context.sessions;
  auto relaxed = std::memory_order_relaxed;
  transport::traffic out;
  out.connections = sessions.size();
  out.messages_in = sessions.messages_in.load(relaxed);
  out.messages_out = sessions.messages_out.load(relaxed);
  out.bytes_in = sessions.bytes_in.load(relaxed);
  out.bytes_out = sessions.bytes_out.load(relaxed);
  out.slow_consumers = sessions.slow_consumers.load(relaxed);
  out.protocol_errors = sessions.protocol_errors.load(relaxed);
  out.idle_timeouts = sessions.idle_timeouts.load(relaxed);
  out.binary_dropped = sessions.binary_dropped.load(relaxed);
  out.longpoll_sessions = impl_->context.longpoll.size();
  out.longpoll_held = sessions.held_polls.load(relaxed);
  out.queued_bytes = sessions.queued_bytes();
  out.write_latency = sessions.write_latency.read();
  return out;
}

} // namespace pulse::transport
