# fish completion for pipemux(1): flags, their choices, and program names for --only, --except,
# --hide and -m, from the Procfile (-f, else ./Procfile) or the config given with -c.
# Installed as share/fish/vendor_completions.d/pipemux.fish.

# The names of the programs the command line so far would run.
function __pipemux_program_names
    set -l words (commandline -opc)
    set -l config
    set -l procfile
    for i in (seq 2 (count $words))
        switch $words[$i]
            case -c --config
                set config $words[(math $i + 1)]
            case -f --procfile
                set procfile $words[(math $i + 1)]
            case '--config=*'
                set config (string replace -- --config= '' $words[$i])
            case '--procfile=*'
                set procfile (string replace -- --procfile= '' $words[$i])
        end
    end
    if test -n "$procfile"
        __pipemux_procfile_names $procfile
    else if test -n "$config"
        __pipemux_config_names $config
    else
        __pipemux_procfile_names ./Procfile
    end
end

function __pipemux_procfile_names
    test -r $argv[1]; or return 0
    for line in (string match -rv '^\s*(#|$)' <$argv[1])
        string match -rq '^\s*(?<name>[^:\s]+)\s*:' -- $line; and echo $name
    end
end

function __pipemux_config_names
    test -r $argv[1]; or return 0
    set -l inside 0
    for line in (cat $argv[1])
        if string match -rq '^\s*\[\[\s*program\s*\]\]' -- $line
            set inside 1
        else if string match -rq '^\s*\[' -- $line
            set inside 0
        else if test $inside = 1
            string match -rq '^\s*name\s*=\s*["\'](?<name>[^"\']*)["\']' -- $line; and echo $name
        end
    end
end

# A comma-separated list: the names after what is typed before the last comma.
function __pipemux_program_list
    set -l token (string replace -r '^--[a-z-]+=' '' -- "$(commandline -ct)")
    set -l head (string replace -r '[^,]*$' '' -- "$token")
    for name in (__pipemux_program_names)
        echo "$head$name$argv[1]"
    end
end

set -l not_spam 'not __fish_seen_subcommand_from spam ctl'
set -l in_spam '__fish_seen_subcommand_from spam'

