#include "actors/testing.hpp"
#include "apps/chat/chat_room.hpp"
#include "apps/dashboard/dashboard.hpp"

#include <catch2/catch.hpp>

using namespace pulse;
using pulse::testing::test_client;
namespace json = boost::json;

namespace {

struct chat_fixture {
  server srv;
  chat_fixture() { chat::install(srv); }
};

std::string repeat(std::string_view unit, std::size_t times) {
  std::string out;
  for (std::size_t i = 0; i < times; ++i)
    out += unit;
  return out;
}

} // namespace

TEST_CASE_METHOD(chat_fixture, "a chat message reaches the room with its author and time") {
  test_client ada{srv}, bob{srv};
  auto joined = ada.join("room:lobby", {{"username", "  ada "}});
  REQUIRE(joined.is_ok());
  CHECK(joined.response().at("history").as_array().empty());
  REQUIRE(bob.join("room:lobby", {{"username", "bob"}}).is_ok());
  auto reply = ada.request("room:lobby", "message", json::object{{"text", " hello "}});
  REQUIRE(reply.is_ok());
  auto at = reply.response().at("at");
  for (auto* client : {&ada, &bob}) {
    auto message = client->next_event("new_message");
    CHECK(message.payload.at("username") == "ada");
    CHECK(message.payload.at("text") == "hello");
    CHECK(message.payload.at("at") == at);
  }
}

TEST_CASE_METHOD(chat_fixture, "a chat member without a name is Anonymous") {
  test_client client{srv};
  REQUIRE(client.join("room:lobby").is_ok());
  client.push("room:lobby", "message", json::object{{"text", "hi"}});
  CHECK(client.next_event("new_message").payload.at("username") == "Anonymous");
  CHECK_THAT(client.join("room:lobby", {{"username", std::string(33, 'n')}}).reason(),
             Catch::Contains("longer than 32 characters"));
}

TEST_CASE_METHOD(chat_fixture, "a late joiner sees the room's last 50 messages, in order") {
  test_client writer{srv};
  REQUIRE(writer.join("room:history", {{"username", "w"}}).is_ok());
  for (int i = 0; i < 60; ++i)
    REQUIRE(
      writer.request("room:history", "message", json::object{{"text", std::to_string(i)}}).is_ok());
  test_client late{srv};
  auto history = late.join("room:history").response().at("history").as_array();
  REQUIRE(history.size() == 50);
  for (int i = 0; i < 50; ++i)
    CHECK(history[i].at("text").as_string() == std::to_string(i + 10));
}

TEST_CASE_METHOD(chat_fixture, "chat rooms are separate") {
  test_client a{srv}, b{srv};
  REQUIRE(a.join("room:a").is_ok());
  REQUIRE(b.join("room:b").is_ok());
  a.push("room:a", "message", json::object{{"text", "for a"}});
  b.push("room:b", "message", json::object{{"text", "for b"}});
  CHECK(a.next_event("new_message").payload.at("text") == "for a");
  CHECK(b.next_event("new_message").payload.at("text") == "for b");
  test_client c{srv};
  auto history = c.join("room:b").response().at("history").as_array();
  REQUIRE(history.size() == 1);
  CHECK(history[0].at("text") == "for b");
}

TEST_CASE_METHOD(chat_fixture, "a private room lets in only those with its passcode") {
  test_client guest{srv}, member{srv};
  CHECK(guest.join("room:private-team").reason() == "passcode required");
  CHECK(guest.join("room:private-team", {{"passcode", "guess"}}).reason() == "wrong passcode");
  REQUIRE(member.join("room:private-team", {{"username", "m"}, {"passcode", "pulse"}}).is_ok());
  member.push("room:private-team", "message", json::object{{"text", "members only"}});
  CHECK(member.next_event("new_message").payload.at("text") == "members only");
  CHECK(guest.request("room:private-team", "message", json::object{{"text", "x"}}).reason()
        == "unmatched topic");
}

TEST_CASE_METHOD(chat_fixture, "empty and oversized chat messages are refused with a reason") {
  test_client client{srv};
  REQUIRE(client.join("room:lobby").is_ok());
  CHECK(client.request("room:lobby", "message", json::object{{"text", "  \n\t "}}).reason()
        == "empty message");
  CHECK(client.request("room:lobby", "message", json::object{{"text", 5}}).reason()
        == "text: expected a string");
  CHECK(
    client.request("room:lobby", "message", json::object{{"text", std::string(4001, 'x')}}).reason()
    == "message is longer than 4000 characters");
  // Characters, not bytes: 4,000 two-byte characters pass.
  CHECK(client.request("room:lobby", "message", json::object{{"text", repeat("é", 4000)}}).is_ok());
}

TEST_CASE("the dashboard hands viewers recent samples, then live ones") {
  server srv;
  dashboard::install(srv, {.interval = std::chrono::milliseconds{20}});
  test_client viewer{srv};
  auto joined = viewer.join("dashboard");
  REQUIRE(joined.is_ok());
  CHECK(joined.response().at("series").as_array().size() == 8);
  auto first = viewer.next_event("sample");
  auto second = viewer.next_event("sample");
  for (auto* key : {"t", "connections", "channels", "messages_in_per_s", "messages_out_per_s",
                    "cpu_percent", "memory_mb", "simulated"})
    CHECK(second.payload.as_object().contains(key));
  CHECK(second.payload.at("viewers") == 1);
  CHECK(second.payload.at("t").as_int64() >= first.payload.at("t").as_int64());
  CHECK(second.payload.at("memory_mb").to_number<double>() > 0);
  SECTION("viewers cannot feed it") {
    CHECK_THAT(viewer.request("dashboard", "sample", json::object{}).reason(),
               Catch::Contains("read-only"));
  }
  SECTION("it keeps its samples while nobody watches") {
    REQUIRE(viewer.leave("dashboard").is_ok());
    test_client later{srv};
    CHECK_FALSE(later.join("dashboard").response().at("samples").as_array().empty());
  }
}
