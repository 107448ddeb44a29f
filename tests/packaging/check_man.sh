#!/usr/bin/env bash
# check_man.sh PIPEMUX MAN_DIR CONFIG: the man pages render without a warning from groff, and
# they cannot fall behind: every long flag (with its choices) that `pipemux --help` and
# `pipemux spam --help` print is in pipemux.1, and every key of the default config CONFIG
# (config/pipemux.toml, commented-out ones too) is in pipemux.toml.5.
set -euo pipefail
pipemux=$1 man_dir=$2 config=$3
failed=0
for page in "$man_dir/pipemux.1" "$man_dir/pipemux.toml.5"; do
  warnings=$(groff -ww -z -man "$page" 2>&1)
  [ -z "$warnings" ] || { echo "groff -ww on $page:"; echo "$warnings"; failed=1; }
done

# The page's words as a reader sees them: \- is -, font changes and \& are nothing.
text() { sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\&//g' -e 's/\\(dq/"/g' "$1"; }
page1=$(text "$man_dir/pipemux.1")
page5=$(text "$man_dir/pipemux.toml.5")

help=$("$pipemux" --help; "$pipemux" spam --help; "$pipemux" ctl --help)
# "  -c,--config TEXT:FILE ...", "  --stop-on never|failure|exit=never": the long flag, then
# the choices when the type is a|b|c.
flags=0
while read -r flag type; do
  flags=$((flags + 1))
  grep -qE -- "(^|[^a-z-])$flag([^a-z-]|\$)" <<<"$page1" || { echo "pipemux.1 lacks $flag"; failed=1; }
  if [[ $type =~ ^([a-z-]+(\|[a-z-]+)+)(=|$) ]]; then
    IFS='|' read -ra choices <<<"${BASH_REMATCH[1]}"
    for choice in "${choices[@]}"; do
      # Listed with the flag: on its .TP line, as the page writes every choice.
      grep -E -- "$flag " <<<"$page1" | grep -qE -- "(^|[^a-z-])$choice([^a-z-]|\$)" \
        || { echo "pipemux.1: $flag lacks its choice $choice"; failed=1; }
    done
  fi
done < <(sed -nE 's/^  (-[a-zA-Z],)?(--[a-z][a-z-]*)( ([^ ]+))?.*/\2 \4/p' <<<"$help")
[ "$flags" -ge 40 ] || { echo "only $flags flags found in --help: is its format still parsed?"; exit 1; }

keys=0
while read -r key; do
  keys=$((keys + 1))
  grep -qE -- "(^|[^a-z_])$key([^a-z_]|\$)" <<<"$page5" || { echo "pipemux.toml.5 lacks the key $key"; failed=1; }
done < <(sed -nE 's/^(# )?([a-z_]+) = .*/\2/p' "$config" | sort -u)
[ "$keys" -ge 40 ] || { echo "only $keys keys found in $config"; exit 1; }
[ "$failed" -eq 0 ] || exit 1
echo "man pages: no groff warning; $flags flags of --help in pipemux.1, $keys keys of $(basename "$config") in pipemux.toml.5"
