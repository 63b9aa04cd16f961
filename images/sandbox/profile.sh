# Berth: greet interactive login shells (`bash -l`) with a short motd, in the
# page's language: the server sets BERTH_LANG (ko or en) on the shell's exec.
# Anything else (an older server, a shell started by hand) gets both.
# `touch ~/.hushlogin` turns it off.
case $- in
  *i*)
    if [ ! -e "$HOME/.hushlogin" ]; then
      case "${BERTH_LANG:-}" in
        ko | en) berth_langs=$BERTH_LANG ;;
        *) berth_langs='en ko' ;;
      esac
      for berth_lang in $berth_langs; do
        # Headlines (lines not indented) in bold cyan, the rest as is.
        [ -r "/etc/berth/motd.$berth_lang" ] && sed -e 's/^[^ ].*$/\x1b[1;36m&\x1b[0m/' "/etc/berth/motd.$berth_lang"
      done
      if [ ! -e "${XDG_RUNTIME_DIR:-/home/learner/.run}/berth-ready" ]; then
        case "$berth_langs" in
          ko) berth_starting='(Docker 엔진이 아직 시작하는 중이에요. 잠깐만 기다려 주세요.)' ;;
          en) berth_starting='(The Docker engine is still starting: give it a second.)' ;;
          *) berth_starting='(The Docker engine is still starting: give it a second. / Docker 엔진이 아직 시작하는 중이에요.)' ;;
        esac
        printf '\033[33m%s\033[0m\n' "$berth_starting"
      fi
      echo
      unset berth_lang berth_langs berth_starting
    fi
    ;;
esac
