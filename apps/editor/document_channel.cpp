#include "apps/editor/document_channel.hpp"

#include <boost/json.hpp>

#include <string>

namespace pulse::editor {

namespace json = boost::json;

namespace {

constexpr std::string_view event = "yjs";
/// Unanswered step 1s one editor may have (a provider answers each at once).
constexpr std::size_t max_requests_per_editor = 4;
/// Updates kept between two exact counts of the window (with Redis, other nodes' updates show
/// up only then).
constexpr std::size_t rescan_every = 32;

std::string bytes_text(std::size_t bytes) {
  return std::to_string(bytes) + " bytes";
}

} // namespace

void document_channel::on_subscribe(context& ctx) {
  auto name = topic().substr(topic().find(':') + 1); // "doc:" alone matches no pattern
  if (subscriber_count() >= options_.max_editors)
    return ctx.reject("document \"" + name + "\" has " + std::to_string(options_.max_editors)
                      + " editors already, the most it takes");
  ctx.assign("editor", ++editors_joined_);
}

void document_channel::on_unsubscribe(context& ctx) {
  auto editor = editor_of(ctx);
  requests_.erase(editor);
  if (compacting_ && compacting_->editor == editor)
    compacting_.reset(); // the next editor that sends an update is asked instead
  std::vector<std::uint64_t> clients;
  if (auto* owned = ctx.assigns().if_contains("clients"))
    for (auto& id : owned->as_array())
      clients.push_back(id.to_number<std::uint64_t>());
  auto removals = awareness_.leave(editor, clients);
  // Its page may be gone without a word: everyone else drops its cursor now, not in 30 s.
  if (!removals.empty() && options_.relay)
    broadcast(event, binary{encode_awareness(removals)}, {.keep = false});
}

pulse::handlers document_channel::handlers() {
  return {{"yjs_sync", &document_channel::on_sync}, {"yjs", &document_channel::on_message}};
}

std::uint64_t document_channel::editor_of(context& ctx) const {
  auto* editor = ctx.assigns().if_contains("editor");
  return editor ? editor->to_number<std::uint64_t>() : 0;
}

void document_channel::on_sync(context& ctx, const binary& bytes) {
  try {
    auto message = y_message::parse(bytes.view());
    if (message.kind != y_message_kind::sync_step1)
      throw reply_error("yjs_sync expects a sync step 1 (0, 0, state vector)");
    answer_sync(ctx, message.body);
  } catch (const y_protocol_error& e) {
    throw reply_error(std::string{"not a y-protocols message: "} + e.what());
  }
}

void document_channel::on_message(context& ctx, const binary& bytes) {
  y_message message{};
  try {
    message = y_message::parse(bytes.view());
    switch (message.kind) {
      case y_message_kind::sync_step1: return answer_sync(ctx, message.body);
      case y_message_kind::sync_step2: return on_state(ctx, message, bytes);
      case y_message_kind::sync_update: return on_update(ctx, bytes);
      case y_message_kind::awareness: return on_awareness(ctx, message, bytes);
      case y_message_kind::query_awareness:
        if (auto present = awareness_.present(); !present.empty())
          ctx.send(event, binary{encode_awareness(present)});
        return;
    }
  } catch (const y_protocol_error& e) {
    throw reply_error(std::string{"not a y-protocols message: "} + e.what());
  }
}

std::vector<binary> document_channel::entries_now(std::size_t& first_needed) {
  auto entries = recent_bytes(event, options_.history_updates);
  first_needed = log_.rescan(entries);
  return entries;
}

void document_channel::answer_sync(context& ctx, std::string_view state_vector) {
  // Every kept update since the last state, then "synced", then who is here: all before
  // anything relayed later, since a channel's sends to one client keep their order.
  std::size_t first = 0;
  auto entries = entries_now(first);
  for (auto i = first; i < entries.size(); ++i)
    ctx.send(event, entries[i]);
  ctx.send(event, binary{encode_sync_step2_empty()});
  auto present = awareness_.present();
  if (!present.empty())
    ctx.send(event, binary{encode_awareness(present)});
  ctx.assign("synced", true);
  ask_for_state(ctx, entries.empty() ? binary{} : entries.back(),
                is_empty_state_vector(state_vector) ? asked_for::nothing_new
                                                    : asked_for::own_edits);
}

void document_channel::ask_for_state(context& ctx, binary covered, asked_for reason) {
  auto& pending = requests_[editor_of(ctx)];
  if (pending.size() >= max_requests_per_editor)
    return;
  pending.push_back({std::move(covered), reason});
  ctx.send(event, binary{encode_sync_step1_empty()});
}

void document_channel::compact(context& ctx) {
  if (!ctx.assigns().contains("synced"))
    return; // it may lack part of the document yet
  auto now = std::chrono::steady_clock::now();
  if (compacting_ && now - compacting_->since < options_.state_timeout)
    return;
  auto newest = recent_bytes(event, 1);
  if (newest.empty())
    return;
  compacting_ = compaction_request{editor_of(ctx), now};
  ask_for_state(ctx, std::move(newest.back()), asked_for::compaction);
}

void document_channel::refuse_update(context& ctx, const std::string& reason) {
  // What was refused stays in the editor's document and comes back inside its next state, which
  // is kept whatever it was asked for: an answer on its way now was made after this update.
  auto& pending = requests_[editor_of(ctx)];
  for (auto& request : pending)
    if (request.reason == asked_for::nothing_new)
      request.reason = asked_for::own_edits;
  if (pending.empty() && ctx.assigns().contains("synced")) {
    auto newest = recent_bytes(event, 1);
    if (!newest.empty())
      ask_for_state(ctx, std::move(newest.back()), asked_for::own_edits);
  }
  throw reply_error(reason);
}

void document_channel::on_update(context& ctx, const binary& bytes) {
  if (bytes.size() > options_.max_update_bytes)
    throw reply_error("an update may take " + bytes_text(options_.max_update_bytes)
                      + "; this one takes " + bytes_text(bytes.size()));
  if (!options_.relay)
    return;
  auto history = options_.history_updates;
  auto fits = [&] {
    return log_.window_count() + 1 <= history / 2
           && log_.window_bytes() + bytes.size() <= options_.max_document_bytes;
  };
  if (log_.kept_since_rescan() >= rescan_every || !fits()) {
    std::size_t first = 0;
    entries_now(first);
  }
  if (log_.window_count() + 1 > history / 2)
    refuse_update(ctx, "document \"" + topic() + "\" has " + std::to_string(history / 2)
                         + " updates since its last state, the most it keeps: waiting for an "
                           "editor's state");
  if (log_.window_bytes() + bytes.size() > options_.max_document_bytes)
    refuse_update(ctx, "document \"" + topic() + "\" would take more than "
                         + bytes_text(options_.max_document_bytes));
  broadcast_from(ctx, event, bytes);
  log_.kept(bytes.size());
  if (log_.window_count() >= history / 4)
    compact(ctx);
}

void document_channel::on_state(context& ctx, const y_message& message, const binary& bytes) {
  auto pending = requests_.find(editor_of(ctx));
  if (pending == requests_.end() || pending->second.empty())
    return on_update(ctx, binary{as_update_message(message)}); // unasked: an update like any
  auto request = std::move(pending->second.front());
  pending->second.pop_front();
  if (request.reason == asked_for::compaction && compacting_
      && compacting_->editor == editor_of(ctx))
    compacting_.reset();
  if (!options_.relay)
    return;
  if (is_empty_update(message.body)) {
    // An empty document: nothing kept up to `covered` holds anything.
    log_.add_snapshot(std::move(request.covered), {});
    std::size_t first = 0;
    entries_now(first);
    return;
  }
  auto history = options_.history_updates;
  if (request.reason == asked_for::nothing_new && log_.window_count() < history / 4)
    return; // what it has came from here, and no compaction is due
  if (bytes.size() > options_.max_document_bytes)
    throw reply_error("document \"" + topic() + "\" would take more than "
                      + bytes_text(options_.max_document_bytes) + ": its state alone takes "
                      + bytes_text(bytes.size()));
  auto update = binary{as_update_message(message)};
  auto entries = recent_bytes(event, history);
  auto first = document_log::after(entries, request.covered);
  if (document_log::holds(entries, update, first)) {
    // The same state is kept after `covered` already (nothing changed since): it is the
    // snapshot, and a second copy would only lengthen the log.
    log_.add_snapshot(std::move(request.covered), update);
    log_.rescan(entries);
    compacting_.reset();
    return;
  }
  auto needed_bytes = update.size();
  for (auto i = first; i < entries.size(); ++i)
    needed_bytes += entries[i].size();
  if (entries.size() - first + 1 > history * 3 / 4) {
    // So much was kept meanwhile that this state could not let enough age out: asked again,
    // the editor answers from where the log is now.
    if (request.reason != asked_for::nothing_new && !entries.empty())
      ask_for_state(ctx, entries.back(), request.reason);
    throw reply_error("document \"" + topic()
                      + "\" changed too much while this state was on "
                        "its way: asked again");
  }
  if (needed_bytes > options_.max_document_bytes)
    throw reply_error("document \"" + topic() + "\" would take more than "
                      + bytes_text(options_.max_document_bytes));
  broadcast_from(ctx, event, update); // may hold offline edits the others lack
  log_.add_snapshot(std::move(request.covered), update);
  entries_now(first);
  compacting_.reset();
}

void document_channel::on_awareness(context& ctx, const y_message& message, const binary& bytes) {
  if (bytes.size() > options_.max_awareness_bytes)
    throw reply_error("an awareness message may take " + bytes_text(options_.max_awareness_bytes)
                      + "; this one takes " + bytes_text(bytes.size()));
  auto entries = parse_awareness(message.body);
  auto count = entries.size();
  auto editor = editor_of(ctx);
  auto first = !ctx.assigns().contains("clients");
  auto kept = awareness_.accept(editor, first, std::move(entries));
  if (first) {
    json::array clients;
    for (auto id : awareness_.clients_of(editor))
      clients.emplace_back(id);
    ctx.assign("clients", std::move(clients));
  }
  if (kept.empty() || !options_.relay)
    return;
  // Never kept: a cursor matters only now.
  if (kept.size() == count)
    broadcast_from(ctx, event, bytes, {.keep = false});
  else
    broadcast_from(ctx, event, binary{encode_awareness(kept)}, {.keep = false});
}

void install(server& server, editor_options options) {
  server.channel<document_channel>("doc:*", options)
    .history(options.history_updates)
    .linger(options.linger);
}

} // namespace pulse::editor
