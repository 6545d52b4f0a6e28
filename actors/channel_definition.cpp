#include "actors/channel_definition.hpp"

#include <stdexcept>

namespace pulse {

void definition_table::add(std::shared_ptr<channel_definition> definition) {
  std::unique_lock guard{mutex_};
  for (auto& existing : definitions_)
    if (existing->pattern.text() == definition->pattern.text())
      throw std::invalid_argument("channel \"" + existing->pattern.text()
                                  + "\" is already defined");
  definitions_.push_back(std::move(definition));
}

std::shared_ptr<channel_definition> definition_table::find(std::string_view topic) const {
  std::shared_lock guard{mutex_};
  std::shared_ptr<channel_definition> best;
  for (auto& definition : definitions_)
    if (definition->pattern.matches(topic)
        && (!best || definition->pattern.specificity() > best->pattern.specificity()))
      best = definition;
  return best;
}

std::vector<std::shared_ptr<channel_definition>> definition_table::all() const {
  std::shared_lock guard{mutex_};
  return definitions_;
}

channel_types channel_definition::types() const {
  auto types = class_types.value_or(channel_types{});
  auto current = settings();
  for (auto& entry : current->handlers) {
    auto& signature = entry.fn.types();
    // A lambda for the same event as the class replaces the class's handler.
    std::erase_if(types.in, [&](const channel_types::event& e) { return e.name == entry.event; });
    types.in.push_back({entry.event, signature.in, signature.reply});
  }
  for (auto& emitted : current->emits) {
    std::erase_if(types.out, [&](const channel_types::event& e) { return e.name == emitted.name; });
    types.out.push_back(emitted);
  }
  return types;
}

} // namespace pulse
