#!/usr/bin/env bash
# packages.sh - the Debian packages (cmake/FerryPackage.cmake): `cpack -G DEB`
# from the build tree, into a temporary directory (-B; the build tree gets
# only CMake's install manifests, as with `cmake --install`), makes ferry,
# libferry0 and libferry-dev.  Their control fields (names, version, Depends:
# the Debian package of every library the binaries link, libferry-dev on
# libferry0 (= VERSION)) and file lists are checked with dpkg-deb; then they
# are unpacked into a temporary root (dpkg-deb -x, never dpkg -i on a shared
# machine): the packaged ferry runs (--version, a local copy, its bash
# completion), its gzipped man page reads, and examples/c builds against the
# packaged headers, library and pkg-config file and runs on the packaged
# libferry.so.0.  Needs no server.
. "$(dirname "$0")/../lib.sh"
SRC=${FERRY_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${FERRY_BUILD_DIR:-$(dirname "$FERRY")}

# The packages are the release artefact: a sanitizer build's libferry.so needs
# ASan's runtime loaded first (install_prefix.sh says more); that pass reports
# this test as skipped.
if objdump -p "$BUILD/libferry.so" 2>/dev/null | grep -q 'NEEDED.*libasan'; then
  skip_all "the package test runs on the release build (this libferry.so is built with AddressSanitizer)"
fi
for tool in cpack dpkg-deb; do
  command -v $tool >/dev/null || skip_all "no $tool here"
done
[ -f "$BUILD/CPackConfig.cmake" ] || { fail "no $BUILD/CPackConfig.cmake (include(CPack))"; finish; }
CC=${CC:-cc}
cd "$WORK"
VERSION=$(sed -n 's/^project(ferry VERSION \([0-9.]*\) .*/\1/p' "$SRC/CMakeLists.txt")

if ! cpack --config "$BUILD/CPackConfig.cmake" -G DEB -B "$WORK/debs" >cpack.log 2>&1; then
  fail "cpack -G DEB" "$(tail -8 cpack.log)"
  finish
fi
ok "cpack -G DEB -B $WORK/debs"
for p in ferry libferry0 libferry-dev; do
  n=$(find debs -maxdepth 1 -name "${p}_${VERSION}_*.deb" | wc -l)
  check "package $p ${VERSION} made ($n file)" test "$n" = 1
done
check "exactly three packages" test "$(find debs -maxdepth 1 -name '*.deb' | wc -l)" = 3
deb() { find debs -maxdepth 1 -name "${1}_${VERSION}_*.deb" | head -n 1; }
DEB_BIN=$(deb ferry)
DEB_LIB=$(deb libferry0)
DEB_DEV=$(deb libferry-dev)
[ -n "$DEB_BIN" ] && [ -n "$DEB_LIB" ] && [ -n "$DEB_DEV" ] || finish

# -- control fields
field() { dpkg-deb -f "$1" "$2"; }
for d in "$DEB_BIN" "$DEB_LIB" "$DEB_DEV"; do
  name=$(basename "$d" | cut -d_ -f1)
  check "$name: Package $name, Version $VERSION, a Maintainer and a Description" bash -c \
    "[ \"\$(dpkg-deb -f '$d' Package)\" = '$name' ] && [ \"\$(dpkg-deb -f '$d' Version)\" = '$VERSION' ] &&
     [ -n \"\$(dpkg-deb -f '$d' Maintainer)\" ] && [ -n \"\$(dpkg-deb -f '$d' Description)\" ]"
done
check "libferry-dev Depends: libferry0 (= $VERSION)" bash -c \
  "dpkg-deb -f '$DEB_DEV' Depends | tr ',' '\\n' | grep -qx ' *libferry0 (= $VERSION)'"
# every library the binary / the shared library links directly: its Debian package in Depends
if command -v objdump >/dev/null && command -v dpkg >/dev/null; then
  for bin in "$BUILD/ferry" "$BUILD/libferry.so"; do objdump -p "$bin" | awk '/NEEDED/{print $2}' >"needed.${bin##*/}"; done
  # one dpkg -S for all of them (each call reads the whole package database): "pkg[:arch]: /path/lib"
  sort -u needed.* | sed 's,^,*/,' | xargs dpkg -S 2>/dev/null |
    grep -v -e '^[^:]*-i386:' -e '^lib32' -e '^libx32' | sed 's,^\([^: ]*\):[a-z0-9]*: ,\1: ,; s,^\([^: ]*\): .*/,\1 ,' >lib_packages
  for pair in "ferry:ferry:$DEB_BIN" "libferry0:libferry.so:$DEB_LIB"; do
    IFS=: read -r name bin d <<<"$pair"
    depends=$(field "$d" Depends | tr ',' '\n' | sed 's/^ *//; s/ .*//')
    missing=""
    while read -r lib; do
      pkg=$(awk -v l="$lib" '$2 == l {print $1; exit}' lib_packages)
      [ -n "$pkg" ] || { missing="$missing ?($lib: no Debian package)"; continue; }
      printf '%s\n' "$depends" | grep -qx -- "$pkg" || missing="$missing $pkg($lib)"
    done <"needed.$bin"
    [ -z "$missing" ] && ok "$name Depends names the package of every library it links ($(wc -l <"needed.$bin"))" \
      || fail "$name Depends lacks:$missing" "Depends: $(echo $depends)"
  done
  check "libferry-dev depends on no runtime library itself (only libferry0)" bash -c \
    "[ \"\$(dpkg-deb -f '$DEB_DEV' Depends | tr ',' '\\n' | wc -l)\" = 1 ]"
else
  skip "Depends against the linked libraries (no objdump or dpkg)"
fi

# -- what each package holds
dpkg-deb -c "$DEB_BIN" | awk '{print $6}' | sed 's,^\./,/,' >bin.list
dpkg-deb -c "$DEB_LIB" | awk '{print $6}' | sed 's,^\./,/,' >lib.list
dpkg-deb -c "$DEB_DEV" | awk '{print $6}' | sed 's,^\./,/,' >dev.list
for f in /usr/bin/ferry /usr/share/man/man1/ferry.1.gz /usr/share/bash-completion/completions/ferry \
         /usr/share/zsh/vendor-completions/_ferry; do
  check "ferry holds $f" grep -qx "$f" bin.list
done
check "ferry holds no library and no header" bash -c "! grep -E '/libferry|/include/' bin.list"
check "libferry0 holds libferry.so.$VERSION" grep -Eq "^/usr/lib/(.*/)?libferry\\.so\\.$VERSION\$" lib.list
check "   ... and its SONAME link libferry.so.0 -> libferry.so.$VERSION" bash -c \
  "dpkg-deb -c '$DEB_LIB' | grep -Eq '/libferry\\.so\\.0 -> libferry\\.so\\.$VERSION\$'"
check "   ... and not the development link libferry.so" bash -c "! grep -q '/libferry\\.so\$' lib.list"
for f in include/ferry/ferry.h include/ferry/transfer.h include/ferry/version.h include/ferry/export.h \
         'lib/(.*/)?libferry\.so' 'lib/(.*/)?libferry\.a' 'lib/(.*/)?pkgconfig/ferry\.pc' \
         'lib/(.*/)?cmake/ferry/ferryConfig\.cmake' 'lib/(.*/)?cmake/ferry/ferryConfigVersion\.cmake'; do
  label=${f//'(.*/)?'/}
  check "libferry-dev holds /usr/${label//\\/}" grep -Eqx "/usr/$f" dev.list
done
n_headers=$(find "$SRC/include/ferry" -name '*.h' | wc -l)
check "   ... every header of include/ferry ($n_headers) and the generated version.h" \
  test "$(grep -c '^/usr/include/ferry/.*\.h$' dev.list)" = $((n_headers + 1))
sort bin.list lib.list dev.list | grep -v '/$' | uniq -d >dups
check "no file is in two packages" test ! -s dups

# -- unpacked into a temporary root
ROOT=$WORK/root
for d in "$DEB_BIN" "$DEB_LIB" "$DEB_DEV"; do dpkg-deb -x "$d" "$ROOT"; done
LIBDIR=$(dirname "$(find "$ROOT" -name libferry.so.0 | head -n 1)")
BIN=$ROOT/usr/bin/ferry
export LD_LIBRARY_PATH=$LIBDIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
check "the packaged ferry --version says ferry $VERSION" bash -c "'$BIN' --version | grep -q '^ferry $VERSION '"
seq 1 100000 >n.txt
check "the packaged ferry copies a local file (gzip from the name)" bash -c \
  "'$BIN' copy n.txt out.csv.gz -q && gzip -dc out.csv.gz | cmp -s - n.txt"
expect_code "   ... and refuses an existing destination (exit 6)" 6 "$BIN" copy n.txt out.csv.gz -q
check "the packaged man page is gzip'd and says ferry $VERSION" bash -c \
  "gzip -t '$ROOT/usr/share/man/man1/ferry.1.gz' && gzip -dc '$ROOT/usr/share/man/man1/ferry.1.gz' | grep -q '\"ferry $VERSION\"'"
check "the packaged bash completion is what the packaged ferry prints" bash -c \
  "'$BIN' completion bash | cmp -s - '$ROOT/usr/share/bash-completion/completions/ferry'"
check "   ... and completes 'ferry cop' to copy" bash --norc -c \
  ". '$ROOT/usr/share/bash-completion/completions/ferry'; COMP_LINE='ferry cop'; COMP_POINT=9; _ferry; [ \"\${COMPREPLY[*]}\" = copy ]"
check "the packaged zsh completion is what the packaged ferry prints" bash -c \
  "'$BIN' completion zsh | cmp -s - '$ROOT/usr/share/zsh/vendor-completions/_ferry'"

# -- examples/c against the unpacked headers, library and pkg-config file
export PKG_CONFIG_PATH=$LIBDIR/pkgconfig
unset PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR
check "pkg-config finds the packaged ferry.pc (version $VERSION)" bash -c "[ \"\$(pkg-config --modversion ferry)\" = '$VERSION' ]"
# ferry.pc is relocatable (${pcfiledir}): its -I and -L are the unpacked directories
inc=$(pkg-config --cflags-only-I ferry | sed 's/^ *-I//; s/ *$//')
libs=$(pkg-config --libs-only-L ferry | sed 's/^ *-L//; s/ *$//')
check "   ... its -I and -L are the unpacked include and library directories" bash -c \
  "[ \"\$(realpath '$inc')\" = '$(realpath "$ROOT/usr/include")' ] && [ \"\$(realpath '$libs')\" = '$(realpath "$LIBDIR")' ]"
built=1
for p in custom_hook pg_to_s3; do
  # shellcheck disable=SC2046
  "$CC" -Wall -Wextra -Werror $(pkg-config --cflags ferry) "$SRC/examples/c/$p.c" -o "$p" $(pkg-config --libs ferry) \
    2>"$p.err" || { built=0; fail "examples/c/$p.c builds with the packaged pkg-config file" "$(head -5 "$p.err")"; }
done
if [ $built = 1 ]; then
  ok "examples/c builds against the packaged headers and libferry.so"
  check "   ... and runs on the packaged libferry.so.0" bash -c "ldd ./custom_hook | grep -q '$LIBDIR/libferry.so.0'"
  check "   ... custom_hook counts a plain file" \
    bash -c "./custom_hook n.txt | grep -qx 'count: $(stat -c %s n.txt) bytes, 100000 lines'"
  check "   ... custom_hook gets the .gz decompressed" \
    bash -c "./custom_hook out.csv.gz | grep -qx 'count: $(stat -c %s n.txt) bytes, 100000 lines'"
  check "   ... pg_to_s3 copies a local file" bash -c "./pg_to_s3 n.txt ex.csv.gz | grep -q 'bytes in' && gzip -dc ex.csv.gz | cmp -s - n.txt"
fi
finish
