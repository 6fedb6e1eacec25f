# hook-lib.sh: what hook-docker and bootkit share (sourced, POSIX sh over BusyBox):
# the Tinkerbell kernel command line (over the shared cmdline.sh) and JSON-lines logging.

# The kernel command line's rule is the shared cmdline.sh's, beside this file (HOOK_CMDLINE_LIB:
# its path, for tests on a build host).
# shellcheck source=cmdline.sh
. "${HOOK_CMDLINE_LIB:-/usr/lib/hook/cmdline.sh}"

# hook_read_cmdline: reads ${HOOK_CMDLINE:-/proc/cmdline} into cmdline_<key> for every key a
# HookOS service reads (contract section 1), by cmdline.sh's rule: the last occurrence of a key
# wins, and a bare key (no `=`) sets the empty value: upstream's Go bootkit crashed on that;
# here it is just "not set". Returns 1 when the file cannot be read.
# shellcheck disable=SC2034 # the cmdline_ variables are read by the scripts that source this file
hook_read_cmdline() {
  cmdline_docker_registry='' cmdline_registry_username='' cmdline_registry_password=''
  cmdline_grpc_authority='' cmdline_worker_id='' cmdline_tink_worker_image=''
  cmdline_tinkerbell_tls='' cmdline_tinkerbell_insecure_tls=''
  cmdline_HTTP_PROXY='' cmdline_HTTPS_PROXY='' cmdline_NO_PROXY=''
  cmdline_syslog_host='' cmdline_insecure_registries=''
  cmdline_scan _hook_cmdline_word
}
# _hook_cmdline_word KEY [VALUE]: one word of the command line (cmdline_scan).
# shellcheck disable=SC2034 # the cmdline_ variables are read by the scripts that source this file
_hook_cmdline_word() {
  case $1 in
    docker_registry) cmdline_docker_registry=${2-} ;;
    registry_username) cmdline_registry_username=${2-} ;;
    registry_password) cmdline_registry_password=${2-} ;;
    grpc_authority) cmdline_grpc_authority=${2-} ;;
    worker_id) cmdline_worker_id=${2-} ;;
    tink_worker_image) cmdline_tink_worker_image=${2-} ;;
    tinkerbell_tls) cmdline_tinkerbell_tls=${2-} ;;
    tinkerbell_insecure_tls) cmdline_tinkerbell_insecure_tls=${2-} ;;
    HTTP_PROXY) cmdline_HTTP_PROXY=${2-} ;;
    HTTPS_PROXY) cmdline_HTTPS_PROXY=${2-} ;;
    NO_PROXY) cmdline_NO_PROXY=${2-} ;;
    syslog_host) cmdline_syslog_host=${2-} ;;
    insecure_registries) cmdline_insecure_registries=${2-} ;;
  esac
}

# hook_json_string VALUE: VALUE as a JSON string literal (quotes, backslashes, tabs and
# newlines escaped; other control characters dropped).
hook_json_string() {
  printf '%s' "$1" | tr -d '\000-\010\013\014\016-\037' | awk '
    BEGIN { ORS = ""; print "\"" }
    { gsub(/\\/, "\\\\"); gsub(/"/, "\\\""); gsub(/\t/, "\\t"); gsub(/\r/, "\\r"); if (NR > 1) print "\\n"; print }
    END { print "\"" }'
}

# hook_log LEVEL MESSAGE [KEY VALUE]...: one JSON line on stdout, with the time, the level, the
# service (HOOK_SERVICE) and the message, then the key/value pairs as strings.
hook_log() {
  _hook_line="{\"time\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\",\"level\":\"$1\",\"service\":\"${HOOK_SERVICE:-hook}\",\"msg\":$(hook_json_string "$2")"
  shift 2
  while [ "$#" -ge 2 ]; do
    _hook_line="$_hook_line,$(hook_json_string "$1"):$(hook_json_string "$2")"
    shift 2
  done
  printf '%s}\n' "$_hook_line"
}

# hook_sleep SECONDS: a sleep that a trapped signal interrupts at once.
hook_sleep() {
  sleep "$1" &
  _hook_sleep_pid=$!
  wait "$_hook_sleep_pid" 2>/dev/null
  kill "$_hook_sleep_pid" 2>/dev/null
  _hook_sleep_pid=''
  return 0
}
