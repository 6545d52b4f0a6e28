// pulse-editor: the collaborative editor alone.
#include "apps/common/app_main.hpp"
#include "apps/editor/document_channel.hpp"
#include "apps/editor/editor_flags.hpp"

int main(int argc, char** argv) {
  pulse::editor::editor_options options;
  return pulse::apps::run_app(
    argc, argv, "Pulse editor: documents edited together with Yjs",
    [&options](pulse::server& server, const std::filesystem::path& web) {
      pulse::editor::install(server, options);
      server.serve_files("/", web / "editor");
    },
    [&options](CLI::App& app) { pulse::editor::add_flags(app, options); });
}
