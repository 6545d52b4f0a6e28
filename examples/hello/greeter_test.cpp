// The greeter channel, tested without sockets through pulse::testing.
#define CATCH_CONFIG_MAIN
#include "greeter.hpp"
#include <pulse/testing.hpp>

#include <catch2/catch.hpp>

TEST_CASE("a greeting reaches the room, and the sender hears the count") {
  pulse::server server{{.port = 0}};
  server.channel<greeter>("greeter:*");
  pulse::testing::test_client ada{server}, bob{server}, nobody{server};

  CHECK(nobody.join("greeter:lobby").reason() == "a name is needed");
  REQUIRE(ada.join("greeter:lobby", {{"name", "ada"}}).is_ok());
  REQUIRE(bob.join("greeter:lobby", {{"name", "bob"}}).is_ok());

  auto reply = ada.request("greeter:lobby", "hello", {{"to", "bob"}});
  CHECK(reply.response() == 1);
  auto heard = bob.next_event("greeting");
  CHECK(heard.payload == boost::json::value{{"from", "ada"}, {"text", "hello, bob"}});
  CHECK(bob.request("greeter:lobby", "hello", {}).response() == 2);     // "to" defaults to "world"
  CHECK(ada.next_event("greeting").payload.at("text") == "hello, bob"); // a sender hears its own
  CHECK(ada.next_event("greeting").payload.at("text") == "hello, world");
}
