// A CAF actor with a mailbox and nothing else: what a connection needs and no more.
//
// An event_based_actor carries a behavior stack, four mailbox queues for streams and priorities,
// request/response bookkeeping, timeouts and stream managers: 1 KB per actor and, per message, an
// activation that walks all of them. A connection uses none of it; there are tens of thousands of
// them, and every broadcast activates each. A lean_actor is scheduled on the same workers and is
// a full actor to everyone else (an address, monitors, links, exit), but its mailbox is one FIFO
// and each message goes straight to handle().
#pragma once

#include <caf/actor_config.hpp>
#include <caf/intrusive/lifo_inbox.hpp>
#include <caf/local_actor.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/policy/normal_messages.hpp>
#include <caf/resumable.hpp>

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace pulse {

class wake_list;

class lean_actor : public caf::local_actor, public caf::resumable {
 public:
  using behavior_type = caf::behavior; // spawn() hands out a caf::actor

  explicit lean_actor(caf::actor_config& config);
  ~lean_actor() override;

  // -- caf::abstract_actor, caf::local_actor ---------------------------------------------------

  void enqueue(caf::mailbox_element_ptr element, caf::execution_unit* host) override;
  void launch(caf::execution_unit* host, bool lazy, bool hide) override;
  bool cleanup(caf::error&& reason, caf::execution_unit* host) override;

  /// Enqueues `element` as enqueue() does, but where that wakes the actor, the actor joins
  /// `woken` instead of the scheduler's queue: the sender schedules everyone it woke at once.
  void enqueue(caf::mailbox_element_ptr element, wake_list& woken);

  // -- ahead of a run ----------------------------------------------------------------------------
  //
  // A sweep over thousands of actors (a flush to every subscriber) finds each one cold: the
  // kernel's send path between two runs evicts them. Asked for ahead of time, their cache lines
  // arrive while the actor before is still running, instead of stalling each run in turn.

  /// Asks for the actor's first cache lines: its control block, the lean_actor (vtables,
  /// mailbox) and the first members of the class that derives. Reads nothing: it never stalls.
  void prefetch() const noexcept;

  /// Asks for what the next run reaches beyond those lines (a connection: its other members and
  /// its socket). Called one actor ahead of the run, after prefetch() further ahead, so that the
  /// pointers it reads are in cache.
  virtual void prefetch_reachable() const noexcept {}

  /// Asks for every cache line of [at, at + bytes). Reads nothing.
  static void prefetch_lines(const void* at, std::size_t bytes) noexcept {
    constexpr std::uintptr_t line = 64;
    auto first = reinterpret_cast<std::uintptr_t>(at) & ~(line - 1);
    auto end = reinterpret_cast<std::uintptr_t>(at) + bytes;
    for (auto address = first; address < end; address += line)
      __builtin_prefetch(reinterpret_cast<const void*>(address));
  }

  // -- caf::resumable ----------------------------------------------------------------------------

  subtype_t subtype() const override;
  resume_result resume(caf::execution_unit* host, std::size_t max_throughput) override;
  void intrusive_ptr_add_ref_impl() override;
  void intrusive_ptr_release_impl() override;

 protected:
  /// One message, in the order they arrived (`content` may be shared with other recipients: read
  /// it through get_as, or get_mutable_as where it is the actor's alone). A down_msg comes here
  /// too; an exit_msg does not: one with an error ends the actor, a normal one is ignored, as an
  /// event_based_actor does by default.
  virtual void handle(caf::type_erased_tuple& content) = 0;

  /// Ends the actor once the message being handled is done: on_exit(), then monitors fire.
  void quit(caf::error reason = caf::error{});

  /// Whether another message is already waiting.
  bool more_messages() const noexcept;

  /// Sends `xs...` to `to` as this actor.
  template<class Handle, class... Ts>
  void send(const Handle& to, Ts&&... xs) {
    if (to)
      to->enqueue(caf::make_mailbox_element(ctrl(), caf::make_message_id(), {},
                                            std::forward<Ts>(xs)...),
                  context());
  }

 private:
  using inbox = caf::intrusive::lifo_inbox<caf::policy::normal_messages>;

  /// Moves what the inbox holds into `next_` (empty until then), oldest first.
  void fetch_more();
  void dispatch(caf::mailbox_element& element);
  void drop_mailbox(const caf::error& reason);

  /// Pushes `element`; true when that woke the actor (the caller then owes it a run).
  bool push(caf::mailbox_element_ptr element);

  inbox inbox_;
  caf::mailbox_element* next_ = nullptr; // taken from the inbox, not handled yet (oldest first)
  bool quitting_ = false;
};

/// The lean actors that one sender's burst of messages woke (a channel's flush to its
/// subscribers), put on the scheduler together: one job per worker at most, each running its share
/// of the actors in turn, instead of one scheduler job per actor. The scheduler's queue, its lock
/// and its worker loop are then paid per share rather than per subscriber, and the shares still
/// spread one topic's writes over every worker.
class wake_list {
 public:
  wake_list() = default;
  wake_list(const wake_list&) = delete;
  wake_list& operator=(const wake_list&) = delete;
  ~wake_list(); // schedules whoever is still waiting

  /// Hands the woken actors to the scheduler; the list is empty afterwards. `host`: the calling
  /// actor's execution unit (or nullptr).
  void schedule(caf::execution_unit* host);

 private:
  friend class lean_actor;

  /// Each holds the reference the scheduler keeps while an actor waits for its turn.
  std::vector<lean_actor*> woken_;
};

} // namespace pulse
