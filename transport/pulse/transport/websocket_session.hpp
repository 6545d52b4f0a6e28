// One WebSocket connection after its handshake: reads frames, writes queued frames in batches.
// Internal to the transport (it includes Asio); the actors layer sees websocket_connection.
#pragma once

#include <pulse/transport/asio.hpp>
#include <pulse/transport/connection.hpp>
#include <pulse/transport/deflate_negotiation.hpp>
#include <pulse/transport/handler_memory.hpp>
#include <pulse/transport/limits.hpp>
#include <pulse/transport/websocket_reader.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace pulse::transport {

class session_tracker;

/// What the server keeps of every session: a WebSocket, plain or TLS, or a long-poll session.
class websocket_session_base : public websocket_connection {
 public:
  /// Ends the session at once. Only for a server whose I/O threads have stopped.
  virtual void abort() = 0;
  /// The server stops: the handler writes what is on its way and closes (1001).
  virtual void shut_down() = 0;
  /// Bytes queued and not yet written.
  virtual std::size_t queued_bytes() const = 0;
  /// The server's deadline sweep, from any thread: a session past its idle or close deadline
  /// acts on it (on its own strand). Sessions that keep their own timers ignore it.
  virtual void check_deadline(std::chrono::steady_clock::time_point) {}
};

/// Owns the stream: a plain tcp::socket, or a tls_stream. Everything but send() and close() runs
/// on the connection's strand; those two take a short lock to queue, and post one flush to the
/// strand per batch, so a burst of frames from the actors costs one wake-up and as few writev()
/// calls as the frames need (over TLS, Beast's ssl_stream flattens them into few records).
template<class Stream>
class websocket_session final : public websocket_session_base,
                                public std::enable_shared_from_this<websocket_session<Stream>>,
                                private websocket_reader::listener {
 public:
  static constexpr bool is_tls = std::is_same_v<Stream, tls_stream>;

  /// `deflate`: the permessage-deflate terms agreed at the upgrade, if any.
  websocket_session(Stream stream, const limits& limits, std::string remote_address,
                    session_tracker& tracker, std::optional<deflate_agreement> deflate);
  ~websocket_session() override;

  /// Opens the handler and starts reading; `early_bytes` arrived with the HTTP request.
  void start(const open_function& open, std::string_view early_bytes);

  bool send(outbound_frame frame) override;
  bool queue(outbound_frame frame) override;
  void flush() override;
  void close(std::uint16_t code, std::string_view reason) override;
  const std::string& remote_address() const noexcept override { return remote_address_; }

  void abort() override { finish(); }
  void shut_down() override;

  /// Bytes queued for this connection and not yet written.
  std::size_t queued_bytes() const override;
  void check_deadline(std::chrono::steady_clock::time_point now) override;

 private:
  enum class state { open, closing, closed };

  // websocket_reader::listener
  void on_text(std::string&& message) override;
  void on_binary(std::string&& message) override;
  void on_ping(std::string_view payload) override;
  void on_close(std::uint16_t code, std::string_view reason) override;
  void on_failure(std::uint16_t code, std::string_view why) override;

  tcp::socket& socket();
  void do_read();
  void on_readable(error_code ec);                // plain: the socket has bytes, read them in place
  void on_read(error_code ec, std::size_t bytes); // TLS: decrypted bytes arrived
  void take(std::string_view bytes);
  /// Reads `bytes` and hands the handler every message they completed, at once.
  void consume(std::string_view bytes);
  /// Hands the handler the messages kept so far.
  void hand_over();
  /// Keeps a complete inbound message for the handler while the connection is open.
  void deliver(std::string&& message, bool binary);
  /// The frame as this connection sends it: compressed (and shared) where deflate was agreed.
  outbound_frame for_the_wire(outbound_frame&& frame) const;
  /// Queues `frame` with the lock held; returns true when the caller must post a flush.
  bool enqueue_locked(outbound_frame frame);
  /// Moves to closing with `code`: drops nothing already queued unless `drop_queued`.
  void begin_close(std::uint16_t code, std::string_view reason, bool drop_queued);
  /// Writes what is queued; called by the writer (who holds write_active_).
  void write_queued();
  /// Queues with the lock held; false when the frame cannot be queued (closing, or over the bound:
  /// the slow consumer is then being closed).
  bool admit_locked(std::unique_lock<std::mutex>& lock, outbound_frame& frame);
  /// Plain TCP: non-blocking sendmsg() from the calling thread until done or the socket is full.
  void write_now();
  /// TLS: an async_write on the strand.
  void do_write();
  void on_write(error_code ec, std::size_t bytes);
  /// Gives up the writer's token; the strand finishes the close handshake if the close went out.
  void release_writer(std::unique_lock<std::mutex>& lock);
  void after_close_sent();
  /// On the strand: the close handshake has `close_timeout` from now to finish.
  void start_close_deadline();
  /// On the strand: a deadline the sweep saw passed; closes an idle connection (1008) or ends
  /// a close handshake that took too long.
  void on_deadline();
  void finish();

  // First, within the object's first hot_bytes: what a broadcast touches on every subscriber,
  // queueing, flushing and writing, so that a prefetch of those lines brings it all
  // (connection_actor::prefetch_reachable). The socket's descriptor is at the start of stream_.
  mutable std::mutex mutex_; // guards the fields down to corked_
  std::vector<outbound_frame> queued_;
  std::size_t queued_bytes_ = 0; // queued_ plus writing_
  state state_ = state::open;
  bool write_active_ = false; // a flush is posted or a write is in flight
  bool close_queued_ = false; // the close frame is in queued_ or writing_
  bool corked_ = false;       // frames were queued for a flush() to come
  const limits& limits_;
  session_tracker& tracker_;
  int deflate_window_bits_ = 0;         // 0: no permessage-deflate on this connection
  std::vector<outbound_frame> writing_; // the writer's: the batch being written
  std::size_t write_index_ = 0;         // plain: the first frame of writing_ not fully sent
  std::size_t write_offset_ = 0;        // plain: bytes of that frame already sent
  Stream stream_;

  std::string remote_address_;
  websocket_reader reader_;
  handler_memory read_memory_;                  // the pending read's handler
  std::vector<inbound_message> inbound_;        // what the read under way completed
  std::shared_ptr<connection_handler> handler_; // strand only

  /// TLS only (a plain connection does without these bytes): one record's read buffer, and the
  /// buffers of the write under way.
  struct tls_buffers {
    std::array<char, 16 * 1024> read;
    std::vector<asio::const_buffer> writing;
  };
  std::unique_ptr<tls_buffers> tls_;
  // Read by the deadline sweep from another thread: steady_clock ticks.
  std::atomic<std::chrono::steady_clock::rep> last_inbound_{0};
  std::atomic<std::chrono::steady_clock::rep> close_deadline_{0}; // 0: not closing
  bool peer_closed_ = false;                                      // the peer sent its close frame
  bool close_written_ = false;
  bool finished_ = false;
};

extern template class websocket_session<tcp::socket>;
extern template class websocket_session<tls_stream>;

} // namespace pulse::transport
