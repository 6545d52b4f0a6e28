#include <pulse/testing.hpp>
#include <pulse/transport/phoenix_codec.hpp>

#include <boost/json.hpp>

#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace pulse::testing {

namespace json = boost::json;

// ---- frame -------------------------------------------------------------------------------------

frame frame::parse(std::string_view text) {
  json::error_code ec;
  auto value = json::parse(text, ec);
  auto ref_of = [](const json::value* v) -> std::optional<std::string> {
    if (v && v->is_string())
      return std::string{v->get_string()};
    return std::nullopt;
  };
  frame out;
  if (auto* object = ec ? nullptr : value.if_object()) { // V1
    auto* topic = object->if_contains("topic");
    auto* event = object->if_contains("event");
    if (!topic || !topic->is_string() || !event || !event->is_string()
        || !object->contains("payload") || object->contains("join_ref"))
      throw std::runtime_error("not a Phoenix V1 frame: " + std::string{text});
    out.ref = ref_of(object->if_contains("ref"));
    out.topic = std::string{topic->get_string()};
    out.event = std::string{event->get_string()};
    out.payload = std::move(object->at("payload"));
    return out;
  }
  auto* array = ec ? nullptr : value.if_array();
  if (!array || array->size() != 5)
    throw std::runtime_error("not a Phoenix V2 frame: " + std::string{text});
  out.join_ref = ref_of(&(*array)[0]);
  out.ref = ref_of(&(*array)[1]);
  out.topic = std::string{(*array)[2].as_string()};
  out.event = std::string{(*array)[3].as_string()};
  out.payload = std::move((*array)[4]);
  return out;
}

frame frame::parse_binary(std::string_view bytes) {
  // Server forms: 0 push (join_ref, topic, event), 1 reply (join_ref, ref, topic, status),
  // 2 broadcast (topic, event); each meta field preceded by a length byte in the header.
  static constexpr std::size_t metas_of[] = {3, 4, 2};
  auto kind = bytes.empty() ? 255 : static_cast<std::uint8_t>(bytes[0]);
  if (kind > 2 || bytes.size() < 1 + metas_of[kind])
    throw std::runtime_error("not a Phoenix V2 binary frame");
  std::vector<std::string> metas;
  auto pos = 1 + metas_of[kind];
  for (std::size_t i = 0; i < metas_of[kind]; ++i) {
    auto length = static_cast<std::uint8_t>(bytes[1 + i]);
    if (pos + length > bytes.size())
      throw std::runtime_error("a Phoenix V2 binary frame shorter than its header says");
    metas.emplace_back(bytes.substr(pos, length));
    pos += length;
  }
  auto ref_of = [](std::string& s) {
    return s.empty() ? std::nullopt : std::optional<std::string>{std::move(s)};
  };
  frame out;
  out.is_binary = true;
  out.bytes = std::string{bytes.substr(pos)};
  if (kind == 0) {
    out.join_ref = ref_of(metas[0]);
    out.topic = metas[1];
    out.event = metas[2];
  } else if (kind == 1) {
    out.join_ref = ref_of(metas[0]);
    out.ref = ref_of(metas[1]);
    out.topic = metas[2];
    out.event = "phx_reply";
    out.payload = json::object{{"status", metas[3]}};
  } else {
    out.topic = metas[0];
    out.event = metas[1];
  }
  return out;
}

frame frame::parse(const transport::outbound_frame& raw) {
  return raw.is_binary() ? parse_binary(raw.payload()) : parse(raw.payload());
}

bool frame::is_ok() const {
  auto* object = payload.if_object();
  auto* status = object ? object->if_contains("status") : nullptr;
  return is_reply() && status && status->is_string() && status->get_string() == "ok";
}

const json::value& frame::response() const {
  static const json::value null;
  auto* object = payload.if_object();
  auto* response = object ? object->if_contains("response") : nullptr;
  return response ? *response : null;
}

std::string frame::reason() const {
  auto* object = response().if_object();
  auto* reason = object ? object->if_contains("reason") : nullptr;
  return reason && reason->is_string() ? std::string{reason->get_string()} : std::string{};
}

