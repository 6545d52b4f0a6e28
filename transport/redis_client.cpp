#include <pulse/transport/asio.hpp>
#include <pulse/transport/log.hpp>
#include <pulse/transport/redis_client.hpp>

#include <hiredis/hiredis.h>
#include <hiredis/read.h>

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

std::uint16_t parse_port(std::string_view digits, std::string_view whole) {
  std::uint16_t port = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (ec != std::errc{} || end != digits.data() + digits.size() || port == 0)
    throw std::invalid_argument("a Redis address has a port from 1 to 65535: "
                                + std::string{whole});
  return port;
}

/// The channel of a SUNSUBSCRIBE command, whose reply has the shape of a push; empty otherwise.
std::string unsubscribed(const std::vector<std::string>& args) {
  if (args.size() == 2 && (args[0] == "SUNSUBSCRIBE" || args[0] == "sunsubscribe"))
    return args[1];
  return {};
}

/// Whether an array reply is something Redis pushed (not the answer to a command).
bool is_message(const redis_reply& reply) {
  if (reply.type != redis_reply::kind::array || reply.elements.size() < 3)
    return false;
  auto& kind = reply.elements[0].text;
  return kind == "message" || kind == "smessage";
}

} // namespace

bool redis_reply::is_error(std::string_view code) const noexcept {
  return type == kind::error && std::string_view{text}.starts_with(code)
         && (text.size() == code.size() || text[code.size()] == ' ');
}

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
  if (colon != std::string_view::npos)
    address.port = parse_port(rest.substr(colon + 1), url);
  if (address.host.empty())
    throw std::invalid_argument("a Redis address names a host: " + std::string{url});
  return address;
}

redis_address redis_address::parse_host_port(std::string_view text) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0)
    throw std::invalid_argument("a Redis or Sentinel address is HOST:PORT, not "
                                + std::string{text});
  return {std::string{text.substr(0, colon)}, parse_port(text.substr(colon + 1), text)};
}

std::vector<redis_address> redis_address::parse_list(std::string_view text) {
  std::vector<redis_address> list;
  while (!text.empty()) {
    auto comma = text.find(',');
    auto item = text.substr(0, comma);
    if (!item.empty())
      list.push_back(parse_host_port(item));
    text.remove_prefix(comma == std::string_view::npos ? text.size() : comma + 1);
  }
  if (list.empty())
    throw std::invalid_argument("a list of HOST:PORT names at least one address");
  return list;
}

redis_client::redis_client(asio::io_context& io, std::vector<redis_address> addresses)
    : io_(io), addresses_(std::move(addresses)), resolver_(io), retry_(io), connect_timer_(io),
      watchdog_(io) {
  if (addresses_.empty())
    throw std::invalid_argument("a Redis client needs an address");
}

redis_client::~redis_client() {
  stop();
}

void redis_client::start() {
  if (!stopped_)
    return;
  stopped_ = false;
  connect();
}

void redis_client::stop() {
  stopped_ = true;
  ++generation_; // whatever is under way belongs to no connection now
  retry_.cancel();
  connect_timer_.cancel();
  watchdog_.cancel();
  watching_ = false;
  resolver_.cancel();
  if (socket_) {
    error_code ignored;
    socket_->close(ignored);
    socket_.reset();
  }
  if (reader_) {
    redisReaderFree(reader_);
    reader_ = nullptr;
  }
  pending_.clear();
  out_.clear();
  connecting_ = false;
  connected_.store(false, std::memory_order_release);
}

void redis_client::reconnect(std::optional<redis_address> address) {
  if (stopped_)
    return;
  if (address) {
    addresses_.assign(1, std::move(*address));
    current_ = 0;
  }
  if (connected() || connecting_)
    fail("reconnecting");
  retry_.cancel();
  backoff_ = std::chrono::milliseconds{100};
  ++generation_;
  connecting_ = false;
  connect();
}

void redis_client::connect() {
  if (stopped_ || connecting_ || connected())
    return;
  connecting_ = true;
  auto generation = ++generation_;
  socket_ = std::make_shared<tcp::socket>(io_);
  auto self = shared_from_this();
  connect_timer_.expires_after(connect_timeout);
  connect_timer_.async_wait([self, generation](error_code ec) {
    if (!ec && generation == self->generation_ && self->connecting_)
      self->fail("connection attempt timed out");
  });
  auto& target = address();
  resolver_.async_resolve(target.host, std::to_string(target.port),
                          [self, generation](error_code ec, tcp::resolver::results_type results) {
                            if (generation != self->generation_)
                              return;
                            if (ec)
                              return self->fail(ec.message());
                            asio::async_connect(*self->socket_, results,
                                                [self, generation](error_code connect_ec,
                                                                   const tcp::endpoint&) {
                                                  if (generation != self->generation_)
                                                    return;
                                                  if (connect_ec)
                                                    return self->fail(connect_ec.message());
                                                  self->on_connected();
                                                });
                          });
}

