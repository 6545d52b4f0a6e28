#include <pulse/transport/close_code.hpp>
#include <pulse/transport/log.hpp>
#include <pulse/transport/session_tracker.hpp>
#include <pulse/transport/websocket_session.hpp>

#include <array>
#include <cerrno>
#include <sys/socket.h>
#include <sys/uio.h>
#include <utility>

namespace pulse::transport {

namespace {

/// Inbound bytes land here first, one buffer per I/O thread: an idle connection holds no read
/// buffer of its own, only the tail of a frame that straddles two reads.
std::array<char, 64 * 1024>& read_buffer() {
  thread_local std::array<char, 64 * 1024> buffer;
  return buffer;
}

// The deadlines' times as the atomics hold them: steady_clock ticks.
using clock = std::chrono::steady_clock;
clock::rep ticks(clock::time_point time) {
  return time.time_since_epoch().count();
}
clock::time_point time_of(clock::rep ticks) {
  return clock::time_point{clock::duration{ticks}};
}

} // namespace

template<class Stream>
websocket_session<Stream>::websocket_session(Stream stream, const limits& limits,
                                             std::string remote_address, session_tracker& tracker,
                                             std::optional<deflate_agreement> deflate)
    : limits_(limits), tracker_(tracker),
      deflate_window_bits_(deflate ? deflate->server_window_bits : 0), stream_(std::move(stream)),
      remote_address_(std::move(remote_address)), reader_(limits.max_message_bytes, deflate) {
  if constexpr (is_tls) {
    beast::get_lowest_layer(stream_).expires_never(); // the server's deadline sweep from now on
    tls_ = std::make_unique<tls_buffers>();
  }
}

template<class Stream>
tcp::socket& websocket_session<Stream>::socket() {
  if constexpr (is_tls)
    return beast::get_lowest_layer(stream_).socket();
  else
    return stream_;
}

template<class Stream>
websocket_session<Stream>::~websocket_session() = default;

template<class Stream>
void websocket_session<Stream>::start(const open_function& open, std::string_view early_bytes) {
  tracker_.add(this->shared_from_this());
  error_code ec;
  if constexpr (!is_tls)
    socket().non_blocking(true, ec); // read_some after async_wait must not block
  // TCP_NODELAY came from the listening socket (see listener).
  if (limits_.socket_send_buffer_bytes > 0)
    socket().set_option(
      asio::socket_base::send_buffer_size(static_cast<int>(limits_.socket_send_buffer_bytes)), ec);
  handler_ = open(this->shared_from_this());
  last_inbound_.store(ticks(clock::now()), std::memory_order_relaxed);
  if (!early_bytes.empty())
    consume(early_bytes);
  do_read();
}

// ---- reading -----------------------------------------------------------------------------------

template<class Stream>
void websocket_session<Stream>::do_read() {
  if constexpr (is_tls) {
    stream_.async_read_some(asio::buffer(tls_->read),
                            [self = this->shared_from_this()](error_code ec, std::size_t bytes) {
                              self->on_read(ec, bytes);
                            });
  } else {
    socket().async_wait(tcp::socket::wait_read,
                        asio::bind_allocator(handler_allocator<char>(read_memory_),
                                             [self = this->shared_from_this()](error_code ec) {
                                               self->on_readable(ec);
                                             }));
  }
}

template<class Stream>
void websocket_session<Stream>::on_readable(error_code ec) {
  if (finished_)
    return;
  if (ec)
    return finish();
  auto& buffer = read_buffer();
  auto bytes = socket().read_some(asio::buffer(buffer), ec);
  if (ec == asio::error::would_block || ec == asio::error::try_again)
    return do_read();
  if (ec)
    return finish(); // EOF or reset: the peer is gone
  take({buffer.data(), bytes});
}

template<class Stream>
void websocket_session<Stream>::on_read(error_code ec, std::size_t bytes) {
  if (finished_)
    return;
  if (ec)
    return finish();
  take({tls_->read.data(), bytes});
}

template<class Stream>
void websocket_session<Stream>::take(std::string_view bytes) {
  last_inbound_.store(ticks(clock::now()), std::memory_order_relaxed);
  tracker_.bytes_in.fetch_add(bytes.size(), std::memory_order_relaxed);
  if (!reader_.is_done())
    consume(bytes);
  if (!finished_)
    do_read(); // after a close, keep reading until the peer's EOF
}

template<class Stream>
void websocket_session<Stream>::consume(std::string_view bytes) {
  reader_.consume(bytes, *this);
  hand_over();
}

template<class Stream>
void websocket_session<Stream>::hand_over() {
  // One hand-over per read: the messages of a burst reach the connection actor together, so
  // that what they broadcast goes out in one flush.
  if (!inbound_.empty() && handler_)
    handler_->on_messages(std::exchange(inbound_, {}));
}

template<class Stream>
void websocket_session<Stream>::on_text(std::string&& message) {
  deliver(std::move(message), false);
}

template<class Stream>
void websocket_session<Stream>::on_binary(std::string&& message) {
  deliver(std::move(message), true);
}

template<class Stream>
void websocket_session<Stream>::deliver(std::string&& message, bool binary) {
  tracker_.messages_in.fetch_add(1, std::memory_order_relaxed);
  if (handler_ && !finished_) {
    std::unique_lock lock{mutex_};
    bool open = state_ == state::open;
    lock.unlock();
    if (!open)
      return;
    inbound_.push_back({std::move(message), binary});
  }
}

template<class Stream>
void websocket_session<Stream>::on_ping(std::string_view payload) {
  std::unique_lock lock{mutex_};
  if (state_ != state::open)
    return;
  if (enqueue_locked(outbound_frame::pong(payload))) {
    lock.unlock();
    write_queued();
  }
}

template<class Stream>
void websocket_session<Stream>::on_close(std::uint16_t code, std::string_view) {
  hand_over(); // what came before the close, while the connection is still open
  peer_closed_ = true;
  std::unique_lock lock{mutex_};
  bool we_closed_first = state_ != state::open;
  lock.unlock();
  if (we_closed_first) {
    if (close_written_)
      finish(); // the close handshake is complete
    return;
  }
  // Echo the peer's code, as RFC 6455 asks; a close without a code is answered with 1000.
  begin_close(code == close_code::no_status ? close_code::normal : code, {}, false);
}

template<class Stream>
void websocket_session<Stream>::on_failure(std::uint16_t code, std::string_view why) {
  hand_over(); // what came before the broken frame, while the connection is still open
  log().info("closing connection from {} with {}: {}", remote_address_, code, why);
  tracker_.protocol_errors.fetch_add(1, std::memory_order_relaxed);
  begin_close(code, why, false);
}

// ---- writing -----------------------------------------------------------------------------------
//
// One writer at a time holds the token (write_active_). Whoever queues a frame onto an idle
// session takes it: over plain TCP it writes at once, from its own thread, with a non-blocking
// sendmsg() of every queued frame (no hand-off to the I/O thread, no wait: a broadcast reaches an
// idle socket within the fan-out loop); when the socket is full, the rest is left to the strand,
// which waits until it is writable. Frames queued meanwhile go out together in the next call. Over
// TLS the strand writes, through Beast's ssl_stream.

template<class Stream>
bool websocket_session<Stream>::admit_locked(std::unique_lock<std::mutex>& lock,
                                             outbound_frame& frame) {
  if (state_ != state::open)
    return false;
  if (queued_bytes_ + frame.size_bytes() > limits_.max_queued_bytes) {
    lock.unlock();
    log().warn("closing slow consumer {}: more than {} bytes queued", remote_address_,
               limits_.max_queued_bytes);
    tracker_.slow_consumers.fetch_add(1, std::memory_order_relaxed);
    begin_close(close_code::policy_violation, "slow consumer", true);
    return false;
  }
  return true;
}

template<class Stream>
outbound_frame websocket_session<Stream>::for_the_wire(outbound_frame&& frame) const {
  // Outside the lock, on the caller's thread: the first connection to need a frame's compressed
  // variant makes it, every later one (same window bits) shares it.
  if (deflate_window_bits_ != 0 && frame.is_data())
    return frame.deflated(deflate_window_bits_);
  return std::move(frame);
}

template<class Stream>
bool websocket_session<Stream>::send(outbound_frame frame) {
  frame = for_the_wire(std::move(frame));
  std::unique_lock lock{mutex_};
  if (!admit_locked(lock, frame))
    return false;
  bool must_write = enqueue_locked(std::move(frame));
  lock.unlock();
  if (must_write)
    write_queued();
  return true;
}

template<class Stream>
bool websocket_session<Stream>::queue(outbound_frame frame) {
  frame = for_the_wire(std::move(frame));
  std::unique_lock lock{mutex_};
  if (!admit_locked(lock, frame))
    return false;
  queued_bytes_ += frame.size_bytes();
  queued_.push_back(std::move(frame));
  if (write_active_ || corked_)
    return false; // a write under way, or a flush to come, takes it along
  corked_ = true;
  return true;
}

template<class Stream>
void websocket_session<Stream>::flush() {
  std::unique_lock lock{mutex_};
  corked_ = false;
  if (write_active_ || queued_.empty())
    return;
  write_active_ = true;
  lock.unlock();
  write_queued();
}

template<class Stream>
bool websocket_session<Stream>::enqueue_locked(outbound_frame frame) {
  queued_bytes_ += frame.size_bytes();
  queued_.push_back(std::move(frame));
  if (write_active_)
    return false;
  write_active_ = true;
  return true;
}

template<class Stream>
void websocket_session<Stream>::close(std::uint16_t code, std::string_view reason) {
  begin_close(code, reason, false);
}

template<class Stream>
void websocket_session<Stream>::shut_down() {
  asio::post(stream_.get_executor(), [self = this->shared_from_this()] {
    if (self->handler_ && !self->finished_)
      self->handler_->on_shutdown();
    else
      self->close(close_code::going_away, "server shutting down");
  });
}

template<class Stream>
void websocket_session<Stream>::begin_close(std::uint16_t code, std::string_view reason,
                                            bool drop_queued) {
  std::unique_lock lock{mutex_};
  if (state_ != state::open)
    return;
  state_ = state::closing;
  if (drop_queued) {
    for (auto& frame : queued_)
      queued_bytes_ -= frame.size_bytes();
    queued_.clear();
  }
  close_queued_ = true;
  bool must_flush = enqueue_locked(outbound_frame::close(code, reason));
  lock.unlock();
  // The close deadline replaces the idle timeout; it is armed on the strand.
  asio::post(stream_.get_executor(), [self = this->shared_from_this(), must_flush] {
    self->start_close_deadline();
    if (must_flush)
      self->write_queued();
  });
}

template<class Stream>
void websocket_session<Stream>::write_queued() {
  if constexpr (is_tls)
    asio::post(stream_.get_executor(), [self = this->shared_from_this()] { self->do_write(); });
  else
    write_now();
}

template<class Stream>
void websocket_session<Stream>::write_now() {
  constexpr std::size_t max_iov = 512;
  std::array<iovec, max_iov> iov;
  auto fd = socket().native_handle();
  for (;;) {
    if (write_index_ == writing_.size()) {
      writing_.clear();
      write_index_ = 0;
      write_offset_ = 0;
      std::unique_lock lock{mutex_};
      writing_.swap(queued_);
      if (writing_.empty())
        return release_writer(lock);
    }
    std::size_t count = 0;
    for (auto i = write_index_; i < writing_.size() && count < max_iov; ++i, ++count) {
      auto bytes = writing_[i].wire_bytes();
      if (i == write_index_)
        bytes.remove_prefix(write_offset_);
      iov[count] = {const_cast<char*>(bytes.data()), bytes.size()};
    }
    msghdr message{};
    message.msg_iov = iov.data();
    message.msg_iovlen = count;
    auto sent = ::sendmsg(fd, &message, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        // The socket is full: the strand takes over once it drains.
        asio::post(stream_.get_executor(), [self = this->shared_from_this()] {
          self->socket().async_wait(tcp::socket::wait_write, [self](error_code ec) {
            if (ec)
              return self->finish();
            self->write_now();
          });
        });
        return;
      }
      // The peer is gone: end on the strand (the token stays taken: nothing more is written).
      asio::post(stream_.get_executor(), [self = this->shared_from_this()] { self->finish(); });
      return;
    }
    tracker_.write_latency.observe(std::chrono::steady_clock::now()
                                   - writing_[write_index_].created());
    // Step over what went out: whole frames, and maybe part of the next.
    auto left = static_cast<std::size_t>(sent);
    std::size_t frames = 0;
    while (left > 0) {
      auto remaining = writing_[write_index_].size_bytes() - write_offset_;
      if (left < remaining) {
        write_offset_ += left;
        break;
      }
      left -= remaining;
      write_offset_ = 0;
      ++write_index_;
      ++frames;
    }
    // Counted per write, not per frame: one atomic add per syscall, off the fan-out path.
    tracker_.messages_out.fetch_add(frames, std::memory_order_relaxed);
    tracker_.bytes_out.fetch_add(static_cast<std::size_t>(sent), std::memory_order_relaxed);
    std::lock_guard guard{mutex_};
    queued_bytes_ -= static_cast<std::size_t>(sent);
  }
}

