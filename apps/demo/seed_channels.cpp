#include "apps/demo/seed_channels.hpp"

#include "apps/common/clock.hpp"
#include "transport/log.hpp"

namespace pulse::demo {

namespace json = boost::json;

namespace {

/// A non-empty string field of an object payload, or nullptr.
const json::string* non_empty_string(const json::value& payload, std::string_view key) {
  auto* object = payload.if_object();
  auto* field = object ? object->if_contains(key) : nullptr;
  auto* text = field ? field->if_string() : nullptr;
  return text && !text->empty() ? text : nullptr;
}

} // namespace

void install_notifications(server& server) {
  auto notifications = server.channel("notifications");
  notifications.on_subscribe(
    [](context& ctx) { log().info("{}: a client subscribed", ctx.topic()); });
  notifications.on_unsubscribe(
    [](context& ctx) { log().info("{}: a client unsubscribed", ctx.topic()); });
  notifications.on("new_alert", [](context& ctx, const json::value& payload) {
    auto* message = non_empty_string(payload, "message");
    ctx.broadcast("alert", json::object{
                             {"message", message ? json::value(*message) : "New notification!"},
                             {"time", apps::now_iso8601()},
                           });
  });
}

void install_chat(server& server) {
  server.channel("chat").on("message", [](context& ctx, const json::value& payload) {
    auto* username = non_empty_string(payload, "username");
    auto* object = payload.if_object();
    auto* text = object ? object->if_contains("text") : nullptr;
    ctx.broadcast("new_message", json::object{
                                   {"username", username ? json::value(*username) : "Anonymous"},
                                   {"text", text ? *text : json::value{}},
                                 });
  });
}

void install_bench(server& server) {
  // JSON or bytes: the broadcast carries what was published, as it came.
  server.channel("bench").on("publish", [](context& ctx, const payload& published) {
    std::visit([&](const auto& p) { ctx.broadcast("message", p); }, published);
  });
}

void install_echo(server& server) {
  auto echo = server.channel("echo");
  echo.on("ping", [](context&, const payload& p) { return p; }); // JSON or bytes, as it came
  // Takes this topic's actor down, as a crash would: clients see phx_error and rejoin.
  echo.on("crash", [](context& ctx, const json::value&) { ctx.fail_channel("asked to crash"); });
  echo.on("ask", [](context& ctx, const json::value& payload) {
    auto* object = payload.if_object();
    auto* event = object ? object->if_contains("event") : nullptr;
    auto* timeout = object ? object->if_contains("timeout_ms") : nullptr;
    if (!event || !event->is_string() || !timeout || !timeout->is_number())
      throw reply_error("ask expects {event: string, payload: any, timeout_ms: number}");
    auto question = object->contains("payload") ? object->at("payload") : json::value{};
    // Answer the push once the client answered the server's question (or did not).
    ctx.request(event->get_string(), std::move(question),
                std::chrono::milliseconds{timeout->to_number<std::int64_t>()},
                [](context& later, const answer& result) {
                  static constexpr const char* names[] = {"ok", "error", "timeout", "gone"};
                  later.send("asked",
                             json::object{{"status", names[static_cast<int>(result.status)]},
                                          {"response", result.response}});
                });
    return json::value{{"asked", event->get_string()}};
  });
}

void install_seed_channels(server& server) {
  install_notifications(server);
  install_chat(server);
  install_bench(server);
  install_echo(server);
}

} // namespace pulse::demo
