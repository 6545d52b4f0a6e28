// The serializers through the real actors: V1 and V2 clients side by side, bytes as V2 binary
// frames, and a broadcast encoded once per format in use.
#include "tests/support/test_channels.hpp"
#include <pulse/testing.hpp>

#include <catch2/catch.hpp>

using namespace pulse;
using pulse::testing::frame;
using pulse::testing::test_client;
namespace json = boost::json;

namespace {

struct room_fixture {
  server srv;
  room_fixture() { srv.channel<test::test_room>("room:*").history(100); }
};

} // namespace

TEST_CASE_METHOD(room_fixture, "a V1 client joins, pushes, gets replies and broadcasts") {
  test_client v1{srv, "1.0.0"}, v2{srv};
  auto joined = v1.join("room:v1", {{"username", "old"}});
  CHECK(joined.is_ok());
  CHECK_FALSE(joined.join_ref); // V1 never carries it
  REQUIRE(v1.next_event("hello").payload.is_object());
  REQUIRE(v2.join("room:v1").is_ok());
  REQUIRE(v2.next_event("hello").payload.is_object());

  v2.push("room:v1", "message", json::object{{"text", "hi"}});
  auto heard = v1.next_event("new_message");
  CHECK(heard.payload.at("text") == "hi");
  CHECK(heard.ref == "o1"); // the offset, where V1 has room for it
  CHECK(v1.request("room:v1", "whoami").response() == "old");

  auto join_ref = v1.join_ref("room:v1");
  CHECK(v1.leave("room:v1").is_ok());
  auto closed = v1.next_event("phx_close");
  CHECK(closed.ref == join_ref);
}

TEST_CASE_METHOD(room_fixture, "a broadcast is encoded once per format its subscribers speak") {
  test_client a{srv}, b{srv}, c{srv, "1.0.0"}, d{srv, "1.0.0"};
  for (auto* client : {&a, &b, &c, &d}) {
    REQUIRE(client->join("room:formats").is_ok());
    REQUIRE(client->next().event == "hello");
  }
  a.push("room:formats", "message", json::object{{"text", "once"}});
  auto fa = a.next_raw(), fb = b.next_raw(), fc = c.next_raw(), fd = d.next_raw();
  CHECK(fa.identity() == fb.identity());
  CHECK(fc.identity() == fd.identity());
  CHECK(fa.identity() != fc.identity());
  CHECK(fa.payload().starts_with("[null,\"o1\""));
  CHECK(fc.payload().starts_with("{\"event\":\"new_message\""));
}

TEST_CASE_METHOD(room_fixture, "a V1 client that rejoins recovers what it missed, in V1") {
  test_client v1{srv, "1.0.0"}, writer{srv};
  auto first = v1.join("room:recover");
  REQUIRE(first.is_ok());
  auto epoch = first.response().at("epoch");
  REQUIRE(writer.join("room:recover").is_ok());
  REQUIRE(v1.leave("room:recover").is_ok());
  writer.push("room:recover", "message", json::object{{"n", 1}});
  writer.push("room:recover", "message", json::object{{"n", 2}});
  CHECK(writer.request("room:recover", "count").is_ok());
  auto back = v1.join("room:recover", {{"epoch", epoch}, {"last_offset", 0}});
  CHECK(back.response().at("recovered") == true);
  CHECK(v1.next_event("new_message").payload.at("n") == 1);
  CHECK(v1.next_event("new_message").payload.at("n") == 2);
}

TEST_CASE_METHOD(room_fixture, "bytes travel as V2 binary frames: push, reply, broadcast") {
  test_client a{srv}, b{srv}, old{srv, "1.0.0"};
  for (auto* client : {&a, &b, &old}) {
    REQUIRE(client->join("room:bytes").is_ok());
    REQUIRE(client->next().event == "hello");
  }
  std::string bytes{"\x00\x01\xff\x7f", 4};
  auto ref = a.push_binary("room:bytes", "blob", bytes);
  auto reply = a.reply_to(ref);
  CHECK(reply.is_binary);
  CHECK(reply.is_ok());
  CHECK(reply.bytes == std::string{bytes.rbegin(), bytes.rend()});
  auto heard = b.next_event("blob");
  CHECK(heard.is_binary);
  CHECK(heard.bytes == bytes);
  CHECK_FALSE(heard.ref);
  CHECK(a.next_event("blob").bytes == bytes); // the sender too: a broadcast
  SECTION("a V1 subscriber does not get them: V1 has no binary frames") {
    CHECK(old.request("room:bytes", "count").is_ok());
    CHECK(old.pending() == 0);
  }
  SECTION("JSON and bytes mix on one connection, and a handler says which it takes") {
    CHECK(a.request("room:bytes", "kind").response().at("binary") == false);
    auto kind = a.reply_to(a.push_binary("room:bytes", "kind", "x"));
    CHECK(kind.response().at("binary") == true);
    auto refused = a.reply_to(a.push_binary("room:bytes", "whoami", "x"));
    CHECK_FALSE(refused.is_ok());
    CHECK_THAT(refused.reason(), Catch::Contains("expects a JSON payload"));
    auto no_json = a.request("room:bytes", "blob", json::object{});
    CHECK_THAT(no_json.reason(), Catch::Contains("expects a binary payload"));
  }
  SECTION("a push of bytes to one client is a binary push with its join_ref") {
    a.push("room:bytes", "send_blob", json::object{{"text", "only you"}});
    auto pushed = a.next_event("blob");
    CHECK(pushed.is_binary);
    CHECK(pushed.join_ref == a.join_ref("room:bytes"));
    CHECK(pushed.bytes == "only you");
  }
}

TEST_CASE_METHOD(room_fixture, "a binary message on a V1 connection closes it, saying why") {
  test_client old{srv, "1.0.0"};
  REQUIRE(old.join("room:v1bin").is_ok());
  old.push_binary("room:v1bin", "blob", "x");
  CHECK(old.wait_closed() == 1003);
}

TEST_CASE_METHOD(room_fixture, "a malformed binary message closes the connection") {
  test_client client{srv};
  REQUIRE(client.join("room:badbin").is_ok());
  client.send_binary(std::string{"\x05\x01\x01", 3}); // no such kind
  CHECK(client.wait_closed() == 1007);
}
