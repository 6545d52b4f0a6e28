// pulse-demo: one server hosting the chat, dashboard and editor apps and the channels of Pulse's
// docs.
#include "apps/chat/chat_room.hpp"
#include "apps/common/app_main.hpp"
#include "apps/dashboard/dashboard.hpp"
#include "apps/demo/seed_channels.hpp"
#include "apps/editor/document_channel.hpp"
#include "apps/editor/editor_flags.hpp"

#include <cstdlib>

int main(int argc, char** argv) {
  pulse::editor::editor_options editor;
#ifdef PULSE_TEST_SWITCHES
  // Test switch, in the test build only: the editor's channel relays and keeps nothing, so that
  // a test can show its pages converge through the server and not by themselves.
  if (auto* off = std::getenv("PULSE_TEST_EDITOR_NO_RELAY"); off && *off == '1')
    editor.relay = false;
#endif
  return pulse::apps::run_app(
    argc, argv, "Pulse demo: the chat, dashboard and editor apps in one server",
    [&editor](pulse::server& server, const std::filesystem::path& web) {
      pulse::demo::install_seed_channels(server);
      pulse::chat::install(server);
      pulse::dashboard::install(server);
      pulse::editor::install(server, editor);
      server.serve_files("/", web / "demo");
      server.serve_files("/chat", web / "chat");
      server.serve_files("/dashboard", web / "dashboard");
      server.serve_files("/editor", web / "editor");
    },
    [&editor](CLI::App& app) { pulse::editor::add_flags(app, editor); });
}
