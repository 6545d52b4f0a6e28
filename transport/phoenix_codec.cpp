#include "transport/phoenix_codec.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cmath>

namespace pulse::transport::phoenix {

namespace json = boost::json;

namespace {

constexpr std::string_view join_event = "phx_join";
constexpr std::string_view leave_event = "phx_leave";
constexpr std::string_view heartbeat_event = "heartbeat";
constexpr std::string_view reply_event = "phx_reply";
constexpr std::string_view close_event = "phx_close";
constexpr std::string_view error_event = "phx_error";

// ---- encoding: straight into a buffer with WebSocket headroom, one allocation per frame -------

class frame_writer {
 public:
  explicit frame_writer(std::size_t payload_hint) {
    buffer_.reserve(outbound_frame::headroom_bytes + 48 + payload_hint);
    buffer_.append(outbound_frame::headroom_bytes, '\0');
    buffer_.push_back('[');
  }

  frame_writer& ref(const std::optional<std::string>& ref) {
    return ref ? string(*ref) : raw("null");
  }

  frame_writer& string(std::string_view text) {
    json::serializer sr;
    sr.reset(text);
    drain(sr);
    return *this;
  }

  frame_writer& value(const json::value& v) {
    json::serializer sr;
    sr.reset(&v);
    drain(sr);
    return *this;
  }

  frame_writer& raw(std::string_view text) {
    buffer_.append(text);
    return *this;
  }

  frame_writer& comma() { return raw(","); }

  outbound_frame finish() && {
    buffer_.push_back(']');
    return outbound_frame::text_with_headroom(std::move(buffer_));
  }

 private:
  void drain(json::serializer& sr) {
    while (!sr.done()) {
      auto old_size = buffer_.size();
      auto room = std::max<std::size_t>(buffer_.capacity() - old_size, 64);
      buffer_.resize(old_size + room);
      auto written = sr.read(buffer_.data() + old_size, room);
      buffer_.resize(old_size + written.size());
    }
  }

