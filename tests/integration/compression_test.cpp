// permessage-deflate over real sockets: the handshake, broadcasts compressed once for every
// subscriber, the outbound bound, and compressed input (a zip bomb harms only its sender).
#include "tests/support/test_server.hpp"
#include "tests/support/ws_frames.hpp"
#include "tests/support/ws_test_client.hpp"
#include "tests/support/zlib_codec.hpp"
#include "transport/http_server.hpp"
#include "transport/message_deflate.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <condition_variable>
#include <mutex>

using namespace pulse;
using namespace pulse::test;
namespace json = boost::json;

namespace {

server_options compressing() {
  server_options options;
  options.limits.permessage_deflate = true;
  return options;
}

/// A message text that deflates well, as chat and dashboards do.
std::string chatty_text(int lines) {
  std::string text;
  for (int i = 0; i < lines; ++i)
    text += "line " + std::to_string(i) + ": the quick brown fox jumps over the lazy dog. ";
  return text;
}

/// The transport alone, keeping every connection it opens so a test can send on it.
class transport_server {
 public:
  explicit transport_server(const transport::limits& limits) : server_(limits) {
    server_.on_upgrade([this](const transport::http_request&) {
      return transport::upgrade_decision::accept([this](auto connection) {
        std::lock_guard guard{mutex_};
        connections_.push_back(connection);
        changed_.notify_all();
        return std::make_shared<ignoring_handler>();
      });
    });
    port_ = server_.start("127.0.0.1", 0, 1);
  }

  ~transport_server() {
    server_.stop(std::chrono::seconds{1});
    std::lock_guard guard{mutex_};
    connections_.clear(); // before the server's I/O context goes
  }

  std::uint16_t port() const { return port_; }

  /// The `index`th connection opened, once it is there.
  std::shared_ptr<transport::websocket_connection> connection(std::size_t index) {
    std::unique_lock lock{mutex_};
    REQUIRE(changed_.wait_for(lock, io_timeout, [&] { return connections_.size() > index; }));
    return connections_[index];
  }

 private:
  struct ignoring_handler : transport::connection_handler {
    void on_text(std::string&&) override {}
    void on_binary(std::string&&) override {}
    void on_closed() override {}
    void on_shutdown() override {}
  };

  transport::http_server server_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::shared_ptr<transport::websocket_connection>> connections_;
  std::uint16_t port_ = 0;
};

/// The Sec-WebSocket-Extensions answer to an upgrade whose offers come in two header lines.
std::string extensions_answer(std::uint16_t port, const std::string& first,
                              const std::string& second) {
  namespace asio = boost::asio;
  namespace beast = boost::beast;
  namespace http = beast::http;
  asio::io_context io;
  beast::tcp_stream stream{io};
  stream.connect({asio::ip::make_address("127.0.0.1"), port});
  http::request<http::empty_body> request{http::verb::get, "/socket/websocket?vsn=2.0.0", 11};
  request.set(http::field::host, "127.0.0.1");
  request.set(http::field::upgrade, "websocket");
  request.set(http::field::connection, "Upgrade");
  request.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  request.set(http::field::sec_websocket_version, "13");
  request.insert(http::field::sec_websocket_extensions, first);
  request.insert(http::field::sec_websocket_extensions, second);
  http::write(stream, request);
  beast::flat_buffer buffer;
  http::response<http::empty_body> response;
  http::read(stream, buffer, response);
  REQUIRE(response.result_int() == 101);
  return std::string{response[http::field::sec_websocket_extensions]};
}

} // namespace

