# Sourced by the scripts that install Debian packages (setup.sh, fuzz.sh, gym_setup.sh).
# missing_packages PKG...       prints the packages not installed yet, one per line
# apt_install LABEL PKG...      installs the given packages (nothing when none is given),
#                               through sudo when not run as root, after one apt-get update
missing_packages() {
    local p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
    done
}
apt_install() {
    local label=$1
    shift
    (($#)) || return 0
    echo "$label: installing $*"
    local sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y --no-install-recommends "$@"
}
