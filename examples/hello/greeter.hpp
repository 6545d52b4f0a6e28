// The `greeter:*` channel: joins need a name; `hello` greets everyone in the room and answers
// the sender with how many greetings the room has heard.
#pragma once

#include <pulse/pulse.hpp>

#include <cstdint>
#include <string>

struct hello {
  std::string to = "world";
};
BOOST_DESCRIBE_STRUCT(hello, (), (to))

struct greeting {
  std::string from;
  std::string text;
};
BOOST_DESCRIBE_STRUCT(greeting, (), (from, text))

class greeter : public pulse::channel {
 public:
  void on_subscribe(pulse::context& ctx) override {
    auto* name = ctx.params().if_contains("name");
    if (!name || !name->is_string())
      return ctx.reject("a name is needed");
    ctx.assign("name", *name);
  }

  pulse::handlers handlers() override { return {{"hello", &greeter::on_hello}}; }

 private:
  std::int64_t on_hello(pulse::context& ctx, const hello& in) {
    auto from = std::string{ctx.assigns().at("name").as_string()};
    ctx.broadcast("greeting", greeting{from, "hello, " + in.to});
    return ++greetings_; // the reply; no lock: one actor per topic
  }

  std::int64_t greetings_ = 0;
};
