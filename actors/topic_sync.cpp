#include <pulse/topic_sync.hpp>

#include <algorithm>

namespace pulse {

// ---- receiving ---------------------------------------------------------------------------------

void topic_sync::on_loaded(loaded result) {
  if (!synced_ || result.epoch != epoch_ || !result.since) {
    // A start: the topic's first load, or Redis's history is no longer the one this node
    // followed (Redis lost its data, or a failover lost what some node had seen: a new epoch).
    // The channel starts over from Redis's history; its subscribers hear of the reset there.
    messages::history_loaded fresh{result.epoch, result.offset, {}, std::move(result.presences)};
    for (auto& e : result.entries)
      fresh.entries.push_back({e.offset, e.age, std::move(e.tail)});
    if (synced_) // what Redis took under the old epoch is gone with it
      std::erase_if(outbox_, [](const outgoing& out) { return out.at == state::acked; });
    origin_.clear();
    if (!result.entries.empty() && result.entries.back().offset == result.offset)
      origin_ = result.entries.back().origin + " " + std::to_string(result.entries.back().n);
    epoch_ = std::move(result.epoch);
    count_ = result.count;
    offset_ = result.offset;
    synced_ = true;
    effects_.emplace_back(std::move(fresh));
  } else {
    // The same history: what this node missed, from the stream, in order.
    for (auto& e : result.entries)
      if (e.count > count_)
        deliver(std::move(e));
    if (keep_ == 0 && result.count > count_) {
      // Nothing is kept: this node's own broadcasts that Redis took meanwhile come from the
      // outbox; anyone else's are lost here.
      std::vector<outgoing*> own;
      for (auto& out : outbox_)
        if (out.at == state::acked && out.count > count_ && out.count <= result.count)
          own.push_back(&out);
      if (result.count - count_ > own.size())
        gap(0);
      for (auto* out : own)
        effects_.emplace_back(messages::remote_broadcast{0, true, out->broadcast.except,
                                                         std::move(out->broadcast.tail)});
    }
    if (result.offset > offset_) { // kept ones that the stream no longer holds
      gap(result.offset);
      offset_ = result.offset;
      origin_.clear();
    }
    count_ = std::max(count_, result.count);
  }
  if (std::exchange(missed_, false))
    gap(offset_);
  given_up_.clear(); // anything of them that Redis took was in what came just now
  phase_ = phase::live;
  alone_ = false;
  needs_fill_ = filling_ = false;
  prune();
  drain_early(false);
}

void topic_sync::on_message(entry e) {
  if (phase_ == phase::unsubscribed)
    return; // a leftover of a subscription that ended: the next load brings it
  if (phase_ != phase::live) {
    // Heard between the subscription and the load's answer: sorted out once loaded.
    if (early_.size() < max_early)
      early_.try_emplace(e.count, std::move(e));
    return;
  }
  accept(std::move(e));
}

void topic_sync::accept(entry e) {
  if (e.count <= count_)
    return echo(e); // delivered already (from the stream, say)
  early_.try_emplace(e.count, std::move(e));
  drain_early(early_.size() >= max_early);
}

void topic_sync::drain_early(bool force) {
  // Bounded: each round delivers or drops one entry, or returns.
  while (!early_.empty()) {
    auto it = early_.begin();
    if (it->first <= count_) {
      echo(it->second);
      early_.erase(it);
      continue;
    }
    bool next = it->first == count_ + 1;
    // Kept broadcasts may be missing before it (unless it is kept and follows the last kept
    // one): read them from the stream first.
    bool follows = it->second.offset > 0 && it->second.offset == offset_ + 1;
    if (!next && !force && keep_ > 0 && !follows) {
      if (!filling_)
        needs_fill_ = true;
      return;
    }
    auto e = std::move(it->second);
    early_.erase(it);
    deliver(std::move(e));
  }
}

std::optional<std::uint64_t> topic_sync::wants_fill() {
  if (!needs_fill_ || filling_ || phase_ != phase::live)
    return std::nullopt;
  needs_fill_ = false;
  filling_ = true;
  return offset_;
}

void topic_sync::on_fetched(std::optional<std::vector<entry>> entries) {
  filling_ = false;
  if (phase_ != phase::live)
    return; // the subscription dropped meanwhile: the next load catches up
  if (entries)
    for (auto& e : *entries)
      if (e.count > count_)
        early_.try_emplace(e.count, std::move(e));
  // The stream was read: whatever is still missing is lost, and said so.
  drain_early(true);
}

void topic_sync::deliver(entry e) {
  bool missing = keep_ == 0 ? e.count != count_ + 1 : e.offset > 0 && e.offset != offset_ + 1;
  if (missing)
    gap(e.offset > 0 ? e.offset - 1 : offset_);
  count_ = e.count;
  if (e.offset > 0) {
    offset_ = e.offset;
    origin_ = e.origin + " " + std::to_string(e.n);
  }
  bool own = e.origin == node_;
  if (own) {
    echo(e);
    if (given_up_.erase(e.n) > 0)
      return prune(); // this node's subscribers had it while it served alone
  }
  effects_.emplace_back(
    messages::remote_broadcast{e.offset, own, own ? e.except : 0, std::move(e.tail)});
  prune();
}

void topic_sync::echo(const entry& e) {
  if (e.origin != node_)
    return;
  auto it = std::lower_bound(outbox_.begin(), outbox_.end(), e.n,
                             [](const outgoing& out, std::uint64_t n) { return out.n < n; });
  if (it != outbox_.end() && it->n == e.n)
    outbox_.erase(it);
}

void topic_sync::prune() {
  // Own broadcasts that Redis took and whose place has passed came back some other way (or, not
  // kept, were lost while this node did not listen): nothing to wait for.
  std::erase_if(outbox_, [this](const outgoing& out) {
    return out.at == state::acked && out.count <= count_;
  });
}

void topic_sync::gap(std::uint64_t at) {
  // One notice covers what went missing since the last broadcast delivered.
  if (!effects_.empty() && std::holds_alternative<messages::stream_gap>(effects_.back())) {
    std::get<messages::stream_gap>(effects_.back()).offset = at;
    return;
  }
  effects_.emplace_back(messages::stream_gap{keep_ > 0 ? epoch_ : std::string{}, at});
}

// ---- publishing --------------------------------------------------------------------------------

void topic_sync::publish(std::vector<messages::shared_broadcast> broadcasts,
                         clock::time_point now) {
  if (alone_) {
    for (auto& b : broadcasts)
      effects_.emplace_back(std::move(b));
    return;
  }
  for (auto& b : broadcasts)
    outbox_.push_back({next_n_++, std::move(b), state::unsent, 0, now});
  auto waiting = std::count_if(outbox_.begin(), outbox_.end(),
                               [](const outgoing& out) { return out.at != state::acked; });
  if (static_cast<std::size_t>(waiting) > max_held_)
    give_up(now, std::chrono::milliseconds{0}); // the bound: serve alone
}

std::optional<topic_sync::batch> topic_sync::take_batch() {
  if (phase_ != phase::live || sending_ || alone_)
    return std::nullopt;
  batch next;
  for (auto& out : outbox_) {
    if (out.at != state::unsent)
      continue;
    if (next.broadcasts.empty())
      next.first_n = out.n;
    else if (out.n != next.first_n + next.broadcasts.size() || next.broadcasts.size() >= max_batch)
      break; // consecutive numbers only: Redis applies each node's in order
    out.at = state::sent;
    next.broadcasts.push_back(out.broadcast);
  }
  if (next.broadcasts.empty())
    return std::nullopt;
  sending_ = true;
  return next;
}

bool topic_sync::has_unsent() const noexcept {
  return std::any_of(outbox_.begin(), outbox_.end(),
                     [](const outgoing& out) { return out.at == state::unsent; });
}

void topic_sync::on_published(
  std::uint64_t first_n,
  std::optional<std::vector<std::pair<std::uint64_t, std::uint64_t>>> numbers) {
  sending_ = false;
  for (auto& out : outbox_) {
    if (out.n < first_n || out.at != state::sent)
      continue;
    auto i = out.n - first_n;
    if (!numbers || i >= numbers->size()) {
      out.at = state::unsent; // perhaps taken, perhaps not: sent again, and applied once
      continue;
    }
    out.at = state::acked;
    out.count = (*numbers)[i].first; // 0: taken before, by a send whose answer was lost
  }
  prune();
}

void topic_sync::give_up(clock::time_point now, std::chrono::milliseconds hold, bool all) {
  bool stale = std::any_of(outbox_.begin(), outbox_.end(), [&](const outgoing& out) {
    return out.at != state::acked && now - out.since >= hold;
  });
  if (!stale && !all)
    return;
  // In order, so that this node's subscribers get them as they were published.
  std::deque<outgoing> kept;
  for (auto& out : outbox_) {
    if (out.at == state::acked && !all) {
      kept.push_back(std::move(out)); // Redis has it: it comes back
      continue;
    }
    given_up_.insert(out.n);
    effects_.emplace_back(std::move(out.broadcast));
  }
  outbox_ = std::move(kept);
  if (!all && phase_ != phase::live) {
    alone_ = true;  // what follows goes straight to this node's subscribers
    missed_ = true; // and so did what other nodes held: a gap, once live again
  }
}

} // namespace pulse
