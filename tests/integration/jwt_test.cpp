#include "tests/support/jwt_tokens.hpp"
#include "tests/support/test_server.hpp"
#include "tests/support/ws_test_client.hpp"
#include <pulse/transport/base64.hpp>

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

using namespace pulse;
using namespace pulse::test;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

const key_pair& rsa_key() {
  static const key_pair made = make_rsa_key();
  return made;
}

const key_pair& ec_key() {
  static const key_pair made = make_ec_key();
  return made;
}

json::object claims(json::object more = {}) {
  json::object base{{"sub", "ada"},
                    {"iss", "https://auth.example"},
                    {"aud", json::array{"pulse", "billing"}},
                    {"exp", unix_time(1h)},
                    {"team", "blue"}};
  for (auto& [key, value] : more)
    base[key] = value;
  return base;
}

/// A server that wants RS256 tokens from https://auth.example for the audience "pulse";
/// `before_start` may add to it.
struct jwt_server {
  explicit jwt_server(const std::function<void(server&)>& before_start = {})
      : server{options()}, port{start(before_start)} {}

  server_options options() const {
    server_options result;
    result.jwt.key_file = dir.write("issuer.pem", rsa_key().public_pem);
    result.jwt.issuer = "https://auth.example";
    result.jwt.audience = "pulse";
    return result;
  }

  std::uint16_t start(const std::function<void(server&)>& before_start) {
    if (before_start)
      before_start(server.srv);
    return server.start();
  }

  temp_dir dir{"jwt-server"};
  test_server server;
  std::uint16_t port;
};

std::string signed_token(json::object more = {}) {
  return sign_jwt(claims(std::move(more)), "RS256", rsa_key().private_pem);
}

/// An upgrade request's answer, its body without the final line break (the refusal's reason).
http_result upgrade(std::uint16_t port, const std::string& target) {
  auto result = http_request(port, "GET", target,
                             {{"Upgrade", "websocket"},
                              {"Connection", "Upgrade"},
                              {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
                              {"Sec-WebSocket-Version", "13"}});
  if (result.body.ends_with('\n'))
    result.body.pop_back();
  return result;
}

std::string with_token(const std::string& token) {
  return "/socket/websocket?vsn=2.0.0&token=" + token;
}

} // namespace

TEST_CASE("a JWT lets a client in, and its claims are the identity in every handler") {
  jwt_server s;
  auto token = signed_token();
  SECTION("as a connect param") {
    ws_test_client client{s.port, {.target = with_token(token) + "&room=blue"}};
    REQUIRE(client.join("identity").is_ok());
    auto seen = client.request("identity", "whoami").response();
    CHECK(seen.at("user_id") == "ada");
    CHECK(seen.at("identity").at("team") == "blue");
    CHECK(seen.at("identity").at("aud").at(1) == "billing");
    // Handlers of a class see the same identity.
    REQUIRE(client.join("room:1").is_ok());
    auto identity = client.request("room:1", "identity").response();
    CHECK(identity.at("identity").at("sub") == "ada");
    CHECK(identity.at("connect_params").at("room") == "blue");
    CHECK_FALSE(identity.at("connect_params").as_object().contains("token"));
  }
  SECTION("through the official client's authToken (Sec-WebSocket-Protocol)") {
    ws_test_client client{
      s.port,
      {.subprotocols = {"phoenix", "base64url.bearer.phx." + transport::base64url_encode(token)}}};
    CHECK(client.subprotocol() == "phoenix");
    REQUIRE(client.join("identity").is_ok());
    CHECK(client.request("identity", "whoami").response().at("user_id") == "ada");
  }
}

TEST_CASE("a connection without a good JWT is refused with 403 and the reason") {
  jwt_server s;
  auto refusal = [&](const std::string& token) {
    auto result = upgrade(s.port, with_token(token));
    CHECK(result.status == 403);
    return result.body;
  };
  auto none = upgrade(s.port, "/socket/websocket?vsn=2.0.0");
  CHECK(none.status == 403);
  CHECK(none.body == "missing token");
  CHECK(refusal(signed_token({{"exp", unix_time(-1h)}})) == "token expired");
  CHECK(refusal(signed_token({{"nbf", unix_time(1h)}})) == "token not yet valid");
  CHECK(refusal(signed_token({{"iss", "https://evil.example"}})) == "wrong issuer");
  CHECK(refusal(signed_token({{"aud", "billing"}})) == "wrong audience");
  CHECK(refusal(sign_jwt(claims(), "RS256", make_rsa_key().private_pem)) == "invalid signature");
  CHECK(refusal(unsigned_jwt(claims())) == "unsigned token (alg none)");
  CHECK(refusal(sign_jwt(claims(), "HS256", rsa_key().public_pem))
        == "algorithm HS256 does not match the key");
  CHECK(refusal("not-a-jwt") == "malformed token");
  // The server serves on.
  ws_test_client client{s.port, {.target = with_token(signed_token())}};
  CHECK(client.join("identity").is_ok());
}