// ---- memory_connection -------------------------------------------------------------------------

/// A websocket_connection that keeps what the server sends in memory.
class memory_connection final : public transport::websocket_connection {
 public:
  bool send(transport::outbound_frame frame) override {
    std::lock_guard guard{mutex_};
    if (close_code_)
      return false;
    frames_.push_back(std::move(frame));
    changed_.notify_all();
    return true;
  }

  // Nothing to batch in memory: queued frames are there at once, and no flush is owed.
  bool queue(transport::outbound_frame frame) override {
    send(std::move(frame));
    return false;
  }

  void flush() override {}

  void close(std::uint16_t code, std::string_view) override {
    std::lock_guard guard{mutex_};
    if (!close_code_)
      close_code_ = code;
    changed_.notify_all();
  }

  const std::string& remote_address() const noexcept override { return address_; }

  transport::outbound_frame take(std::chrono::milliseconds timeout) {
    if (auto frame = take_unless_closed(timeout))
      return std::move(*frame);
    throw std::runtime_error("the server closed the connection");
  }

  /// The next frame, or nothing once the server closed and every frame was taken.
  std::optional<transport::outbound_frame> take_unless_closed(std::chrono::milliseconds timeout) {
    std::unique_lock lock{mutex_};
    if (!changed_.wait_for(lock, timeout, [this] { return !frames_.empty() || close_code_; }))
      throw std::runtime_error("no frame from the server within " + std::to_string(timeout.count())
                               + " ms");
    if (frames_.empty())
      return std::nullopt;
    auto frame = std::move(frames_.front());
    frames_.pop_front();
    return frame;
  }

  std::size_t size() const {
    std::lock_guard guard{mutex_};
    return frames_.size();
  }

  std::optional<std::uint16_t> wait_closed(std::chrono::milliseconds timeout) {
    std::unique_lock lock{mutex_};
    changed_.wait_for(lock, timeout, [this] { return close_code_.has_value(); });
    return close_code_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<transport::outbound_frame> frames_;
  std::optional<std::uint16_t> close_code_;
  std::string address_ = "memory";
};

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  }
  return true;
}

// ---- test_client -------------------------------------------------------------------------------

namespace {} // namespace

std::string test_client::encode(const std::optional<std::string>& join_ref, const std::string& ref,
                                const std::string& topic, const std::string& event,
                                const json::value& payload) const {
  if (v1_) {
    json::object message{{"topic", topic}, {"event", event}, {"payload", payload}, {"ref", ref}};
    if (join_ref)
      message["join_ref"] = *join_ref;
    return json::serialize(message);
  }
  json::array message{join_ref ? json::value(*join_ref) : json::value(nullptr), json::value(ref),
                      json::value(topic), json::value(event), payload};
  return json::serialize(message);
}

test_client::test_client(server& server)
    : connection_(std::make_shared<memory_connection>()), handler_(server.attach(connection_)) {}

test_client::test_client(server& server, std::string_view vsn)
    : connection_(std::make_shared<memory_connection>()) {
  std::string version{vsn};
  auto format = transport::phoenix::format_for_version(&version);
  if (!format)
    throw std::invalid_argument("Pulse speaks no protocol version \"" + version + "\"");
  v1_ = *format == transport::phoenix::wire_format::v1;
  handler_ = server.attach(connection_, *format);
}

test_client::~test_client() {
  disconnect();
}

void test_client::send_text(std::string text) {
  if (handler_)
    handler_->on_text(std::move(text));
}

void test_client::send_binary(std::string bytes) {
  if (handler_)
    handler_->on_binary(std::move(bytes));
}

void test_client::send_texts(std::vector<std::string> texts) {
  std::vector<transport::inbound_message> batch;
  for (auto& text : texts)
    batch.push_back({std::move(text), false});
  if (handler_)
    handler_->on_messages(std::move(batch));
}

frame test_client::join(const std::string& topic, json::object params,
                        std::chrono::milliseconds timeout) {
  auto ref = next_ref();
  join_refs_[topic] = ref;
  send_text(encode(ref, ref, topic, "phx_join", params));
  return reply_to(ref, timeout);
}

