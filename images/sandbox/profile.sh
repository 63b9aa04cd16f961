# Berth: greet interactive login shells (`bash -l`) with a short motd.
# `touch ~/.hushlogin` turns it off.
case $- in
  *i*)
    if [ ! -e "$HOME/.hushlogin" ] && [ -r /etc/berth/motd ]; then
      # Headlines (lines not indented) in bold cyan, the rest as is.
      sed -e 's/^[^ ].*$/\x1b[1;36m&\x1b[0m/' /etc/berth/motd
      if [ ! -e "${XDG_RUNTIME_DIR:-/home/learner/.run}/berth-ready" ]; then
        printf '\033[33m%s\033[0m\n' "(The Docker engine is still starting: give it a second. / Docker 엔진이 시작되는 중입니다.)"
      fi
      echo
    fi
    ;;
esac
