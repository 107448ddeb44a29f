# bash completion for pipemux(1): flags, their choices, and program names for --only, --except,
# --hide and -m, from the Procfile (-f, else ./Procfile) or the config given with -c.
# Installed as share/bash-completion/completions/pipemux; needs no bash-completion helpers.

# The programs of a Procfile: its NAME: COMMAND lines.
_pipemux_procfile_names() {
  [[ -r $1 ]] || return 0
  awk '/^[[:space:]]*(#|$)/ { next }
       { i = index($0, ":"); if (i > 1) { n = substr($0, 1, i - 1); gsub(/^[ \t]+|[ \t]+$/, "", n)
                                         if (n !~ /[ \t]/) print n } }' "$1" 2>/dev/null
}

# The programs of a TOML config: the name = "..." of each [[program]] table.
_pipemux_config_names() {
  [[ -r $1 ]] || return 0
  awk '/^[[:space:]]*\[\[[[:space:]]*program[[:space:]]*\]\]/ { inside = 1; next }
       /^[[:space:]]*\[/ { inside = 0 }
       inside && match($0, /^[[:space:]]*name[[:space:]]*=[[:space:]]*("[^"]*"|\047[^\047]*\047)/) {
         v = substr($0, RSTART, RLENGTH); sub(/^[^=]*=[[:space:]]*/, "", v)
         print substr(v, 2, length(v) - 2) }' "$1" 2>/dev/null
}

# The names of the programs the command line so far would run.
_pipemux_program_names() {
  local i config="" procfile=""
  for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
    case ${COMP_WORDS[i]} in
      -c | --config) config=${COMP_WORDS[i + 1]} ;;
      -f | --procfile) procfile=${COMP_WORDS[i + 1]} ;;
      --config=* | --procfile=*) ;;
    esac
  done
  # The ~ of a path the user typed, as the shell would expand it.
  config=${config/#\~/$HOME}
  procfile=${procfile/#\~/$HOME}
  if [[ -n $procfile ]]; then
    _pipemux_procfile_names "$procfile"
  elif [[ -n $config ]]; then
    _pipemux_config_names "$config"
  else
    _pipemux_procfile_names ./Procfile
  fi
}

# pipemux ctl's words: its flags, its requests, and the programs a request names (those of
# ./Procfile: the run it talks to may have others).
_pipemux_ctl() {
  local cur=$1 prev=$2 request="" i name
  for ((i = 2; i < COMP_CWORD; i++)); do
    case ${COMP_WORDS[i]} in
      --socket | --pid) ((i++)) ;;
      -*) ;;
      *) request=${COMP_WORDS[i]} ;;
    esac
  done
  case $prev in
    --socket)
      compopt -o filenames 2>/dev/null
      mapfile -t COMPREPLY < <(compgen -f -- "$cur")
      return 0 ;;
    --pid) return 0 ;;
  esac
  if [[ -z $request ]]; then
    mapfile -t COMPREPLY < <(compgen -W "status outputs restart stop start scale reopen stop-all
      --socket --pid --json --help" -- "$cur")
  elif [[ $request == restart || $request == stop || $request == start || $request == scale ]]; then
    while IFS= read -r name; do
      [[ -n $name && $name == "$cur"* ]] || continue
      if [[ $request == scale ]]; then COMPREPLY+=("$name="); else COMPREPLY+=("$name"); fi
    done < <(_pipemux_procfile_names ./Procfile)
    [[ $request == scale ]] && compopt -o nospace 2>/dev/null
  fi
}

