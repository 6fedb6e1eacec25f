# cmdline.sh: the kernel command line for HookOS's shell scripts (sourced, POSIX sh over BusyBox).
# One copy, libs/containers/assets/cmdline.sh: the build adds it to every image's build context,
# and the images whose scripts read the command line copy it to /usr/lib/hook/cmdline.sh.
#
# The rule: ${HOOK_CMDLINE:-/proc/cmdline} is split on white space (a trailing newline is no
# word), without globbing; a word's key is what comes before its first `=`, its value what
# follows (`x=a=b` is x with a=b); a word without `=` is a bare key. Nothing is evaluated, so a
# value may hold any character but white space. Where a key appears more than once, the last
# occurrence wins (the kernel's and Tinkerbell's rule).

# cmdline_scan FUNCTION: calls `FUNCTION KEY VALUE` for every KEY=VALUE word and `FUNCTION KEY`
# for every bare key, in the order of the line, in this shell (so FUNCTION may set variables;
# globbing is as the caller had it). Fails, calling nothing, when the file cannot be read.
cmdline_scan() {
  _cmdline_function=$1
  _cmdline_text=$(cat "${HOOK_CMDLINE:-/proc/cmdline}" 2>/dev/null) || return 1
  # The words become the arguments, split on white space with globbing off (`*` stays itself).
  case $- in
    *f*) _cmdline_glob=off ;;
    *) _cmdline_glob=on; set -f ;;
  esac
  # shellcheck disable=SC2086 # splitting the line into its words is the point
  set -- $_cmdline_text
  if [ "$_cmdline_glob" = on ]; then set +f; fi
  for _cmdline_word in "$@"; do
    case $_cmdline_word in
      *=*) "$_cmdline_function" "${_cmdline_word%%=*}" "${_cmdline_word#*=}" ;;
      *) "$_cmdline_function" "$_cmdline_word" ;;
    esac
  done
  return 0
}

# cmdline_get KEY: prints the value of the last KEY=VALUE (no newline) and succeeds; fails,
# printing nothing, when there is none. A bare KEY is not a value here (cmdline_bare tells it).
cmdline_get() {
  _cmdline_key=$1 _cmdline_found=1 _cmdline_value=
  cmdline_scan _cmdline_get_word
  printf '%s' "$_cmdline_value"
  return "$_cmdline_found"
}
_cmdline_get_word() {
  if [ "$#" -eq 2 ] && [ "$1" = "$_cmdline_key" ]; then _cmdline_value=$2 _cmdline_found=0; fi
}

# cmdline_bare KEY: true when KEY appears without `=`.
cmdline_bare() {
  _cmdline_key=$1 _cmdline_found=1
  cmdline_scan _cmdline_bare_word
  return "$_cmdline_found"
}
_cmdline_bare_word() {
  if [ "$#" -eq 1 ] && [ "$1" = "$_cmdline_key" ]; then _cmdline_found=0; fi
}
