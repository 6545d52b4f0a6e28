#include <pulse/channel_definition.hpp>
#include <pulse/topic_pattern.hpp>

#include <catch2/catch.hpp>

using namespace pulse;

TEST_CASE("topic patterns match exact names and prefixes") {
  CHECK(topic_pattern{"chat"}.matches("chat"));
  CHECK_FALSE(topic_pattern{"chat"}.matches("chat:1"));
  CHECK(topic_pattern{"room:*"}.matches("room:42"));
  CHECK_FALSE(topic_pattern{"room:*"}.matches("room:"));
  CHECK_FALSE(topic_pattern{"room:*"}.matches("rooms"));
  CHECK_THROWS_AS(topic_pattern{""}, std::invalid_argument);
  CHECK_THROWS_AS(topic_pattern{"*"}, std::invalid_argument);
  CHECK_THROWS_AS(topic_pattern{"a*b"}, std::invalid_argument);
}

TEST_CASE("the definition table picks the most specific definition") {
  definition_table table;
  auto make = [] {
    return std::make_unique<channel>();
  };
  auto any_room = std::make_shared<channel_definition>(topic_pattern{"room:*"}, make);
  auto vip_room = std::make_shared<channel_definition>(topic_pattern{"room:vip:*"}, make);
  auto lobby = std::make_shared<channel_definition>(topic_pattern{"room:lobby"}, make);
  table.add(any_room);
  table.add(vip_room);
  table.add(lobby);
  CHECK(table.find("room:1") == any_room);
  CHECK(table.find("room:vip:7") == vip_room);
  CHECK(table.find("room:lobby") == lobby);
  CHECK(table.find("other") == nullptr);
  SECTION("a pattern can be defined once") {
    CHECK_THROWS_AS(table.add(std::make_shared<channel_definition>(topic_pattern{"room:*"}, make)),
                    std::invalid_argument);
  }
}
