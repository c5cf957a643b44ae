#!/usr/bin/env bash
# Makes the root file system under the Signalbox image's layers, without a container engine or registry:
#   deploy/container/jre-rootfs.sh OUT_DIR
# OUT_DIR/opt/java is a Java runtime cut by jlink from this machine's JDK (JAVA_HOME, else the one of `javac`) to
# the modules the control plane uses; next to it, the shared libraries that runtime links against (as `ldd` finds
# them here, at the same paths), /etc/passwd and /etc/group with the unprivileged user signalbox (uid 10001), and the
# directories the image needs. Like a distroless base: no shell, no package manager. Linux x86-64/arm64 hosts only;
# the control-plane module's `image` profile runs it, then Jib adds the application layers (see its pom).
set -euo pipefail
out="$(realpath -m -- "${1:?usage: jre-rootfs.sh OUT_DIR}")"
java_home="${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")}"

# The control plane's modules, as `jdeps --print-module-deps --ignore-missing-deps --multi-release 17` reports them
# for the control-plane jar and its runtime class path, plus jdk.crypto.ec (TLS with EC keys is looked up by name,
# which jdeps cannot see).
modules=java.base,java.compiler,java.desktop,java.naming,java.sql,jdk.httpserver,jdk.management,jdk.unsupported
modules+=,jdk.crypto.ec

# Only a directory this script made before (it leaves a marker) is replaced: a mistyped path is never wiped.
if [[ -e "$out" && ! -e "$out/.jre-rootfs" ]]; then
  echo "jre-rootfs: $out exists and was not made by this script; refusing to replace it" >&2
  exit 2
fi
rm -rf "$out"
mkdir -p "$out/etc" "$out/tmp" "$out/var/lib/signalbox" "$out/opt"
"$java_home/bin/jlink" --add-modules "$modules" --strip-debug --no-header-files --no-man-pages --compress=2 \
  --output "$out/opt/java"

# Every shared object the runtime's executables and libraries need from the system, copied to the same path (the
# dynamic loader's default directories), symbolic links resolved. The desktop libraries (windows, fonts, sound,
# images) are left out with what they link against (X11, freetype, ...): a headless server never loads them.
linked="$(find "$out/opt/java" -type f \( -path '*/bin/*' -o -name '*.so' \) \
  ! -regex '.*/lib\(awt_xawt\|splashscreen\|jawt\|fontmanager\|jsound\|lcms\|javajpeg\|mlib_image\)\.so' -print0 \
  | xargs -0 ldd 2>/dev/null)"
# A library ldd cannot find is an error, unless the runtime ships it itself (libjvm.so, found through its RPATH when
# the JVM starts).
missing="$(awk '$2 == "=>" && $3 == "not" { print $1 }' <<<"$linked" | sort -u | while read -r name; do
  [[ -n "$(find "$out/opt/java" -name "$name" -print -quit)" ]] || echo "$name"
done)"
if [[ -n "$missing" ]]; then
  echo "jre-rootfs: the runtime links against libraries this machine lacks: $missing" >&2
  exit 1
fi
awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' <<<"$linked" \
  | awk -v out="$out" 'index($0, out "/") != 1' | sort -u \
  | while read -r library; do
      mkdir -p "$out$(dirname "$library")"
      cp -L "$library" "$out$library"
    done

cat >"$out/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/sbin/nologin
signalbox:x:10001:10001:Signalbox:/var/lib/signalbox:/sbin/nologin
PASSWD
cat >"$out/etc/group" <<'GROUP'
root:x:0:
signalbox:x:10001:
GROUP
# localhost resolves without a DNS server (the container runtime mounts its own /etc/hosts over this one).
printf '127.0.0.1 localhost\n::1 localhost\n' >"$out/etc/hosts"
touch "$out/.jre-rootfs"
