#!/usr/bin/env bash
# What Duban needs from Debian beyond Python: the CJK font the bulletins' charts draw Chinese with
# (fonts-wqy-microhei); with --browser also chromium and chromium-driver for the browser tests.
# Installs what is missing with apt-get when run as root; otherwise says what to install.
set -uo pipefail
packages=()
fc-list 2>/dev/null | grep -qi "WenQuanYi Micro Hei" || packages+=(fonts-wqy-microhei)
if [ "${1:-}" = "--browser" ]; then
  command -v chromium >/dev/null 2>&1 || packages+=(chromium)
  [ -x /usr/bin/chromedriver ] || packages+=(chromium-driver)
fi
[ ${#packages[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian packages: ${packages[*]}"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${packages[@]}") >/dev/null 2>&1 || echo "warning: could not install ${packages[*]}" >&2
else
  echo "warning: install these Debian packages (as root: apt-get install ${packages[*]})" >&2
fi
exit 0
