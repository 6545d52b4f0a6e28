#include <pulse/transport/deflate_negotiation.hpp>
#include <pulse/transport/http_session.hpp>
#include <pulse/transport/log.hpp>
#include <pulse/transport/websocket_session.hpp>

namespace pulse::transport {

namespace websocket = beast::websocket;

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/// Percent-decoding; `plus_is_space` for query strings.
std::string url_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%' && i + 2 < text.size()) {
      int hi = hex_value(text[i + 1]);
      int lo = hex_value(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && c == '+' ? ' ' : c);
  }
  return out;
}

void parse_target(std::string_view target, http_request& out) {
  auto question = target.find('?');
  out.path = url_decode(target.substr(0, question), false);
  if (question == std::string_view::npos)
    return;
  auto query = target.substr(question + 1);
  while (!query.empty()) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    if (!pair.empty()) {
      auto eq = pair.find('=');
      out.query.emplace_back(url_decode(pair.substr(0, eq), true),
                             eq == std::string_view::npos ? std::string{}
                                                          : url_decode(pair.substr(eq + 1), true));
    }
    if (amp == std::string_view::npos)
      break;
    query.remove_prefix(amp + 1);
  }
}

bool offers_subprotocol(std::string_view header, std::string_view wanted) {
  while (!header.empty()) {
    auto comma = header.find(',');
    auto item = header.substr(0, comma);
    while (!item.empty() && item.front() == ' ')
      item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ')
      item.remove_suffix(1);
    if (item == wanted)
      return true;
    if (comma == std::string_view::npos)
      break;
    header.remove_prefix(comma + 1);
  }
  return false;
}

/// Why a WebSocket opening handshake cannot be accepted, beyond what websocket::is_upgrade checked
/// (RFC 6455 section 4.2.1); the same refusals as Beast's websocket::stream::accept.
struct handshake_refusal {
  unsigned status;
  std::string reason;
};

std::optional<handshake_refusal> check_handshake(const http::request<http::string_body>& request) {
  if (request.version() != 11)
    return handshake_refusal{400, "the WebSocket handshake needs HTTP/1.1"};
  if (request.find(http::field::host) == request.end())
    return handshake_refusal{400, "no Host header"};
  auto key = request.find(http::field::sec_websocket_key);
  if (key == request.end())
    return handshake_refusal{400, "no Sec-WebSocket-Key header"};
  if (key->value().empty()
      || key->value().size() > websocket::detail::sec_ws_key_type::static_capacity)
    return handshake_refusal{400, "a malformed Sec-WebSocket-Key"};
  auto version = request.find(http::field::sec_websocket_version);
  if (version == request.end())
    return handshake_refusal{400, "no Sec-WebSocket-Version header"};
  if (version->value() != "13")
    return handshake_refusal{426, "only WebSocket version 13 is spoken here"};
  return std::nullopt;
}

/// The 101 answer, written by hand: Beast's websocket::stream would build a stream, a header map
/// and a serializer on every connection for these few fixed lines.
std::string switching_protocols(beast::string_view key, bool phoenix,
                                const std::optional<deflate_agreement>& deflate) {
  websocket::detail::sec_ws_accept_type accept;
  websocket::detail::make_sec_ws_accept(accept, key);
  std::string out;
  out.reserve(192);
  out.append("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n")
    .append("Sec-WebSocket-Accept: ")
    .append(accept.data(), accept.size())
    .append("\r\nServer: Pulse\r\n");
  // The official client's authToken option offers "phoenix" and aborts unless it is chosen.
  if (phoenix)
    out.append("Sec-WebSocket-Protocol: phoenix\r\n");
  if (deflate)
    out.append("Sec-WebSocket-Extensions: ").append(deflate->response_header()).append("\r\n");
  out.append("\r\n");
  return out;
}

/// The stream an http_session reads: the socket itself, or TLS over it.
template<class Stream>
Stream make_stream(tcp::socket socket, http_context& context) {
  if constexpr (std::is_same_v<Stream, tls_stream>)
    return Stream{std::move(socket), *context.tls};
  else
    return Stream{std::move(socket)};
}

} // namespace

template<class Stream>
http_session<Stream>::http_session(tcp::socket socket, const tcp::endpoint& peer,
                                   http_context& context)
    : stream_(make_stream<Stream>(std::move(socket), context)), context_(context),
      remote_address_(peer.address().to_string()) {}

