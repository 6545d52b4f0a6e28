#include <pulse/lean_actor.hpp>

#include <caf/actor_control_block.hpp>
#include <caf/actor_system.hpp>
#include <caf/detail/sync_request_bouncer.hpp>
#include <caf/execution_unit.hpp>
#include <caf/exit_reason.hpp>
#include <caf/make_message.hpp>
#include <caf/ref_counted.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>
#include <caf/sec.hpp>
#include <caf/system_messages.hpp>

#include <algorithm>

namespace pulse {

namespace {

/// A share of a wake_list: runs each actor as a scheduler worker would, one after the other.
class wake_job final : public caf::ref_counted, public caf::resumable {
 public:
  explicit wake_job(std::vector<lean_actor*> actors) : actors_(std::move(actors)) {}

  ~wake_job() override {
    // Dropped unrun (the scheduler stopped): the references it held go with it.
    for (auto* actor : actors_)
      intrusive_ptr_release(static_cast<caf::resumable*>(actor));
  }

  subtype_t subtype() const override { return unspecified; }

  resume_result resume(caf::execution_unit* host, std::size_t max_throughput) override {
    // Two actors ahead, the actor's own lines; one ahead, what it reaches through them.
    auto count = actors_.size();
    for (std::size_t i = 0; i < count; ++i) {
      if (i + 2 < count)
        actors_[i + 2]->prefetch();
      if (i + 1 < count)
        actors_[i + 1]->prefetch_reachable();
      auto* actor = actors_[i];
      switch (actor->resume(host, max_throughput)) {
        case resume_later: host->exec_later(actor); break; // keeps its reference
        default: intrusive_ptr_release(static_cast<caf::resumable*>(actor)); break;
      }
    }
    actors_.clear();
    return done;
  }

  void intrusive_ptr_add_ref_impl() override { ref(); }
  void intrusive_ptr_release_impl() override { deref(); }

