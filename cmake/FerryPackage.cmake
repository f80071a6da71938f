# FerryPackage.cmake - Debian packages with CPack: `cpack -G DEB` in the build
# tree (or `cpack --config BUILD/CPackConfig.cmake -B OUTDIR`) writes
#   ferry_VERSION_ARCH.deb         the ferry program, its man page (gzipped) and
#                                  the bash and zsh completion
#   libferry0_VERSION_ARCH.deb     libferry.so.0 and its SONAME link
#   libferry-dev_VERSION_ARCH.deb  headers, libferry.so, libferry.a, ferry.pc,
#                                  the CMake package; Depends: libferry0 (= VERSION)
# one package per install() component of cmake/FerryInstall.cmake (cli, lib,
# dev; the plain man page, component man, is for `cmake --install` only).
# Their Depends come from Debian's packages: dpkg-shlibdeps reads the libraries
# the binaries link when it (dpkg-dev) and file(1) are there, else the runtime
# packages of scripts/build-packages.txt's -dev packages are written out.
# Files go under /usr; configure with -DCMAKE_INSTALL_PREFIX=/usr to get
# Debian's multiarch library directory (/usr/lib/<triplet>) as well.
# tests/integration/packages.sh builds and checks them.

# the man page as Debian ships it: gzip -9n (no name, no time stamp: reproducible)
add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/ferry.1.gz
  COMMAND sh -c "gzip -9n -c \"$1\" >\"$2.tmp\" && mv \"$2.tmp\" \"$2\"" sh ${CMAKE_BINARY_DIR}/ferry.1 ${CMAKE_BINARY_DIR}/ferry.1.gz
  DEPENDS ${CMAKE_BINARY_DIR}/ferry.1 ${CMAKE_SOURCE_DIR}/docs/ferry.1
  VERBATIM)
add_custom_target(ferry_man_gz ALL DEPENDS ${CMAKE_BINARY_DIR}/ferry.1.gz)
install(FILES ${CMAKE_BINARY_DIR}/ferry.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT cli EXCLUDE_FROM_ALL)

set(FERRY_LIB_PACKAGE libferry${PROJECT_VERSION_MAJOR})   # the SONAME's number

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME ferry)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "ferry")
set(CPACK_PACKAGE_CONTACT "ferry maintainers <ferry@localhost>")
# (no CPACK_PACKAGE_DESCRIPTION_SUMMARY: CPack would put it before each
# package's own summary line, the first of CPACK_COMPONENT_*_DESCRIPTION)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_COMPONENTS_ALL cli lib dev)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)   # NAME_VERSION_ARCH.deb
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${CPACK_PACKAGE_CONTACT}")
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_DEBIAN_CLI_PACKAGE_NAME ferry)
set(CPACK_DEBIAN_CLI_PACKAGE_SECTION utils)
set(CPACK_COMPONENT_CLI_DESCRIPTION "ETL connector toolkit - command-line program
ferry streams data between Postgres, MySQL, S3, SFTP, HTTP and local files,
with Airflow's connections and templates. This package holds the ferry
program (libferry linked in), its man page and its bash and zsh completion.")

set(CPACK_DEBIAN_LIB_PACKAGE_NAME ${FERRY_LIB_PACKAGE})
set(CPACK_DEBIAN_LIB_PACKAGE_SECTION libs)
set(CPACK_COMPONENT_LIB_DESCRIPTION "ETL connector toolkit - shared library
libferry streams data between Postgres, MySQL, S3, SFTP, HTTP and local
files. This package holds the shared library.")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME libferry-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "${FERRY_LIB_PACKAGE} (= ${PROJECT_VERSION})")
# what `pkg-config --static --libs ferry` links libferry.a with
set(CPACK_DEBIAN_DEV_PACKAGE_SUGGESTS "pkg-config, libpq-dev, libcurl4-openssl-dev, zlib1g-dev, libssl-dev, libexpat1-dev, libjansson-dev, libssh2-1-dev, libmariadb-dev, libzstd-dev")
set(CPACK_COMPONENT_DEV_DESCRIPTION "ETL connector toolkit - development files
libferry streams data between Postgres, MySQL, S3, SFTP, HTTP and local
files. This package holds the headers (ferry/*.h), the static library, the
pkg-config file (ferry.pc) and the CMake package (find_package(ferry)).")

find_program(FERRY_DPKG_SHLIBDEPS dpkg-shlibdeps)
find_program(FERRY_FILE_PROGRAM file)
if(FERRY_DPKG_SHLIBDEPS AND FERRY_FILE_PROGRAM)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
  # libferry0's shlibs file (and ldconfig trigger): programs built on it depend on it
  set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
  set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
else()
  # the runtime packages of the -dev packages in scripts/build-packages.txt
  set(FERRY_DEB_RUNTIME_DEPENDS "libc6, libpq5, libcurl4, zlib1g, libssl3, libexpat1, libjansson4, libssh2-1, libmariadb3, libzstd1")
  if(ISAL_LIBRARY AND ISAL_INCLUDE_DIR AND ISAL_LIBRARY MATCHES "\\.so")
    string(APPEND FERRY_DEB_RUNTIME_DEPENDS ", libisal2")
  endif()
  set(CPACK_DEBIAN_CLI_PACKAGE_DEPENDS "${FERRY_DEB_RUNTIME_DEPENDS}")
  set(CPACK_DEBIAN_LIB_PACKAGE_DEPENDS "${FERRY_DEB_RUNTIME_DEPENDS}")
  message(STATUS "packages: no dpkg-shlibdeps or file(1): Depends written out (${FERRY_DEB_RUNTIME_DEPENDS})")
endif()

include(CPack)
