#include <pulse/transport/json_writer.hpp>
#include <pulse/transport/phoenix_codec.hpp>
#include <pulse/transport/utf8.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <stdexcept>
#include <vector>

namespace pulse::transport::phoenix {

namespace json = boost::json;

namespace {

constexpr std::string_view join_event = "phx_join";
constexpr std::string_view leave_event = "phx_leave";
constexpr std::string_view heartbeat_event = "heartbeat";
constexpr std::string_view reply_event = "phx_reply";
constexpr std::string_view close_event = "phx_close";
constexpr std::string_view error_event = "phx_error";

// ---- a tiny scanner for JSON text we wrote, or could not parse ----------------------------------

/// Reads the JSON token at `pos` that is a string (raw, with its quotes) or null; advances past
/// it. Empty when the token is neither.
std::string_view string_or_null_token(std::string_view text, std::size_t& pos) {
  while (pos < text.size() && std::isspace(static_cast<unsigned char>(text[pos])))
    ++pos;
  if (text.substr(pos).starts_with("null")) {
    pos += 4;
    return text.substr(pos - 4, 4);
  }
  if (pos >= text.size() || text[pos] != '"')
    return {};
  auto start = pos++;
  while (pos < text.size() && text[pos] != '"')
    pos += text[pos] == '\\' ? 2 : 1;
  if (pos >= text.size())
    return {};
  ++pos;
  return text.substr(start, pos - start);
}

/// Skips one JSON value of any depth at `pos` (a shallow walk: brackets and strings only).
bool skip_value(std::string_view text, std::size_t& pos) {
  std::size_t depth = 0;
  while (pos < text.size()) {
    char c = text[pos];
    if (c == '"') {
      if (string_or_null_token(text, pos).empty())
        return false;
      if (depth == 0)
        return true;
      continue;
    }
    if (c == '[' || c == '{') {
      ++depth;
    } else if (c == ']' || c == '}') {
      if (depth == 0)
        return true; // the end of the enclosing container
      if (--depth == 0) {
        ++pos;
        return true;
      }
    } else if (depth == 0 && c == ',') {
      return true;
    }
    ++pos;
  }
  return depth == 0;
}

bool expect(std::string_view text, std::size_t& pos, char c) {
  while (pos < text.size() && std::isspace(static_cast<unsigned char>(text[pos])))
    ++pos;
  if (pos >= text.size() || text[pos] != c)
    return false;
  ++pos;
  return true;
}

/// A string token's text, unescaped; nothing for null or anything else.
std::optional<std::string> unquoted(std::string_view token) {
  if (token.size() < 2 || token.front() != '"')
    return std::nullopt;
  json::error_code ec;
  auto value = json::parse(token, ec);
  if (ec || !value.is_string())
    return std::nullopt;
  return std::string{value.get_string()};
}

/// For a message too deep (or otherwise too big) to parse: its refs and topic, read from the
/// top level only, so that the refusal still reaches the push that caused it.
decode_error envelope_of_unparsed(std::string_view text, wire_format format, std::string reason) {
  decode_error error{std::move(reason), {}, {}, {}};
  std::size_t pos = 0;
  if (format == wire_format::v2) {
    if (!expect(text, pos, '['))
      return error;
    std::optional<std::string> fields[3];
    for (auto& field : fields) {
      auto token = string_or_null_token(text, pos);
      if (token.empty() || !expect(text, pos, ','))
        return error;
      field = unquoted(token);
    }
    error.join_ref = std::move(fields[0]);
    error.ref = std::move(fields[1]);
    error.topic = fields[2].value_or("");
    return error;
  }
  if (!expect(text, pos, '{'))
    return error;
  while (pos < text.size()) {
    auto key = unquoted(string_or_null_token(text, pos));
    if (!key || !expect(text, pos, ':'))
      return error;
    auto value_start = pos;
    if (!skip_value(text, pos))
      return error;
    auto value = text.substr(value_start, pos - value_start);
    auto trimmed = value.substr(std::min(value.find_first_not_of(" \t\r\n"), value.size()));
    if (*key == "ref")
      error.ref = unquoted(trimmed);
    else if (*key == "join_ref")
      error.join_ref = unquoted(trimmed);
    else if (*key == "topic")
      error.topic = unquoted(trimmed).value_or("");
    if (!expect(text, pos, ','))
      break;
  }
  return error;
}

// ---- decoding
// ------------------------------------------------------------------------------------

/// Reads a ref element: a string or null. Returns false for anything else.
bool read_ref(const json::value* v, std::optional<std::string>& out, std::size_t max_bytes) {
  if (!v || v->is_null())
    return true;
  if (auto* s = v->if_string(); s && s->size() <= max_bytes) {
    out.emplace(s->data(), s->size());
    return true;
  }
  return false;
}

/// True when `v` holds a number JSON cannot carry back out: a literal too large for a double
/// (1e400) parses as infinity, which would go out to every subscriber as invalid JSON.
bool has_non_finite_number(const json::value& root) {
  std::vector<const json::value*> pending{&root}; // iterative: any depth the parser allowed
  while (!pending.empty()) {
    auto* v = pending.back();
    pending.pop_back();
    switch (v->kind()) {
      case json::kind::double_:
        if (!std::isfinite(v->get_double()))
          return true;
        break;
      case json::kind::array:
        for (auto& element : v->get_array())
          pending.push_back(&element);
        break;
      case json::kind::object:
        for (auto& field : v->get_object())
          pending.push_back(&field.value());
        break;
      default: break;
    }
  }
  return false;
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

/// The envelope's fields, wherever the format keeps them.
struct fields {
  const json::value* join_ref = nullptr;
  const json::value* ref = nullptr;
  const json::value* topic = nullptr;
  const json::value* event = nullptr;
  json::value* payload = nullptr;
};

/// Checks refs, topic and event, and fills `out` with them; an error names what is wrong.
std::optional<decode_error> read_head(const fields& f, const decode_limits& limits, envelope& out) {
  decode_error error;
  // Read what can be read first, so that even a broken message gets its error where it belongs.
  bool refs_ok = read_ref(f.join_ref, error.join_ref, limits.max_ref_bytes);
  refs_ok = read_ref(f.ref, error.ref, limits.max_ref_bytes) && refs_ok;
  auto* topic = f.topic ? f.topic->if_string() : nullptr;
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
  auto* event = f.event ? f.event->if_string() : nullptr;
  if (!event || event->empty()) {
    error.reason = "event must be a non-empty string";
    return error;
  }
  if (event->size() > limits.max_event_bytes) {
    error.reason = "event is longer than " + std::to_string(limits.max_event_bytes) + " bytes";
    return error;
  }
  out.join_ref = std::move(error.join_ref);
  out.ref = std::move(error.ref);
  out.topic = std::move(error.topic);
  out.event.assign(event->data(), event->size());
  out.kind = classify(out.topic, out.event);
  return std::nullopt;
}

decode_error refused(envelope& msg, std::string reason) {
  return decode_error{std::move(reason), std::move(msg.join_ref), std::move(msg.ref),
                      std::move(msg.topic)};
}

/// What each kind of message requires of its payload.
std::optional<decode_error> check_payload(envelope& out) {
  if (out.kind == intent::subscribe && !out.payload.is_object() && !out.payload.is_null())
    return refused(out, "join params must be an object");
  if (out.kind == intent::answer) {
    auto* answer = out.payload.if_object();
    auto* request_ref = answer ? answer->if_contains("ref") : nullptr;
    auto* status = answer ? answer->if_contains("status") : nullptr;
    bool valid = request_ref && request_ref->is_string() && status && status->is_string()
                 && (status->get_string() == "ok" || status->get_string() == "error");
    if (!valid)
      return refused(out, std::string{answer_event}
                            + " expects {\"ref\": string, \"status\": \"ok\"|\"error\", "
                              "\"response\": any}");
    out.request_ref.assign(request_ref->get_string().data(), request_ref->get_string().size());
    out.is_ok = status->get_string() == "ok";
    auto* response = answer->if_contains("response");
    out.payload = response ? std::move(*response) : json::value{};
  }
  if (out.payload.is_null() && out.kind != intent::answer)
    out.payload = json::object{};
  return std::nullopt;
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

std::variant<envelope, decode_error> decode(std::string_view text, wire_format format,
                                            const decode_limits& limits) {
  json::parse_options options;
  options.max_depth = limits.max_json_depth;
  json::error_code ec;
  auto parsed = json::parse(text, ec, {}, options);
  if (ec) {
    if (ec == json::error::too_deep)
      return envelope_of_unparsed(text, format,
                                  "JSON nested deeper than " + std::to_string(limits.max_json_depth)
                                    + " levels");
    return decode_error{"not valid JSON: " + ec.message(), {}, {}, {}};
  }
  fields f;
  if (format == wire_format::v2) {
    auto* array = parsed.if_array();
    if (!array || array->size() != 5)
      return decode_error{
        "expected a JSON array [join_ref, ref, topic, event, payload]", {}, {}, {}};
    f = {&(*array)[0], &(*array)[1], &(*array)[2], &(*array)[3], &(*array)[4]};
  } else {
    auto* object = parsed.if_object();
    if (!object)
      return decode_error{
        R"(expected a JSON object {"topic", "event", "payload", "ref", "join_ref"})", {}, {}, {}};
    f = {object->if_contains("join_ref"), object->if_contains("ref"), object->if_contains("topic"),
         object->if_contains("event"), object->if_contains("payload")};
  }
  envelope out;
  if (auto error = read_head(f, limits, out))
    return std::move(*error);
  if (f.payload)
    out.payload = std::move(*f.payload);
  if (has_non_finite_number(out.payload))
    return refused(out, "a number in the payload is too large for a double");
  if (auto error = check_payload(out))
    return std::move(*error);
  return out;
}

std::variant<envelope, decode_error> decode_binary(std::string_view bytes,
                                                   const decode_limits& limits) {
  // Kind 0, a client push: 00 jrLen refLen topicLen eventLen join_ref ref topic event payload.
  constexpr std::size_t header_bytes = 5;
  auto fatal = [](std::string reason) {
    decode_error error{std::move(reason), {}, {}, {}};
    error.fatal = true;
    return error;
  };
  if (bytes.size() < header_bytes || bytes[0] != 0)
    return fatal("a binary message must be a V2 push: kind 0 and a 5-byte header");
  std::size_t lengths[4];
  std::size_t total = header_bytes;
  for (int i = 0; i < 4; ++i)
    total += lengths[i] = static_cast<std::uint8_t>(bytes[1 + i]);
  if (total > bytes.size())
    return fatal("a binary push's header names more bytes than the message has");
  std::string_view metas[4];
  auto pos = header_bytes;
  for (int i = 0; i < 4; ++i) {
    metas[i] = bytes.substr(pos, lengths[i]);
    pos += lengths[i];
    // Refs, topic and event come back in JSON text frames: they must be text.
    if (!is_valid_utf8(metas[i]))
      return fatal("a binary push's join_ref, ref, topic and event must be UTF-8 text");
  }
  json::value join_ref = metas[0].empty() ? json::value{} : json::value(metas[0]);
  json::value ref = metas[1].empty() ? json::value{} : json::value(metas[1]);
  json::value topic(metas[2]);
  json::value event(metas[3]);
  envelope out;
  if (auto error = read_head({&join_ref, &ref, &topic, &event, nullptr}, limits, out))
    return std::move(*error);
  out.is_binary = true;
  out.bytes.assign(bytes.substr(pos));
  if (out.kind == intent::subscribe || out.kind == intent::answer)
    return refused(out, std::string{out.kind == intent::subscribe ? join_event : answer_event}
                          + " needs a JSON payload, not bytes");
  return out;
}

// ---- encoding
// ------------------------------------------------------------------------------------

namespace {

void write_ref(std::string& out, const std::optional<std::string>& ref) {
  if (ref)
    write_json_string(out, *ref);
  else
    out += "null";
}

/// One text frame in `format`, its payload written by `write_payload`, straight into a buffer
/// with WebSocket headroom: one allocation per frame. V1 keeps Phoenix's key order and never
/// writes the join_ref.
template<class WritePayload>
outbound_frame text_frame(wire_format format, const std::optional<std::string>& join_ref,
                          const std::optional<std::string>& ref, std::string_view topic,
                          std::string_view event, std::size_t payload_hint,
                          WritePayload write_payload) {
  std::string b;
  b.reserve(outbound_frame::headroom_bytes + 64 + topic.size() + event.size() + payload_hint);
  b.append(outbound_frame::headroom_bytes, '\0');
  if (format == wire_format::v2) {
    b.push_back('[');
    write_ref(b, join_ref);
    b.push_back(',');
    write_ref(b, ref);
    b.push_back(',');
    write_json_string(b, topic);
    b.push_back(',');
    write_json_string(b, event);
    b.push_back(',');
    write_payload(b);
    b.push_back(']');
  } else {
    b += R"({"event":)";
    write_json_string(b, event);
    b += R"(,"payload":)";
    write_payload(b);
    b += R"(,"ref":)";
    write_ref(b, ref);
    b += R"(,"topic":)";
    write_json_string(b, topic);
    b.push_back('}');
  }
  return outbound_frame::text_with_headroom(std::move(b));
}

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

auto value_writer(const json::value& v) {
  return [&v](std::string& out) {
    write_json(out, v);
  };
}

/// A binary frame: `kind`, one length byte per meta field, the fields, then the bytes.
outbound_frame binary_frame(std::uint8_t kind, std::initializer_list<std::string_view> metas,
                            std::string_view bytes) {
  std::string b;
  std::size_t size = outbound_frame::headroom_bytes + 1 + metas.size() + bytes.size();
  for (auto meta : metas) {
    if (meta.size() > 255)
      throw std::invalid_argument("a binary frame's topic, event, refs and status take at most "
                                  "255 bytes each: \""
                                  + std::string{meta.substr(0, 32)} + "...\" is longer");
    size += meta.size();
  }
  b.reserve(size);
  b.append(outbound_frame::headroom_bytes, '\0');
  b.push_back(static_cast<char>(kind));
  for (auto meta : metas)
    b.push_back(static_cast<char>(meta.size()));
  for (auto meta : metas)
    b.append(meta);
  b.append(bytes);
  return outbound_frame::binary_with_headroom(std::move(b));
}

constexpr std::uint8_t binary_push = 0;
constexpr std::uint8_t binary_reply = 1;
constexpr std::uint8_t binary_broadcast = 2;

/// The raw JSON pieces of a V2 tail `"topic","event",payload]`.
struct tail_parts {
  std::string_view topic, event, payload;
};

std::optional<tail_parts> split_tail(std::string_view tail) {
  std::size_t pos = 0;
  tail_parts parts;
  parts.topic = string_or_null_token(tail, pos);
  if (parts.topic.size() < 2 || !expect(tail, pos, ','))
    return std::nullopt;
  parts.event = string_or_null_token(tail, pos);
  if (parts.event.size() < 2 || !expect(tail, pos, ','))
    return std::nullopt;
  auto rest = tail.substr(pos);
  if (rest.empty() || rest.back() != ']')
    return std::nullopt;
  parts.payload = rest.substr(0, rest.size() - 1);
  return parts;
}

/// A V1 frame from raw JSON pieces (already encoded by whoever made the V2 form).
outbound_frame v1_from_parts(const tail_parts& parts, std::string_view raw_ref) {
  std::string b;
  b.reserve(outbound_frame::headroom_bytes + 48 + parts.topic.size() + parts.event.size()
            + parts.payload.size());
  b.append(outbound_frame::headroom_bytes, '\0');
  b += R"({"event":)";
  b += parts.event;
  b += R"(,"payload":)";
  b += parts.payload;
  b += R"(,"ref":)";
  b += raw_ref;
  b += R"(,"topic":)";
  b += parts.topic;
  b.push_back('}');
  return outbound_frame::text_with_headroom(std::move(b));
}

} // namespace

outbound_frame encode_reply(wire_format format, const std::optional<std::string>& join_ref,
                            const std::optional<std::string>& ref, std::string_view topic, bool ok,
                            const json::value& response) {
  // Phoenix's own key order: {"response": ..., "status": ...}.
  return text_frame(format, join_ref, ref, topic, reply_event, size_hint(response) + 32,
                    [&](std::string& out) {
                      out += R"({"response":)";
                      write_json(out, response);
                      out += ok ? R"(,"status":"ok"})" : R"(,"status":"error"})";
                    });
}

outbound_frame encode_error_reply(wire_format format, const std::optional<std::string>& join_ref,
                                  const std::optional<std::string>& ref, std::string_view topic,
                                  std::string_view reason) {
  return encode_reply(format, join_ref, ref, topic, false, json::object{{"reason", reason}});
}

outbound_frame encode_broadcast(wire_format format, std::string_view topic, std::string_view event,
                                const json::value& payload, const std::optional<std::string>& ref) {
  return text_frame(format, std::nullopt, ref, topic, event, size_hint(payload),
                    value_writer(payload));
}

outbound_frame encode_push(wire_format format, std::string_view join_ref, std::string_view topic,
                           std::string_view event, const json::value& payload) {
  return text_frame(format, std::string{join_ref}, std::nullopt, topic, event, size_hint(payload),
                    value_writer(payload));
}

outbound_frame encode_request(wire_format format, std::string_view join_ref,
                              std::string_view request_ref, std::string_view topic,
                              std::string_view event, const json::value& payload) {
  return text_frame(format, std::string{join_ref}, std::string{request_ref}, topic, event,
                    size_hint(payload), value_writer(payload));
}

outbound_frame encode_unsubscribed(wire_format format, std::string_view join_ref,
                                   std::string_view topic) {
  std::string ref{join_ref};
  return text_frame(format, ref, ref, topic, close_event, 2, [](std::string& out) { out += "{}"; });
}

outbound_frame encode_channel_failed(wire_format format, std::string_view join_ref,
                                     std::string_view topic) {
  std::string ref{join_ref};
  return text_frame(format, ref, ref, topic, error_event, 2, [](std::string& out) { out += "{}"; });
}

outbound_frame encode_binary_broadcast(std::string_view topic, std::string_view event,
                                       std::string_view bytes) {
  return binary_frame(binary_broadcast, {topic, event}, bytes);
}

outbound_frame encode_binary_push(std::string_view join_ref, std::string_view topic,
                                  std::string_view event, std::string_view bytes) {
  return binary_frame(binary_push, {join_ref, topic, event}, bytes);
}

outbound_frame encode_binary_reply(const std::optional<std::string>& join_ref,
                                   const std::optional<std::string>& ref, std::string_view topic,
                                   bool ok, std::string_view bytes) {
  return binary_frame(binary_reply,
                      {join_ref.value_or(""), ref.value_or(""), topic, ok ? "ok" : "error"}, bytes);
}

std::string encode_broadcast_tail(std::string_view topic, std::string_view event,
                                  const json::value& payload) {
  std::string tail;
  tail.reserve(topic.size() + event.size() + size_hint(payload) + 8);
  write_json_string(tail, topic);
  tail.push_back(',');
  write_json_string(tail, event);
  tail.push_back(',');
  write_json(tail, payload);
  tail.push_back(']');
  return tail;
}

std::string encode_binary_broadcast_tail(std::string_view topic, std::string_view event,
                                         std::string_view bytes) {
  auto frame = encode_binary_broadcast(topic, event, bytes);
  return std::string{frame.payload()};
}

outbound_frame broadcast_from_tail(wire_format format, std::string_view tail,
                                   const std::optional<std::string>& ref) {
  if (!tail.empty() && tail.front() == static_cast<char>(binary_broadcast))
    return format == wire_format::v2 ? outbound_frame::binary(tail) : outbound_frame{};
  if (format == wire_format::v1) {
    auto parts = split_tail(tail);
    if (!parts)
      return {};
    std::string raw_ref;
    write_ref(raw_ref, ref);
    return v1_from_parts(*parts, raw_ref);
  }
  std::string b;
  b.reserve(outbound_frame::headroom_bytes + tail.size() + 32);
  b.append(outbound_frame::headroom_bytes, '\0');
  b += "[null,";
  write_ref(b, ref);
  b.push_back(',');
  b += tail;
  return outbound_frame::text_with_headroom(std::move(b));
}

std::optional<tail_content> read_tail(std::string_view tail) {
  tail_content content;
  if (!tail.empty() && tail.front() == static_cast<char>(binary_broadcast)) {
    // 02 topicLen eventLen topic event bytes
    if (tail.size() < 3)
      return std::nullopt;
    auto topic_length = static_cast<std::uint8_t>(tail[1]);
    auto event_length = static_cast<std::uint8_t>(tail[2]);
    if (tail.size() < 3u + topic_length + event_length)
      return std::nullopt;
    content.event.assign(tail.substr(3 + topic_length, event_length));
    content.bytes.assign(tail.substr(3u + topic_length + event_length));
    content.is_binary = true;
    return content;
  }
  // The tail is an array without its "[": the parser takes the two pieces, no joined copy.
  json::error_code ec;
  json::stream_parser parser;
  parser.write("[", 1, ec);
  if (!ec)
    parser.write(tail.data(), tail.size(), ec);
  if (!ec)
    parser.finish(ec);
  auto parsed = ec ? json::value{} : parser.release();
  auto* fields = parsed.if_array();
  if (!fields || fields->size() != 3 || !(*fields)[1].is_string())
    return std::nullopt;
  content.event.assign((*fields)[1].get_string());
  content.json = std::move((*fields)[2]);
  return content;
}

outbound_frame convert(const outbound_frame& v2_frame, wire_format format) {
  if (format == wire_format::v2)
    return v2_frame;
  if (v2_frame.is_binary())
    return {};
  // [join_ref,ref,"topic","event",payload]: V1 keeps the ref (a broadcast's offset) and drops
  // the join_ref.
  auto text = v2_frame.payload();
  std::size_t pos = 0;
  if (!expect(text, pos, '['))
    return {};
  if (string_or_null_token(text, pos).empty() || !expect(text, pos, ','))
    return {};
  auto raw_ref = string_or_null_token(text, pos);
  if (raw_ref.empty() || !expect(text, pos, ','))
    return {};
  auto parts = split_tail(text.substr(pos));
  return parts ? v1_from_parts(*parts, raw_ref) : outbound_frame{};
}

} // namespace pulse::transport::phoenix