 private:
  std::vector<lean_actor*> actors_;
};

} // namespace

wake_list::~wake_list() {
  schedule(nullptr);
}

void wake_list::schedule(caf::execution_unit* host) {
  if (woken_.empty())
    return;
  auto& scheduler = woken_.front()->home_system().scheduler();
  auto run = [&](caf::resumable* job) {
    if (host != nullptr)
      host->exec_later(job);
    else
      scheduler.enqueue(job);
  };
  if (woken_.size() == 1) {
    run(woken_.front());
    woken_.clear();
    return;
  }
  // A share per worker, but none so small that the job costs more than the scheduling it saves.
  constexpr std::size_t smallest_share = 32;
  auto shares = std::clamp<std::size_t>(woken_.size() / smallest_share, 1, scheduler.num_workers());
  auto per_share = (woken_.size() + shares - 1) / shares;
  for (std::size_t first = 0; first < woken_.size(); first += per_share) {
    auto last = std::min(first + per_share, woken_.size());
    run(new wake_job({woken_.begin() + static_cast<std::ptrdiff_t>(first),
                      woken_.begin() + static_cast<std::ptrdiff_t>(last)}));
  }
  woken_.clear();
}

lean_actor::lean_actor(caf::actor_config& config) : caf::local_actor(config) {}

void lean_actor::prefetch() const noexcept {
  // The control block fills the cache line before the actor (caf::actor_storage); one line more
  // holds the first members of the class that derives.
  prefetch_lines(caf::actor_control_block::from(this),
                 CAF_CACHE_LINE_SIZE + sizeof(lean_actor) + CAF_CACHE_LINE_SIZE);
}

lean_actor::~lean_actor() = default;

void lean_actor::enqueue(caf::mailbox_element_ptr element, caf::execution_unit* host) {
  if (!push(std::move(element)))
    return;
  if (host != nullptr)
    host->exec_later(this);
  else
    home_system().scheduler().enqueue(this);
}

void lean_actor::enqueue(caf::mailbox_element_ptr element, wake_list& woken) {
  if (push(std::move(element)))
    woken.woken_.push_back(this);
}

bool lean_actor::push(caf::mailbox_element_ptr element) {
  auto id = element->mid;
  auto sender = element->sender;
  switch (inbox_.push_front(std::move(element))) {
    case caf::intrusive::inbox_result::unblocked_reader:
      // The scheduler holds a reference while the actor waits for its turn.
      intrusive_ptr_add_ref(ctrl());
      return true;
    case caf::intrusive::inbox_result::queue_closed:
      if (id.is_request())
        caf::detail::sync_request_bouncer{fail_state()}(sender, id);
      return false;
    case caf::intrusive::inbox_result::success: return false; // it runs, or is about to
  }
  return false;
}

void lean_actor::launch(caf::execution_unit* host, bool lazy, bool hide) {
  if (!hide)
    register_at_system();
  if (lazy && inbox_.try_block())
    return; // scheduled by its first message
  intrusive_ptr_add_ref(ctrl());
  host->exec_later(this);
}

bool lean_actor::cleanup(caf::error&& reason, caf::execution_unit* host) {
  drop_mailbox(reason);
  return caf::local_actor::cleanup(std::move(reason), host);
}

caf::resumable::subtype_t lean_actor::subtype() const {
  // Not `scheduled_actor`: CAF casts those to caf::scheduled_actor when it stops.
  return caf::resumable::unspecified;
}

void lean_actor::intrusive_ptr_add_ref_impl() {
  intrusive_ptr_add_ref(ctrl());
}

void lean_actor::intrusive_ptr_release_impl() {
  intrusive_ptr_release(ctrl());
}

caf::resumable::resume_result lean_actor::resume(caf::execution_unit* host,
                                                 std::size_t max_throughput) {
  if (getf(is_cleaned_up_flag))
    return resumable::done;
  context(host);
  std::size_t handled = 0;
  while (handled < max_throughput) {
    if (next_ == nullptr) {
      fetch_more();
      if (next_ == nullptr) {
        if (inbox_.try_block())
          return resumable::awaiting_message;
        continue; // a message came in between: take it
      }
    }
    caf::mailbox_element_ptr element{next_};
    next_ = static_cast<caf::mailbox_element*>(std::exchange(element->next, nullptr));
    dispatch(*element);
    ++handled;
    if (quitting_) {
      current_mailbox_element(nullptr);
      element.reset();
      on_exit();
      cleanup(std::move(fail_state_), host);
      return resumable::done;
    }
  }
  if (next_ == nullptr && inbox_.try_block())
    return resumable::awaiting_message;
  return resumable::resume_later;
}

void lean_actor::quit(caf::error reason) {
  if (quitting_)
    return;
  quitting_ = true;
  fail_state_ = std::move(reason);
}

bool lean_actor::more_messages() const noexcept {
  return next_ != nullptr || !inbox_.empty();
}

void lean_actor::fetch_more() {
  // The inbox is a stack, newest first: reversed, it is the arrival order.
  auto* element = inbox_.take_head();
  while (element != nullptr) {
    auto* older = static_cast<caf::mailbox_element*>(element->next);
    element->next = next_;
    next_ = element;
    element = older;
  }
}

void lean_actor::dispatch(caf::mailbox_element& element) {
  current_mailbox_element(&element);
  auto& content = element.content();
  if (content.match_elements<caf::exit_msg>()) {
    // As an event_based_actor does by default: linked to something that failed, or killed.
    auto& exit = content.get_as<caf::exit_msg>(0);
    if (exit.reason)
      quit(exit.reason);
  } else {
    handle(content);
  }
  if (element.mid.is_request() && element.sender) // it answers none: the sender hears so at once
    element.sender->enqueue(ctrl(), element.mid.response_id(),
                            caf::make_message(caf::make_error(caf::sec::unexpected_message)),
                            context());
  current_mailbox_element(nullptr);
}

void lean_actor::drop_mailbox(const caf::error& reason) {
  if (inbox_.closed())
    return;
  caf::detail::sync_request_bouncer bounce{reason};
  while (next_ != nullptr) {
    caf::mailbox_element_ptr element{next_};
    next_ = static_cast<caf::mailbox_element*>(std::exchange(element->next, nullptr));
    bounce(*element);
  }
  auto drop = [&bounce](caf::mailbox_element* element) {
    caf::mailbox_element_ptr owned{element};
    bounce(*owned);
  };
  inbox_.close(drop);
}

} // namespace pulse