TEST_CASE("with compression on, the handshake agrees to permessage-deflate as Pulse answers it") {
  SECTION("a client that offers it") {
    test_server server{compressing()};
    auto port = server.start();
    ws_test_client client{port, {.deflate = true}};
    CHECK(client.extensions().starts_with("permessage-deflate; server_no_context_takeover"));
    CHECK(client.join("room:handshake").is_ok());
  }
  SECTION("offers over two header lines are one list") {
    test_server server{compressing()};
    auto port = server.start();
    CHECK(extensions_answer(port, "x-webkit-deflate-frame",
                            "permessage-deflate; server_max_window_bits=10")
          == "permessage-deflate; server_no_context_takeover; server_max_window_bits=10");
  }
  SECTION("a client that does not offer it gets plain frames") {
    test_server server{compressing()};
    auto port = server.start();
    ws_test_client client{port};
    CHECK(client.extensions().empty());
    CHECK(client.join("room:handshake").is_ok());
  }
  SECTION("off, the default: no extension, whatever the offer") {
    test_server server;
    auto port = server.start();
    ws_test_client client{port, {.deflate = true}};
    CHECK(client.extensions().empty());
    CHECK(client.join("room:handshake").is_ok());
  }
}

TEST_CASE(
  "a broadcast reaches compressing and plain subscribers intact, compressed once a window") {
  test_server server{compressing()};
  auto port = server.start();
  ws_test_client wide1{port, {.deflate = true}};
  ws_test_client wide2{port, {.deflate = true}};
  ws_test_client narrow{port, {.deflate = true, .deflate_server_window_bits = 10}};
  ws_test_client plain{port};
  CHECK(narrow.extensions().ends_with("server_max_window_bits=10"));
  std::vector<ws_test_client*> everyone{&wide1, &wide2, &narrow, &plain};
  for (auto* client : everyone)
    REQUIRE(client->join("room:deflate").is_ok());

  auto text = chatty_text(100);
  auto before = transport::deflated_message_count();
  // The publisher's push is compressed too (Beast's client compresses every message).
  wide1.push("room:deflate", "message", json::object{{"text", text}});
  for (auto* client : everyone) {
    auto f = client->receive_event("new_message");
    CHECK(f.payload.at("text").as_string() == text);
  }
  // One compression for the 15-bit window, one for the 10-bit one; none for the plain client.
  CHECK(transport::deflated_message_count() - before == 2);

  SECTION("and the next broadcast, compressed on its own, arrives intact too") {
    wide2.push("room:deflate", "message", json::object{{"text", text + "!"}});
    for (auto* client : everyone)
      CHECK(client->receive_event("new_message").payload.at("text").as_string() == text + "!");
  }
}

TEST_CASE("the outbound bound counts the compressed bytes a connection queues") {
  transport::limits limits;
  limits.permessage_deflate = true;
  limits.max_queued_bytes = 64 * 1024;
  transport_server server{limits};
  ws_test_client compressing_client{server.port(), {.deflate = true}};
  auto compressing_connection = server.connection(0);
  ws_test_client plain_client{server.port()};
  auto plain_connection = server.connection(1);

  // A megabyte of text that deflates to a few kilobytes: over the bound plain, under it compressed.
  auto text = chatty_text(20'000);
  REQUIRE(text.size() > 1'000'000);
  auto frame = transport::outbound_frame::text(text);
  CHECK(compressing_connection->send(frame));
  CHECK(compressing_client.receive_text() == text);
  CHECK_FALSE(plain_connection->send(frame));
  CHECK(plain_client.wait_close() == 1008);
}

TEST_CASE("a compressed zip bomb closes its sender with 1009 and nobody else notices") {
  auto options = compressing();
  options.limits.max_message_bytes = 64 * 1024;
  test_server server{options};
  auto port = server.start();
  ws_test_client bystander{port, {.deflate = true}};
  ws_test_client attacker{port, {.deflate = true}};
  REQUIRE(bystander.join("room:bomb").is_ok());
  REQUIRE(attacker.join("room:bomb").is_ok());

  // 16 MiB of one character deflate to about 16 KiB, well under the limit as sent.
  auto bomb = client_deflater{}.compress(std::string(16 << 20, '['));
  REQUIRE(bomb.size() < options.limits.max_message_bytes);
  attacker.send_raw(client_frame(op::text, bomb, true, true, 4));
  CHECK(attacker.wait_close() == 1009);

  bystander.push("room:bomb", "message", json::object{{"text", chatty_text(10)}});
  CHECK(bystander.receive_event("new_message").payload.at("text").as_string() == chatty_text(10));
}
