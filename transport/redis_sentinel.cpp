#include <pulse/transport/asio.hpp>
#include <pulse/transport/log.hpp>
#include <pulse/transport/redis_sentinel.hpp>

#include <charconv>

namespace pulse::transport {

namespace {

std::optional<std::uint16_t> port_of(std::string_view text) {
  std::uint16_t port = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (ec != std::errc{} || end != text.data() + text.size() || port == 0)
    return std::nullopt;
  return port;
}

} // namespace

redis_sentinel::redis_sentinel(asio::io_context& io, std::vector<redis_address> sentinels,
                               std::string master_name)
    : name_(std::move(master_name)), asker_(std::make_shared<redis_client>(io, sentinels)),
      listener_(std::make_shared<redis_client>(io, sentinels)), retry_(io) {}

redis_sentinel::~redis_sentinel() {
  stop();
}

void redis_sentinel::start() {
  std::weak_ptr<redis_sentinel> weak = weak_from_this();
  asker_->on_connect([weak] {
    if (auto self = weak.lock())
      self->ask();
  });
  listener_->on_connect([weak] {
    auto self = weak.lock();
    if (!self)
      return;
    self->listener_->command({"SUBSCRIBE", "+switch-master"});
    self->ask(); // a switch may have happened while this connection was down
  });
  listener_->on_push([weak](std::string_view, std::string_view channel, std::string_view data) {
    auto self = weak.lock();
    if (!self || channel != "+switch-master")
      return;
    // "<name> <old-ip> <old-port> <new-ip> <new-port>"
    std::vector<std::string_view> fields;
    while (!data.empty() && fields.size() < 5) {
      auto space = data.find(' ');
      fields.push_back(data.substr(0, space));
      data.remove_prefix(space == std::string_view::npos ? data.size() : space + 1);
    }
    if (fields.size() == 5 && fields[0] == self->name_)
      if (auto port = port_of(fields[4]))
        self->learned({std::string{fields[3]}, *port}, "+switch-master");
  });
  asker_->start();
  listener_->start();
}

void redis_sentinel::stop() {
  retry_.cancel();
  asker_->stop();
  listener_->stop();
}

void redis_sentinel::ask() {
  if (asking_)
    return;
  asking_ = true;
  std::weak_ptr<redis_sentinel> weak = weak_from_this();
  bool sent = asker_->command(
    {"SENTINEL", "get-master-addr-by-name", name_}, [weak](std::optional<redis_reply> reply) {
      auto self = weak.lock();
      if (!self)
        return;
      self->asking_ = false;
      if (reply && reply->type == redis_reply::kind::array && reply->elements.size() == 2)
        if (auto port = port_of(reply->elements[1].text))
          return self->learned({reply->elements[0].text, *port}, "asked");
      if (reply)
        log().warn("redis sentinel {}: no master named {} ({})",
                   self->asker_->address().to_string(), self->name_,
                   reply->is_error() ? reply->text : "unknown");
      self->retry_later();
    });
  if (!sent) {
    asking_ = false;
    retry_later(); // no sentinel reachable yet: the connection's on_connect asks too
  }
}

void redis_sentinel::retry_later() {
  if (retrying_)
    return;
  retrying_ = true;
  retry_.expires_after(retry_interval);
  retry_.async_wait([weak = weak_from_this()](error_code ec) {
    auto self = weak.lock();
    if (!self || ec)
      return;
    self->retrying_ = false;
    self->ask();
  });
}

void redis_sentinel::learned(redis_address address, std::string_view how) {
  if (master_ && *master_ == address)
    return;
  log().info("redis sentinel: master {} is {} ({})", name_, address.to_string(), how);
  master_ = address;
  if (on_master_)
    on_master_(address);
}

} // namespace pulse::transport
