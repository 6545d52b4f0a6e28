// wss:// and https:// with a certificate and key given as options; the pair is made here.
#include "tests/support/self_signed.hpp"
#include "tests/support/test_server.hpp"
#include "tests/support/ws_test_client.hpp"

#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/json.hpp>
#include <catch2/catch.hpp>

using namespace pulse;
using namespace pulse::test;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
namespace json = boost::json;
using tcp = asio::ip::tcp;

namespace {

struct tls_server {
  /// `compress`: permessage-deflate on.
  explicit tls_server(bool compress = false) : server{with_tls(files, compress)} {}

  std::filesystem::path dir = std::filesystem::temp_directory_path()
                              / ("pulse-tls-" + std::to_string(::getpid()));
  certificate_files files = make_self_signed(dir);
  test_server server;
  std::uint16_t port = server.start();

  static server_options with_tls(const certificate_files& f, bool compress) {
    server_options options;
    options.tls_certificate = f.certificate;
    options.tls_private_key = f.private_key;
    options.limits.permessage_deflate = compress;
    return options;
  }
  ~tls_server() { std::filesystem::remove_all(dir); }
};

/// A wss client that trusts exactly the test's certificate.
struct wss_client {
  asio::io_context io;
  ssl::context tls{ssl::context::tls_client};
  websocket::stream<beast::ssl_stream<beast::tcp_stream>> ws{io, tls};
  beast::flat_buffer buffer;

  std::string extensions; // the server's Sec-WebSocket-Extensions answer

  /// `deflate`: offer permessage-deflate (Beast's client then compresses what it sends).
  wss_client(std::uint16_t port, const std::filesystem::path& trusted, bool deflate = false) {
    tls.load_verify_file(trusted.string());
    tls.set_verify_mode(ssl::verify_peer);
    beast::get_lowest_layer(ws).expires_after(std::chrono::seconds{5});
    beast::get_lowest_layer(ws).connect(tcp::endpoint{asio::ip::make_address("127.0.0.1"), port});
    ws.next_layer().handshake(ssl::stream_base::client);
    websocket::permessage_deflate offer;
    offer.client_enable = deflate;
    ws.set_option(offer);
    websocket::response_type response;
    ws.handshake(response, "localhost", "/socket/websocket?vsn=2.0.0");
    extensions = std::string{response[http::field::sec_websocket_extensions]};
  }

  void send(const json::value& frame) { ws.write(asio::buffer(json::serialize(frame))); }

  frame receive() {
    buffer.clear();
    ws.read(buffer);
    return frame::parse(beast::buffers_to_string(buffer.data()));
  }
};

} // namespace

TEST_CASE("over TLS, clients join and get broadcasts on wss://") {
  bool compress = GENERATE(false, true);
  INFO("permessage-deflate: " << compress);
  tls_server s{compress};
  wss_client client{s.port, s.files.certificate, compress};
  CHECK(client.extensions.empty() != compress);
  client.send(json::array{"1", "1", "chat", "phx_join", json::object{}});
  CHECK(client.receive().is_ok());
  for (int i = 0; i < 50; ++i)
    client.send(
      json::array{"1", std::to_string(i + 2), "chat", "message",
                  json::object{{"username", "tls"}, {"text", std::string(i * 100, 'x')}}});
  for (int i = 0; i < 50; ++i) {
    auto f = client.receive();
    REQUIRE(f.event == "new_message");
    CHECK(f.payload.at("text").as_string().size() == static_cast<std::size_t>(i * 100));
  }
}

TEST_CASE("over TLS, plain HTTP is served as https") {
  tls_server s;
  asio::io_context io;
  ssl::context tls{ssl::context::tls_client};
  tls.load_verify_file(s.files.certificate.string());
  tls.set_verify_mode(ssl::verify_peer);
  beast::ssl_stream<beast::tcp_stream> stream{io, tls};
  beast::get_lowest_layer(stream).connect(
    tcp::endpoint{asio::ip::make_address("127.0.0.1"), s.port});
  stream.handshake(ssl::stream_base::client);
  http::request<http::empty_body> request{http::verb::get, "/healthz", 11};
  request.set(http::field::host, "localhost");
  http::write(stream, request);
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(stream, buffer, response);
  CHECK(response.result_int() == 200);
  CHECK(response.body() == R"({"status":"ok"})");
  SECTION("and a client that does not speak TLS gets nothing") {
    CHECK(raw_exchange(s.port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", std::chrono::seconds{3})
            .find("HTTP/1.1 200")
          == std::string::npos);
  }
}
