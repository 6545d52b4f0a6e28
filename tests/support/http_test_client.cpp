#include "tests/support/http_test_client.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <cctype>
#include <optional>
#include <stdexcept>

namespace pulse::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct http_test_client::impl {
  asio::io_context io;
  beast::tcp_stream stream{io};
  beast::flat_buffer buffer;
};

http_test_client::http_test_client(std::uint16_t port) : impl_(std::make_unique<impl>()) {
  impl_->stream.connect(tcp::endpoint{asio::ip::make_address("127.0.0.1"), port});
}

http_test_client::~http_test_client() {
  beast::error_code ec;
  impl_->stream.socket().close(ec);
}

http_result http_test_client::request(const std::string& method, const std::string& target,
                                      std::map<std::string, std::string> headers, std::string body,
                                      std::chrono::milliseconds timeout) {
  http::request<http::string_body> request{http::string_to_verb(method), target, 11};
  request.set(http::field::host, "127.0.0.1");
  for (auto& [name, value] : headers)
    request.set(name, value);
  request.body() = std::move(body);
  request.prepare_payload();
  http::response_parser<http::string_body> parser;
  parser.skip(method == "HEAD");
  parser.body_limit(64 << 20);
  std::optional<beast::error_code> result;
  impl_->stream.expires_after(timeout); // the write and the read together
  http::async_write(impl_->stream, request, [&](beast::error_code ec, std::size_t) {
    if (ec) {
      result = ec;
      return;
    }
    http::async_read(impl_->stream, impl_->buffer, parser,
                     [&](beast::error_code read_ec, std::size_t) { result = read_ec; });
  });
  impl_->io.restart();
  impl_->io.run(); // returns once both completed or the stream's timer cut them
  if (!result || *result)
    throw std::runtime_error(method + " " + target + " failed: "
                             + (result ? result->message() : std::string{"no answer"}));
  http_result out;
  out.status = parser.get().result_int();
  out.body = parser.get().body();
  for (auto& field : parser.get()) {
    std::string name{field.name_string()};
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    out.headers[name] = std::string{field.value()};
  }
  return out;
}

} // namespace pulse::test
