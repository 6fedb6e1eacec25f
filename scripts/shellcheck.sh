#!/usr/bin/env bash
# Lints HookOS's own shell scripts with shellcheck, as BusyBox sh runs them (-s sh): in each image
# folder, every file under rootfs/ that is a shell script (a #!/bin/sh line, a .sh name, or
# etc/profile) and every *.sh beside the Dockerfile; then the shared libs/containers/assets/cmdline.sh.
# Sourced files are followed: an absolute path in the image's own rootfs/, a `# shellcheck
# source=` name beside the script or in libs/containers/assets. The containers project's lint
# target runs this; its inputs name the same places (libs/containers/project.json).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v shellcheck >/dev/null; then
  echo "shellcheck is not installed (Debian's shellcheck package): run bash scripts/setup.sh" >&2
  exit 1
fi

status=0
count=0
for dir in images/*/; do
  dir=${dir%/}
  files=()
  for file in "$dir"/*.sh; do [ -f "$file" ] && files+=("$file"); done
  if [ -d "$dir/rootfs" ]; then
    while IFS= read -r -d '' file; do
      first=''
      IFS= read -r first <"$file" || true
      case $file:$first in
        *.sh:* | */etc/profile:* | *:'#!/bin/sh'*) files+=("$file") ;;
      esac
    done < <(find "$dir/rootfs" -type f -print0 | LC_ALL=C sort -z)
  fi
  [ "${#files[@]}" -gt 0 ] || continue
  count=$((count + ${#files[@]}))
  shellcheck -s sh -x -P SCRIPTDIR -P "$dir/rootfs" -P libs/containers/assets "${files[@]}" || status=1
done
shellcheck -s sh libs/containers/assets/cmdline.sh || status=1
count=$((count + 1))
[ "$status" -ne 0 ] || echo "shellcheck: $count scripts of HookOS are clean"
exit "$status"
