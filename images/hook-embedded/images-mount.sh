#!/bin/sh
# 001-images-mount.sh (init.d): hands the images embedded at build time to dockerd. hook-embedded
# carries a Docker storage directory (overlay2) as /etc/embedded-images.tar: unpack it into
# /run/embedded-images (the /run tmpfs), delete the tar (HookOS's root turns read-only only after
# init.d, so the images are in memory once), and bind-mount
# that on /var/run/images, which hook-docker binds as /var/lib/docker, as upstream Hook's
# images-mount.sh does. Without embedded images (the default) the tar is empty: nothing to do.
# The paths can be moved for tests: HOOK_EMBEDDED_TAR, HOOK_EMBEDDED_DIR, HOOK_IMAGES_MOUNT.
tar=${HOOK_EMBEDDED_TAR:-/etc/embedded-images.tar}
dir=${HOOK_EMBEDDED_DIR:-/run/embedded-images}
target=${HOOK_IMAGES_MOUNT:-/var/run/images}
[ -s "$tar" ] || exit 0
mkdir -p "$dir" "$target" || exit 1
tar -x -f "$tar" -C "$dir" || { echo "embedded images: unpacking $tar failed" >&2; exit 1; }
rm -f "$tar" 2>/dev/null || true
mount --bind "$dir" "$target" || { echo "embedded images: cannot bind-mount $dir on $target" >&2; exit 1; }
echo "embedded images: $dir mounted on $target"
