#include "apps/editor/editor_flags.hpp"

#include <CLI/CLI.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

namespace pulse::editor {

void add_flags(CLI::App& app, editor_options& options) {
  auto option = [&app](std::string name, auto& value, std::size_t least, std::string help) {
    app.add_option(std::move(name), value, std::move(help))
      ->capture_default_str()
      ->check(CLI::Range(least, std::size_t{1} << 40))
      ->group("Editor (doc:* channels)");
  };
  // A history under 8 leaves compaction no room between asking for a state and refusing.
  option("--editor-history", options.history_updates, 8,
         "updates kept per document; it stays within half of them by compaction");
  option("--editor-max-update-bytes", options.max_update_bytes, 16,
         "largest update an editor may send");
  option("--editor-max-document-bytes", options.max_document_bytes, 16,
         "largest document (its last state and the updates since)");
  option("--editor-max-editors", options.max_editors, 1, "editors of one document on this node");
  app
    .add_option_function<std::int64_t>(
      "--editor-linger-ms",
      [&options](std::int64_t ms) { options.linger = std::chrono::milliseconds{ms}; },
      "how long a document without editors stays in memory")
    ->default_str(std::to_string(options.linger.count()))
    ->group("Editor (doc:* channels)");
}

} // namespace pulse::editor
