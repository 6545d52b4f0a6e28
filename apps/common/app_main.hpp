// The command line every sample server shares: --port, --bind, --threads, --web-root.
#pragma once

#include "actors/server.hpp"

#include <filesystem>
#include <functional>
#include <string_view>

namespace CLI {
class App;
} // namespace CLI

namespace pulse::apps {

/// Adds an app's own options to the command line (each also read from PULSE_ and its name).
using app_options = std::function<void(CLI::App&)>;

/// Parses the command line (with the options `add_options` adds), builds a server, lets `install`
/// define its channels and pages (given the directory of the built web pages), prints
/// `listening on http://HOST:PORT`, and serves until SIGINT or SIGTERM. Returns the process's
/// exit code.
int run_app(int argc, char** argv, std::string_view description,
            const std::function<void(server&, const std::filesystem::path& web_root)>& install,
            const app_options& add_options = {});

} // namespace pulse::apps
