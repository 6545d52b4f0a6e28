#include <pulse/transport/asio.hpp>
#include <pulse/transport/log.hpp>
#include <pulse/transport/redis_client.hpp>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <charconv>
#include <random>
#include <stdexcept>

namespace pulse::transport {

namespace {

redis_reply copy(const redisReply& from) {
  redis_reply to;
  switch (from.type) {
    case REDIS_REPLY_STRING:
      to.type = redis_reply::kind::string;
      to.text.assign(from.str, from.len);
      break;
    case REDIS_REPLY_STATUS:
      to.type = redis_reply::kind::status;
      to.text.assign(from.str, from.len);
      break;
    case REDIS_REPLY_ERROR:
      to.type = redis_reply::kind::error;
      to.text.assign(from.str, from.len);
      break;
    case REDIS_REPLY_INTEGER:
      to.type = redis_reply::kind::integer;
      to.integer = from.integer;
      break;
    case REDIS_REPLY_ARRAY:
      to.type = redis_reply::kind::array;
      to.elements.reserve(from.elements);
      for (std::size_t i = 0; i < from.elements; ++i)
        to.elements.push_back(copy(*from.element[i]));
      break;
    default: break;
  }
  return to;
}

std::string_view text_of(const redisReply& reply) {
  return reply.type == REDIS_REPLY_STRING || reply.type == REDIS_REPLY_STATUS
           ? std::string_view{reply.str, reply.len}
           : std::string_view{};
}

} // namespace

redis_address redis_address::parse(std::string_view url) {
  constexpr std::string_view scheme = "redis://";
  if (url.substr(0, scheme.size()) != scheme)
    throw std::invalid_argument("a Redis address is redis://HOST:PORT, not " + std::string{url});
  auto rest = url.substr(scheme.size());
  if (!rest.empty() && rest.back() == '/')
    rest.remove_suffix(1);
  redis_address address;
  auto colon = rest.rfind(':');
  address.host = std::string{rest.substr(0, colon)};
  if (colon != std::string_view::npos) {
    auto digits = rest.substr(colon + 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), address.port);
    if (ec != std::errc{} || end != digits.data() + digits.size() || address.port == 0)
      throw std::invalid_argument("a Redis address has a port from 1 to 65535: "
                                  + std::string{url});
  }
  if (address.host.empty())
    throw std::invalid_argument("a Redis address names a host: " + std::string{url});
  return address;
}

/// hiredis's five event hooks on one Asio descriptor. hiredis owns the file descriptor: it is
/// released, never closed, here.
struct redis_client::watch : std::enable_shared_from_this<watch> {
  watch(asio::io_context& io, redisAsyncContext* owner)
      : descriptor(io, owner->c.fd), context(owner) {}

  asio::posix::stream_descriptor descriptor;
  redisAsyncContext* context; ///< nullptr once hiredis cleaned up
  bool reading = false;
  bool writing = false;

  void wait_read() {
    descriptor.async_wait(asio::posix::descriptor_base::wait_read,
                          [self = shared_from_this()](error_code ec) {
                            if (ec || !self->context || !self->reading)
                              return;
                            redisAsyncHandleRead(self->context);
                            if (self->context && self->reading)
                              self->wait_read();
                          });
  }

  void wait_write() {
    descriptor.async_wait(asio::posix::descriptor_base::wait_write,
                          [self = shared_from_this()](error_code ec) {
                            if (ec || !self->context || !self->writing)
                              return;
                            self->writing = false; // hiredis asks again if it has more to write
                            redisAsyncHandleWrite(self->context);
                          });
  }

  static void add_read(void* data) {
    auto* self = static_cast<watch*>(data);
    if (!self->reading) {
      self->reading = true;
      self->wait_read();
    }
  }
  static void del_read(void* data) { static_cast<watch*>(data)->reading = false; }
  static void add_write(void* data) {
    auto* self = static_cast<watch*>(data);
    if (!self->writing) {
      self->writing = true;
      self->wait_write();
    }
  }
  static void del_write(void* data) { static_cast<watch*>(data)->writing = false; }
  static void cleanup(void* data) {
    auto* self = static_cast<watch*>(data);
    self->context = nullptr;
    self->reading = self->writing = false;
    error_code ignored;
    self->descriptor.cancel(ignored);
    self->descriptor.release();
  }
};

redis_client::redis_client(asio::io_context& io, redis_address address)
    : io_(io), address_(std::move(address)), retry_(io), watchdog_(io) {}

redis_client::~redis_client() {
  stop();
}

void redis_client::start() {
  stopped_ = false;
  connect();
}

void redis_client::stop() {
  stopped_ = true;
  retry_.cancel();
  watchdog_.cancel();
  if (context_) {
    auto* context = context_;
    context_ = nullptr;
    context->data = nullptr; // no callback of ours runs from here on
    redisAsyncFree(context);
  }
  connected_.store(false, std::memory_order_release);
}

void redis_client::connect() {
  if (stopped_)
    return;
  auto* context = redisAsyncConnect(address_.host.c_str(), address_.port);
  if (!context || context->err) {
    auto reason = context ? std::string{context->errstr} : std::string{"out of memory"};
    if (context)
      redisAsyncFree(context);
    if (!outage_reported_ && on_disconnect_)
      on_disconnect_(reason);
    outage_reported_ = true;
    return schedule_reconnect();
  }
  context_ = context;
  context->data = this;
  watch_ = std::make_shared<watch>(io_, context);
  context->ev.data = watch_.get();
  context->ev.addRead = &watch::add_read;
  context->ev.delRead = &watch::del_read;
  context->ev.addWrite = &watch::add_write;
  context->ev.delWrite = &watch::del_write;
  context->ev.cleanup = &watch::cleanup;
  redisAsyncSetConnectCallback(context, [](const redisAsyncContext* c, int status) {
    if (auto* self = static_cast<redis_client*>(c->data))
      self->handle_connected(status);
  });
  redisAsyncSetDisconnectCallback(context, [](const redisAsyncContext* c, int status) {
    if (auto* self = static_cast<redis_client*>(c->data))
      self->handle_disconnected(status);
  });
}

