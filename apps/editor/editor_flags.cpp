#include "apps/editor/editor_flags.hpp"

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>

namespace pulse::editor {

void add_flags(CLI::App& app, editor_options& options) {
  auto option = [&app](std::string name, auto& value, std::string help) {
    app.add_option(std::move(name), value, std::move(help))
      ->capture_default_str()
      ->group("Editor (doc:* channels)");
  };
  option("--editor-history", options.history_updates,
         "updates kept per document; it stays within half of them by compaction");
  option("--editor-max-update-bytes", options.max_update_bytes,
         "largest update an editor may send");
  option("--editor-max-document-bytes", options.max_document_bytes,
         "largest document (its last state and the updates since)");
  option("--editor-max-editors", options.max_editors, "editors of one document on this node");
  app
    .add_option_function<std::int64_t>(
      "--editor-linger-ms",
      [&options](std::int64_t ms) { options.linger = std::chrono::milliseconds{ms}; },
      "how long a document without editors stays in memory")
    ->default_str(std::to_string(options.linger.count()))
    ->group("Editor (doc:* channels)");
}

} // namespace pulse::editor
