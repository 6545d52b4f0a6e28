#include "actors/server_api.hpp"

#include "actors/messages.hpp"
#include "actors/server_core.hpp"
#include "transport/base64.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <openssl/crypto.h>

#include <chrono>
#include <optional>
#include <stdexcept>

namespace pulse {

namespace json = boost::json;
using transport::http_request;
using transport::http_response;

namespace {

http_response json_response(unsigned status, const json::value& body) {
  return {status, "application/json", json::serialize(body) + "\n"};
}

http_response error_response(unsigned status, std::string_view message) {
  return json_response(status, json::object{{"error", message}});
}

/// "Authorization: Bearer <key>", compared in constant time (no timing oracle for the key).
bool authorized(const http_request& request, const std::string& key) {
  constexpr std::string_view scheme = "Bearer ";
  auto* header = request.header("authorization");
  if (!header || header->size() != scheme.size() + key.size()
      || std::string_view{*header}.substr(0, scheme.size()) != scheme)
    return false;
  return CRYPTO_memcmp(header->data() + scheme.size(), key.data(), key.size()) == 0;
}

/// Asks the registry and waits for its JSON answer. It blocks the I/O thread that serves the
/// request for as long as the channels take to answer (microseconds; at most the timeout).
std::optional<std::string> ask_registry(server_core& core, auto... message) {
  caf::scoped_actor self{*core.system};
  std::optional<std::string> answer;
  self->request(core.registry, std::chrono::seconds{2}, message...)
    .receive([&](std::string& text) { answer = std::move(text); }, [](caf::error&) {});
  return answer;
}

http_response broadcast(server_core& core, const http_request& request) {
  if (request.method != "POST")
    return error_response(405, "use POST");
  boost::system::error_code ec;
  auto body = json::parse(request.body, ec);
  auto* fields = ec ? nullptr : body.if_object();
  if (!fields)
    return error_response(400, "the body must be a JSON object");
  auto* channel = fields->if_contains("channel");
  auto* event = fields->if_contains("event");
  if (!channel || !channel->is_string() || channel->get_string().empty())
    return error_response(400, "\"channel\" must be a non-empty string");
  if (!event || !event->is_string() || event->get_string().empty())
    return error_response(400, "\"event\" must be a non-empty string");
  std::string topic{channel->get_string()};
  try {
    core.require_definition(topic);
  } catch (const std::invalid_argument&) {
    return error_response(404, "no channel is defined for \"" + topic + "\"");
  }
  // Bytes come as base64 in "binary" and go out as a binary frame; JSON in "payload".
  pulse::any_payload payload = json::value(json::object{});
  if (auto* bytes = fields->if_contains("binary")) {
    auto decoded = bytes->is_string() ? transport::base64_decode(bytes->get_string())
                                      : std::nullopt;
    if (!decoded)
      return error_response(400, "\"binary\" must be a base64 string");
    payload = binary{std::move(*decoded)};
  } else if (auto* json_payload = fields->if_contains("payload")) {
    payload = *json_payload;
  }
  core.tell_channel(topic,
                    messages::publish{topic, std::string{event->get_string()}, std::move(payload)},
                    false); // nobody subscribed means nobody to tell
  return json_response(202, json::object{{"ok", true}});
}

http_response channels(server_core& core, const http_request& request) {
  if (request.method != "GET")
    return error_response(405, "use GET");
  auto list = ask_registry(core, messages::channels_atom::value);
  return list ? http_response{200, "application/json", *list + "\n"}
              : error_response(503, "the channels did not answer in time");
}

http_response presence(server_core& core, const http_request& request) {
  if (request.method != "GET")
    return error_response(405, "use GET");
  auto* topic = request.query_param("channel");
  if (!topic || topic->empty())
    return error_response(400, "name the channel: /api/presence?channel=NAME");
  auto list = ask_registry(core, messages::presence_atom::value, *topic);
  if (!list)
    return error_response(503, "the channel did not answer in time");
  return http_response{200, "application/json",
                       R"({"channel":)" + json::serialize(json::string{*topic}) + R"(,"presence":)"
                         + *list + "}\n"};
}

} // namespace

void install_server_api(const std::shared_ptr<server_core>& core) {
  using endpoint = http_response (*)(server_core&, const http_request&);
  auto add = [&](std::string path, endpoint fn) {
    std::weak_ptr<server_core> weak = core;
    core->http.route(std::move(path), [weak, fn](const http_request& request) {
      auto alive = weak.lock();
      if (!alive)
        return error_response(503, "the server is stopping");
      if (!authorized(request, alive->options.api_key))
        return error_response(401, "a valid \"Authorization: Bearer <API key>\" is required");
      return fn(*alive, request);
    });
  };
  add("/api/broadcast", broadcast);
  add("/api/channels", channels);
  add("/api/presence", presence);
}

} // namespace pulse
