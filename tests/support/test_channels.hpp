// Channels for the tests: one of each thing a handler can do.
#pragma once

#include <pulse/pulse.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>

namespace pulse::test {

namespace json = boost::json;

/// Counts live instances, so tests can wait for a topic's actor to be gone.
struct instance_counter {
  std::mutex mutex;
  std::condition_variable changed;
  int live = 0;
  int created = 0;

  void add(int delta) {
    std::lock_guard guard{mutex};
    live += delta;
    if (delta > 0)
      created += delta;
    changed.notify_all();
  }

  int live_now() {
    std::lock_guard guard{mutex};
    return live;
  }

  bool wait_for_live(int expected, std::chrono::milliseconds timeout = std::chrono::seconds{3}) {
    std::unique_lock lock{mutex};
    return changed.wait_for(lock, timeout, [&] { return live == expected; });
  }
};

inline instance_counter& room_instances() {
  static instance_counter counter;
  return counter;
}

/// A chat room that exercises the whole handler API.
class test_room : public channel {
 public:
  test_room() { room_instances().add(1); }
  ~test_room() override { room_instances().add(-1); }

  void on_subscribe(context& ctx) override {
    auto* name = ctx.params().if_contains("username");
    if (name && *name == "mallory")
      return ctx.reject("unauthorized");
    if (name && *name == "crash")
      throw std::runtime_error("on_subscribe blew up");
    ctx.assign("username", name ? *name : json::value("anonymous"));
    ctx.reply(json::object{{"welcome", topic()}});
    // Sent during the join: it must reach the client after the join's reply.
    ctx.send("hello", json::object{{"subscribers_before", subscriber_count()}});
  }

  void on_unsubscribe(context& ctx) override {
    broadcast("left", json::object{{"username", ctx.assigns().at("username")}});
  }

  pulse::handlers handlers() override {
    return {
      {"message", &test_room::on_message}, {"count", &test_room::on_count},
      {"whoami", &test_room::on_whoami},   {"shout", &test_room::on_shout},
      {"whisper", &test_room::on_whisper}, {"boom", &test_room::on_boom},
      {"refuse", &test_room::on_refuse},   {"ask", &test_room::on_ask},
      {"crash", &test_room::on_crash},     {"identity", &test_room::on_identity},
      {"blob", &test_room::on_blob},       {"blob_from", &test_room::on_blob_from},
      {"kind", &test_room::on_kind},       {"send_blob", &test_room::on_send_blob},
    };
  }

 private:
  void on_message(context&, const json::value& payload) {
    ++messages_;
    broadcast("new_message", payload);
  }

  json::value on_count(context&, const json::value&) {
    return json::object{{"messages", messages_}};
  }

  json::value on_whoami(context& ctx, const json::value&) { return ctx.assigns().at("username"); }

  void on_shout(context& ctx, const json::value& payload) {
    broadcast_from(ctx, "shouted", payload);
    ctx.reply();
  }

  void on_whisper(context& ctx, const json::value& payload) { ctx.send("whispered", payload); }

  void on_boom(context&, const json::value&) { throw std::runtime_error("secret internals"); }

  void on_refuse(context&, const json::value&) { throw reply_error("text too long"); }

  void on_crash(context&, const json::value&) { fail("asked to crash"); }

  json::value on_identity(context& ctx, const json::value&) {
    return json::object{{"identity", ctx.identity()}, {"connect_params", ctx.connect_params()}};
  }

  /// Asks the client `question`, then reports the outcome to it as an "answered" push (to
  /// everyone, when it is gone).
  void on_ask(context& ctx, const json::value& payload) {
    auto timeout = std::chrono::milliseconds{payload.as_object().at("timeout_ms").to_number<int>()};
    ctx.request("question", payload.at("question"), timeout, [](context& later, const answer& a) {
      static const char* names[] = {"ok", "error", "timeout", "gone"};
      json::object report{{"status", names[static_cast<int>(a.status)]}, {"response", a.response}};
      if (later.has_client())
        later.send("answered", std::move(report));
      else
        later.broadcast("answered", std::move(report));
    });
    ctx.reply();
  }

  /// Bytes: broadcast to everyone, and the reply is the bytes reversed.
  binary on_blob(context&, const binary& bytes) {
    broadcast("blob", bytes);
    std::string reversed{bytes.view().rbegin(), bytes.view().rend()};
    return binary{std::move(reversed)};
  }

  void on_blob_from(context& ctx, const binary& bytes) { broadcast_from(ctx, "blob", bytes); }

  /// Either kind of payload: says which it got.
  json::value on_kind(context&, const any_payload& p) {
    return json::object{{"binary", is_binary(p)}};
  }

  void on_send_blob(context& ctx, const json::value& payload) {
    ctx.send("blob", binary{std::string{payload.at("text").as_string()}});
  }

  std::int64_t messages_ = 0;
};

} // namespace pulse::test
