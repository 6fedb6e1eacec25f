#!/bin/bash
# rootfs-copy.sh DEST PATH...
# Copies what a slim image needs into DEST: each PATH (a file or a directory), every link of
# its symlink chain, and for every ELF file the shared libraries `ldd` names (and their
# chains), stripped when `strip` is installed. DEST gets Debian's merged-/usr links
# (bin, sbin, lib[64] -> usr/...) so the copied paths resolve as on Debian.
# Canonical copy: libs/containers/assets/rootfs-copy.sh (a test keeps the images' copies equal).
set -euo pipefail
dest=$1
shift
mkdir -p "$dest/usr/bin" "$dest/usr/sbin" "$dest/usr/lib"
for dir in bin sbin lib lib64; do
  if [ -d "/usr/$dir" ] && [ ! -e "$dest/$dir" ]; then
    mkdir -p "$dest/usr/$dir"
    ln -s "usr/$dir" "$dest/$dir"
  fi
done

is_elf() { [ -f "$1" ] && [ "$(od -An -tx1 -N4 "$1" | tr -d ' \n')" = 7f454c46 ]; }

copy_libraries() {
  local lib
  # ldd lines: "libx.so => /path (0x...)" and "/lib64/ld-linux-x86-64.so.2 (0x...)".
  for lib in $(ldd "$1" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'); do
    copy_path "$lib"
  done
}

copy_file() {
  local src=$1
  [ -e "$dest$src" ] && return 0
  cp -p "$src" "$dest$src"
  if is_elf "$src"; then
    if command -v strip >/dev/null; then strip --strip-unneeded "$dest$src" 2>/dev/null || true; fi
    copy_libraries "$src"
  fi
}

copy_path() {
  local path=$1 hops target file
  if [ ! -e "$path" ] && [ ! -L "$path" ]; then
    echo "rootfs-copy: $path does not exist" >&2
    return 1
  fi
  for hops in $(seq 1 40); do
    # Resolve the directories (merged /usr) but keep the last component as it is.
    path="$(readlink -f "$(dirname "$path")")/$(basename "$path")"
    mkdir -p "$dest$(dirname "$path")"
    if [ -L "$path" ]; then
      [ -L "$dest$path" ] || cp -P "$path" "$dest$path"
      target=$(readlink "$path")
      case $target in
        /*) path=$target ;;
        *) path="$(dirname "$path")/$target" ;;
      esac
    elif [ -d "$path" ]; then
      mkdir -p "$dest$path"
      cp -a "$path/." "$dest$path/"
      while IFS= read -r -d '' file; do
        if is_elf "$file"; then copy_libraries "$file"; fi
      done < <(find "$path" -type f -print0)
      return 0
    elif [ -e "$path" ]; then
      copy_file "$path"
      return 0
    else
      echo "rootfs-copy: $path does not exist" >&2
      return 1
    fi
  done
  echo "rootfs-copy: too many symlinks at $1" >&2
  return 1
}

for path in "$@"; do copy_path "$path"; done