template<class Stream>
void http_session<Stream>::run() {
  // Start on the socket's strand, where every later step runs.
  asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
    if constexpr (is_tls) {
      beast::get_lowest_layer(self->stream_).expires_after(self->context_.limits.request_timeout);
      self->stream_.async_handshake(asio::ssl::stream_base::server,
                                    [self](error_code ec) { self->on_handshake(ec); });
    } else {
      self->do_read();
    }
  });
}

template<class Stream>
void http_session<Stream>::on_handshake(error_code ec) {
  if (ec)
    return; // not TLS, or too slow: nothing to answer on
  do_read();
}

template<class Stream>
void http_session<Stream>::do_read() {
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(context_.limits.max_http_header_bytes));
  parser_->body_limit(context_.limits.max_http_body_bytes);
  beast::get_lowest_layer(stream_).expires_after(context_.limits.request_timeout);
  http::async_read(stream_, buffer_, *parser_,
                   [self = this->shared_from_this()](error_code ec, std::size_t bytes) {
                     self->on_read(ec, bytes);
                   });
}

template<class Stream>
void http_session<Stream>::on_read(error_code ec, std::size_t) {
  if (ec == http::error::end_of_stream) {
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_send, ec);
    return;
  }
  if (ec == beast::error::timeout)
    return; // a request that never completed (slowloris): drop the connection
  if (ec) {
    if (ec == http::error::header_limit)
      return respond(431, "text/plain", "request header fields too large\n", false);
    if (ec == http::error::body_limit) {
      // The long-poll client reads a status only from a JSON body.
      auto target = parser_->get().target();
      if (target.substr(0, target.find('?')) == context_.longpoll_path)
        return answer_longpoll(200, longpoll_endpoint::status_body(413, "request body too large"),
                               false);
      return respond(413, "text/plain", "request body too large\n", false);
    }
    if (ec.category() == http::make_error_code(http::error::bad_target).category())
      return respond(400, "text/plain", "malformed HTTP request\n", false);
    return; // the connection broke
  }
  handle(parser_->get());
}

template<class Stream>
void http_session<Stream>::handle(http::request<http::string_body>& request) {
  http_request info;
  parse_target(request.target(), info);
  info.method = std::string{request.method_string()};
  info.remote_address = remote_address_;
  for (auto& field : request)
    info.headers.emplace_back(std::string{field.name_string()}, std::string{field.value()});
  bool keep_alive = request.keep_alive() && !context_.stopping;

  if (info.path == context_.websocket_path) {
    if (!websocket::is_upgrade(request))
      return respond(426, "text/plain", "this endpoint speaks WebSocket only\n", false);
    return upgrade(request, std::move(info));
  }
  if (info.path == context_.longpoll_path)
    return longpoll(request, std::move(info), keep_alive);
  if (auto route = context_.routes.find(info.path); route != context_.routes.end()) {
    info.body = std::move(request.body());
    http_response response;
    try {
      response = route->second(info);
    } catch (const std::exception& e) {
      log().error("route {} failed: {}", info.path, e.what());
      response = {500, "text/plain; charset=utf-8", "internal error\n"};
    }
    return respond(response.status, response.content_type, std::move(response.body), keep_alive,
                   request.method() == http::verb::head);
  }
  bool head = request.method() == http::verb::head;
  if (request.method() != http::verb::get && !head)
    return respond(405, "text/plain", "method not allowed\n", keep_alive);
  if (!info.path.ends_with('/') && context_.files.is_directory(info.path)) {
    auto target = std::string_view{request.target()};
    auto query = target.find('?');
    auto location = info.path + "/"
                    + std::string{query == std::string_view::npos ? "" : target.substr(query)};
    return redirect(location, keep_alive);
  }
  if (auto file = context_.files.resolve(info.path))
    return serve_file(*file, keep_alive, head);
  respond(404, "text/plain", "not found\n", keep_alive, head);
}

