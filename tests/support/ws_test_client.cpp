#include "tests/support/ws_test_client.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <stdexcept>

namespace pulse::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace json = boost::json;
using tcp = asio::ip::tcp;

struct ws_test_client::impl {
  asio::io_context io;
  websocket::stream<beast::tcp_stream> ws{io};
  beast::flat_buffer buffer;
  std::string subprotocol;
  std::string extensions;
  int pongs = 0;
  bool closed = false;

  /// Runs the io_context until `done` or `timeout`; true when done.
  template<class Predicate>
  bool run_until(Predicate done, std::chrono::milliseconds timeout) {
    io.restart();
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      if (io.run_one_until(deadline) == 0 && std::chrono::steady_clock::now() >= deadline)
        return done();
      if (io.stopped())
        io.restart();
    }
    return true;
  }
};

ws_test_client::ws_test_client(std::uint16_t port, options opts) : impl_(std::make_unique<impl>()) {
  auto& ws = impl_->ws;
  beast::get_lowest_layer(ws).connect(tcp::endpoint{asio::ip::make_address("127.0.0.1"), port});
  std::string offered;
  for (auto& p : opts.subprotocols)
    offered += (offered.empty() ? "" : ", ") + p;
  ws.set_option(websocket::stream_base::decorator(
    [offered, headers = opts.headers](websocket::request_type& request) {
      if (!offered.empty())
        request.set(http::field::sec_websocket_protocol, offered);
      for (auto& [name, value] : headers)
        request.set(name, value);
    }));
  if (opts.deflate) {
    websocket::permessage_deflate deflate;
    deflate.client_enable = true;
    deflate.server_max_window_bits = opts.deflate_server_window_bits;
    ws.set_option(deflate);
  }
  ws.control_callback([this](websocket::frame_type kind, beast::string_view) {
    if (kind == websocket::frame_type::pong)
      ++impl_->pongs;
  });
  websocket::response_type response;
  ws.handshake(response, "127.0.0.1:" + std::to_string(port), opts.target);
  impl_->subprotocol = std::string{response[http::field::sec_websocket_protocol]};
  impl_->extensions = std::string{response[http::field::sec_websocket_extensions]};
}

ws_test_client::~ws_test_client() {
  beast::error_code ec;
  beast::get_lowest_layer(impl_->ws).socket().close(ec);
}

void ws_test_client::send_text(const std::string& text) {
  impl_->ws.text(true);
  impl_->ws.write(asio::buffer(text));
}

void ws_test_client::send_binary(const std::string& bytes) {
  impl_->ws.binary(true);
  impl_->ws.write(asio::buffer(bytes));
  impl_->ws.text(true);
}

void ws_test_client::send_raw(const std::string& bytes) {
  asio::write(beast::get_lowest_layer(impl_->ws).socket(), asio::buffer(bytes));
}

void ws_test_client::ping(const std::string& payload) {
  impl_->ws.ping(websocket::ping_data{payload});
}

std::string ws_test_client::receive_text(std::chrono::milliseconds timeout) {
  auto& s = *impl_;
  if (s.closed)
    throw std::runtime_error("the connection is closed");
  bool done = false;
  beast::error_code error;
  s.buffer.clear();
  s.ws.async_read(s.buffer, [&](beast::error_code ec, std::size_t) {
    error = ec;
    done = true;
  });
  if (!s.run_until([&] { return done; }, timeout)) {
    beast::get_lowest_layer(s.ws).cancel();
    s.run_until([&] { return done; }, std::chrono::seconds{1});
    throw std::runtime_error("no message within " + std::to_string(timeout.count()) + " ms");
  }
  if (error) {
    s.closed = true;
    throw std::runtime_error("connection closed: " + error.message());
  }
  return beast::buffers_to_string(s.buffer.data());
}

frame ws_test_client::receive(std::chrono::milliseconds timeout) {
  if (!skipped_.empty()) {
    auto out = std::move(skipped_.front());
    skipped_.erase(skipped_.begin());
    return out;
  }
  return frame::parse(receive_text(timeout));
}

frame ws_test_client::receive_event(const std::string& event, std::chrono::milliseconds timeout) {
  auto found = std::find_if(skipped_.begin(), skipped_.end(),
                            [&](const frame& f) { return f.event == event; });
  if (found != skipped_.end()) {
    auto out = std::move(*found);
    skipped_.erase(found);
    return out;
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    auto f = frame::parse(receive_text(std::max(left, std::chrono::milliseconds{1})));
    if (f.event == event)
      return f;
    skipped_.push_back(std::move(f));
  }
}

