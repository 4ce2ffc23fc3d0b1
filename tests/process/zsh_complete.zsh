# SPDX-License-Identifier: Apache-2.0
# What zsh's completion offers for command lines, as a user pressing Tab would get it:
# an interactive zsh on a pseudo-terminal (zsh/zpty) with compinit over FPATH_DIR (where
# _eks-node is), compadd wrapped to print each match it keeps. For each LINE (the command
# line up to the cursor) prints "== LINE", then the matches, one per line.
# Usage: zsh -f zsh_complete.zsh FPATH_DIR LINE...
zmodload zsh/zpty || exit 2
local dir=$1 line out
shift
zpty z zsh -f -i
zpty -w z "PS1=''; fpath=(${(q)dir} \$fpath); autoload -U compinit; compinit -u -D"
# the matches compadd keeps (-A: after zsh's own filtering by the word so far), marked
zpty -w z "compadd() { local -a m; builtin compadd -A m \"\$@\"; (( \$#m )) && print -r -l -- '<<'\${^m}'>>' >&2; builtin compadd \"\$@\"; }"
# Tab completes, then says it is done and empties the line: the next keys are sent only
# then (keys typed ahead of a completion may be dropped)
zpty -w z "_eks_tab() { zle complete-word; print -u2 -r -- TAB''DONE; BUFFER=; }; zle -N _eks_tab; bindkey '^I' _eks_tab"
zpty -w z "zstyle ':completion:*' menu no; print -r -- READY''READY"
while zpty -r z out; do [[ $out == *READYREADY* ]] && break; done
for line in "$@"; do
  print -r -- "== $line"
  zpty -w -n z "$line"$'\t'
  while zpty -r z out; do
    [[ $out == *'<<'*'>>'* ]] && print -r -- ${${out#*<<}%%>>*}
    [[ $out == *TABDONE* ]] && break
  done
done
zpty -d z
