// pulse-chat: the chat app alone.
#include "apps/chat/chat_room.hpp"
#include "apps/common/app_main.hpp"

int main(int argc, char** argv) {
  return pulse::apps::run_app(argc, argv, "Pulse chat: rooms, names and history",
                              [](pulse::server& server, const std::filesystem::path& web) {
                                pulse::chat::install(server);
                                server.serve_files("/", web / "chat");
                              });
}
