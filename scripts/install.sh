#!/bin/sh
# Installs dom0j from a build of this tree (mvn -B package -pl toolstack-cli -am -DskipTests makes it):
#
#   PREFIX/share/dom0j/dom0j.jar                    the jar
#   PREFIX/bin/dom0j                                the launcher (java with the flags dom0j needs)
#   PREFIX/lib/systemd/system/dom0j.service         the unit, its ExecStart pointing at PREFIX/bin/dom0j
#   PREFIX/share/bash-completion/completions/dom0j  completion (zsh: autoload bashcompinit, then source it)
#   PREFIX/share/man/man1/dom0j*.1                  a man page per command
#   /etc/dom0j/dom0j.conf                           every option of serve, commented out; an existing one is
#                                                   kept, and the new one put beside it as dom0j.conf.dist
#
# Usage: scripts/install.sh [--prefix DIR] [--destdir DIR] [--sysconfdir DIR] [--build DIR]
#   --prefix DIR      where it runs from (default /usr/local)
#   --destdir DIR     stage the tree under DIR instead of / (for packaging and tests); paths inside the files
#                     stay those without DIR
#   --sysconfdir DIR  where dom0j/dom0j.conf goes (default /etc)
#   --build DIR       toolstack-cli's target directory (default: this tree's)
# Then: systemctl daemon-reload && systemctl enable --now dom0j
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
prefix=/usr/local
destdir=
sysconfdir=/etc
build=$here/toolstack-cli/target
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) prefix=$2; shift 2;;
        --prefix=*) prefix=${1#*=}; shift;;
        --destdir) destdir=$2; shift 2;;
        --destdir=*) destdir=${1#*=}; shift;;
        --sysconfdir) sysconfdir=$2; shift 2;;
        --sysconfdir=*) sysconfdir=${1#*=}; shift;;
        --build) build=$2; shift 2;;
        --build=*) build=${1#*=}; shift;;
        -h|--help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0;;
        *) echo "install.sh: unknown argument '$1' (--help lists them)" >&2; exit 2;;
    esac
done
case "$prefix" in /*) ;; *) echo "install.sh: --prefix must be absolute: $prefix" >&2; exit 2;; esac
for f in "$build/dom0j.jar" "$build/completion/dom0j" "$build/man/dom0j.1"; do
    if [ ! -f "$f" ]; then
        echo "install.sh: $f is missing; build first: mvn -B package -pl toolstack-cli -am -DskipTests" >&2
        exit 1
    fi
done

root=$destdir$prefix
install -d "$root/bin" "$root/share/dom0j" "$root/lib/systemd/system" "$root/share/bash-completion/completions" \
    "$root/share/man/man1" "$destdir$sysconfdir/dom0j"
install -m 644 "$build/dom0j.jar" "$root/share/dom0j/dom0j.jar"

# The launcher finds the jar beside it (../share/dom0j), so a staged tree runs as well as the installed one.
cat > "$root/bin/dom0j" <<'LAUNCHER'
#!/bin/sh
# dom0j launcher (scripts/install.sh). DOM0J_JAVA picks the java; DOM0J_JAVA_OPTS adds JVM options (after
# -XX:-UsePerfData: no performance-data sampler waking 20 times a second in dom0; jcmd PID still works).
here=$(dirname "$(readlink -f "$0")")
java=${DOM0J_JAVA:-${JAVA_HOME:+$JAVA_HOME/bin/}java}
# shellcheck disable=SC2086
exec "$java" --add-exports java.base/jdk.internal.misc=ALL-UNNAMED --enable-native-access=ALL-UNNAMED \
    -XX:-UsePerfData ${DOM0J_JAVA_OPTS:-} -jar "$here/../share/dom0j/dom0j.jar" "$@"
LAUNCHER
chmod 755 "$root/bin/dom0j"

sed "s|^ExecStart=/usr/local/bin/dom0j |ExecStart=$prefix/bin/dom0j |" "$here/packaging/dom0j.service" \
    > "$root/lib/systemd/system/dom0j.service"
chmod 644 "$root/lib/systemd/system/dom0j.service"
if [ "$sysconfdir" != /etc ]; then
    sed -i "s|^ExecStart=$prefix/bin/dom0j serve\$|ExecStart=$prefix/bin/dom0j serve --config $sysconfdir/dom0j/dom0j.conf|" \
        "$root/lib/systemd/system/dom0j.service"
fi
install -m 644 "$build/completion/dom0j" "$root/share/bash-completion/completions/dom0j"
install -m 644 "$build"/man/*.1 "$root/share/man/man1/"

conf=$destdir$sysconfdir/dom0j/dom0j.conf
if [ -e "$conf" ]; then
    install -m 644 "$here/packaging/dom0j.conf" "$conf.dist"
    echo "install.sh: kept $sysconfdir/dom0j/dom0j.conf; the new one is beside it as dom0j.conf.dist"
else
    install -m 644 "$here/packaging/dom0j.conf" "$conf"
fi
echo "install.sh: installed dom0j under ${destdir:-}$prefix$( [ -n "$destdir" ] && echo " (staged; prefix $prefix)")"
