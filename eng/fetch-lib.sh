# Shared by the eng/fetch-*.sh scripts, which unpack a pinned dependency into a folder under .cache/.
# begin_fetch DEST: exits the script if DEST is already complete; otherwise holds DEST.lock (so parallel builds
# fetch once), checks again, and sets $work to a temporary folder beside DEST that is removed on exit.
# end_fetch: marks DEST complete.

begin_fetch() {
  dest=$1
  [ -f "$dest/.complete" ] && exit 0
  mkdir -p "$(dirname "$dest")"
  exec 9>"$dest.lock"
  flock 9
  [ -f "$dest/.complete" ] && exit 0   # another build fetched it while we waited
  work=$(mktemp -d "$(dirname "$dest")/fetch.XXXXXX")
  trap 'rm -rf "$work"' EXIT
}

end_fetch() {
  touch "$dest/.complete"
}
