#include "transport/longpoll_endpoint.hpp"

#include "transport/base64.hpp"
#include "transport/http_context.hpp"
#include "transport/log.hpp"

#include <boost/json/serialize.hpp>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <stdexcept>

namespace pulse::transport {

namespace {

/// 192 random bits from OpenSSL's CSPRNG, base64url: a token nobody can guess or forge.
std::string make_session_token() {
  std::array<unsigned char, 24> bytes;
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1)
    throw std::runtime_error("no random bytes for a long-poll session token");
  return base64url_encode({reinterpret_cast<const char*>(bytes.data()), bytes.size()});
}

/// The official client's POST: one message per line.
bool is_ndjson(const std::string* content_type) {
  if (!content_type)
    return false;
  std::string_view type{*content_type};
  type = type.substr(0, type.find(';'));
  while (!type.empty() && type.back() == ' ')
    type.remove_suffix(1);
  constexpr std::string_view ndjson = "application/x-ndjson";
  return type.size() == ndjson.size()
         && std::equal(type.begin(), type.end(), ndjson.begin(), [](char a, char b) {
              return std::tolower(static_cast<unsigned char>(a)) == b;
            });
}

const std::string* session_token(const http_request& request) {
  for (auto it = request.query.rbegin(); it != request.query.rend(); ++it)
    if (it->first == "token")
      return &it->second;
  return nullptr;
}

} // namespace

std::string longpoll_endpoint::status_body(unsigned status, std::string_view reason) {
  auto body = R"({"status":)" + std::to_string(status);
  if (!reason.empty())
    body += R"(,"reason":)"
            + boost::json::serialize(boost::json::string_view{reason.data(), reason.size()});
  return body + "}";
}

std::optional<std::size_t> longpoll_endpoint::session_token_index(const http_request& request) {
  auto& query = request.query;
  std::optional<std::size_t> last_token, vsn;
  std::size_t tokens = 0;
  for (std::size_t i = 0; i < query.size(); ++i) {
    if (query[i].first == "token") {
      last_token = i;
      ++tokens;
    } else if (query[i].first == "vsn") {
      vsn = i;
    }
  }
  if (!last_token)
    return std::nullopt;
  bool appended = vsn ? *last_token > *vsn : tokens > 1;
  return appended ? last_token : std::nullopt;
}

void longpoll_endpoint::poll(http_request request, const longpoll_responder& respond) {
  if (auto* token = session_token(request))
    if (auto session = find(*token); session && session->poll(respond))
      return;
  respond(open_session(std::move(request)), {});
}

std::string longpoll_endpoint::open_session(http_request&& request) {
  auto& remote = request.remote_address;
  if (context_.stopping || !context_.io)
    return status_body(500, "server is shutting down");
  // A session the client had is gone: its token must not reach the decision as the user's.
  if (auto index = session_token_index(request))
    request.query.erase(request.query.begin() + static_cast<std::ptrdiff_t>(*index));

  using admission = session_tracker::admission;
  auto admitted = context_.sessions.admit(remote, context_.limits.max_connections,
                                          context_.limits.max_connections_per_ip);
  if (admitted != admission::admitted) {
    bool full = admitted == admission::server_full;
    log().warn("refused a long-poll session from {}: {}", remote,
               full ? "the server is full" : "its address has too many");
    return status_body(500, full ? "too many connections"
                                 : "too many connections from your "
                                   "address");
  }
  upgrade_decision decision;
  try {
    decision = context_.upgrade ? context_.upgrade(request)
                                : upgrade_decision::refuse(500, "no connection endpoint");
  } catch (const std::exception& e) {
    log().error("long-poll connect decision failed: {}", e.what());
    decision = upgrade_decision::refuse(500, "internal error");
  }
  if (!decision.open) {
    context_.sessions.release(remote);
    // The client knows 403 (refused: it backs off) and 500 (failed: it retries); nothing else.
    return status_body(decision.status == 403 ? 403 : 500, decision.reason);
  }

  std::shared_ptr<longpoll_session> session;
  try {
    session = std::make_shared<longpoll_session>(*context_.io, context_.limits, remote,
                                                 make_session_token(), context_.sessions, *this);
  } catch (const std::exception& e) {
    context_.sessions.release(remote);
    log().error("could not open a long-poll session: {}", e.what());
    return status_body(500, "internal error");
  }
  {
    std::lock_guard guard{mutex_};
    sessions_.emplace(session->token(), session);
  }
  // From here the session gives its place back itself, when it ends.
  if (!session->start(decision.open))
    return status_body(500, "server is shutting down");
  return longpoll_session::poll_body(410, session->token());
}

std::string longpoll_endpoint::post(const http_request& request) {
  auto* token = session_token(request);
  auto session = token ? find(*token) : nullptr;
  if (!session)
    return status_body(410);
  return status_body(session->receive(request.body, is_ndjson(request.header("Content-Type"))));
}

std::shared_ptr<longpoll_session> longpoll_endpoint::find(const std::string& token) const {
  std::lock_guard guard{mutex_};
  auto it = sessions_.find(token);
  return it == sessions_.end() ? nullptr : it->second;
}

void longpoll_endpoint::forget(const std::string& token) {
  std::shared_ptr<longpoll_session> gone; // released outside the lock
  std::lock_guard guard{mutex_};
  if (auto it = sessions_.find(token); it != sessions_.end()) {
    gone = std::move(it->second);
    sessions_.erase(it);
  }
}

std::size_t longpoll_endpoint::size() const {
  std::lock_guard guard{mutex_};
  return sessions_.size();
}

void longpoll_endpoint::clear() {
  decltype(sessions_) gone;
  std::lock_guard guard{mutex_};
  gone.swap(sessions_);
}

} // namespace pulse::transport
