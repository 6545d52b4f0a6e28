// The TypeScript declarations of a server's channels (server::typescript_types, --emit-types).
#pragma once

#include "actors/channel_definition.hpp"

#include <memory>
#include <string>
#include <vector>

namespace pulse {

/// One `export interface Channels { ... }` with an entry per definition, keyed by its pattern.
std::string typescript_declarations(const std::vector<std::shared_ptr<channel_definition>>& all);

} // namespace pulse
