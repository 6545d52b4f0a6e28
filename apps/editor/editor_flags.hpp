// The editor's command-line options (--editor-history, ...), shared by pulse-editor and
// pulse-demo.
#pragma once

#include "apps/editor/document_channel.hpp"

namespace CLI {
class App;
} // namespace CLI

namespace pulse::editor {

/// Adds the editor's options to `app`; parsing fills `options`, which must outlive it.
void add_flags(CLI::App& app, editor_options& options);

} // namespace pulse::editor
