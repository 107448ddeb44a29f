// Programs given as one shell command line, as concurrently, honcho and Procfiles take them:
// `pipemux 'npm run api' 'npm run web'`, or `command = "npm run api"` in the config.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "pipemux/program.hpp"

namespace pipemux {

/// The shell that runs command lines, as `/bin/sh -c COMMAND`.
inline constexpr std::string_view command_shell = "/bin/sh";

/// Whether `command_line` is empty or whitespace only (space, \t, \n, \v, \f, \r): `sh -c`
/// would run nothing and exit 0, so it is refused wherever a command line is given.
bool is_blank_command_line(std::string_view command_line) noexcept;

/// A program that runs `command_line` with `/bin/sh -c`, named after what it starts (see
/// default_program_name).
program_spec shell_program(std::string command_line);

/// The name a command line gets when none is given: the basename of the program it starts,
/// past any leading `VAR=value` assignments and `exec` ("FOO=1 exec ./bin/api --port 80" is
/// "api"); "sh" when it starts nothing recognisable ("(cd x && make)"). Like any name, it is
/// escaped where it labels a line.
std::string default_program_name(std::string_view command_line);

/// The basename of argv[0] ("/usr/bin/python3" is "python3"); "program" when there is none.
std::string default_program_name(const std::vector<std::string>& argv);

/// Makes repeated names unique in order: the second "npm" becomes "npm-2", the third "npm-3".
void make_names_unique(std::vector<program_spec>& programs);

}  // namespace pipemux
