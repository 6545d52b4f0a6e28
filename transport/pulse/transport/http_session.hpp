// One HTTP connection, plain or TLS: routes, static files, long-poll requests, and the WebSocket
// upgrade that hands the stream to a websocket_session. Internal to the transport (it includes
// Beast).
#pragma once

#include <pulse/transport/asio.hpp>
#include <pulse/transport/deflate_negotiation.hpp>
#include <pulse/transport/http_context.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <type_traits>

namespace pulse::transport {

/// `Stream` is beast::tcp_stream, or tls_stream for https and wss (a TLS handshake comes first).
template<class Stream>
class http_session : public std::enable_shared_from_this<http_session<Stream>> {
 public:
  static constexpr bool is_tls = std::is_same_v<Stream, tls_stream>;

  /// `peer`: the address accept() reported.
  http_session(tcp::socket socket, const tcp::endpoint& peer, http_context& context);

  void run();

 private:
  void on_handshake(error_code ec);
  void do_read();
  void on_read(error_code ec, std::size_t bytes);
  void handle(http::request<http::string_body>& request);
  void upgrade(http::request<http::string_body>& request, http_request&& info);
  /// Once the 101 went out: hands the stream, and what the client sent behind its handshake, to
  /// a websocket_session.
  void open_websocket(const open_function& open, const std::optional<deflate_agreement>& deflate);
  void longpoll(http::request<http::string_body>& request, http_request&& info, bool keep_alive);
  /// A long-poll answer: `status` 200 with a JSON body, but for a method it does not take (400);
  /// `written` runs once it went out or failed; `allow_headers` makes it a CORS preflight's
  /// answer, allowing those request headers.
  void answer_longpoll(unsigned status, std::string body, bool keep_alive,
                       std::function<void()> written = {},
                       const std::string* allow_headers = nullptr);
  /// A response with a text body (only its length when `head_only`), not yet written.
  static std::shared_ptr<http::response<http::string_body>>
  text_response(unsigned status, std::string_view content_type, std::string body, bool keep_alive,
                bool head_only = false);
  void respond(unsigned status, std::string_view content_type, std::string body, bool keep_alive,
               bool head_only = false);
  void redirect(const std::string& location, bool keep_alive);
  void serve_file(const std::filesystem::path& file, bool keep_alive, bool head_only);
  template<class Response>
  void write(std::shared_ptr<Response> response);
  void on_write(error_code ec, bool keep_alive);

  Stream stream_;
  http_context& context_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string remote_address_;
  std::function<void()> written_; // for the write in flight, if it has a callback
};

extern template class http_session<beast::tcp_stream>;
extern template class http_session<tls_stream>;

} // namespace pulse::transport
