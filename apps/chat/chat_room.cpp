#include "apps/chat/chat_room.hpp"

#include "apps/common/clock.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <string_view>

namespace pulse::chat {

namespace json = boost::json;

namespace {

/// `text` without leading and trailing white space.
std::string_view trim(std::string_view text) {
  constexpr std::string_view space = " \t\r\n\f\v";
  auto first = text.find_first_not_of(space);
  if (first == std::string_view::npos)
    return {};
  return text.substr(first, text.find_last_not_of(space) - first + 1);
}

/// Characters (code points) in valid UTF-8.
std::size_t count_chars(std::string_view text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

} // namespace

void chat_room::on_join(context& ctx, const member& who) {
  if (topic().starts_with("room:private-")) {
    if (!who.passcode || who.passcode->empty())
      return ctx.reject("passcode required");
    if (*who.passcode != options_.private_passcode)
      return ctx.reject("wrong passcode");
  }
  auto username = trim(who.username);
  if (count_chars(username) > options_.max_username_chars)
    return ctx.reject("username is longer than " + std::to_string(options_.max_username_chars)
                      + " characters");
  auto name = json::string(username.empty() ? std::string_view{"Anonymous"} : username);
  ctx.assign("username", name);
  track(ctx, name, {{"online_at", apps::now_iso8601()}});
  // From the channel's history: with several nodes, what was said on every node.
  auto said = recent("new_message", options_.messages_on_join);
  ctx.reply(json::object{{"history", json::array(said.begin(), said.end())}});
}

pulse::handlers chat_room::handlers() {
  return {on<"message">(&chat_room::on_message)};
}

posted chat_room::on_message(context& ctx, const post& said) {
  auto text = trim(said.text);
  if (text.empty())
    throw reply_error("empty message");
  if (count_chars(text) > options_.max_text_chars)
    throw reply_error("message is longer than " + std::to_string(options_.max_text_chars)
                      + " characters");
  auto at = apps::now_iso8601();
  broadcast(new_message{ctx.assigned<std::string>("username"), std::string{text}, at});
  return posted{at};
}

void install(server& server, room_options options) {
  server.channel<chat_room>("room:*", options)
    .history(options.kept_messages)
    .linger(options.linger);
}

} // namespace pulse::chat