complete -c pipemux -s h -l help -d 'Print the help message and exit'
complete -c pipemux -n $not_spam -l version -d 'Print the version and exit'
complete -c pipemux -n $not_spam -s c -l config -r -F -d 'TOML config file'
complete -c pipemux -n $not_spam -s n -l children -x -d 'Children per program (1-4096)'
complete -c pipemux -n $not_spam -s r -l read-size -x -d 'Bytes per read of each pipe'
complete -c pipemux -n $not_spam -l framing -x -a 'line raw' -d 'One message per line, or per read'
complete -c pipemux -n $not_spam -l stderr -x -a 'capture merge inherit' -d "Children's stderr"
complete -c pipemux -n $not_spam -l max-line -x -d 'Longer lines are logged in pieces of this size'
complete -c pipemux -n $not_spam -l stop-grace -x -d 'Seconds after the stop signal before SIGKILL'
complete -c pipemux -n $not_spam -l stop-signal -x -a 'SIGTERM SIGINT SIGQUIT SIGHUP SIGUSR1 SIGUSR2 SIGALRM SIGKILL' -d 'Signal that asks a child to stop'
complete -c pipemux -n $not_spam -l stop-on -x -a 'never failure exit' -d 'End the run when one child fails, or exits'
complete -c pipemux -n $not_spam -l cgroup -x -a 'auto off required' -d 'A cgroup of their own for the children'
complete -c pipemux -n $not_spam -l restart -x -a 'never on-failure always' -d 'Restart children that exit'
complete -c pipemux -n $not_spam -l max-restarts -x -d 'Restarts per child at most'
complete -c pipemux -n $not_spam -l max-processes -x -d 'Run at most N children at once'
complete -c pipemux -n $not_spam -l success -x -a 'all first last (__pipemux_program_list)' -d 'Whose ends decide the exit code'
complete -c pipemux -n $not_spam -l timings -d 'End the log with a table of each child\'s times'
complete -c pipemux -n $not_spam -s i -l input -d 'Pass stdin on to the children'
complete -c pipemux -n $not_spam -l input-target -x -a '(__pipemux_program_names)' -d 'Where input lines without NAME: go'
complete -c pipemux -n $not_spam -l group -d 'Each child\'s output together, in the children\'s order'
complete -c pipemux -n $not_spam -l raw -d 'The children\'s output as written, nothing of pipemux\'s'
complete -c pipemux -n $not_spam -s o -l output -r -F -a '- json: text: raw:' -d 'Append the log to [FORMAT:]FILE'
complete -c pipemux -n $not_spam -l journal -d 'Send the log to the systemd journal'
complete -c pipemux -n $not_spam -l syslog -d 'Send the log to syslog'
complete -c pipemux -n $not_spam -l syslog-to -x -a 'local udp:// tcp:// tls:// relp://' -d 'Where syslog goes'
complete -c pipemux -n $not_spam -l syslog-facility -x -a 'kern user mail daemon auth syslog lpr news uucp cron authpriv ftp local0 local1 local2 local3 local4 local5 local6 local7' -d 'syslog facility'
complete -c pipemux -n $not_spam -l syslog-max-message -x -d 'Longest syslog message'
complete -c pipemux -n $not_spam -l syslog-tls-ca -r -F -d 'TLS to a tls:// or relp:// server: its CA (PEM)'
complete -c pipemux -n $not_spam -l syslog-tls-cert -r -F -d 'TLS: the client certificate (PEM)'
complete -c pipemux -n $not_spam -l syslog-tls-key -r -F -d 'TLS: the client key (PEM)'
complete -c pipemux -n $not_spam -l syslog-spool -x -a '(__fish_complete_directories)' -d 'A disk spool for syslog'
complete -c pipemux -n $not_spam -l log-pattern -x -d 'spdlog pattern with %v'
complete -c pipemux -n $not_spam -l format -x -a 'text json raw' -d 'Log format'
complete -c pipemux -n $not_spam -l color -x -a 'auto always never' -d 'Colour the log'
complete -c pipemux -n $not_spam -l timestamps -x -a 'absolute relative none' -d 'Start each line with'
complete -c pipemux -n $not_spam -l ansi -x -a 'keep strip escape' -d "A child's own colours"
complete -c pipemux -n $not_spam -l names -x -d 'Names for the commands, in order'
complete -c pipemux -n $not_spam -s f -l procfile -r -F -d 'Run the programs of a Procfile'
complete -c pipemux -n $not_spam -l port -x -d "PORT of the first program's first child"
complete -c pipemux -n $not_spam -s e -l env-file -r -F -d 'Set the variables of FILE in every child'
complete -c pipemux -n $not_spam -s m -l formation -x -a '(__pipemux_program_list =)' -d 'How many children of each program'
complete -c pipemux -n $not_spam -l pty -d 'Give every child a pseudo-terminal'
complete -c pipemux -n $not_spam -l hide -x -a '(__pipemux_program_list)' -d 'Log only the start and exit of these'
complete -c pipemux -n $not_spam -l only -x -a '(__pipemux_program_list)' -d 'Run only these programs'
complete -c pipemux -n $not_spam -l except -x -a '(__pipemux_program_list)' -d 'Run all programs but these'
complete -c pipemux -n '__fish_use_subcommand' -a spam -d 'The built-in producer'
complete -c pipemux -n '__fish_use_subcommand' -a check -d 'Say what would run; start nothing'

complete -c pipemux -n $in_spam -l count -x -d 'Messages per child; 0 = for ever'
complete -c pipemux -n $in_spam -l interval -x -d 'Seconds between messages'
complete -c pipemux -n $in_spam -l payload -x -d 'Pad each message to at least this many bytes'
complete -c pipemux -n $in_spam -l sequence -d 'Tag each message with the index and a sequence number'
complete -c pipemux -n $in_spam -l index -x -d 'Child index shown in --sequence mode'
complete -c pipemux -n $in_spam -l record -r -F -d 'Save how many messages were written to PREFIX<index>'

# pipemux ctl [--socket PATH | --pid PID] [--json] REQUEST [NAME[.N] | NAME=N]
set -l in_ctl '__fish_seen_subcommand_from ctl'
complete -c pipemux -n $not_spam -l control -r -F -d 'The control socket for pipemux ctl, or none'
complete -c pipemux -n '__fish_use_subcommand' -a ctl -d 'Ask a running pipemux to do something'
complete -c pipemux -n $in_ctl -l socket -r -F -d "The run's control socket"
complete -c pipemux -n $in_ctl -l pid -x -d 'The run of this pid'
complete -c pipemux -n $in_ctl -l json -d 'status, outputs: one JSON object per line'
complete -c pipemux -n "$in_ctl; and not __fish_seen_subcommand_from status outputs restart stop start scale reopen stop-all" -x -a 'status outputs restart stop start scale reopen stop-all'
complete -c pipemux -n "$in_ctl; and __fish_seen_subcommand_from restart stop start" -x -a '(__pipemux_program_names)'
