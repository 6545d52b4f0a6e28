#include "tests/support/test_server.hpp"
#include "tests/support/ws_test_client.hpp"
#include <pulse/transport/base64.hpp>

#include <catch2/catch.hpp>

using namespace pulse;
using namespace pulse::test;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view secret = "test secret";

/// A server that lets in whoever has a token it signed, as that token's user.
struct authenticated_server {
  test_server server;
  std::uint16_t port;
  authenticated_server() {
    server.srv.authenticate([](const connect_info& client) {
      auto user = token::verify(secret, client.token);
      if (!user)
        return connect_result::reject(user.error);
      return connect_result::accept(*user.data);
    });
    port = server.start();
  }
};

http_result upgrade(std::uint16_t port, const std::string& target,
                    std::map<std::string, std::string> extra = {}) {
  std::map<std::string, std::string> headers{{"Upgrade", "websocket"},
                                             {"Connection", "Upgrade"},
                                             {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
                                             {"Sec-WebSocket-Version", "13"}};
  headers.merge(extra);
  return http_request(port, "GET", target, headers);
}

} // namespace

TEST_CASE("an authenticator decides at connect time, and handlers see the identity") {
  authenticated_server s;
  auto good = token::sign(secret, json::object{{"user", "ada"}}, 1h);
  SECTION("a token as a connect param") {
    ws_test_client client{s.port,
                          {.target = "/socket/websocket?vsn=2.0.0&token=" + good + "&room=blue"}};
    REQUIRE(client.join("room:1").is_ok());
    auto seen = client.request("room:1", "identity").response();
    CHECK(seen.at("identity").at("user") == "ada");
    CHECK(seen.at("connect_params").at("room") == "blue");
    CHECK_FALSE(seen.at("connect_params").as_object().contains("vsn"));
    CHECK_FALSE(seen.at("connect_params").as_object().contains("token")); // the credential
  }
  SECTION("a token through the official client's authToken (Sec-WebSocket-Protocol)") {
    ws_test_client client{
      s.port,
      {.subprotocols = {"phoenix", "base64url.bearer.phx." + transport::base64url_encode(good)}}};
    CHECK(client.subprotocol() == "phoenix");
    REQUIRE(client.join("room:1").is_ok());
    CHECK(client.request("room:1", "identity").response().at("identity").at("user") == "ada");
  }
  SECTION("no token, a forged one, an expired one: 403 with the reason") {
    CHECK(upgrade(s.port, "/socket/websocket?vsn=2.0.0").status == 403);
    auto forged = upgrade(s.port, "/socket/websocket?vsn=2.0.0&token=" + good + "x");
    CHECK(forged.status == 403);
    CHECK_THAT(forged.body, Catch::Contains("invalid signature"));
    auto old = token::sign(secret, json::object{{"user", "ada"}}, 1s,
                           std::chrono::system_clock::now() - 1h);
    auto expired = upgrade(s.port, "/socket/websocket?vsn=2.0.0&token=" + old);
    CHECK(expired.status == 403);
    CHECK_THAT(expired.body, Catch::Contains("expired"));
  }
}

TEST_CASE("without an authenticator the identity is null") {
  test_server server;
  auto port = server.start();
  ws_test_client client{port};
  REQUIRE(client.join("room:1").is_ok());
  CHECK(client.request("room:1", "identity").response().at("identity").is_null());
}

TEST_CASE("pages from other origins may not connect, unless allowed") {
  SECTION("same origin only, by default") {
    test_server server;
    auto port = server.start();
    auto own = "http://127.0.0.1:" + std::to_string(port);
    ws_test_client same{port, {.headers = {{"Origin", own}}}};
    CHECK(same.join("chat").is_ok());
    auto evil = upgrade(port, "/socket/websocket?vsn=2.0.0", {{"Origin", "https://evil.example"}});
    CHECK(evil.status == 403);
    CHECK_THAT(evil.body, Catch::Contains("origin not allowed"));
    ws_test_client no_origin{port}; // not a browser: nothing to hijack
    CHECK(no_origin.join("chat").is_ok());
  }
  SECTION("an allow-list") {
    server_options options;
    options.allowed_origins = {"https://app.example"};
    test_server server{options};
    auto port = server.start();
    ws_test_client listed{port, {.headers = {{"Origin", "https://app.example"}}}};
    CHECK(listed.join("chat").is_ok());
    auto own = "http://127.0.0.1:" + std::to_string(port);
    CHECK(upgrade(port, "/socket/websocket?vsn=2.0.0", {{"Origin", own}}).status == 403);
  }
}

TEST_CASE("without authentication, a token param is a connect param like any other") {
  test_server server;
  auto port = server.start();
  ws_test_client client{port, {.target = "/socket/websocket?vsn=2.0.0&token=t0&room=blue"}};
  REQUIRE(client.join("room:1").is_ok());
  auto seen = client.request("room:1", "identity").response();
  CHECK(seen.at("connect_params").at("token") == "t0");
  CHECK(seen.at("identity").is_null());
}