TEST_CASE("a long-poll client's JWT, as X-Phoenix-AuthToken or a param, opens its session") {
  jwt_server s;
  // The answer's status is in its body (410: a new session; 403: refused, with the reason).
  auto open = [&](const std::string& query, std::map<std::string, std::string> headers) {
    auto result = http_request(s.port, "GET", "/socket/longpoll?" + query, std::move(headers));
    REQUIRE(result.status == 200);
    return json::parse(result.body).as_object();
  };
  CHECK(open("vsn=2.0.0", {{"X-Phoenix-AuthToken", signed_token()}}).at("status") == 410);
  CHECK(open("token=" + signed_token() + "&vsn=2.0.0", {}).at("status") == 410);
  auto expired = open("vsn=2.0.0", {{"X-Phoenix-AuthToken", signed_token({{"exp", 1}})}});
  CHECK(expired.at("status") == 403);
  CHECK(expired.at("reason") == "token expired");
  CHECK(open("vsn=2.0.0", {}).at("reason") == "missing token");
}

TEST_CASE("a channel that requires tokens admits a join whose token names its topic") {
  jwt_server s;
  ws_test_client client{s.port, {.target = with_token(signed_token())}};
  auto channel_token = [](json::object more) {
    return sign_jwt(claims(std::move(more)), "RS256", rsa_key().private_pem);
  };
  SECTION("the right topic and user") {
    auto reply = client.join("private:42",
                             {{"token", channel_token({{"channel", "private:42"}, {"level", 3}})}});
    REQUIRE(reply.is_ok());
    auto seen = client.request("private:42", "whoami").response();
    CHECK(seen.at("user_id") == "ada");
    CHECK(seen.at("assigns").at("channel_claims").at("level") == 3);
  }
  SECTION("refusals carry the reason") {
    CHECK(client.join("private:42").reason() == "channel token required");
    CHECK(client.join("private:42", {{"token", channel_token({{"channel", "private:7"}})}}).reason()
          == "token is for another channel");
    CHECK(
      client
        .join("private:42", {{"token", channel_token({{"channel", "private:42"}, {"sub", "bob"}})}})
        .reason()
      == "token is for another user");
    CHECK(client
            .join("private:42",
                  {{"token", channel_token({{"channel", "private:42"}, {"exp", unix_time(-1h)}})}})
            .reason()
          == "token expired");
    CHECK(client.join("private:42", {{"token", signed_token()}}).reason()
          == "not a channel token (no channel claim)");
    // Channels without the option do not look at tokens.
    CHECK(client.join("identity", {{"token", "anything"}}).is_ok());
  }
}

TEST_CASE("require_channel_token on a server without JWT keys is a mistake said at once") {
  server srv{test_server::with_free_port({})};
  auto channel = srv.channel("private:*");
  CHECK_THROWS_WITH(channel.require_channel_token(), Catch::Contains("no JWT key"));
  CHECK(srv.jwt() == nullptr);
  CHECK_THROWS_AS(srv.reload_jwt_keys(), std::logic_error);
}

TEST_CASE("a server with a JWKS takes tokens of each kid, and of new kids once reloaded") {
  temp_dir dir{"jwks-server"};
  auto other = make_rsa_key();
  server_options options;
  options.jwt.jwks_file = dir.write("jwks.json", jwks_of({{"k1", &rsa_key()}, {"k2", &ec_key()}}));
  options.jwt.issuer = "https://auth.example";
  test_server s{options};
  auto port = s.start();
  auto k1 = sign_jwt(claims(), "RS256", rsa_key().private_pem, "k1");
  auto k2 = sign_jwt(claims({{"sub", "bob"}}), "ES256", ec_key().private_pem, "k2");
  auto k3 = sign_jwt(claims({{"sub", "eve"}}), "RS256", other.private_pem, "k3");
  ws_test_client one{port, {.target = with_token(k1)}};
  ws_test_client two{port, {.target = with_token(k2)}};
  REQUIRE(two.join("identity").is_ok());
  CHECK(two.request("identity", "whoami").response().at("user_id") == "bob");
  CHECK(upgrade(port, with_token(k3)).body == "unknown key id");

  dir.write("jwks.json", jwks_of({{"k2", &ec_key()}, {"k3", &other}}));
  CHECK(s.srv.reload_jwt_keys() == 2);
  ws_test_client three{port, {.target = with_token(k3)}};
  REQUIRE(three.join("identity").is_ok());
  CHECK(three.request("identity", "whoami").response().at("user_id") == "eve");
  CHECK(upgrade(port, with_token(k1)).body == "unknown key id");
  // A connection made before the reload keeps its identity.
  REQUIRE(one.join("identity").is_ok());
  CHECK(one.request("identity", "whoami").response().at("user_id") == "ada");
}

TEST_CASE("a custom authenticator replaces the JWT check and may still use it") {
  jwt_server s{[](server& srv) {
    srv.authenticate([&srv](const connect_info& client) {
      if (client.token == "let-me-in")
        return connect_result::accept(json::object{{"sub", "guest"}});
      auto verified = srv.jwt()->verify(client.token);
      if (!verified)
        return connect_result::reject("custom: " + verified.error);
      return connect_result::accept(std::move(*verified.claims));
    });
  }};
  ws_test_client guest{s.port, {.target = with_token("let-me-in")}};
  REQUIRE(guest.join("identity").is_ok());
  CHECK(guest.request("identity", "whoami").response().at("user_id") == "guest");
  ws_test_client ada{s.port, {.target = with_token(signed_token())}};
  REQUIRE(ada.join("identity").is_ok());
  CHECK(ada.request("identity", "whoami").response().at("user_id") == "ada");
  CHECK(upgrade(s.port, with_token("nope")).body == "custom: malformed token");
}
