// Typed channels through the real actors: declared events, typed lambdas, payloads that do not
// convert, typed join params, and the TypeScript a server writes of its channels.
#include "actors/pulse.hpp"
#include "actors/testing.hpp"

#include <boost/describe/class.hpp>
#include <catch2/catch.hpp>

using namespace pulse;
using pulse::testing::test_client;
namespace json = boost::json;

namespace {

struct login {
  std::string name;
  int age = 0;
};
BOOST_DESCRIBE_STRUCT(login, (), (name, age))
struct vote {
  std::string choice;
  int weight = 1;
};
BOOST_DESCRIBE_STRUCT(vote, (), (choice, weight))
struct tally {
  int votes = 0;
};
BOOST_DESCRIBE_STRUCT(tally, (), (votes))
struct voted {
  std::string by, choice;
};
BOOST_DESCRIBE_STRUCT(voted, (), (by, choice))

class opinion_poll : public typed_channel<opinion_poll> {
 public:
  using events = pulse::events<join_with<login>, in<"vote", vote, tally>, in<"reset", none>,
                               out<"voted", voted>>;

  void on_join(context& ctx, const login& who) {
    if (who.name.empty())
      return ctx.reject("name required");
    ctx.assign("name", who.name);
  }
  pulse::handlers handlers() override {
    return {on<"vote">(&opinion_poll::on_vote), on<"reset">(&opinion_poll::on_reset)};
  }

 private:
  tally on_vote(context& ctx, const vote& v) {
    votes_ += v.weight;
    broadcast(voted{ctx.assigned<std::string>("name"), v.choice});
    return tally{votes_};
  }
  void on_reset(context&, const none&) { votes_ = 0; }

  int votes_ = 0;
};

struct ping {
  int n = 0;
};
BOOST_DESCRIBE_STRUCT(ping, (), (n))

} // namespace

TEST_CASE("a typed channel's handlers get their types, and broadcasts go out as declared") {
  server srv;
  srv.channel<opinion_poll>("poll:*");
  test_client alice{srv}, bob{srv};
  REQUIRE(alice.join("poll:1", {{"name", "alice"}}).is_ok());
  REQUIRE(bob.join("poll:1", {{"name", "bob"}}).is_ok());
  auto reply = alice.request("poll:1", "vote", json::object{{"choice", "tea"}, {"weight", 2}});
  CHECK(reply.response() == json::value{{"votes", 2}});
  auto heard = bob.next_event("voted");
  CHECK(heard.payload == json::value{{"by", "alice"}, {"choice", "tea"}});
  SECTION("a payload that does not convert never reaches the handler") {
    auto refused = alice.request("poll:1", "vote", json::object{{"choice", 5}});
    CHECK_FALSE(refused.is_ok());
    CHECK(refused.reason() == "choice: expected a string");
    CHECK(alice.request("poll:1", "vote", json::object{{"choice", "tea"}}).response().at("votes")
          == 3); // the refused vote counted for nothing
  }
  SECTION("join params that do not convert refuse the join, naming the field") {
    test_client carol{srv};
    auto join = carol.join("poll:1", {{"name", "carol"}, {"age", "old"}});
    CHECK_FALSE(join.is_ok());
    CHECK(join.reason() == "age: expected an integer from -2147483648 to 2147483647");
    CHECK(carol.join("poll:1", {{"age", 3}}).reason() == "name required");
  }
}

TEST_CASE("lambda handlers take described types too, and refusals are counted") {
  server srv;
  srv.channel("typed").on("ping", [](context&, const ping& p) { return ping{p.n + 1}; });
  test_client client{srv};
  REQUIRE(client.join("typed").is_ok());
  CHECK(client.request("typed", "ping", json::object{{"n", 41}}).response().at("n") == 42);
  CHECK(client.request("typed", "ping", json::object{{"n", "x"}}).reason()
        == "n: expected an integer from -2147483648 to 2147483647");
  CHECK(client.request("typed", "ping", json::array{}).reason() == "payload: expected an object");
}

TEST_CASE("a server writes the TypeScript of every channel it defines") {
  server srv;
  srv.channel<opinion_poll>("poll:*");
  srv.channel("typed").emits<voted>("pong").on("ping",
                                               [](context&, const ping& p) { return ping{p.n}; });
  auto types = srv.typescript_types();
  CHECK_THAT(types, Catch::Contains("export type Channels = {"));
  CHECK_THAT(types, Catch::Contains("topic: `poll:${string}`;"));
  CHECK_THAT(types, Catch::Contains(R"(join: { "name"?: string; "age"?: number; };)"));
  CHECK_THAT(
    types,
    Catch::Contains(
      R"("vote": { payload: { "choice"?: string; "weight"?: number; }; reply: { "votes": number; } };)"));
  CHECK_THAT(types, Catch::Contains(R"("reset": { payload: {}; reply: void };)"));
  CHECK_THAT(types, Catch::Contains(R"("voted": { "by": string; "choice": string; };)"));
  CHECK_THAT(
    types, Catch::Contains(R"("ping": { payload: { "n"?: number; }; reply: { "n": number; } };)"));
  CHECK_THAT(types, Catch::Contains(R"("pong": { "by": string; "choice": string; };)"));
}