void redis_client::on_connected() {
  connect_timer_.cancel();
  connecting_ = false;
  error_code ignored;
  socket_->set_option(tcp::no_delay{true}, ignored);
  if (reader_)
    redisReaderFree(reader_);
  reader_ = redisReaderCreate();
  backoff_ = std::chrono::milliseconds{100};
  outage_reported_ = false;
  connected_.store(true, std::memory_order_release);
  log().info("redis {}: connected", address().to_string());
  do_read();
  if (on_connect_)
    on_connect_();
}

void redis_client::fail(std::string_view reason) {
  bool was_connected = connected();
  ++generation_;
  connecting_ = false;
  connect_timer_.cancel();
  connected_.store(false, std::memory_order_release);
  if (socket_) {
    error_code ignored;
    socket_->close(ignored);
    socket_.reset();
  }
  out_.clear();
  write_busy_ = false;
  // Every command under way hears "nothing": it may or may not have run.
  auto orphans = std::move(pending_);
  pending_.clear();
  for (auto& orphan : orphans)
    if (orphan.done)
      orphan.done(std::nullopt);
  if (stopped_)
    return;
  if (was_connected || !outage_reported_) {
    if (on_disconnect_)
      on_disconnect_(reason);
    outage_reported_ = true;
  }
  if (addresses_.size() > 1)
    current_ = (current_ + 1) % addresses_.size(); // this one failed: the next one's turn
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

void redis_client::append(const std::vector<std::string>& args) {
  out_ += '*';
  out_ += std::to_string(args.size());
  out_ += "\r\n";
  for (auto& arg : args) {
    out_ += '$';
    out_ += std::to_string(arg.size());
    out_ += "\r\n";
    out_ += arg;
    out_ += "\r\n";
  }
}

bool redis_client::command(const std::vector<std::string>& args, callback done) {
  if (!connected())
    return false;
  append(args);
  pending_.push_back({std::move(done), std::chrono::steady_clock::now(), unsubscribed(args)});
  do_write();
  watch_answers();
  return true;
}

bool redis_client::commands(const std::vector<std::vector<std::string>>& batch,
                            std::vector<callback> done) {
  if (!connected())
    return false;
  auto now = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < batch.size(); ++i) {
    append(batch[i]);
    pending_.push_back(
      {i < done.size() ? std::move(done[i]) : callback{}, now, unsubscribed(batch[i])});
  }
  do_write();
  watch_answers();
  return true;
}

void redis_client::do_write() {
  if (write_busy_ || out_.empty() || !socket_)
    return;
  write_busy_ = true;
  writing_.clear();
  writing_.swap(out_);
  auto generation = generation_;
  asio::async_write(*socket_, asio::buffer(writing_),
                    [self = shared_from_this(), generation](error_code ec, std::size_t) {
                      if (generation != self->generation_)
                        return;
                      self->write_busy_ = false;
                      if (ec)
                        return self->fail(ec.message());
                      self->do_write();
                    });
}

void redis_client::do_read() {
  auto generation = generation_;
  socket_->async_read_some(asio::buffer(in_), [self = shared_from_this(),
                                               generation](error_code ec, std::size_t n) {
    if (generation != self->generation_)
      return;
    if (ec)
      return self->fail(ec == asio::error::eof ? "closed by Redis" : ec.message());
    if (redisReaderFeed(self->reader_, self->in_.data(), n) != REDIS_OK)
      return self->fail("unreadable reply");
    // Bounded by what was fed: each round takes one complete reply out of the reader.
    for (;;) {
      void* raw = nullptr;
      if (redisReaderGetReply(self->reader_, &raw) != REDIS_OK)
        return self->fail("protocol error");
      if (!raw)
        break;
      auto reply = copy(*static_cast<redisReply*>(raw));
      freeReplyObject(raw);
      self->handle(std::move(reply));
      if (generation != self->generation_)
        return; // a handler dropped or replaced the connection
    }
    if (self->on_read_done_)
      self->on_read_done_();
    if (generation == self->generation_)
      self->do_read();
  });
}

void redis_client::handle(redis_reply reply) {
  if (is_message(reply)) {
    if (on_push_)
      on_push_(reply.elements[0].text, reply.elements[1].text, reply.elements[2].text);
    return;
  }
  // A sunsubscribe nobody asked for: the server took the subscription away (its slot moved).
  if (reply.type == redis_reply::kind::array && reply.elements.size() >= 2
      && reply.elements[0].text == "sunsubscribe"
      && (pending_.empty() || pending_.front().unsubscribes != reply.elements[1].text)) {
    if (on_push_)
      on_push_(reply.elements[0].text, reply.elements[1].text, {});
    return;
  }
  if (pending_.empty())
    return; // nothing asked for it
  auto done = std::move(pending_.front().done);
  pending_.pop_front();
  if (done)
    done(std::move(reply));
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
    if (self->pending_.empty() || !self->connected())
      return;
    if (std::chrono::steady_clock::now() - self->pending_.front().sent > answer_timeout) {
      log().warn("redis {}: no answer for {} ms: reconnecting", self->address().to_string(),
                 answer_timeout.count());
      return self->fail("no answer");
    }
    self->watch_answers();
  });
}

} // namespace pulse::transport