template<class Stream>
void http_session<Stream>::upgrade(http::request<http::string_body>& request, http_request&& info) {
  auto refuse = [this](unsigned status, const std::string& reason) {
    respond(status, "text/plain; charset=utf-8", reason + "\n", false);
  };
  if (auto refusal = check_handshake(request)) {
    auto response = text_response(refusal->status, "text/plain; charset=utf-8",
                                  refusal->reason + "\n", false);
    if (refusal->status == 426) // the version this server speaks (RFC 6455 section 4.4)
      response->set(http::field::sec_websocket_version, "13");
    return write(std::move(response));
  }
  if (context_.stopping)
    return refuse(503, "server is shutting down");
  using admission = session_tracker::admission;
  auto admitted = context_.sessions.admit(remote_address_, context_.limits.max_connections,
                                          context_.limits.max_connections_per_ip);
  if (admitted != admission::admitted) {
    bool full = admitted == admission::server_full;
    log().warn("refused a connection from {}: {}", remote_address_,
               full ? "the server is full" : "its address has too many");
    return refuse(503, full ? "too many connections" : "too many connections from your address");
  }
  upgrade_decision decision;
  try {
    decision = context_.upgrade ? context_.upgrade(info)
                                : upgrade_decision::refuse(404, "no WebSocket endpoint");
  } catch (const std::exception& e) {
    log().error("upgrade decision failed: {}", e.what());
    decision = upgrade_decision::refuse(500, "internal error");
  }
  if (!decision.open) {
    context_.sessions.release(remote_address_);
    return refuse(decision.status, decision.reason);
  }

  auto protocols = request[http::field::sec_websocket_protocol];
  bool phoenix = offers_subprotocol({protocols.data(), protocols.size()}, "phoenix");
  std::optional<deflate_agreement> deflate;
  if (context_.limits.permessage_deflate) {
    std::string offers; // a repeated header is one list, joined by commas (RFC 9110 §5.3)
    for (auto [field, end] = request.equal_range(http::field::sec_websocket_extensions);
         field != end; ++field)
      offers.append(offers.empty() ? "" : ", ").append(field->value());
    deflate = negotiate_deflate(offers);
  }
  auto response = std::make_shared<std::string>(
    switching_protocols(request[http::field::sec_websocket_key], phoenix, deflate));
  beast::get_lowest_layer(stream_).expires_after(context_.limits.request_timeout);
  asio::async_write(stream_, asio::buffer(*response),
                    [self = this->shared_from_this(), response, deflate,
                     open = std::move(decision.open)](error_code ec, std::size_t) {
                      if (ec) {
                        log().info("WebSocket handshake with {} failed: {}", self->remote_address_,
                                   ec.message());
                        self->context_.sessions.release(self->remote_address_);
                        return;
                      }
                      self->open_websocket(open, deflate);
                    });
}

template<class Stream>
void http_session<Stream>::open_websocket(const open_function& open,
                                          const std::optional<deflate_agreement>& deflate) {
  auto early = buffer_.data(); // what the client sent right behind its handshake
  std::string early_bytes{static_cast<const char*>(early.data()), early.size()};
  if constexpr (is_tls) {
    auto session = std::make_shared<websocket_session<tls_stream>>(
      std::move(stream_), context_.limits, remote_address_, context_.sessions, deflate);
    session->start(open, early_bytes);
  } else {
    auto session = std::make_shared<websocket_session<tcp::socket>>(
      beast::get_lowest_layer(stream_).release_socket(), context_.limits, remote_address_,
      context_.sessions, deflate);
    session->start(open, early_bytes);
  }
}

template<class Stream>
void http_session<Stream>::longpoll(http::request<http::string_body>& request, http_request&& info,
                                    bool keep_alive) {
  auto& endpoint = context_.longpoll;
  switch (request.method()) {
    case http::verb::options: { // a browser's CORS preflight
      auto* asked = info.header("Access-Control-Request-Headers");
      std::string headers = asked ? *asked : std::string{};
      return answer_longpoll(200, {}, keep_alive, {}, &headers);
    }
    case http::verb::post:
      info.body = std::move(request.body());
      return answer_longpoll(200, endpoint.post(info), keep_alive);
    case http::verb::get: {
      // A held GET waits up to the poll window, longer than a request may take to arrive.
      beast::get_lowest_layer(stream_).expires_never();
      auto self = this->shared_from_this();
      endpoint.poll(std::move(info), [self, keep_alive](std::string body,
                                                        std::function<void()> written) {
        asio::post(self->stream_.get_executor(), [self, keep_alive, body = std::move(body),
                                                  written = std::move(written)]() mutable {
          self->answer_longpoll(200, std::move(body), keep_alive, std::move(written));
        });
      });
      return;
    }
    default: return answer_longpoll(400, {}, keep_alive);
  }
}

