#include <pulse/lean_actor.hpp>

#include <caf/actor_system.hpp>
#include <caf/detail/sync_request_bouncer.hpp>
#include <caf/execution_unit.hpp>
#include <caf/exit_reason.hpp>
#include <caf/make_message.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>
#include <caf/sec.hpp>
#include <caf/system_messages.hpp>

namespace pulse {

lean_actor::lean_actor(caf::actor_config& config) : caf::local_actor(config) {}

lean_actor::~lean_actor() = default;

void lean_actor::enqueue(caf::mailbox_element_ptr element, caf::execution_unit* host) {
  auto id = element->mid;
  auto sender = element->sender;
  switch (inbox_.push_front(std::move(element))) {
    case caf::intrusive::inbox_result::unblocked_reader:
      // The scheduler holds a reference while the actor waits for its turn.
      intrusive_ptr_add_ref(ctrl());
      if (host != nullptr)
        host->exec_later(this);
      else
        home_system().scheduler().enqueue(this);
      break;
    case caf::intrusive::inbox_result::queue_closed:
      if (id.is_request())
        caf::detail::sync_request_bouncer{fail_state()}(sender, id);
      break;
    case caf::intrusive::inbox_result::success: break; // it runs, or is about to
  }
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
