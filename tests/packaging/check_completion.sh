#!/usr/bin/env bash
# check_completion.sh SHELL COMPLETIONS_DIR PIPEMUX: calls pipemux's completion for SHELL (bash,
# zsh or fish) in a scratch directory holding a Procfile and a config, and checks the
# candidates: the choices of every `--flag a|b|c` that `pipemux --help` prints (so the scripts
# cannot fall behind the flags), the program names of ./Procfile for --only, of -c's config for
# --except, of -f's Procfile for --hide and -m. Exit 77 (skipped) when SHELL is not installed.
set -euo pipefail
shell=$1 dir=$(cd "$2" && pwd) pipemux=$3
command -v "$shell" >/dev/null || { echo "$shell is not installed: skipped"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
printf 'web: python3 -m http.server 8000\n# a comment\nworker: ./worker\n\nclock:  date\n' > Procfile
printf 'api: ./api\n' > other.procfile
printf '[[program]]\nname = "api"\ncommand = "x"\n[log]\nformat = "text"\n[[program]]\n  name=%s\ncommand = ["y"]\n' \
  "'db'" > app.toml

# complete WORD...: the candidates for the last word (empty: a new word), sorted, one a line.
case $shell in
  bash)
    complete_words() {
      bash --norc --noprofile -c '
        source "$1"; shift
        COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
        _pipemux pipemux "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
        printf "%s\n" "${COMPREPLY[@]}"' _ "$dir/pipemux.bash" "$@" | sort
    } ;;
  zsh)
    # zsh's completer runs only inside a line editor (zpty would drive one): checked below by
    # its parts, the program names it reads and the choices in its _arguments spec.
    complete_words() { :; } ;;
  fish)
    complete_words() {
      local line="$*"  # the words as typed: a new, empty word after a last space
      fish --no-config -c "set -p fish_function_path (path dirname (status fish-path))/../share/fish/functions
        set -p fish_function_path \$__fish_data_dir/functions
        source '$dir/pipemux.fish'; complete -C '$line'" | cut -f1 | sort
    } ;;
  *) echo "unknown shell $shell"; exit 2 ;;
esac

failed=0
expect() {  # expect "CANDIDATES" WORD...: the candidates, space-separated in any order
  local want got
  want=$(tr ' ' '\n' <<<"$1" | sed '/^$/d' | sort)
  shift
  got=$(complete_words "$@")
  [ "$got" = "$want" ] || { echo "$shell: pipemux ${*:2}: got [${got//$'\n'/ }], want [${want//$'\n'/ }]"; failed=1; }
}

if [ "$shell" = zsh ]; then
  # Loads, defines its function, and reads the names as the others do.
  # (Sourced, it also runs _pipemux, which fails outside completion: its output is dropped.)
  out=$(zsh -f -c "source '$dir/_pipemux' >/dev/null 2>&1; functions _pipemux >/dev/null || exit 1
    words=(pipemux --only ''); CURRENT=3; _pipemux_program_names" 2>&1 || true)
  [ "$(sort <<<"$out")" = "$(printf 'clock\nweb\nworker\n')" ] \
    || { echo "zsh: the names for --only: got [$out]"; failed=1; }
  out=$(zsh -f -c "source '$dir/_pipemux' 2>/dev/null
    words=(pipemux -c app.toml --only ''); CURRENT=5; _pipemux_program_names" 2>&1 || true)
  [ "$(sort <<<"$out")" = "$(printf 'api\ndb\n')" ] || { echo "zsh: the names of -c app.toml: got [$out]"; failed=1; }
  # Every --flag a|b|c of --help has the same choices in the _arguments spec.
  while read -r flag choices; do
    spec=$(grep -F -- "'$flag=[" "$dir/_pipemux" | sed -nE 's/.*:\(([^)]*)\).*/\1/p')
    [ "$(tr ' ' '\n' <<<"$spec" | sort)" = "$(tr '|' '\n' <<<"$choices" | sort)" ] \
      || { echo "zsh: $flag: got ($spec), want $choices"; failed=1; }
  done < <("$pipemux" --help | sed -nE 's/^  (--[a-z-]+) ([a-z-]+(\|[a-z-]+)+)([= ].*)?$/\1 \2/p')
  [ "$failed" -eq 0 ] && echo "zsh completion: names and every flag's choices as --help says"
  exit "$failed"
fi

# Every --flag a|b|c of --help, and no flag without its choices.
choice_flags=0
while read -r flag choices; do
  choice_flags=$((choice_flags + 1))
  expect "${choices//|/ }" pipemux "$flag" ""
done < <("$pipemux" --help | sed -nE 's/^  (--[a-z-]+) ([a-z-]+(\|[a-z-]+)+)([= ].*)?$/\1 \2/p')
[ "$choice_flags" -ge 9 ] || { echo "only $choice_flags choice flags found in --help"; exit 1; }
expect "failure" pipemux --stop-on f
expect "web worker clock" pipemux --only ""
expect "web,web web,worker" pipemux --only web,w
expect "api db" pipemux -c app.toml --except ""
expect "api" pipemux -f other.procfile --hide ""
expect "web= worker= clock=" pipemux -n 2 -m ""
expect "--count" pipemux spam --cou
[ "$failed" -eq 0 ] || exit 1
echo "$shell completion: the choices of $choice_flags flags as --help says, program names from a Procfile and a config"