_pipemux() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=""
  ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
  # --flag=value: bash splits at the = (COMP_WORDBREAKS).
  if [[ $cur == = ]]; then
    cur=""
  fi
  if [[ $prev == = ]] && ((COMP_CWORD > 1)); then
    prev=${COMP_WORDS[COMP_CWORD - 2]}
  fi
  COMPREPLY=()

  # pipemux ctl [--socket PATH | --pid PID] [--json] REQUEST [NAME[.N] | NAME=N]
  if [[ ${COMP_WORDS[1]} == ctl ]] && ((COMP_CWORD > 1)); then
    _pipemux_ctl "$cur" "$prev"
    return 0
  fi

  local i spam=0
  for ((i = 1; i < COMP_CWORD; i++)); do
    [[ ${COMP_WORDS[i]} == -- ]] && return 0  # an exact argv: the command's own words
    [[ ${COMP_WORDS[i]} == spam ]] && spam=1
  done

  local choices=""
  case $prev in
    --framing) choices="line raw" ;;
    --stderr) choices="capture merge inherit" ;;
    --stop-on) choices="never failure exit" ;;
    --success) choices="all first last $(_pipemux_program_names | tr '\n' ' ')" ;;
    --cgroup) choices="auto off required" ;;
    --restart) choices="never on-failure always" ;;
    --format) choices="text json raw" ;;
    --color) choices="auto always never" ;;
    --timestamps) choices="absolute relative none" ;;
    --ansi) choices="keep strip escape" ;;
    --syslog-facility)
      choices="kern user mail daemon auth syslog lpr news uucp cron authpriv ftp"
      choices+=" local0 local1 local2 local3 local4 local5 local6 local7" ;;
    --stop-signal) choices="SIGTERM SIGINT SIGQUIT SIGHUP SIGUSR1 SIGUSR2 SIGALRM SIGKILL" ;;
    --syslog-to) choices="local udp:// tcp:// tls:// relp://" ;;
    -c | --config | -f | --procfile | -e | --env-file | --record | --control)
      compopt -o filenames 2>/dev/null
      mapfile -t COMPREPLY < <(compgen -f -- "$cur")
      return 0 ;;
    --syslog-spool)
      compopt -o filenames 2>/dev/null
      mapfile -t COMPREPLY < <(compgen -d -- "$cur")
      return 0 ;;
    -o | --output)
      compopt -o filenames 2>/dev/null
      mapfile -t COMPREPLY < <(compgen -W "- json: text: raw:" -- "$cur"; compgen -f -- "$cur")
      return 0 ;;
    --only | --except | --hide | --names | -m | --formation | --input-target)
      [[ $prev == --names ]] && return 0  # new names: nothing to offer
      # A comma-separated list: complete its last element.
      local head="" last=$cur name
      if [[ $cur == *,* ]]; then
        head=${cur%,*},
        last=${cur##*,}
      fi
      local suffix=""
      [[ $prev == -m || $prev == --formation ]] && suffix="="
      while IFS= read -r name; do
        [[ -n $name && $name == "$last"* ]] && COMPREPLY+=("$head$name$suffix")
      done < <(_pipemux_program_names)
      [[ -n $suffix ]] && compopt -o nospace 2>/dev/null
      return 0 ;;
    -n | --children | -r | --read-size | --max-line | --stop-grace | --max-restarts | --max-processes | \
      --syslog-max-message | --log-pattern | --port | --count | --interval | --payload | --index)
      return 0 ;;  # a value of the user's own
  esac
  if [[ -n $choices ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$choices" -- "$cur")
    return 0
  fi

  if [[ $cur == -* ]]; then
    local flags
    if ((spam)); then
      flags="--help --count --interval --payload --sequence --index --record"
    else
      flags="--help --version --config --children --read-size --framing --stderr --max-line
        --stop-grace --stop-signal --stop-on --success --timings --group --input --input-target --control --cgroup --restart --max-restarts
        --max-processes --output
        --journal --syslog --syslog-to --syslog-facility --syslog-max-message
        --syslog-tls-ca --syslog-tls-cert --syslog-tls-key --syslog-spool --log-pattern
        --format --raw --color --timestamps --ansi --names --procfile --port --env-file --formation
        --pty --hide --only --except -h -c -n -r -o -f -e -m -i --"
    fi
    mapfile -t COMPREPLY < <(compgen -W "$flags" -- "$cur")
    return 0
  fi
  ((spam)) && return 0
  # A COMMAND: the subcommand, or a command line of the user's own.
  mapfile -t COMPREPLY < <(compgen -W "spam check ctl" -- "$cur"; compgen -c -- "$cur")
}

complete -F _pipemux pipemux
