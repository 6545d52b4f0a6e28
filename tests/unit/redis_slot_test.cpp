#include <pulse/redis_wire.hpp>
#include <pulse/transport/redis_router.hpp>

#include <catch2/catch.hpp>

using pulse::transport::redis_key_slot;

TEST_CASE("a key's cluster slot is Redis's: CRC16 of its hash tag, or of the whole key") {
  CHECK(redis_key_slot("123456789") == 12739); // CRC16/XMODEM's check value, 0x31C3
  CHECK(redis_key_slot("foo") == 12182);       // as Redis 7.0 answered MOVED for SET foo
  SECTION("the first non-empty {...} is the hash tag") {
    CHECK(redis_key_slot("{user1000}.following") == redis_key_slot("user1000"));
    CHECK(redis_key_slot("{}foo") == redis_key_slot("{}foo"));
    CHECK(redis_key_slot("{}foo") != redis_key_slot("foo"));
    CHECK(redis_key_slot("foo{}{bar}") == 8363); // the empty tag is no tag: the whole key
    CHECK(redis_key_slot("a}b{c}") == redis_key_slot("c"));
  }
}

TEST_CASE("a topic's keys and its channel share one slot") {
  using namespace pulse::redis_wire;
  for (std::string topic : {"room:42", "chat", "a}b", "{x}"}) {
    auto slot = redis_key_slot(channel_of(topic));
    for (auto what : {"seq", "count", "log", "epoch", "presence", "alive", "from:node.1"})
      CHECK(redis_key_slot(key_of(topic, what)) == slot);
  }
  CHECK(redis_key_slot(channel_of("room:42")) == 16332);
}
