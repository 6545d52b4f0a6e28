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

} // namespace pulse