frame ws_test_client::reply_to(const std::string& ref, std::chrono::milliseconds timeout) {
  auto matches = [&](const frame& f) {
    return f.is_reply() && f.ref == ref;
  };
  auto found = std::find_if(skipped_.begin(), skipped_.end(), matches);
  if (found != skipped_.end()) {
    auto out = std::move(*found);
    skipped_.erase(found);
    return out;
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    auto f = frame::parse(receive_text(std::max(left, std::chrono::milliseconds{1})));
    if (matches(f))
      return f;
    skipped_.push_back(std::move(f));
  }
}

std::optional<std::uint16_t> ws_test_client::wait_close(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!impl_->closed) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return std::nullopt;
    try {
      receive_text(left);
    } catch (const std::runtime_error&) {
      if (!impl_->closed)
        return std::nullopt; // timed out
    }
  }
  auto reason = impl_->ws.reason();
  if (reason.code == websocket::close_code::none)
    return std::nullopt; // the TCP connection ended without a close frame
  return static_cast<std::uint16_t>(reason.code);
}

std::string ws_test_client::close_reason() const {
  auto& reason = impl_->ws.reason().reason;
  return std::string{reason.data(), reason.size()};
}

std::string ws_test_client::subprotocol() const {
  return impl_->subprotocol;
}

std::string ws_test_client::extensions() const {
  return impl_->extensions;
}

int ws_test_client::pongs() const {
  return impl_->pongs;
}

namespace {

std::string encode(const std::optional<std::string>& join_ref, const std::string& ref,
                   const std::string& topic, const std::string& event, const json::value& payload) {
  return json::serialize(json::array{join_ref ? json::value(*join_ref) : json::value(nullptr), ref,
                                     topic, event, payload});
}

} // namespace

frame ws_test_client::join(const std::string& topic, json::object params) {
  auto ref = std::to_string(++refs_);
  join_refs_[topic] = ref;
  send_text(encode(ref, ref, topic, "phx_join", params));
  return reply_to(ref);
}

std::string ws_test_client::push(const std::string& topic, const std::string& event,
                                 json::value payload) {
  auto ref = std::to_string(++refs_);
  auto it = join_refs_.find(topic);
  send_text(encode(it == join_refs_.end() ? std::nullopt : std::optional{it->second}, ref, topic,
                   event, payload));
  return ref;
}

frame ws_test_client::request(const std::string& topic, const std::string& event,
                              json::value payload) {
  return reply_to(push(topic, event, std::move(payload)));
}

void ws_test_client::answer(const frame& server_request, bool ok, json::value response) {
  push(server_request.topic, "pulse_reply",
       json::object{{"ref", server_request.ref.value_or("")},
                    {"status", ok ? "ok" : "error"},
                    {"response", std::move(response)}});
}

std::string ws_test_client::join_ref(const std::string& topic) const {
  auto it = join_refs_.find(topic);
  return it == join_refs_.end() ? std::string{} : it->second;
}

http_result http_request(std::uint16_t port, const std::string& method, const std::string& target,
                         std::map<std::string, std::string> headers, std::string body) {
  asio::io_context io;
  beast::tcp_stream stream{io};
  stream.connect(tcp::endpoint{asio::ip::make_address("127.0.0.1"), port});
  http::request<http::string_body> request{http::string_to_verb(method), target, 11};
  request.set(http::field::host, "127.0.0.1");
  for (auto& [name, value] : headers)
    request.set(name, value);
  request.body() = std::move(body);
  request.prepare_payload();
  http::write(stream, request);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.skip(method == "HEAD");
  http::read(stream, buffer, parser);
  http_result out;
  out.status = parser.get().result_int();
  out.body = parser.get().body();
  for (auto& field : parser.get()) {
    std::string name{field.name_string()};
    std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    out.headers[name] = std::string{field.value()};
  }
  return out;
}

std::string raw_exchange(std::uint16_t port, const std::string& bytes,
                         std::chrono::milliseconds timeout) {
  asio::io_context io;
  tcp::socket socket{io};
  socket.connect(tcp::endpoint{asio::ip::make_address("127.0.0.1"), port});
  asio::write(socket, asio::buffer(bytes));
  std::string answer;
  std::array<char, 4096> chunk;
  bool done = false;
  std::function<void()> read_more = [&] {
    socket.async_read_some(asio::buffer(chunk), [&](beast::error_code ec, std::size_t n) {
      answer.append(chunk.data(), n);
      if (ec)
        done = true;
      else
        read_more();
    });
  };
  read_more();
  io.run_for(timeout);
  return answer;
}

} // namespace pulse::test
