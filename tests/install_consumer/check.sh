#!/usr/bin/env bash
# Installs the build into a scratch prefix, then builds tests/install_consumer against it
# twice: with find_package(pipemux), and with pkg-config. Both must run and print the child.
# Then every ```cpp block of README.md, each a whole program, is compiled and linked against
# it; all with -Wall -Wextra -Werror.
set -euo pipefail
# Output is matched with here-strings, not `echo | grep -q`: grep -q exits at its first match,
# and under pipefail an echo still writing then dies of SIGPIPE and fails the check.
build_dir=$1
here=$(cd "$(dirname "$0")" && pwd)
# A directory of this run's own, beside $2: two suites may run at once on one build (CI under
# load), and one's `rm -rf` must not pull the other's half-built consumer away. Kept when a
# step fails, for a look.
mkdir -p "$(dirname "$2")"
work=$(mktemp -d "$2.XXXXXX")
trap 'status=$?; [ "$status" -ne 0 ] || rm -rf "$work"' EXIT
cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
guard=$(find "$work/prefix" -path "*/pipemux/pipemux-guard" | head -1)
[ -n "$guard" ] && [ -x "$guard" ] || { echo "no libexec/pipemux/pipemux-guard installed"; exit 1; }

cmake -S "$here" -B "$work/cmake-build" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/cmake-build" >/dev/null
out=$("$work/cmake-build/consumer")
grep -qx "greeter: hello from a child" <<<"$out" || { echo "find_package consumer said: $out"; exit 1; }
out=$("$work/cmake-build/every_sink")
[ "$out" = "every sink: ok" ] || { echo "every_sink said: $out"; exit 1; }

libdir=$(ls -d "$work"/prefix/lib*/pkgconfig | head -1)
# No toml++ macros (a private dependency) and no Asio configuration imposed on consumers.
cflags=$(PKG_CONFIG_PATH="$libdir" pkg-config --cflags pipemux)
if grep -qE -- "-D(TOML_|BOOST_ASIO)" <<<"$cflags"; then echo "pkg-config --cflags pipemux imposes: $cflags"; exit 1; fi
# Without --static: the libraries are static, and Libs must say all they need.
flags=$(PKG_CONFIG_PATH="$libdir" pkg-config --cflags --libs pipemux)
strict=(-std=c++20 -Wall -Wextra -Werror)
# shellcheck disable=SC2086
c++ "${strict[@]}" "$here/main.cpp" -o "$work/pkg-consumer" $flags
out=$("$work/pkg-consumer")
grep -qx "greeter: hello from a child" <<<"$out" || { echo "pkg-config consumer said: $out"; exit 1; }
# The one public header stays light: no toml++, CLI11 or Boost.Process behind it.
heavy=$(c++ -std=c++20 -E -H "$here/main.cpp" $flags 2>&1 >/dev/null | grep -E "toml\+\+|/CLI/|boost/process" || true)
[ -z "$heavy" ] || { echo "pipemux.hpp pulls in: $heavy"; exit 1; }
# The supervisor alone links with Boost and fmt only, and includes no spdlog.
core_flags=$(PKG_CONFIG_PATH="$libdir" pkg-config --cflags --libs pipemux-core)
# shellcheck disable=SC2086
c++ "${strict[@]}" "$here/core_only.cpp" -o "$work/core-consumer" $core_flags
out=$("$work/core-consumer")
grep -qx "greeter: hello from a child" <<<"$out" || { echo "core consumer said: $out"; exit 1; }
heavy=$(c++ -std=c++20 -E -H "$here/core_only.cpp" $core_flags 2>&1 >/dev/null | grep -E "spdlog|toml\+\+" || true)
[ -z "$heavy" ] || { echo "supervisor.hpp pulls in: $heavy"; exit 1; }

# A program built with an Asio configuration other than the library's (it would crash) does not
# link, and the error names the difference.
# shellcheck disable=SC2086
if mismatch=$(c++ "${strict[@]}" -DBOOST_ASIO_DISABLE_THREADS "$here/core_only.cpp" -o "$work/mismatch" $core_flags 2>&1); then
  echo "a consumer built with -DBOOST_ASIO_DISABLE_THREADS links against a library built with threads"; exit 1
fi
grep -q "undefined reference to .*libpipemux_built_with_BOOST_ASIO_DISABLE_THREADS" <<<"$mismatch" \
  || { echo "the Asio mismatch is not named: $mismatch"; exit 1; }

# The README's snippets: each ```cpp block is a whole program (its own #includes and main),
# compiled as it stands. readme/line_N.cpp is the block after README.md's line N (its line L is
# README's N + L). No #line: GCC would take the snippet for a header (-Wsubobject-linkage).
mkdir "$work/readme"
awk -v dir="$work/readme" '
  /^```cpp$/ { file = sprintf("%s/line_%d.cpp", dir, NR); inside = 1; next }
  /^```/ { inside = 0 }
  inside { print > file }' "$here/../../README.md"
snippets=("$work"/readme/line_*.cpp)
[ -e "${snippets[0]}" ] || { echo "no \`\`\`cpp block found in README.md"; exit 1; }
for snippet in "${snippets[@]}"; do
  # shellcheck disable=SC2086
  c++ "${strict[@]}" "$snippet" -o "${snippet%.cpp}" $flags \
    || { echo "README.md: the cpp block after line $(basename "$snippet" .cpp | cut -d_ -f2) does not build"; exit 1; }
done
echo "installed package: find_package and pkg-config consumers both work, every sink from TOML, pipemux-core alone too; pipemux.hpp is light; ${#snippets[@]} README snippets build"
