// Who may connect: an authenticator sees what a client presents and accepts it with an identity
// (visible in every handler as ctx.identity()) or refuses it (HTTP 403 at the upgrade).
//
//   server.authenticate([&](const pulse::connect_info& client) {
//     auto user = pulse::token::verify(secret, client.token);
//     if (!user)
//       return pulse::connect_result::reject(user.error);   // 403, with the reason
//     return pulse::connect_result::accept(*user.data);     // ctx.identity() in handlers
//   });
//
// The token comes from the official client's `authToken` option (the Sec-WebSocket-Protocol
// header) or, failing that, from a `token` connect param (`new Socket(url, {params: {token}})`),
// which handlers then do not see in ctx.connect_params(): what it proved is ctx.identity().
// Without an authenticator, a server with JWT keys (server_options::jwt, pulse/jwt.hpp) verifies
// that token itself, and its claims are the identity.
#pragma once

#include <pulse/transport/connection.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <functional>
#include <string>
#include <string_view>

namespace pulse {

/// What a client presents when it connects.
struct connect_info {
  boost::json::object params;             ///< the connect params (the query string, without vsn)
  std::string token;                      ///< authToken, else the "token" param, else ""
  const transport::http_request& request; ///< headers, path, remote address
};

/// An authenticator's decision.
struct connect_result {
  bool accepted = false;
  boost::json::value identity; ///< who the client is, for handlers (ctx.identity())
  std::string reason;          ///< why not (the 403's body)

  static connect_result accept(boost::json::value identity = nullptr) {
    return {true, std::move(identity), {}};
  }
  static connect_result reject(std::string reason) { return {false, nullptr, std::move(reason)}; }
};

using authenticator = std::function<connect_result(const connect_info&)>;

/// The user an identity names: its "sub" (a JWT's subject), or "" when it has none.
inline std::string_view user_id_of(const boost::json::value& identity) noexcept {
  auto* object = identity.if_object();
  auto* sub = object ? object->if_contains("sub") : nullptr;
  return sub && sub->is_string() ? std::string_view{sub->get_string()} : std::string_view{};
}

/// What a connection carries into every subscription: its identity and connect params.
struct connection_identity {
  boost::json::value identity;
  boost::json::object params;
};

} // namespace pulse