std::string test_client::push(const std::string& topic, const std::string& event,
                              json::value payload) {
  auto ref = next_ref();
  auto join_ref = join_refs_.count(topic) ? std::optional{join_refs_[topic]} : std::nullopt;
  send_text(encode(join_ref, ref, topic, event, payload));
  return ref;
}

std::string test_client::push_binary(const std::string& topic, const std::string& event,
                                     std::string_view bytes) {
  auto ref = next_ref();
  auto join_ref = join_refs_.count(topic) ? join_refs_[topic] : std::string{};
  std::string message{'\0', static_cast<char>(join_ref.size()), static_cast<char>(ref.size()),
                      static_cast<char>(topic.size()), static_cast<char>(event.size())};
  message += join_ref + ref + topic + event;
  message += bytes;
  send_binary(std::move(message));
  return ref;
}

frame test_client::request(const std::string& topic, const std::string& event, json::value payload,
                           std::chrono::milliseconds timeout) {
  return reply_to(push(topic, event, std::move(payload)), timeout);
}

frame test_client::leave(const std::string& topic, std::chrono::milliseconds timeout) {
  auto ref = push(topic, "phx_leave", json::object{});
  join_refs_.erase(topic);
  return reply_to(ref, timeout);
}

void test_client::answer(const frame& server_request, bool ok, json::value response) {
  if (!server_request.ref)
    throw std::logic_error("a frame without a ref is not a server request");
  push(server_request.topic, "pulse_reply",
       json::object{{"ref", *server_request.ref},
                    {"status", ok ? "ok" : "error"},
                    {"response", std::move(response)}});
}

frame test_client::next(std::chrono::milliseconds timeout) {
  if (!skipped_.empty()) {
    auto out = std::move(skipped_.front());
    skipped_.pop_front();
    return out;
  }
  return frame::parse(connection_->take(timeout));
}

std::optional<frame> test_client::take_matching(const std::function<bool(const frame&)>& matches,
                                                std::chrono::milliseconds timeout) {
  for (auto it = skipped_.begin(); it != skipped_.end(); ++it) {
    if (matches(*it)) {
      auto out = std::move(*it);
      skipped_.erase(it);
      return out;
    }
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    auto raw = connection_->take_unless_closed(std::max(left, std::chrono::milliseconds{0}));
    if (!raw)
      return std::nullopt;
    auto candidate = frame::parse(*raw);
    if (matches(candidate))
      return candidate;
    skipped_.push_back(std::move(candidate));
  }
}

frame test_client::next_event(const std::string& event, std::chrono::milliseconds timeout) {
  if (auto found = take_matching([&](const frame& f) { return f.event == event; }, timeout))
    return std::move(*found);
  throw std::runtime_error("the server closed the connection");
}

frame test_client::reply_to(const std::string& ref, std::chrono::milliseconds timeout) {
  if (auto found = reply_or_close(ref, timeout))
    return std::move(*found);
  throw std::runtime_error("the server closed the connection");
}

transport::outbound_frame test_client::next_raw(std::chrono::milliseconds timeout) {
  if (!skipped_.empty())
    throw std::logic_error("next_raw() after frames were skipped: take them with next() first");
  return connection_->take(timeout);
}

std::optional<frame> test_client::reply_or_close(const std::string& ref,
                                                 std::chrono::milliseconds timeout) {
  return take_matching([&](const frame& f) { return f.is_reply() && f.ref == ref; }, timeout);
}

std::size_t test_client::pending() const {
  return skipped_.size() + connection_->size();
}

void test_client::disconnect() {
  if (auto handler = std::move(handler_))
    handler->on_closed();
}

std::optional<std::uint16_t> test_client::wait_closed(std::chrono::milliseconds timeout) {
  return connection_->wait_closed(timeout);
}

std::string test_client::join_ref(const std::string& topic) const {
  auto it = join_refs_.find(topic);
  return it == join_refs_.end() ? std::string{} : it->second;
}

} // namespace pulse::testing