template<class Stream>
void websocket_session<Stream>::release_writer(std::unique_lock<std::mutex>& lock) {
  write_active_ = false;
  bool close_sent = state_ == state::closing && close_queued_;
  lock.unlock();
  if (close_sent) // the close frame is out: the rest of the close handshake is the strand's
    asio::post(stream_.get_executor(),
               [self = this->shared_from_this()] { self->after_close_sent(); });
}

template<class Stream>
void websocket_session<Stream>::after_close_sent() {
  if (finished_)
    return;
  close_written_ = true;
  if (peer_closed_)
    return finish();
  // Wait for the peer's close frame (or EOF) until the close deadline.
  error_code ec;
  socket().shutdown(tcp::socket::shutdown_send, ec);
}

template<class Stream>
void websocket_session<Stream>::do_write() {
  if (finished_)
    return;
  {
    std::lock_guard guard{mutex_};
    writing_.swap(queued_);
    if (writing_.empty()) {
      write_active_ = false;
      return;
    }
  }
  auto& buffers = tls_->writing;
  buffers.clear();
  buffers.reserve(writing_.size());
  for (auto& frame : writing_) {
    auto bytes = frame.wire_bytes();
    buffers.emplace_back(bytes.data(), bytes.size());
  }
  asio::async_write(stream_, buffers,
                    [self = this->shared_from_this()](error_code ec, std::size_t n) {
                      self->on_write(ec, n);
                    });
}

