# hook-lib.sh: what hook-docker and bootkit share (sourced, POSIX sh over BusyBox):
# the Tinkerbell kernel command line and JSON-lines logging.

# hook_read_cmdline: reads ${HOOK_CMDLINE:-/proc/cmdline} into cmdline_<key> for every key a
# HookOS service reads (contract section 1). Tokens are split on white space (a trailing
# newline is no token), the key is what comes before the first `=`, the last occurrence of a
# key wins, and a bare key (no `=`) sets the empty value: upstream's Go bootkit crashed on
# that; here it is just "not set". Nothing is evaluated, so values may hold any character
# but white space. Returns 1 when the file cannot be read.
hook_read_cmdline() {
  cmdline_docker_registry='' cmdline_registry_username='' cmdline_registry_password=''
  cmdline_grpc_authority='' cmdline_worker_id='' cmdline_tink_worker_image=''
  cmdline_tinkerbell_tls='' cmdline_tinkerbell_insecure_tls=''
  cmdline_HTTP_PROXY='' cmdline_HTTPS_PROXY='' cmdline_NO_PROXY=''
  cmdline_syslog_host='' cmdline_insecure_registries=''
  _hook_cmdline=$(cat "${HOOK_CMDLINE:-/proc/cmdline}" 2>/dev/null) || return 1
  # No globbing while the line is split: a value such as `*` stays itself.
  set -f
  for _hook_token in $_hook_cmdline; do
    case $_hook_token in
      *=*) _hook_key=${_hook_token%%=*} _hook_value=${_hook_token#*=} ;;
      *) _hook_key=$_hook_token _hook_value='' ;;
    esac
    case $_hook_key in
      docker_registry) cmdline_docker_registry=$_hook_value ;;
      registry_username) cmdline_registry_username=$_hook_value ;;
      registry_password) cmdline_registry_password=$_hook_value ;;
      grpc_authority) cmdline_grpc_authority=$_hook_value ;;
      worker_id) cmdline_worker_id=$_hook_value ;;
      tink_worker_image) cmdline_tink_worker_image=$_hook_value ;;
      tinkerbell_tls) cmdline_tinkerbell_tls=$_hook_value ;;
      tinkerbell_insecure_tls) cmdline_tinkerbell_insecure_tls=$_hook_value ;;
      HTTP_PROXY) cmdline_HTTP_PROXY=$_hook_value ;;
      HTTPS_PROXY) cmdline_HTTPS_PROXY=$_hook_value ;;
      NO_PROXY) cmdline_NO_PROXY=$_hook_value ;;
      syslog_host) cmdline_syslog_host=$_hook_value ;;
      insecure_registries) cmdline_insecure_registries=$_hook_value ;;
    esac
  done
  set +f
  return 0
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
