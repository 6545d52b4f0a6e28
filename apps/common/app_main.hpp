// The command line every sample server shares: --port, --bind, --threads, --web-root.
#pragma once

#include "actors/server.hpp"

#include <filesystem>
#include <functional>
#include <string_view>

namespace pulse::apps {

/// Parses the command line, builds a server, lets `install` define its channels and pages
/// (given the directory of the built web pages), prints `listening on http://HOST:PORT`, and
/// serves until SIGINT or SIGTERM. Returns the process's exit code.
int run_app(int argc, char** argv, std::string_view description,
            const std::function<void(server&, const std::filesystem::path& web_root)>& install);

} // namespace pulse::apps