template<class Stream>
void websocket_session<Stream>::on_write(error_code ec, std::size_t bytes) {
  if (finished_)
    return;
  if (ec)
    return finish();
  tracker_.messages_out.fetch_add(writing_.size(), std::memory_order_relaxed);
  tracker_.bytes_out.fetch_add(bytes, std::memory_order_relaxed);
  tracker_.write_latency.observe(std::chrono::steady_clock::now() - writing_.front().created());
  std::unique_lock lock{mutex_};
  queued_bytes_ -= bytes;
  writing_.clear();
  if (!queued_.empty()) {
    lock.unlock();
    return do_write();
  }
  release_writer(lock);
}

// ---- time --------------------------------------------------------------------------------------

template<class Stream>
void websocket_session<Stream>::start_close_deadline() {
  close_deadline_.store(ticks(clock::now() + limits_.close_timeout), std::memory_order_relaxed);
}

template<class Stream>
void websocket_session<Stream>::check_deadline(clock::time_point now) {
  auto closing = close_deadline_.load(std::memory_order_relaxed);
  auto deadline = closing != 0
                    ? time_of(closing)
                    : time_of(last_inbound_.load(std::memory_order_relaxed)) + limits_.idle_timeout;
  if (now >= deadline)
    asio::post(stream_.get_executor(), [self = this->shared_from_this()] { self->on_deadline(); });
}

