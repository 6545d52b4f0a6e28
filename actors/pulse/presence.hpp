// Who is here, per topic, in Phoenix.Presence's model: each key (a user, say) has a list of metas,
// one per tracking connection (two tabs: two metas), each with a unique "phx_ref". Changes come out
// as diffs, {"joins": {...}, "leaves": {...}}, in the wire shape the official client's Presence
// helper reads. A pure table: the channel actor owns one and broadcasts what it returns.
#pragma once

#include <boost/json/object.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pulse {

class presence_table {
 public:
  /// `ref_prefix` makes this table's phx_refs unique beyond it (per actor, per node).
  explicit presence_table(std::string ref_prefix) : ref_prefix_(std::move(ref_prefix)) {}

  /// `owner` (a connection) is present under `key` with `meta`. Tracking a key the owner already
  /// tracks is an update. Returns the diff.
  boost::json::object track(std::uint64_t owner, std::string_view key, boost::json::object meta);

  /// Replaces the owner's meta under `key`: a diff with the old meta leaving and the new one
  /// joining (with "phx_ref_prev"). Nothing (and no diff) when the owner does not track `key`.
  std::optional<boost::json::object> update(std::uint64_t owner, std::string_view key,
                                            boost::json::object meta);

  /// The owner leaves `key`; nothing when it was not there.
  std::optional<boost::json::object> untrack(std::uint64_t owner, std::string_view key);

  /// The owner leaves every key (it unsubscribed or vanished); nothing when it tracked none.
  std::optional<boost::json::object> untrack_all(std::uint64_t owner);

  /// Everyone, as a presence_state payload: {key: {"metas": [...]}}.
  boost::json::object list() const;

  bool empty() const noexcept { return entries_.empty(); }

 private:
  struct entry {
    std::uint64_t owner;
    boost::json::object meta; // with its phx_ref
  };

  std::string next_ref();

  std::string ref_prefix_;
  std::uint64_t next_ref_ = 0;
  std::map<std::string, std::vector<entry>, std::less<>> entries_; // key -> one entry per owner
};

/// Who is present through the other nodes of a topic (scale-out), as the diffs and lists their
/// channel actors share. Every meta's phx_ref starts with its incarnation (the channel actor that
/// tracked it, "<incarnation>:<n>"), so a node that is gone takes exactly its own metas along.
class remote_presence {
 public:
  /// Applies a presence_diff as the official client does (joins, then leaves by phx_ref);
  /// returns the incarnations it heard of.
  std::vector<std::string> apply(const boost::json::object& diff);

  /// Sets everything `incarnation` has, from its presence list (what it stored in Redis).
  void replace(std::string_view incarnation, const boost::json::object& list);

  /// Forgets `incarnation`'s metas; the presence_diff that says so, or nothing when it had none.
  std::optional<boost::json::object> drop(std::string_view incarnation);

  /// Adds everyone here to `list`, a presence_state payload.
  void merge_into(boost::json::object& list) const;

  /// "abc" for the phx_ref "abc:3".
  static std::string_view incarnation_of(const boost::json::object& meta);

 private:
  std::map<std::string, std::vector<boost::json::object>, std::less<>> metas_;
};

} // namespace pulse
