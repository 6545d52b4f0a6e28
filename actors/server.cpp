#include <pulse/channel_actor.hpp>
#include <pulse/connection_actor.hpp>
#include <pulse/registry_actor.hpp>
#include <pulse/server.hpp>
#include <pulse/server_api.hpp>
#include <pulse/server_core.hpp>
#include <pulse/transport/base64.hpp>
#include <pulse/transport/log.hpp>
#include <pulse/typescript.hpp>

#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/thread_hook.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdexcept>

namespace pulse {

namespace json = boost::json;

namespace {

/// Runs each of CAF's threads under SCHED_BATCH (server_options::batch_scheduling).
class batch_scheduling_hook final : public caf::thread_hook {
 public:
  void init(caf::actor_system&) override {}

  void thread_started() override {
    sched_param normal_priority{};
    if (sched_setscheduler(0, SCHED_BATCH, &normal_priority) != 0) {
      static std::once_flag reported;
      std::call_once(reported, [] {
        log().warn("actor threads keep the default scheduling: SCHED_BATCH refused ({})",
                   std::strerror(errno));
      });
    }
  }

  void thread_terminates() override {}
};

} // namespace

// ---- server_core -------------------------------------------------------------------------------

server_core::server_core(server_options opts) : options(std::move(opts)), http(options.limits) {
  // Before the actor system: a key file that cannot be read ends here, with nothing to stop.
  if (options.jwt.is_enabled())
    jwt = std::make_shared<jwt_verifier>(options.jwt);
  per_connection.max_subscriptions = options.max_subscriptions_per_connection;
  per_connection.max_messages_per_second = options.max_messages_per_second;
  per_connection.decode.max_json_depth = options.max_json_depth;
  if (options.threads == 0)
    options.threads = transport::usable_cpu_count();
  config.set("scheduler.max-threads", options.threads);
  if (options.scheduler == scheduling::stealing) {
    config.set("scheduler.policy", caf::atom("stealing"));
    // A fan-out puts its subscribers' connection actors on one worker's queue: idle workers
    // must come and steal them soon, not after CAF's 10 ms relaxed sleep.
    config.set("work-stealing.relaxed-sleep-duration", caf::timespan{std::chrono::milliseconds{1}});
  } else {
    config.set("scheduler.policy", caf::atom("sharing"));
  }
  if (options.batch_scheduling)
    config.add_thread_hook<batch_scheduling_hook>();
  system = std::make_unique<caf::actor_system>(config);
  using deployment = redis_broker::config::deployment;
  auto ways = !options.redis_url.empty() + !options.redis_sentinels.empty()
              + !options.redis_cluster.empty();
  if (ways > 1)
    throw std::invalid_argument("Redis is one of redis_url, redis_sentinels or redis_cluster, not "
                                "several");
  if (!options.redis_master.empty() && options.redis_sentinels.empty())
    throw std::invalid_argument("a Redis master name (--redis-master) goes with the sentinels "
                                "that know it (--redis-sentinel)");
  if (ways == 1) {
    redis_broker::config redis;
    redis.hold = options.redis_hold;
    if (!options.redis_url.empty()) {
      redis.addresses = options.redis_url;
    } else if (!options.redis_sentinels.empty()) {
      redis.kind = deployment::sentinel;
      redis.addresses = options.redis_sentinels;
      redis.master_name = options.redis_master;
    } else {
      redis.kind = deployment::cluster;
      redis.addresses = options.redis_cluster;
    }
    broker = std::make_shared<redis_broker>(std::move(redis));
  }
  directory = std::make_shared<topic_directory>(
    definitions, [this](const std::string& topic, std::shared_ptr<channel_definition> definition) {
      return start_channel(topic, std::move(definition));
    });
  registry = system->spawn<registry_actor>(directory, definitions, &metrics);
}

caf::actor server_core::start_channel(const std::string& topic,
                                      std::shared_ptr<channel_definition> definition) {
  auto shared = definition->settings()->node_local ? nullptr : broker;
  auto channel = system->spawn<channel_actor>(topic, std::move(definition), &metrics, directory,
                                              std::move(shared));
  // A channel that ends with an error leaves the directory (if it has not already) and tells the
  // registry, which restarts it when persistent.
  std::weak_ptr<topic_directory> weak = directory;
  channel->attach_functor(
    [weak, registry = registry, topic, id = channel.id()](const caf::error& reason) {
      if (!reason || reason == caf::exit_reason::user_shutdown)
        return;
      if (auto known = weak.lock())
        known->retire(topic, id);
      caf::anon_send(registry, messages::channel_down{topic, to_string(reason)});
    });
  return channel;
}

server_core::~server_core() {
  stop();
  registry = nullptr;
  system.reset(); // waits for every actor, all of which were told to stop
}

std::shared_ptr<transport::connection_handler>
server_core::open(std::shared_ptr<transport::websocket_connection> socket,
                  std::shared_ptr<const connection_identity> identity,
                  transport::phoenix::wire_format format) {
  return open_connection(*system, std::move(socket), directory, per_connection, std::move(identity),
                         &metrics, format);
}

namespace {

/// The host of an origin ("https://example.com:8443" -> "example.com:8443").
std::string_view origin_host(std::string_view origin) {
  auto scheme = origin.find("://");
  return scheme == std::string_view::npos ? origin : origin.substr(scheme + 3);
}

/// The token the official client's authToken option puts in the subprotocols header:
/// "phoenix, base64url.bearer.phx.<base64 of the token>".
std::optional<std::string> subprotocol_token(const transport::http_request& request) {
  auto* header = request.header("Sec-WebSocket-Protocol");
  if (!header)
    return std::nullopt;
  constexpr std::string_view prefix = "base64url.bearer.phx.";
  std::string_view rest{*header};
  while (!rest.empty()) {
    auto comma = rest.find(',');
    auto item = rest.substr(0, comma);
    while (!item.empty() && item.front() == ' ')
      item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ')
      item.remove_suffix(1);
    if (item.starts_with(prefix))
      return transport::base64_decode(item.substr(prefix.size()));
    if (comma == std::string_view::npos)
      break;
    rest.remove_prefix(comma + 1);
  }
  return std::nullopt;
}

} // namespace

transport::upgrade_decision server_core::decide(const transport::http_request& request) {
  using transport::upgrade_decision;
  auto format = transport::phoenix::format_for_version(request.query_param("vsn"));
  if (!format)
    return upgrade_decision::refuse(403, "unsupported protocol version: connect with vsn=2.0.0 "
                                         "(or 1.0.0)");
  if (auto* origin = request.header("Origin")) {
    auto& allowed = options.allowed_origins;
    bool any = std::find(allowed.begin(), allowed.end(), "*") != allowed.end();
    bool listed = std::find(allowed.begin(), allowed.end(), *origin) != allowed.end();
    auto* host = request.header("Host");
    bool same = host && origin_host(*origin) == *host;
    if (!(any || listed || (allowed.empty() && same))) {
      log().warn("refused a connection from {}: origin {} is not allowed", request.remote_address,
                 *origin);
      return upgrade_decision::refuse(403, "origin not allowed");
    }
  }
  // Anonymous connections without params share one identity: nothing per connection to keep.
  static const auto anonymous = std::make_shared<const connection_identity>();
  bool has_params = std::any_of(request.query.begin(), request.query.end(),
                                [](auto& param) { return param.first != "vsn"; })
                    || request.header("X-Phoenix-AuthToken");
  bool checked = authenticator || jwt;
  if (!checked && !has_params)
    return accept_connection(anonymous, *format);
  auto identity = std::make_shared<connection_identity>();
  for (auto& [key, value] : request.query)
    if (key != "vsn")
      identity->params[key] = value;
  if (checked) {
    // A long-poll request's own session token never comes this far: the transport takes it out
    // (longpoll_endpoint::session_token_index), so a `token` param here is the user's.
    connect_info info{identity->params, {}, request};
    bool token_param = false;
    if (auto token = subprotocol_token(request))
      info.token = std::move(*token);
    else if (auto* header = request.header("X-Phoenix-AuthToken")) // long-poll's authToken
      info.token = *header;
    else if (auto* param = identity->params.if_contains("token"); param && param->is_string()) {
      info.token = std::string{param->get_string()};
      token_param = true;
    }
    auto result = authenticate(info);
    if (!result.accepted) {
      log().info("refused a connection from {}: {}", request.remote_address, result.reason);
      return upgrade_decision::refuse(403, result.reason.empty() ? "unauthorized" : result.reason);
    }
    identity->identity = std::move(result.identity);
    // The credential served its purpose: handlers get the identity it proved, not the bearer
    // token itself (which a handler could log or echo), and no connection keeps its bytes.
    if (token_param)
      identity->params.erase("token");
  }
  return accept_connection(std::move(identity), *format);
}

connect_result server_core::authenticate(const connect_info& client) const {
  if (authenticator)
    return authenticator(client);
  auto verified = jwt->verify(client.token);
  if (!verified)
    return connect_result::reject(std::move(verified.error));
  return connect_result::accept(std::move(*verified.claims));
}

transport::upgrade_decision
server_core::accept_connection(std::shared_ptr<const connection_identity> identity,
                               transport::phoenix::wire_format format) {
  std::weak_ptr<server_core> weak = weak_from_this();
  return transport::upgrade_decision::accept(
    [weak, identity = std::move(identity),
     format](std::shared_ptr<transport::websocket_connection> socket)
      -> std::shared_ptr<transport::connection_handler> {
      auto core = weak.lock();
      return core ? core->open(std::move(socket), identity, format) : nullptr;
    });
}

void server_core::require_definition(const std::string& topic) const {
  if (!definitions->find(topic))
    throw std::invalid_argument("no channel is defined for topic \"" + topic + "\"");
}

void server_core::stop() {
  bool serving;
  {
    std::lock_guard guard{mutex};
    if (stopped)
      return;
    stopped = true;
    serving = started;
  }
  // A graceful stop: no new connections; every channel fans out what it was asked before now
  // onto its subscribers' sockets (messages::drain_atom); then every connection sends what it
  // has queued and closes with 1001, within the drain timeout.
  auto started_stopping = std::chrono::steady_clock::now();
  http.stop_accepting();
  if (serving) {
    caf::scoped_actor self{*system};
    self->request(registry, options.drain_timeout, messages::drain_atom::value)
      .receive([](messages::drain_atom) {},
               [](caf::error& error) {
                 log().warn("graceful stop: channels did not drain: {}", to_string(error));
               });
  }
  auto left = options.drain_timeout - (std::chrono::steady_clock::now() - started_stopping);
  http.stop(std::max(std::chrono::duration_cast<std::chrono::milliseconds>(left),
                     std::chrono::milliseconds{100}));
  std::vector<caf::actor> to_stop;
  {
    std::lock_guard guard{mutex};
    to_stop.swap(owned);
  }
  for (auto& listener : to_stop)
    caf::anon_send_exit(listener, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(registry, caf::exit_reason::user_shutdown);
  for (auto& [_, channel] : directory->close())
    caf::anon_send_exit(channel, caf::exit_reason::user_shutdown);
  system->await_all_actors_done();
  if (broker)
    broker->stop();
}

// ---- handles -----------------------------------------------------------------------------------

void channel_handle::broadcast(std::string_view event, json::value payload) const {
  if (auto core = core_.lock())
    core->tell_channel(
      topic_, messages::publish{topic_, std::string{event}, pulse::any_payload{std::move(payload)}},
      false); // nobody subscribed means nobody to tell
}

void channel_handle::broadcast_bytes(std::string_view event, binary payload) const {
  if (auto core = core_.lock())
    core->tell_channel(
      topic_, messages::publish{topic_, std::string{event}, pulse::any_payload{std::move(payload)}},
      false);
}

void channel_handle::send(std::string_view event, json::value payload) const {
  if (auto core = core_.lock())
    core->tell_channel(
      topic_,
      messages::dispatch{topic_, std::string{event}, pulse::any_payload{std::move(payload)}}, true);
}

void channel_handle::send_bytes(std::string_view event, binary payload) const {
  if (auto core = core_.lock())
    core->tell_channel(
      topic_,
      messages::dispatch{topic_, std::string{event}, pulse::any_payload{std::move(payload)}}, true);
}

channel_builder& channel_builder::on(std::string event, handler fn) {
  definition_->edit([&](channel_settings& settings) {
    settings.handlers.push_back({std::move(event), std::move(fn)});
  });
  return *this;
}

channel_builder& channel_builder::on_subscribe(std::function<void(context&)> fn) {
  definition_->edit(
    [&](channel_settings& settings) { settings.on_subscribe.push_back(std::move(fn)); });
  return *this;
}

channel_builder& channel_builder::on_unsubscribe(std::function<void(context&)> fn) {
  definition_->edit(
    [&](channel_settings& settings) { settings.on_unsubscribe.push_back(std::move(fn)); });
  return *this;
}

channel_builder& channel_builder::emits(std::string event, std::string typescript) {
  definition_->edit([&](channel_settings& settings) {
    settings.emits.push_back({std::move(event), std::move(typescript), {}});
  });
  return *this;
}

channel_builder& channel_builder::require_channel_token() {
  auto core = core_.lock();
  if (!core || !core->jwt)
    throw std::logic_error("channel \"" + pattern()
                           + "\" wants channel tokens, but the server has no JWT key: set "
                             "server_options::jwt (--jwt-key or --jwt-jwks)");
  std::shared_ptr<const jwt_verifier> verifier = core->jwt;
  definition_->edit([&](channel_settings& settings) { settings.channel_tokens = verifier; });
  return *this;
}

channel_builder& channel_builder::persistent(bool keep) {
  return linger(keep ? std::chrono::milliseconds::max() : std::chrono::milliseconds{0});
}

channel_builder& channel_builder::node_local(bool local) {
  definition_->edit([&](channel_settings& settings) { settings.node_local = local; });
  return *this;
}

channel_builder& channel_builder::linger(std::chrono::milliseconds idle) {
  definition_->edit([&](channel_settings& settings) { settings.linger = idle; });
  return *this;
}

channel_builder& channel_builder::history(std::size_t max_messages,
                                          std::chrono::milliseconds max_age) {
  definition_->edit([&](channel_settings& settings) {
    settings.history = {max_messages, max_age};
  });
  return *this;
}

const std::string& channel_builder::pattern() const noexcept {
  return definition_->pattern.text();
}

channel_handle channel_builder::topic(std::string topic) const {
  if (!definition_->pattern.matches(topic))
    throw std::invalid_argument("topic \"" + topic + "\" does not match channel \"" + pattern()
                                + "\"");
  return {core_, std::move(topic)};
}

channel_handle channel_builder::exact_topic() const {
  if (!definition_->pattern.is_exact())
    throw std::logic_error("channel \"" + pattern()
                           + "\" is a pattern: pick a topic with .topic(\"...\") first");
  return {core_, pattern()};
}

void channel_builder::broadcast(std::string_view event, json::value payload) const {
  exact_topic().broadcast(event, std::move(payload));
}

void channel_builder::send(std::string_view event, json::value payload) const {
  exact_topic().send(event, std::move(payload));
}

// ---- subscription ------------------------------------------------------------------------------

subscription::subscription(subscription&& other) noexcept : cancel_(std::move(other.cancel_)) {
  other.cancel_ = nullptr;
}

subscription& subscription::operator=(subscription&& other) noexcept {
  if (this != &other) {
    cancel();
    cancel_ = std::move(other.cancel_);
    other.cancel_ = nullptr;
  }
  return *this;
}

subscription::~subscription() {
  cancel();
}

void subscription::cancel() {
  if (auto fn = std::move(cancel_)) {
    cancel_ = nullptr;
    fn();
  }
}

// ---- server ------------------------------------------------------------------------------------

server::server(server_options options) : core_(std::make_shared<server_core>(std::move(options))) {}

server::~server() {
  core_->stop();
}

channel_builder server::define(std::string pattern,
                               std::function<std::unique_ptr<pulse::channel>()> make,
                               std::optional<channel_types> types) {
  auto definition = std::make_shared<channel_definition>(topic_pattern{std::move(pattern)},
                                                         std::move(make));
  definition->class_types = std::move(types);
  core_->definitions->add(definition);
  return {core_, std::move(definition)};
}

channel_builder server::channel(std::string pattern) {
  return define(
    std::move(pattern), [] { return std::make_unique<pulse::channel>(); }, std::nullopt);
}

std::string server::typescript_types() const {
  return typescript_declarations(core_->definitions->all());
}

channel_handle server::topic(std::string topic) {
  core_->require_definition(topic);
  return {core_, std::move(topic)};
}

namespace {

/// A callback subscription's gate: once cancel() returned, the callback never runs again (a
/// callback running at that moment is waited for), so it may capture what dies right after.
struct callback_gate {
  std::recursive_mutex mutex; // recursive: a callback may cancel its own subscription
  bool open = true;
  std::function<void(const event&)> callback;

  void deliver(const event& e) {
    std::lock_guard guard{mutex};
    if (!open)
      return;
    try {
      callback(e);
    } catch (const std::exception& ex) {
      log().error("subscriber of {} threw on \"{}\": {}", e.topic, e.name, ex.what());
    }
  }

  void close() {
    std::lock_guard guard{mutex};
    open = false;
  }
};

} // namespace

subscription server::subscribe(std::string topic, std::function<void(const event&)> callback) {
  core_->require_definition(topic);
  auto gate = std::make_shared<callback_gate>();
  gate->callback = std::move(callback);
  // The gate goes in as a spawn argument: CAF 0.17 dereferences a null argument tuple when a
  // function-based actor takes none (UBSan reports it).
  auto listener = core_->system->spawn(
    [](caf::event_based_actor*, std::shared_ptr<callback_gate> shared) -> caf::behavior {
      return {[shared](const event& e) {
        shared->deliver(e);
      }};
    },
    gate);
  {
    std::lock_guard guard{core_->mutex};
    core_->owned.push_back(listener);
  }
  core_->tell_channel(topic, messages::listen{topic, listener}, true);
  std::weak_ptr<server_core> weak = core_;
  return subscription{[weak, gate, id = listener.id()] {
    gate->close();
    auto core = weak.lock();
    if (!core)
      return;
    std::lock_guard guard{core->mutex};
    auto& all = core->owned;
    for (auto it = all.begin(); it != all.end(); ++it) {
      if (it->id() == id) {
        // The channel monitors the listener: its exit is the unsubscribe.
        caf::anon_send_exit(*it, caf::exit_reason::user_shutdown);
        all.erase(it);
        return;
      }
    }
  }};
}

subscription server::subscribe(std::string topic, const caf::actor& listener) {
  core_->require_definition(topic);
  core_->tell_channel(topic, messages::listen{topic, listener}, true);
  std::weak_ptr<server_core> weak = core_;
  return subscription{[weak, topic, id = listener.id()] {
    if (auto core = weak.lock())
      core->tell_channel(topic, messages::unlisten{topic, id}, false);
  }};
}

void server::authenticate(authenticator fn) {
  core_->authenticator = std::move(fn);
}

const jwt_verifier* server::jwt() const noexcept {
  return core_->jwt.get();
}

std::size_t server::reload_jwt_keys() {
  if (!core_->jwt)
    throw std::logic_error("no JWT keys to reload: set server_options::jwt");
  return core_->jwt->reload();
}

void server::serve_files(std::string url_prefix, std::filesystem::path directory) {
  core_->http.mount(std::move(url_prefix), std::move(directory));
}

void server::route(std::string path, transport::route_function fn) {
  core_->http.route(std::move(path), std::move(fn));
}

std::uint16_t server::start() {
  {
    std::lock_guard guard{core_->mutex};
    if (core_->started)
      return core_->http.port();
    core_->started = true;
  }
  auto& options = core_->options;
  std::weak_ptr<server_core> weak = core_;
  core_->http.on_upgrade([weak](const transport::http_request& request) {
    auto core = weak.lock();
    return core ? core->decide(request)
                : transport::upgrade_decision::refuse(503, "server is shutting down");
  });
  if (!options.tls_certificate.empty() || !options.tls_private_key.empty())
    core_->http.enable_tls(options.tls_certificate, options.tls_private_key);
  std::weak_ptr<server_core> weak_core = core_;
  core_->http.route("/metrics", [weak_core](const transport::http_request&) {
    auto core = weak_core.lock();
    if (!core)
      return transport::http_response{503, "text/plain", "stopping\n"};
    return transport::http_response{
      200, "text/plain; version=0.0.4",
      prometheus_text(core->metrics, core->http.traffic(), core->directory->size(),
                      core->broker ? std::optional<bool>{core->broker->healthy()} : std::nullopt)};
  });
  if (!options.api_key.empty())
    install_server_api(core_);
  core_->http.route("/healthz", [weak_core](const transport::http_request&) {
    // Degraded still serves this node's clients (a 200), but no broadcast crosses nodes.
    auto core = weak_core.lock();
    if (core && core->broker && !core->broker->healthy())
      return transport::http_response{200, "application/json",
                                      R"({"status":"degraded","redis":"unreachable"})"};
    return transport::http_response{200, "application/json", R"({"status":"ok"})"};
  });
  if (core_->broker)
    core_->broker->start();
  return core_->http.start(options.bind, options.port, options.threads);
}

namespace {

sem_t signalled;
volatile sig_atomic_t reload_asked = 0;

extern "C" void on_shutdown_signal(int) {
  sem_post(&signalled); // async-signal-safe
}

extern "C" void on_reload_signal(int) {
  reload_asked = 1;
  sem_post(&signalled);
}

} // namespace

void server::run() {
  start();
  sem_init(&signalled, 0, 0);
  struct sigaction action {};
  action.sa_handler = on_shutdown_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  auto& jwt_options = core_->options.jwt;
  if (core_->jwt && !(jwt_options.key_file.empty() && jwt_options.jwks_file.empty())) {
    action.sa_handler = on_reload_signal;
    sigaction(SIGHUP, &action, nullptr);
  }
  // Handled from here on: a program that held them back until now (to print its port between
  // start() and run()) gets those sent meanwhile now.
  sigset_t handled;
  sigemptyset(&handled);
  sigaddset(&handled, SIGINT);
  sigaddset(&handled, SIGTERM);
  pthread_sigmask(SIG_UNBLOCK, &handled, nullptr);
  for (;;) {
    while (sem_wait(&signalled) != 0 && errno == EINTR) {
    }
    if (!reload_asked)
      break;
    reload_asked = 0; // each signal posted once: a SIGTERM meanwhile still wakes the next wait
    try {
      log().info("SIGHUP: reloaded the JWT keys ({} now)", reload_jwt_keys());
    } catch (const std::exception& e) {
      log().error("SIGHUP: the JWT keys stay as they were: {}", e.what());
    }
  }
  log().info("shutting down");
  stop();
}

void server::stop() {
  core_->stop();
}

std::shared_ptr<transport::connection_handler>
server::attach(std::shared_ptr<transport::websocket_connection> connection,
               transport::phoenix::wire_format format) {
  return core_->open(std::move(connection), nullptr, format);
}

std::uint16_t server::port() const noexcept {
  return core_->http.port();
}

const server_options& server::options() const noexcept {
  return core_->options;
}

caf::actor_system& server::system() noexcept {
  return *core_->system;
}

std::size_t server::connection_count() const {
  return core_->http.connection_count();
}

server_stats server::stats() const {
  auto traffic = core_->http.traffic();
  return {traffic.connections,      core_->directory->size(), traffic.messages_in,
          traffic.messages_out,     traffic.bytes_in,         traffic.bytes_out,
          traffic.longpoll_sessions};
}

void server::adopt(const caf::actor& actor) {
  std::lock_guard guard{core_->mutex};
  if (core_->stopped)
    caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
  else
    core_->owned.push_back(actor);
}

} // namespace pulse