  std::string buffer_;
};

/// A rough size for reserving: exact sizes would cost a second pass.
std::size_t size_hint(const json::value& v) {
  if (auto* s = v.if_string())
    return s->size() + 2;
  if (auto* o = v.if_object())
    return 32 * o->size() + 2;
  if (auto* a = v.if_array())
    return 16 * a->size() + 2;
  return 16;
}

// ---- decoding ----------------------------------------------------------------------------------

/// Reads a ref element: a string or null. Returns false for anything else.
bool read_ref(const json::value& v, std::optional<std::string>& out, std::size_t max_bytes) {
  if (v.is_null())
    return true;
  if (auto* s = v.if_string(); s && s->size() <= max_bytes) {
    out.emplace(s->data(), s->size());
    return true;
  }
  return false;
}

/// True when `v` holds a number JSON cannot carry back out: a literal too large for a double
/// (1e400) parses as infinity, which would go out to every subscriber as invalid JSON.
bool has_non_finite_number(const json::value& v) {
  switch (v.kind()) {
    case json::kind::double_: return !std::isfinite(v.get_double());
    case json::kind::array:
      for (auto& element : v.get_array())
        if (has_non_finite_number(element))
          return true;
      return false;
    case json::kind::object:
      for (auto& field : v.get_object())
        if (has_non_finite_number(field.value()))
          return true;
      return false;
    default: return false;
  }
}

intent classify(std::string_view topic, std::string_view event) {
  if (event == join_event)
    return intent::subscribe;
  if (event == leave_event)
    return intent::unsubscribe;
  if (event == heartbeat_event && topic == system_topic)
    return intent::heartbeat;
  if (event == answer_event)
    return intent::answer;
  return intent::push;
}

} // namespace

std::optional<wire_format> format_for_version(const std::string* vsn) {
  if (!vsn)
    return wire_format::v1;
  // Semantic versions "1.0.x" and "2.0.x" (Elixir's "~> 1.0.0" and "~> 2.0.0").
  auto matches = [&](std::string_view prefix) {
    if (!vsn->starts_with(prefix) || vsn->size() == prefix.size())
      return false;
    auto patch = std::string_view{*vsn}.substr(prefix.size());
    return patch.size() <= 9
           && std::all_of(patch.begin(), patch.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (matches("1.0."))
    return wire_format::v1;
  if (matches("2.0."))
    return wire_format::v2;
  return std::nullopt;
}

std::variant<envelope, decode_error> decode(std::string_view text, const decode_limits& limits) {
  json::parse_options options;
  options.max_depth = limits.max_json_depth;
  json::error_code ec;
  auto parsed = json::parse(text, ec, {}, options);
  if (ec) {
    if (ec == json::error::too_deep)
      return decode_error{
        "JSON nested deeper than " + std::to_string(limits.max_json_depth) + " levels", {}, {}, {}};
    return decode_error{"not valid JSON: " + ec.message(), {}, {}, {}};
  }
  auto* array = parsed.if_array();
  constexpr auto expected = "expected a JSON array [join_ref, ref, topic, event, payload]";
  if (!array || array->size() != 5)
    return decode_error{expected, {}, {}, {}};

  decode_error error;
  // Read what can be read first, so that even a broken message gets its error where it belongs.
  bool refs_ok = read_ref((*array)[0], error.join_ref, limits.max_ref_bytes);
  refs_ok = read_ref((*array)[1], error.ref, limits.max_ref_bytes) && refs_ok;
  auto* topic = (*array)[2].if_string();
  if (topic && topic->size() <= limits.max_topic_bytes)
    error.topic.assign(topic->data(), topic->size());
  if (!refs_ok) {
    error.reason = "join_ref and ref must be strings (at most "
                   + std::to_string(limits.max_ref_bytes) + " bytes) or null";
    return error;
  }
  if (!topic || topic->empty()) {
    error.reason = "topic must be a non-empty string";
    return error;
  }
  if (topic->size() > limits.max_topic_bytes) {
    error.reason = "topic is longer than " + std::to_string(limits.max_topic_bytes) + " bytes";
    return error;
  }
  auto* event = (*array)[3].if_string();
  if (!event || event->empty()) {
    error.reason = "event must be a non-empty string";
    return error;
  }
  if (event->size() > limits.max_event_bytes) {
    error.reason = "event is longer than " + std::to_string(limits.max_event_bytes) + " bytes";
    return error;
  }

  envelope out;
  out.join_ref = std::move(error.join_ref);
  out.ref = std::move(error.ref);
  out.topic = std::move(error.topic);
  out.event.assign(event->data(), event->size());
  out.kind = classify(out.topic, out.event);
  out.payload = std::move((*array)[4]);
  if (has_non_finite_number(out.payload)) {
    return decode_error{"a number in the payload is too large for a double",
                        std::move(out.join_ref), std::move(out.ref), std::move(out.topic)};
  }
  if (out.kind == intent::subscribe && !out.payload.is_object() && !out.payload.is_null()) {
    return decode_error{"join params must be an object", std::move(out.join_ref),
                        std::move(out.ref), std::move(out.topic)};
  }
  if (out.kind == intent::answer) {
    auto* answer = out.payload.if_object();
    auto* request_ref = answer ? answer->if_contains("ref") : nullptr;
    auto* status = answer ? answer->if_contains("status") : nullptr;
    bool valid = request_ref && request_ref->is_string() && status && status->is_string()
                 && (status->get_string() == "ok" || status->get_string() == "error");
    if (!valid) {
      return decode_error{std::string{answer_event}
                            + " expects {\"ref\": string, \"status\": \"ok\"|\"error\", "
                              "\"response\": any}",
                          std::move(out.join_ref), std::move(out.ref), std::move(out.topic)};
    }
    out.request_ref.assign(request_ref->get_string().data(), request_ref->get_string().size());
    out.is_ok = status->get_string() == "ok";
    auto* response = answer->if_contains("response");
    out.payload = response ? std::move(*response) : json::value{};
  }
  if (out.payload.is_null() && out.kind != intent::answer)
    out.payload = json::object{};
  return out;
}

outbound_frame encode_reply(const std::optional<std::string>& join_ref,
                            const std::optional<std::string>& ref, std::string_view topic, bool ok,
                            const json::value& response) {
  frame_writer w{size_hint(response) + topic.size()};
  w.ref(join_ref).comma().ref(ref).comma().string(topic).comma().string(reply_event).comma();
  w.raw(ok ? R"({"status":"ok","response":)" : R"({"status":"error","response":)");
  w.value(response).raw("}");
  return std::move(w).finish();
}

outbound_frame encode_error_reply(const std::optional<std::string>& join_ref,
                                  const std::optional<std::string>& ref, std::string_view topic,
                                  std::string_view reason) {
  return encode_reply(join_ref, ref, topic, false, json::object{{"reason", reason}});
}

outbound_frame encode_broadcast(std::string_view topic, std::string_view event,
                                const json::value& payload, const std::optional<std::string>& ref) {
  frame_writer w{size_hint(payload) + topic.size() + event.size()};
  w.raw("null,").ref(ref).comma().string(topic).comma().string(event).comma().value(payload);
  return std::move(w).finish();
}

std::string encode_broadcast_tail(std::string_view topic, std::string_view event,
                                  const json::value& payload) {
  // Written as a whole frame, then cut: one writer for both.
  auto frame = encode_broadcast(topic, event, payload);
  constexpr std::string_view head = "[null,null,";
  auto text = frame.payload();
  return std::string{text.substr(head.size())};
}

outbound_frame broadcast_from_tail(std::string_view tail, const std::optional<std::string>& ref) {
  frame_writer w{tail.size() + 16};
  if (!tail.empty() && tail.back() == ']')
    tail.remove_suffix(1); // finish() closes the frame
  w.raw("null,").ref(ref).comma().raw(tail);
  return std::move(w).finish();
}

outbound_frame encode_push(std::string_view join_ref, std::string_view topic,
                           std::string_view event, const json::value& payload) {
  frame_writer w{size_hint(payload) + topic.size() + event.size()};
  w.string(join_ref).raw(",null,").string(topic).comma().string(event).comma().value(payload);
  return std::move(w).finish();
}

outbound_frame encode_request(std::string_view join_ref, std::string_view request_ref,
                              std::string_view topic, std::string_view event,
                              const json::value& payload) {
  frame_writer w{size_hint(payload) + topic.size() + event.size()};
  w.string(join_ref).comma().string(request_ref).comma().string(topic).comma().string(event);
  w.comma().value(payload);
  return std::move(w).finish();
}

namespace {

outbound_frame encode_lifecycle(std::string_view join_ref, std::string_view topic,
                                std::string_view event) {
  frame_writer w{topic.size()};
  w.string(join_ref).comma().string(join_ref).comma().string(topic).comma().string(event);
  w.raw(",{}");
  return std::move(w).finish();
}

} // namespace

outbound_frame encode_unsubscribed(std::string_view join_ref, std::string_view topic) {
  return encode_lifecycle(join_ref, topic, close_event);
}

outbound_frame encode_channel_failed(std::string_view join_ref, std::string_view topic) {
  return encode_lifecycle(join_ref, topic, error_event);
}

} // namespace pulse::transport::phoenix
