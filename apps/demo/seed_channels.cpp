#include "apps/demo/seed_channels.hpp"

#include "apps/common/clock.hpp"
#include "transport/log.hpp"

#include <boost/describe/class.hpp>

namespace pulse::demo {

namespace json = boost::json;

namespace {

// The two channels of Pulse's docs, typed: the compiler knows every payload, and so does the
// TypeScript that --emit-types writes for the pages.
struct new_alert {
  std::string message;
};
BOOST_DESCRIBE_STRUCT(new_alert, (), (message))
struct alert {
  std::string message, time;
};
BOOST_DESCRIBE_STRUCT(alert, (), (message, time))
struct chat_post {
  std::string username, text;
};
BOOST_DESCRIBE_STRUCT(chat_post, (), (username, text))

/// `text`, or `otherwise` when it is empty.
std::string or_default(const std::string& text, const char* otherwise) {
  return text.empty() ? otherwise : text;
}

} // namespace

void install_notifications(server& server) {
  server.channel("notifications")
    .emits<alert>("alert")
    .on_subscribe([](context& ctx) { log().info("{}: a client subscribed", ctx.topic()); })
    .on_unsubscribe([](context& ctx) { log().info("{}: a client unsubscribed", ctx.topic()); })
    .on("new_alert", [](context& ctx, const new_alert& in) {
      ctx.broadcast("alert",
                    alert{or_default(in.message, "New notification!"), apps::now_iso8601()});
    });
}

void install_chat(server& server) {
  server.channel("chat")
    .emits<chat_post>("new_message")
    .on("message", [](context& ctx, const chat_post& in) {
      ctx.broadcast("new_message", chat_post{or_default(in.username, "Anonymous"), in.text});
    });
}

void install_bench(server& server) {
  // JSON or bytes: the broadcast carries what was published, as it came.
  server.channel("bench").on("publish", [](context& ctx, const any_payload& published) {
    std::visit([&](const auto& p) { ctx.broadcast("message", p); }, published);
  });
}

void install_echo(server& server) {
  auto echo = server.channel("echo");
  echo.on("ping", [](context&, const any_payload& p) { return p; }); // JSON or bytes, as it came
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
