#include "pipemux/terminal_style.hpp"

#include <algorithm>
#include <cstdint>

namespace pipemux {
namespace {

// Set and not empty: the no-color.org convention ("NO_COLOR=" turns nothing off).
bool set_and_not_empty(const std::optional<std::string>& value) {
  return value && !value->empty();
}

// Distinct from one another and from red (errors); bright ones after the plain ones.
constexpr std::uint8_t palette[] = {36, 33, 32, 35, 34, 96, 93, 92, 95, 94};

}  // namespace

bool colors_wanted(color_choice choice, bool to_stdout, bool stdout_is_terminal,
                   const environment_reader& getenv) {
  if (choice != color_choice::automatic) return choice == color_choice::always;
  if (!to_stdout) return false;  // a file is read later, perhaps not on a terminal
  if (set_and_not_empty(getenv("NO_COLOR"))) return false;
  const auto force = getenv("FORCE_COLOR");
  if (set_and_not_empty(force) && *force != "0") return true;
  const auto clicolor_force = getenv("CLICOLOR_FORCE");
  if (set_and_not_empty(clicolor_force) && *clicolor_force != "0") return true;
  return stdout_is_terminal && getenv("TERM").value_or("") != "dumb";
}

std::string log_pattern(const log_options& log) {
  if (!log.pattern.empty()) return log.pattern;
  switch (log.timestamps) {
    case timestamp_style::relative:
      return relative_log_pattern;
    case timestamp_style::none:
      return untimed_log_pattern;
    case timestamp_style::absolute:
      break;
  }
  return default_log_pattern;
}

log_style log_style_for(const log_options& log, std::span<const program_spec> programs,
                        bool color) {
  log_style style;
  style.label_width = widest_label(programs);
  style.color = color;
  if (!color) return style;
  std::size_t next = 0;
  for (const auto& spec : programs) {
    const auto asked =
        std::find_if(log.program_colors.begin(), log.program_colors.end(),
                     [&spec](const auto& entry) { return entry.first == spec.name; });
    const std::uint8_t code =
        asked != log.program_colors.end() ? asked->second : palette[next++ % std::size(palette)];
    style.label_colors.emplace_back(spec.name, code);
  }
  return style;
}

ansi_mode ansi_for(const log_options& log, bool color, const environment_reader& getenv) {
  if (log.ansi) return *log.ansi;
  if (color) return ansi_mode::keep;
  // Colour turned off on purpose: a child's colours are not wanted, not even as escapes.
  if (log.color == color_choice::never || set_and_not_empty(getenv("NO_COLOR")))
    return ansi_mode::strip;
  return ansi_mode::escape;  // a file or a pipe gives back every byte
}

void force_color_in_children(const log_options& log, bool color, const environment_reader& getenv,
                             std::vector<std::pair<std::string, std::string>>& environment) {
  if (!color || !log.force_color_children || getenv("FORCE_COLOR")) return;
  if (std::any_of(environment.begin(), environment.end(),
                  [](const auto& variable) { return variable.first == "FORCE_COLOR"; }))
    return;
  environment.emplace_back("FORCE_COLOR", "1");
}

}  // namespace pipemux