template<class Stream>
void http_session<Stream>::answer_longpoll(unsigned status, std::string body, bool keep_alive,
                                           std::function<void()> written,
                                           const std::string* allow_headers) {
  auto response
    = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(status), 11);
  response->set(http::field::server, "Pulse");
  if (!body.empty())
    response->set(http::field::content_type, "application/json; charset=utf-8");
  response->set(http::field::cache_control, "no-store");
  response->set(http::field::access_control_allow_origin, "*");
  if (allow_headers) {
    response->set(http::field::access_control_allow_headers, *allow_headers);
    response->set(http::field::access_control_allow_methods, "get, post, options");
    response->set(http::field::access_control_max_age, "3600");
  }
  response->keep_alive(keep_alive && !context_.stopping);
  response->body() = std::move(body);
  response->prepare_payload();
  beast::get_lowest_layer(stream_).expires_after(context_.limits.request_timeout);
  written_ = std::move(written);
  write(std::move(response));
}

template<class Stream>
template<class Response>
void http_session<Stream>::write(std::shared_ptr<Response> response) {
  bool keep_alive = response->keep_alive();
  http::async_write(stream_, *response,
                    [self = this->shared_from_this(), response,
                     keep_alive](error_code ec, std::size_t) { self->on_write(ec, keep_alive); });
}

template<class Stream>
std::shared_ptr<http::response<http::string_body>>
http_session<Stream>::text_response(unsigned status, std::string_view content_type,
                                    std::string body, bool keep_alive, bool head_only) {
  auto response
    = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(status), 11);
  response->set(http::field::server, "Pulse");
  response->set(http::field::content_type, content_type);
  response->set(http::field::cache_control, "no-store");
  response->keep_alive(keep_alive);
  auto size = body.size();
  if (!head_only)
    response->body() = std::move(body);
  response->prepare_payload();
  if (head_only)
    response->content_length(size);
  return response;
}

template<class Stream>
void http_session<Stream>::respond(unsigned status, std::string_view content_type, std::string body,
                                   bool keep_alive, bool head_only) {
  write(text_response(status, content_type, std::move(body), keep_alive, head_only));
}

template<class Stream>
void http_session<Stream>::redirect(const std::string& location, bool keep_alive) {
  auto response
    = std::make_shared<http::response<http::string_body>>(http::status::moved_permanently, 11);
  response->set(http::field::server, "Pulse");
  response->set(http::field::location, location);
  response->keep_alive(keep_alive);
  response->prepare_payload();
  write(std::move(response));
}

template<class Stream>
void http_session<Stream>::serve_file(const std::filesystem::path& file, bool keep_alive,
                                      bool head_only) {
  http::file_body::value_type body;
  error_code ec;
  body.open(file.c_str(), beast::file_mode::scan, ec);
  if (ec)
    return respond(404, "text/plain", "not found\n", keep_alive, head_only);
  auto size = body.size();
  if (head_only) {
    auto response = std::make_shared<http::response<http::empty_body>>(http::status::ok, 11);
    response->set(http::field::content_type, static_files::content_type(file));
    response->content_length(size);
    response->keep_alive(keep_alive);
    return write(std::move(response));
  }
  auto response = std::make_shared<http::response<http::file_body>>(
    std::piecewise_construct, std::make_tuple(std::move(body)),
    std::make_tuple(http::status::ok, 11));
  response->set(http::field::server, "Pulse");
  response->set(http::field::content_type, static_files::content_type(file));
  response->set(http::field::cache_control, "no-cache");
  response->content_length(size);
  response->keep_alive(keep_alive);
  write(std::move(response));
}

template<class Stream>
void http_session<Stream>::on_write(error_code ec, bool keep_alive) {
  if (auto done = std::exchange(written_, nullptr))
    done();
  if (ec)
    return;
  if (!keep_alive) {
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_send, ec);
    return;
  }
  do_read();
}

template class http_session<beast::tcp_stream>;
template class http_session<tls_stream>;

} // namespace pulse::transport
