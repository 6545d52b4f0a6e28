// pulse-demo: one server hosting the chat and dashboard apps and the channels of Pulse's docs.
#include "apps/chat/chat_room.hpp"
#include "apps/common/app_main.hpp"
#include "apps/dashboard/dashboard.hpp"
#include "apps/demo/seed_channels.hpp"

int main(int argc, char** argv) {
  return pulse::apps::run_app(argc, argv, "Pulse demo: the chat and dashboard apps in one server",
                              [](pulse::server& server, const std::filesystem::path& web) {
                                pulse::demo::install_seed_channels(server);
                                pulse::chat::install(server);
                                pulse::dashboard::install(server);
                                server.serve_files("/", web / "demo");
                                server.serve_files("/chat", web / "chat");
                                server.serve_files("/dashboard", web / "dashboard");
                              });
}
