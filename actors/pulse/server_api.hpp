// The HTTP API for services that are not C++: broadcast to a channel, list the running channels,
// read a channel's presence (docs/operations.md).
#pragma once

#include <memory>

namespace pulse {

struct server_core;

/// Adds POST /api/broadcast, GET /api/channels and GET /api/presence to the server's routes, each
/// answering only requests with "Authorization: Bearer <options.api_key>".
void install_server_api(const std::shared_ptr<server_core>& core);

} // namespace pulse