void redis_client::handle_connected(int status) {
  if (status != REDIS_OK) {
    // hiredis frees the context after this callback.
    auto reason = context_ && context_->errstr ? std::string{context_->errstr} : "refused";
    context_ = nullptr;
    if (!outage_reported_ && on_disconnect_)
      on_disconnect_(reason);
    outage_reported_ = true;
    return schedule_reconnect();
  }
  backoff_ = std::chrono::milliseconds{100};
  outage_reported_ = false;
  connected_.store(true, std::memory_order_release);
  log().info("redis {}:{}: connected", address_.host, address_.port);
  if (on_connect_)
    on_connect_();
}

void redis_client::handle_disconnected(int) {
  // hiredis frees the context after this callback, and has told every pending command.
  auto reason = context_ && context_->errstr && *context_->errstr ? std::string{context_->errstr}
                                                                  : std::string{"closed"};
  context_ = nullptr;
  connected_.store(false, std::memory_order_release);
  confirmations_.clear();
  unanswered_.clear();
  if (stopped_)
    return;
  if (on_disconnect_)
    on_disconnect_(reason);
  outage_reported_ = true;
  schedule_reconnect();
}

void redis_client::schedule_reconnect() {
  if (stopped_)
    return;
  // Jittered, so that nodes that lost the same Redis do not all knock at the same millisecond.
  static thread_local std::mt19937 generator{std::random_device{}()};
  auto wait = std::uniform_int_distribution<long>{backoff_.count() / 2,
                                                  backoff_.count()}(generator);
  backoff_ = std::min(backoff_ * 2, std::chrono::milliseconds{2000});
  retry_.expires_after(std::chrono::milliseconds{wait});
  retry_.async_wait([weak = weak_from_this()](error_code ec) {
    if (auto self = weak.lock(); self && !ec)
      self->connect();
  });
}

bool redis_client::send(const std::vector<std::string>& args,
                        void (*fn)(redisAsyncContext*, void*, void*), void* privdata) {
  if (!context_ || !connected())
    return false;
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  argv.reserve(args.size());
  lengths.reserve(args.size());
  for (auto& arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  return redisAsyncCommandArgv(context_, fn, privdata, static_cast<int>(args.size()), argv.data(),
                               lengths.data())
         == REDIS_OK;
}

void redis_client::on_reply(redisAsyncContext* context, void* reply, void* privdata) {
  std::unique_ptr<callback> done{static_cast<callback*>(privdata)};
  if (auto* self = static_cast<redis_client*>(context->data); self && !self->unanswered_.empty())
    self->unanswered_.pop_front(); // Redis answers in order
  if (!*done)
    return;
  if (reply)
    (*done)(copy(*static_cast<redisReply*>(reply)));
  else
    (*done)(std::nullopt);
}

bool redis_client::command(const std::vector<std::string>& args, callback done) {
  auto* pending = new callback(std::move(done));
  if (send(args, &redis_client::on_reply, pending)) {
    unanswered_.push_back(std::chrono::steady_clock::now());
    watch_answers();
    return true;
  }
  delete pending;
  return false;
}

void redis_client::watch_answers() {
  if (watching_ || stopped_)
    return;
  watching_ = true;
  watchdog_.expires_after(answer_timeout / 4);
  watchdog_.async_wait([weak = weak_from_this()](error_code ec) {
    auto self = weak.lock();
    if (!self || ec)
      return;
    self->watching_ = false;
    if (self->unanswered_.empty())
      return;
    if (std::chrono::steady_clock::now() - self->unanswered_.front() > answer_timeout
        && self->context_) {
      log().warn("redis {}:{}: no answer for {} ms: reconnecting", self->address_.host,
                 self->address_.port, answer_timeout.count());
      // Every pending callback hears "nothing", then handle_disconnected() reconnects.
      redisAsyncFree(self->context_);
      return;
    }
    self->watch_answers();
  });
}

void redis_client::on_subscription_reply(redisAsyncContext* context, void* reply, void*) {
  auto* self = static_cast<redis_client*>(context->data);
  auto* r = static_cast<redisReply*>(reply);
  if (!self || !r || r->type != REDIS_REPLY_ARRAY || r->elements < 3)
    return;
  auto kind = text_of(*r->element[0]);
  auto channel = text_of(*r->element[1]);
  if (kind == "message") {
    if (self->on_message_)
      self->on_message_(channel, text_of(*r->element[2]));
  } else if (kind == "subscribe") {
    auto it = self->confirmations_.find(std::string{channel});
    if (it != self->confirmations_.end()) {
      auto confirmed = std::move(it->second);
      self->confirmations_.erase(it);
      if (confirmed)
        confirmed();
    }
  }
}

bool redis_client::subscribe(const std::string& channel, std::function<void()> confirmed) {
  if (!send({"SUBSCRIBE", channel}, &redis_client::on_subscription_reply, nullptr))
    return false;
  confirmations_[channel] = std::move(confirmed);
  return true;
}

bool redis_client::unsubscribe(const std::string& channel) {
  confirmations_.erase(channel);
  return send({"UNSUBSCRIBE", channel}, &redis_client::on_subscription_reply, nullptr);
}

} // namespace pulse::transport
