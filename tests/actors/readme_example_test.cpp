// The README's channel example, compiled and run as written there.
#include <pulse/pulse.hpp>
#include <pulse/testing.hpp>

#include <caf/after.hpp>
#include <caf/scoped_actor.hpp>
#include <catch2/catch.hpp>

namespace {

class room : public pulse::channel {
 public:
  void on_subscribe(pulse::context& ctx) override {
    auto* name = ctx.params().if_contains("username");
    if (!name)
      return ctx.reject("username required");
    ctx.assign("username", *name); // per-subscriber state
  }
  pulse::handlers handlers() override {
    return {{"message", &room::on_message}, {"count", &room::on_count}};
  }

 private:
  void on_message(pulse::context& ctx, const boost::json::value& p) {
    ++count_;
    broadcast("new_message", {{"from", ctx.assigns().at("username")}, {"text", p.at("text")}});
  }
  boost::json::value on_count(pulse::context&, const boost::json::value&) { return count_; }
  std::int64_t count_ = 0; // no lock: one actor per topic
};

} // namespace

TEST_CASE("the README's channel example works as described") {
  pulse::server server{{.port = 0}};
  server.channel<room>("room:*");
  pulse::testing::test_client ada{server}, anonymous{server};
  CHECK(anonymous.join("room:42").reason() == "username required");
  REQUIRE(ada.join("room:42", {{"username", "ada"}}).is_ok());
  ada.push("room:42", "message", {{"text", "hello"}});
  auto message = ada.next_event("new_message");
  CHECK(message.payload == boost::json::value{{"from", "ada"}, {"text", "hello"}});
  CHECK(ada.request("room:42", "count").response() == 1);
}

TEST_CASE("an actor of the application subscribes in-process to a topic") {
  pulse::server server{{.port = 0}};
  server.channel<room>("room:*");
  caf::scoped_actor self{server.system()};
  auto subscription = server.subscribe("room:7", caf::actor{self});
  pulse::testing::test_client ada{server};
  REQUIRE(ada.join("room:7", {{"username", "ada"}}).is_ok());
  ada.push("room:7", "message", {{"text", "seen by an actor"}});
  bool received = false;
  self->receive(
    [&](const pulse::event& e) {
      received = true;
      CHECK(e.topic == "room:7");
      CHECK(e.name == "new_message");
      CHECK(e.payload.at("text") == "seen by an actor");
    },
    caf::after(std::chrono::seconds{3}) >> [] { FAIL("no event within 3 s"); });
  CHECK(received);
}