template<class Stream>
void websocket_session<Stream>::on_deadline() {
  if (finished_)
    return;
  auto now = clock::now();
  if (auto closing = close_deadline_.load(std::memory_order_relaxed); closing != 0) {
    if (now >= time_of(closing))
      finish(); // the close handshake did not finish in time
    return;
  }
  if (now < time_of(last_inbound_.load(std::memory_order_relaxed)) + limits_.idle_timeout)
    return; // data came since the sweep looked
  log().info("closing connection from {}: no data for {} ms", remote_address_,
             limits_.idle_timeout.count());
  tracker_.idle_timeouts.fetch_add(1, std::memory_order_relaxed);
  begin_close(close_code::policy_violation, "heartbeat timeout", false);
}

template<class Stream>
void websocket_session<Stream>::finish() {
  if (finished_)
    return;
  finished_ = true;
  error_code ec;
  // Shut down, not closed: a writer on another thread may be inside sendmsg() on this descriptor,
  // which must not be reused by another connection before the session is gone.
  socket().shutdown(tcp::socket::shutdown_both, ec);
  socket().cancel(ec);
  {
    std::lock_guard guard{mutex_};
    state_ = state::closed;
    queued_.clear();
  }
  tracker_.remove(this, remote_address_);
  if (auto handler = std::move(handler_))
    handler->on_closed();
}

template<class Stream>
std::size_t websocket_session<Stream>::queued_bytes() const {
  std::lock_guard guard{mutex_};
  return queued_bytes_;
}

template class websocket_session<tcp::socket>;
template class websocket_session<tls_stream>;

} // namespace pulse::transport
